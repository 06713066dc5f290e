"""A missing cassette is said once, not twice as two chained exceptions ("During
handling of the above exception, another exception occurred")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest

@pytest.mark.amqp_cassette("missing.yaml")
def test_missing(amqp_url):
    pass
"""


def test_the_plugin_says_a_missing_cassette_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "During handling" not in out
    said = [
        line
        for line in out.splitlines()
        if "missing.yaml: no such cassette file" in line
        and not line.startswith("ERROR ")  # the short test summary's line
    ]
    assert len(said) == 1, out
    assert "(record it with --amqp-record-mode=once and --amqp-upstream URL" in said[0]


def test_the_cli_says_a_missing_cassette_once(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "amqpmock.cli", "replay", "--cassette", str(missing)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == f"amqpmock replay: {missing}: no such cassette file\n"
    assert result.stdout == ""
