"""pytest entry point (``pytest11``) for amqpmock.

Fixtures and options land with the plugin issue; for now this registers the marker
names so that projects can start tagging tests.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "amqp_cassette(path=None, **options): replay or record AMQP traffic"
    )
