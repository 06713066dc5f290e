"""The Node clients' folder, with its npm packages installed (once per session)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).parent / "node"
PACKAGES = ("amqplib", "@cloudamqp/amqp-client", "rascal")


@pytest.fixture(scope="session")
def node_dir() -> Path:
    """``tests/clients/node`` after ``npm install`` (package-lock.json pins the
    versions). Fails, never skips, without node and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError(
            "node and npm are needed for this test (Debian: apt-get install nodejs npm)"
        )
    if not all((NODE_DIR / "node_modules" / name).exists() for name in PACKAGES):
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300
        )
    return NODE_DIR
