"""Under pytest-xdist (``-n 2``) the session still has one AsyncAPI document, the one
``--amqp-asyncapi=FILE`` names, made from every worker's traffic, and one report of the
channels never exercised, over every worker's publishes."""

from __future__ import annotations

import pytest
import yaml

from tests.contracts.test_assert_conforms import SERVICE
from tests.contracts.test_checking import DOCUMENT
from tests.contracts.test_coverage import OPERATIONS, SECTION

pytest_plugins = ["pytester"]

HEAD = SERVICE.split("def test_named")[0]

# one test per module, and --dist loadfile: each worker runs one of them (each module
# waits until both workers have started, so neither takes both)
ACCEPTED = (
    HEAD
    + """
def test_accepted(amqp_broker, worker_id, both_started):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    print("accepted on", worker_id)
"""
)
INVOICE = (
    HEAD
    + """
def test_invoice(amqp_broker, worker_id, both_started):
    publish(amqp_broker.url, "invoice.eu", {"n": 1}, {})
    print("invoice on", worker_id)
"""
)
CONFTEST = """
import time
import pytest


@pytest.fixture
def both_started(worker_id, tmp_path_factory):
    shared = tmp_path_factory.getbasetemp().parent
    (shared / f"started-{worker_id}").write_text("")
    deadline = time.monotonic() + 30
    while len(list(shared.glob("started-gw*"))) < 2:
        assert time.monotonic() < deadline, "the other worker never started"
        time.sleep(0.05)
"""


def _run(pytester: pytest.Pytester, accepted: str, *args: str) -> pytest.RunResult:
    pytester.makefile(".yaml", shop=DOCUMENT + OPERATIONS)
    pytester.makeini("[pytest]\namqp_asyncapi = shop.yaml\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_accepted=accepted, test_invoice=INVOICE)
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile", "-rP", *args
    )


def _on_both(result: pytest.RunResult) -> None:
    out = result.stdout.str()
    workers = {line.split(" on ")[1] for line in out.splitlines() if " on gw" in line}
    assert workers == {"gw0", "gw1"}, out  # the tests ran on two workers


def test_one_document_from_every_worker(pytester: pytest.Pytester) -> None:
    result = _run(pytester, ACCEPTED, "--amqp-asyncapi=api.yaml")
    result.assert_outcomes(passed=2)
    _on_both(result)
    result.stdout.fnmatch_lines(["amqpmock: AsyncAPI document *api.yaml (* channels, *)"])
    assert sorted(p.name for p in pytester.path.glob("api*")) == ["api.yaml"]
    document = yaml.safe_load((pytester.path / "api.yaml").read_text())
    ops = document["operations"]
    assert {"send.shop.events.order.accepted", "send.shop.events.invoice.eu"} <= set(ops)
    assert document["info"]["description"].count("the pytest session's fake broker") == 1


def test_the_coverage_report_is_over_every_worker(pytester: pytest.Pytester) -> None:
    result = _run(pytester, ACCEPTED)
    result.assert_outcomes(passed=2)
    _on_both(result)
    out = result.stdout.str()
    assert SECTION not in out  # each worker exercised one channel, together both


def test_a_channel_no_worker_exercised_is_reported_once(pytester: pytest.Pytester) -> None:
    result = _run(pytester, ACCEPTED.replace('"order.accepted", GOOD', '"order.other", GOOD'))
    result.assert_outcomes(passed=1, failed=1)  # order.other is no channel
    _on_both(result)
    out = result.stdout.str()
    assert out.count(SECTION) == 1, out
    assert "  orderAccepted (routing key 'order.accepted'" in out
    assert "  invoices (" not in out
