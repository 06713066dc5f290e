"""Offline replay: a live fake broker plus the outside world recorded in a cassette.

May import the core (``fake``), ``cassette``, ``hookspecs`` and ``errors``; never the
wire, the proxy, the viewer or ``testing`` (the engine is sans-IO, like the core).
"""

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
