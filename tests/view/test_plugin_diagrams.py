"""``--amqpmock-diagrams``: a failing test's broker traffic as a diagram (pytester)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_amqpmock.diagrams import diagram_file_name

from .conftest import Dom

pytest_plugins = ["pytester"]

TESTS = """
import json
import uuid

import pika


def test_rpc_then_wrong_assertion(amqp_broker):
    amqp_broker.declare_exchange("rpc", "direct")
    amqp_broker.rpc_stub("rpc", "compute").returns({"answer": 42})
    conn = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    ch = conn.channel()
    replies = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_declare("jobs")
    ch.basic_publish("", "jobs", b"job-1")
    method, _, _ = ch.basic_get("jobs")
    ch.basic_nack(method.delivery_tag, requeue=True)
    method, _, _ = ch.basic_get("jobs")
    ch.basic_ack(method.delivery_tag)
    correlation = str(uuid.uuid4())
    ch.basic_publish(
        "rpc",
        "compute",
        json.dumps({"q": "life"}),
        pika.BasicProperties(reply_to=replies, correlation_id=correlation),
    )
    for method, props, body in ch.consume(replies, inactivity_timeout=5):
        assert method is not None, "no reply"
        ch.basic_ack(method.delivery_tag)
        break
    conn.close()
    assert json.loads(body) == {"answer": 41}


def test_passes(amqp_broker):
    amqp_broker.declare_queue("q")
    amqp_broker.publish("", "q", b"x")


def test_fails_without_the_broker():
    assert False
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_traffic=TESTS)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_a_failing_test_writes_its_diagram(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--amqpmock-diagrams=diagrams")
    result.assert_outcomes(passed=1, failed=2)
    written = sorted(p.name for p in (pytester.path / "diagrams").iterdir())
    assert written == ["test_traffic.py_test_rpc_then_wrong_assertion.html"]
    path = pytester.path / "diagrams" / written[0]
    # the report of the failing test names the file; the other failure has no diagram
    result.stdout.fnmatch_lines(
        [
            "*- amqpmock diagram -*",
            f"broker traffic diagram: {path}",
        ]
    )
    assert result.stdout.str().count("broker traffic diagram:") == 1

    dom = Dom(path.read_text(encoding="utf-8"))
    participants = dom.participants()
    assert re.fullmatch(r"conn:\d+", participants[0])
    conn = participants[0]
    assert participants[1:] == [
        "exchange:",
        "exchange:rpc",
        "queue:jobs",  # queues in the order they first appear
        next(p for p in participants if p.startswith("queue:amq.gen-")),
        "outside:compute",
    ]
    assert dom.count_by_kind() == {
        "publish": 3,
        "route": 3,
        "deliver": 3,
        "requeue": 1,
        "ack": 2,
    }
    # the request went to the stub (the outside "compute" service), whose reply came back
    rpc = [
        (
            a.get("data-arrow-kind"),
            a.get("data-rpc-role"),
            a.get("data-source"),
            a.get("data-target"),
        )
        for a in dom.having("data-rpc", "1")
        if a.get("data-row-kind") == "arrow"
    ]
    assert rpc[:3] == [
        ("publish", "request", conn, "exchange:rpc"),
        ("route", "request", "exchange:rpc", "outside:compute"),
        ("publish", "reply", "outside:compute", "exchange:"),
    ]
    assert rpc[-1][:2] == ("deliver", "reply") and rpc[-1][3] == conn
    (title,) = [e for e in dom.elements if e.tag == "h1"]
    assert "".join(title.text) == "test_traffic.py::test_rpc_then_wrong_assertion"


def test_ini_setting_and_off_by_default(pytester: pytest.Pytester) -> None:
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=2)
    assert "amqpmock diagram" not in result.stdout.str()
    assert not (pytester.path / "diagrams").exists()

    pytester.makeini("[pytest]\namqpmock_diagrams = out/pictures\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "rpc")
    result.assert_outcomes(failed=1, deselected=2)
    expected = (
        pytester.path
        / "out"
        / "pictures"
        / diagram_file_name("test_traffic.py::test_rpc_then_wrong_assertion")
    )
    assert expected.is_file()
    result.stdout.fnmatch_lines([f"broker traffic diagram: {expected}"])


def test_file_names_are_safe_and_unique() -> None:
    assert diagram_file_name("tests/a.py::test_x[p-1/2]") == "tests_a.py_test_x_p-1_2.html"
    long_one, long_two = ("t.py::test[" + "x" * 300 + c + "]" for c in "ab")
    names = {diagram_file_name(long_one), diagram_file_name(long_two)}
    assert len(names) == 2 and all(len(n) <= 155 for n in names)
    assert all(Path(n).name == n for n in names)
