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
from amqpmock.replay._methods import ALL_KINDS, KINDS, compare_kinds
from amqpmock.replay._report import StepMismatch, fold, fold_mismatches
from amqpmock.replay._values import shape

__all__ = [
    "ALL_KINDS",
    "BUILTIN_MATCHERS",
    "DEFAULT_MATCH_ON",
    "KINDS",
    "Matcher",
    "Mismatch",
    "Plan",
    "PublishRecord",
    "ReplayEngine",
    "ReplayError",
    "StepMismatch",
    "build_plan",
    "compare_kinds",
    "fold",
    "fold_mismatches",
    "shape",
]
