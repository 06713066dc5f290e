"""The never-exercised report, from a new user's trial: a queue channel the tests only
consume from is exercised, and one document named by the ini and by a marker (by
another relative path) is one document with one report."""

from __future__ import annotations

import pytest

from tests.contracts.test_assert_conforms import SERVICE
from tests.contracts.test_checking import DOCUMENT
from tests.contracts.test_coverage import SECTION

pytest_plugins = ["pytester"]

BILLING = """
  billing:
    address: billing
    messages:
      invoice: {payload: {type: object}}
    bindings:
      amqp: {is: queue, queue: {name: billing}}
"""

HEAD = SERVICE.split("def test_named")[0]

TESTS = """
def consume_billing(url):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_declare("billing")
    channel.queue_bind("billing", "shop.events", "invoice.*")
    return connection, channel


def test_accepted_and_invoice(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    connection, channel = consume_billing(amqp_broker.url)
    publish(amqp_broker.url, "invoice.eu", {"n": 1}, {})
    method, _, _ = channel.basic_get("billing", auto_ack=True)
    assert method is not None
    connection.close()


@pytest.mark.amqp_contract("../contracts/shop.yaml")
def test_marked_too(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
"""


def test_consumed_queues_count_and_one_document_is_reported_once(
    pytester: pytest.Pytester,
) -> None:
    channels_end = DOCUMENT.index("components:")
    document = DOCUMENT[:channels_end] + BILLING.lstrip("\n") + DOCUMENT[channels_end:]
    (pytester.path / "contracts").mkdir()
    (pytester.path / "contracts" / "shop.yaml").write_text(document)
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_service.py").write_text(HEAD + TESTS)
    pytester.makeini("[pytest]\namqp_asyncapi = contracts/shop.yaml\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    # every channel was exercised (billing by its consumer alone): no report at all
    assert SECTION not in out, out


def test_a_queue_nobody_consumed_from_is_still_reported(pytester: pytest.Pytester) -> None:
    channels_end = DOCUMENT.index("components:")
    pytester.makefile(
        ".yaml", shop=DOCUMENT[:channels_end] + BILLING.lstrip("\n") + DOCUMENT[channels_end:]
    )
    pytester.makeini("[pytest]\namqp_asyncapi = shop.yaml\n")
    pytester.makepyfile(
        test_service=HEAD
        + """
def test_accepted(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    publish(amqp_broker.url, "invoice.eu", {"n": 1}, {})
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert out.count(SECTION) == 1
    assert "  billing (routing key 'billing')" in out


def test_a_misspelt_marker_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", shop=DOCUMENT)
    pytester.makepyfile(
        test_service="""
import pytest

@pytest.mark.amqp_contract("shop.yaml", declar=True)
def test_it(amqp_broker):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*amqp_contract: unknown option(s) declar (known: declare)*"])
