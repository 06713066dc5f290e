"""The session's report of a document's channels no test exercised: a terminal summary
section "amqpmock contract: channels never exercised" naming each with its send
operations, and nothing when every channel was published on."""

from __future__ import annotations

import pytest

from tests.contracts.test_assert_conforms import SERVICE
from tests.contracts.test_checking import DOCUMENT

pytest_plugins = ["pytester"]

SECTION = "amqpmock contract: channels never exercised"

OPERATIONS = """
operations:
  publishAccepted:
    action: send
    channel: {$ref: '#/channels/orderAccepted'}
  publishInvoice:
    action: send
    channel: {$ref: '#/channels/invoices'}
  readInvoice:
    action: receive
    channel: {$ref: '#/channels/invoices'}
"""

HEAD = SERVICE.split("def test_named")[0]


def _run(pytester: pytest.Pytester, tests: str, *args: str) -> pytest.RunResult:
    pytester.makefile(".yaml", shop=DOCUMENT + OPERATIONS)
    pytester.makeini("[pytest]\namqp_asyncapi = shop.yaml\n")
    pytester.makepyfile(test_service=HEAD + tests)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_unexercised_channels_are_listed(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
def test_accepted(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
""",
    )
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert SECTION in out
    assert (
        "  invoices (routing key 'invoice.{region}' on exchange 'shop.events'): "
        "send operations publishInvoice" in out
    )
    assert "orderAccepted (" not in out


def test_a_failing_tests_publishes_count_too(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
def test_accepted(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    publish(amqp_broker.url, "invoice.eu", {"n": 1}, {})
    assert False, "the test's own failure"
""",
    )
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "the test's own failure" in out
    assert SECTION not in out


def test_nothing_when_all_were_exercised(pytester: pytest.Pytester) -> None:
    result = _run(
        pytester,
        """
def test_accepted(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)


def test_invoice(amqp_broker):
    publish(amqp_broker.url, "invoice.eu", {"n": 1}, {})
""",
    )
    result.assert_outcomes(passed=2)
    assert SECTION not in result.stdout.str()


def test_a_session_that_used_no_broker_lists_every_channel(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "\ndef test_nothing():\n    pass\n")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert SECTION in out
    assert (
        "  orderAccepted (routing key 'order.accepted' on exchange 'shop.events'): "
        "send operations publishAccepted" in out
    )
    assert "  invoices (" in out
