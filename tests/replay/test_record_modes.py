"""Each record mode and each failure message of the cassette plugin (pytester)."""

from __future__ import annotations

import pytest
import yaml

from amqpmock.testing.rabbitmq import RabbitMQNode

pytest_plugins = ["pytester"]

# A client that talks only to itself: everything it sees was published by a recorded
# connection, so replay needs no outside messages.
SELF_CONTAINED = """
import pika, pytest

@pytest.mark.amqp_cassette("loop.yaml")
def test_loop(amqp_url):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.queue_declare("loop_q", auto_delete=True)
    ch.basic_publish("", "loop_q", b"ping")
    for _ in range(50):
        method, props, body = ch.basic_get("loop_q", auto_ack=True)
        if method:
            break
        conn.sleep(0.02)
    assert body == b"ping"
    conn.close()

def test_unmarked_keeps_the_plain_fake(amqp_url, amqp_broker):
    assert amqp_url == amqp_broker.url
"""


# A second connection that does something the first never did: a new episode.
EXTRA_EPISODE = """    conn.close()
    other = pika.BlockingConnection(pika.URLParameters(amqp_url))
    other_ch = other.channel()
    other_ch.queue_declare("loop_q2", auto_delete=True)
    other_ch.basic_publish("", "loop_q2", b"pong")
    other.close()
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def connections(pytester: pytest.Pytester) -> int:
    data = yaml.safe_load((pytester.path / "cassettes" / "loop.yaml").read_text())
    return len(data["connections"])


def test_none_is_the_default_and_needs_the_cassette(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SELF_CONTAINED)
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*cassettes/loop.yaml: no such cassette file "
            "(record it with --amqp-record-mode=once and --amqp-upstream URL*",
        ]
    )


def test_recording_without_upstream_names_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SELF_CONTAINED)
    result = run(pytester, "--amqp-record-mode=all")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*record mode 'all'*needs a real RabbitMQ*--amqp-upstream*"])


def test_modes_once_all_new_episodes_rewrite(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode
) -> None:
    pytester.makepyfile(SELF_CONTAINED)
    upstream = f"--amqp-upstream={rabbitmq_node.url}"
    run(pytester, "--amqp-record-mode=once", upstream).assert_outcomes(passed=2)
    assert connections(pytester) == 1
    # the cassette says which test wrote it, and when each interaction was seen
    data = yaml.safe_load((pytester.path / "cassettes" / "loop.yaml").read_text())
    assert data["test"].endswith(".py::test_loop")
    times = [i["at"] for i in data["connections"][0]["interactions"]]
    assert times == sorted(times) and times[0] >= 0
    # once with a cassette: replays, so an unreachable upstream does not matter
    run(
        pytester, "--amqp-record-mode=once", "--amqp-upstream=amqp://u:p@127.0.0.1:1/"
    ).assert_outcomes(passed=2)
    run(pytester).assert_outcomes(passed=2)  # none: replay
    # new_episodes with nothing new: the cassette is not touched (was: a duplicate
    # connection appended, and the next replay failed on 'publish never replayed')
    before = (pytester.path / "cassettes" / "loop.yaml").read_bytes()
    run(pytester, "--amqp-record-mode=new_episodes", upstream).assert_outcomes(passed=2)
    assert (pytester.path / "cassettes" / "loop.yaml").read_bytes() == before
    run(pytester).assert_outcomes(passed=2)
    # a new episode (a second connection doing something else) is appended, alone
    pytester.makepyfile(SELF_CONTAINED.replace("    conn.close()\n", EXTRA_EPISODE, 1))
    run(pytester, "--amqp-record-mode=new_episodes", upstream).assert_outcomes(passed=2)
    assert connections(pytester) == 2
    data = yaml.safe_load((pytester.path / "cassettes" / "loop.yaml").read_bytes())
    assert data["connections"][0] == yaml.safe_load(before)["connections"][0]
    run(pytester).assert_outcomes(passed=2)  # replays both, nothing unplayed
    run(pytester, "--amqp-record-mode=new_episodes", upstream).assert_outcomes(passed=2)
    assert connections(pytester) == 2
    run(pytester, "--amqp-record-mode=all", upstream).assert_outcomes(passed=2)
    assert connections(pytester) == 2
    pytester.makepyfile(SELF_CONTAINED)
    run(pytester, "--amqp-record-mode=rewrite", upstream).assert_outcomes(passed=2)
    assert connections(pytester) == 1
    # the environment variable is an upstream too
    (pytester.path / "cassettes" / "loop.yaml").unlink()
    import os

    os.environ["AMQPMOCK_UPSTREAM"] = rabbitmq_node.url
    try:
        run(pytester, "--amqp-record-mode=once").assert_outcomes(passed=2)
    finally:
        del os.environ["AMQPMOCK_UPSTREAM"]
    assert connections(pytester) == 1
    run(pytester).assert_outcomes(passed=2)


def test_marker_record_mode_and_cli_precedence(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode
) -> None:
    pytester.makepyfile(
        SELF_CONTAINED.replace(
            '@pytest.mark.amqp_cassette("loop.yaml")',
            '@pytest.mark.amqp_cassette("loop.yaml", record_mode="once")',
        )
    )
    upstream = f"--amqp-upstream={rabbitmq_node.url}"
    run(pytester, upstream).assert_outcomes(passed=2)  # the marker says once: records
    assert connections(pytester) == 1
    # the command line wins over the marker: all records again (once would replay)
    path = pytester.path / "cassettes" / "loop.yaml"
    written = path.stat().st_mtime_ns
    run(pytester, "--amqp-record-mode=all", upstream).assert_outcomes(passed=2)
    assert path.stat().st_mtime_ns != written  # written again
    assert connections(pytester) == 1


def test_broken_and_newer_cassettes_are_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SELF_CONTAINED)
    cassettes = pytester.path / "cassettes"
    cassettes.mkdir()
    (cassettes / "loop.yaml").write_text("version: 1\nconnections: [\n")
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*cassettes/loop.yaml*"])
    (cassettes / "loop.yaml").write_text("version: 99\nconnections: []\n")
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*cassettes/loop.yaml*99*"])
    (cassettes / "loop.yaml").write_text("!!python/object:os.system {}\n")
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*cassettes/loop.yaml*"])


def test_unknown_marker_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.amqp_cassette("x.yaml", colour="blue")
        def test_x(amqp_url):
            pass
        """
    )
    result = run(pytester)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*amqp_cassette: unknown option(s)*colour*"])


