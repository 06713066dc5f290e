"""The Node clients' folder, with its npm packages installed (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.npm import npm_installed

NODE_DIR = Path(__file__).parent / "node"
PACKAGES = ("amqplib", "@cloudamqp/amqp-client", "rascal")


@pytest.fixture(scope="session")
def node_dir() -> Path:
    """``tests/clients/node`` with its npm packages (see ``npm_installed``)."""
    return npm_installed(NODE_DIR, PACKAGES)
