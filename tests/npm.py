"""npm packages for the tests that run Node (the Node clients, AsyncAPI's tools)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path


def npm_installed(folder: Path, packages: Iterable[str]) -> Path:
    """``folder`` after ``npm install`` (its package-lock.json pins the versions), run
    only when one of ``packages`` is missing. Fails, never skips, without node and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError(
            "node and npm are needed for this test (Debian: apt-get install nodejs npm)"
        )
    if not all((folder / "node_modules" / name).exists() for name in packages):
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"], cwd=folder, check=True, timeout=300
        )
    return folder
