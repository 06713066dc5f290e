"""A test that failed on its own keeps its own failure as the headline when its document
is missing or broken: the contract's problem is one extra line under it, not a usage
error in its place. A passing test with such a document still fails, naming it."""

from __future__ import annotations

import pytest

from tests.contracts.test_assert_conforms import SERVICE

pytest_plugins = ["pytester"]

HEAD = SERVICE.split("def test_named")[0]

TESTS = (
    HEAD
    + """
def test_assertion(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    assert False, "the test's own failure"


def test_error(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    raise RuntimeError("the service broke")


@pytest.mark.amqp_contract("broken.yaml")
def test_broken_document(amqp_broker):
    raise LookupError("no such order")


def test_passes(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
"""
)


def test_the_tests_own_failure_stays_the_headline(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", broken="asyncapi: [3.0.0\n")
    pytester.makeini("[pytest]\namqp_asyncapi = nowhere.yaml\n")
    pytester.makepyfile(test_service=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED test_service.py::test_assertion - AssertionError: the test's own failure*",
            "FAILED test_service.py::test_error - RuntimeError: the service broke",
            "FAILED test_service.py::test_broken_document - LookupError: no such order",
            "FAILED test_service.py::test_passes - *UsageError: amqpmock contract: *nowhere*",
        ]
    )
    out = result.stdout.str()
    # the extra line, under each failure's own
    missing = "E * amqpmock contract: *nowhere.yaml: cannot read*"
    result.stdout.fnmatch_lines(["E * the test's own failure*", missing])
    result.stdout.fnmatch_lines(["E * RuntimeError: the service broke", missing])
    result.stdout.fnmatch_lines(
        [
            "E * LookupError: no such order",
            "E * amqpmock contract: *broken.yaml: not valid yaml: "
            "line 1, column 17: expected ',' or ']', but got '<stream end>'",
            "",
        ]
    )
    assert out.count("E       amqpmock contract: ") == 3, out
    assert "amqp_contract:" not in out  # the ini's document is not the marker's
