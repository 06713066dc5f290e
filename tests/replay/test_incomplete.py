"""An incomplete cassette (a connection's recording stopped before its real end) is
refused by replay unless asked for, and then replays with a warning (issue #12 case 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

INCOMPLETE = """\
version: 1
amqpmock: 0.1.0
connections:
- id: 1
  ending: upstream-gone
  error: upstream closed the socket
  interactions:
  - {dir: c2s, channel: 1, method: Queue.Declare, args: {queue: q}}
"""

TESTS = """
import pytest

@pytest.mark.amqp_cassette("cut.yaml", allow_unused=True)
def test_refused(amqp_url):
    pass

@pytest.mark.amqp_cassette("cut.yaml", allow_unused=True, allow_incomplete=True)
def test_allowed(amqp_url):
    pass
"""


def test_the_plugin_refuses_an_incomplete_cassette_unless_allowed(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "cut.yaml").write_text(INCOMPLETE)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rw")
    result.assert_outcomes(passed=1, errors=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*cut.yaml: the cassette is incomplete: connection 1 ended 'upstream-gone' "
            "(upstream closed the socket) before the session did; re-record it*",
            "*replaying it anyway*",
        ]
    )


def test_the_cli_refuses_an_incomplete_cassette_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "cut.yaml"
    path.write_text(INCOMPLETE)
    cmd = [sys.executable, "-m", "amqpmock.cli", "replay", "--cassette", str(path)]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode == 1
    assert "the cassette is incomplete: connection 1 ended 'upstream-gone'" in refused.stderr
    assert "--allow-incomplete" in refused.stderr
    allowed = subprocess.Popen(
        [*cmd, "--allow-incomplete", "--allow-unused", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert allowed.stdout is not None
        assert allowed.stdout.readline().startswith("amqp://")
        allowed.terminate()
        assert allowed.wait(10) == 0
        assert allowed.stderr is not None
        assert "warning: the cassette is incomplete" in allowed.stderr.read()
    finally:
        if allowed.poll() is None:
            allowed.kill()
            allowed.wait(10)
