"""AsyncAPI's own tools for checking documents (tests/contracts/node), installed once
per session, and a helper that runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.npm import npm_installed

NODE_DIR = Path(__file__).parent / "node"
PACKAGES = ("@asyncapi/specs", "@asyncapi/parser", "ajv", "ajv-formats", "js-yaml")
REPO = Path(__file__).parents[2]
COMMITTED = sorted((REPO / "cassettes").rglob("*.yaml"))

Checker = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def asyncapi_tools() -> Path:
    """``tests/contracts/node`` with its npm packages (see ``npm_installed``)."""
    return npm_installed(NODE_DIR, PACKAGES)


@pytest.fixture(scope="session")
def check_asyncapi(asyncapi_tools: Path) -> Checker:
    """``check_asyncapi(*files)``: each file checked against AsyncAPI's JSON Schema for
    its version and by AsyncAPI's parser; one result per file (``schemaErrors``,
    ``parserErrors``, ``warnings``)."""

    def check(*files: Path) -> list[dict[str, Any]]:
        node = shutil.which("node")
        assert node is not None
        done = subprocess.run(
            [node, str(asyncapi_tools / "validate.js"), *map(str, files)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode in (0, 1), done.stderr
        results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        assert len(results) == len(files), done.stdout + done.stderr
        return results

    return check


def problems(result: dict[str, Any]) -> list[Any]:
    """What makes a document fail: schema errors and parser errors (not warnings)."""
    return [*result["schemaErrors"], *result["parserErrors"]]
