"""Offline replay: a live fake broker plus the outside world recorded in a cassette."""

from amqpmock.replay._engine import (
    BUILTIN_MATCHERS,
    DEFAULT_MATCH_ON,
    Matcher,
    Mismatch,
    Plan,
    PublishRecord,
    ReplayEngine,
    ReplayError,
    build_plan,
)
from amqpmock.replay._values import shape

__all__ = [
    "BUILTIN_MATCHERS",
    "DEFAULT_MATCH_ON",
    "Matcher",
    "Mismatch",
    "Plan",
    "PublishRecord",
    "ReplayEngine",
    "ReplayError",
    "build_plan",
    "shape",
]