def test_unused_interactions_fail_unless_allowed(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode
) -> None:
    pytester.makepyfile(SELF_CONTAINED)
    run(pytester, "--amqp-record-mode=once", f"--amqp-upstream={rabbitmq_node.url}")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.amqp_cassette("loop.yaml")
        def test_loop(amqp_url):
            pass  # publishes nothing

        @pytest.mark.amqp_cassette("loop.yaml", allow_unused=True)
        def test_loop_allowed(amqp_url):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*recorded interactions never replayed:*", "*publish never replayed:*loop_q*"]
    )


NAMES_AND_MARKERS = """
import pika, pytest

pytestmark = pytest.mark.amqp_cassette(allow_unused=True)

def talk(url, body):
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_declare(body, auto_delete=True)
    ch.basic_publish("", body, body.encode())
    conn.close()

@pytest.mark.amqp_cassette
class TestCheckout:
    def test_flow(self, amqp_url):
        talk(amqp_url, "checkout")

@pytest.mark.amqp_cassette
class TestRefund:
    def test_flow(self, amqp_url):
        talk(amqp_url, "refund")

@pytest.mark.amqp_cassette("broker_only.yaml")
def test_broker_only(amqp_broker):
    # no amqp_url: the client takes amqp_broker.url (the proxy while recording)
    talk(amqp_broker.url, "broker-only")
"""


def test_names_markers_and_broker_only_tests_record_and_replay(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode
) -> None:
    # issue #12 cases 6 and 10, recorded against RabbitMQ and replayed offline
    pytester.makepyfile(test_shop=NAMES_AND_MARKERS)
    upstream = f"--amqp-upstream={rabbitmq_node.url}"
    run(pytester, "--amqp-record-mode=once", upstream).assert_outcomes(passed=3)
    folder = pytester.path / "cassettes" / "test_shop"
    bodies = {}
    for name in ("TestCheckout.test_flow.yaml", "TestRefund.test_flow.yaml"):
        data = yaml.safe_load((folder / name).read_text())
        interactions = data["connections"][0]["interactions"]
        bodies[name] = [i["body"] for i in interactions if i["method"] == "Basic.Publish"]
    assert bodies == {
        "TestCheckout.test_flow.yaml": ["checkout"],
        "TestRefund.test_flow.yaml": ["refund"],
    }
    broker_only = yaml.safe_load((pytester.path / "cassettes" / "broker_only.yaml").read_text())
    assert len(broker_only["connections"]) == 1  # recorded through the proxy
    # replay: each test its own cassette; the module's allow_unused merged in
    run(pytester).assert_outcomes(passed=3)
    # and a replayed test whose cassette differs fails (the marker is not ignored)
    pytester.makepyfile(test_shop=NAMES_AND_MARKERS.replace('"refund")', '"refunded")'))
    result = run(pytester)
    # the declare of another queue is refused at once, and the test's own report says so
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*amqpmock: the cassette replay went wrong (*TestRefund.test_flow.yaml):*",
            "*live Queue.Declare(queue='refunded'*is not in the recording*",
            "*queue: 'refunded' != 'refund'*",
        ]
    )
