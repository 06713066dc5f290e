"""Differential scenarios (being split by theme; for now all in ``basic``)."""

from .basic import SCENARIOS, Scenario

__all__ = ["SCENARIOS", "Scenario"]
