"""While a cassette replays, the network is blocked: a client that tries any host but
the fake broker fails loudly, naming the address (issue #12 case 11)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

EMPTY = "version: 1\namqpmock: 0.1.0\nconnections: []\n"

TESTS = """
import socket
import pika
import pytest

def reach(port):
    # a hard-coded address, as a service's default configuration might have
    s = socket.socket()
    try:
        s.settimeout(1)
        s.connect(("127.0.0.1", port))
    except ConnectionRefusedError as exc:
        return str(exc)
    finally:
        s.close()
    return "connected"

@pytest.mark.amqp_cassette("empty.yaml")
def test_blocked(amqp_url):
    # the fake broker itself stays reachable
    pika.BlockingConnection(pika.URLParameters(amqp_url)).close()
    assert "network blocked during cassette replay" in reach(PORT)

@pytest.mark.amqp_cassette("empty.yaml", allowed_hosts=["127.0.0.1:PORT"])
def test_allowed(amqp_url):
    assert reach(PORT) == "connected"

def test_unmarked_tests_are_not_blocked(amqp_url):
    assert reach(PORT) == "connected"
"""


@pytest.fixture
def listener() -> object:
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server
    server.close()


def setup(pytester: pytest.Pytester, port: int) -> None:
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "empty.yaml").write_text(EMPTY)
    pytester.makepyfile(TESTS.replace("PORT", str(port)))


def test_replay_blocks_other_hosts_and_names_them(
    pytester: pytest.Pytester, listener: object
) -> None:
    port = listener.getsockname()[1]  # type: ignore[attr-defined]
    setup(pytester, port)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # the blocked test passes its own asserts but fails at teardown, naming the address
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [f"*network blocked during cassette replay: the test tried to connect to *:{port}*"]
    )


def test_blocking_can_be_turned_off(pytester: pytest.Pytester, listener: object) -> None:
    port = listener.getsockname()[1]  # type: ignore[attr-defined]
    setup(pytester, port)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--amqp-no-block-network", "-k", "allowed or unmarked"
    )
    result.assert_outcomes(passed=2)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--amqp-allowed-hosts=127.0.0.1:{port}", "-k", "test_blocked"
    )
    # allowed from the command line: the test's own assert that it is blocked now fails
    result.assert_outcomes(failed=1)
