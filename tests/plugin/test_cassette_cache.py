"""A cassette that several tests replay is parsed once per pytest session, and read
afresh when the file changes (recorded again, or edited) between two of them."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

EMPTY = "version: 1\namqpmock: 0.1.0\ncomplete: true\nconnections: []\n"

# counts the cassette files the plugin parses (every load goes through ``loads``)
CONFTEST = """
import amqpmock.cassette._yaml as cassette_yaml

PARSED = []
_real = cassette_yaml.loads


def _counting(text, path=None):
    PARSED.append(path.name if path is not None else None)
    return _real(text, path)


cassette_yaml.loads = _counting
"""

TESTS = """
import pytest

from conftest import PARSED


@pytest.mark.amqp_cassette("shared.yaml")
@pytest.mark.parametrize("n", range(3))
def test_replays(amqp_url, n):
    assert amqp_url.startswith("amqp://")


def test_parsed_once_for_the_three():
    assert PARSED == ["shared.yaml"]


def test_a_rewrite(pytestconfig):
    cassette = pytestconfig.rootpath / "cassettes" / "shared.yaml"
    cassette.write_text(cassette.read_text() + "# edited\\n")


@pytest.mark.amqp_cassette("shared.yaml")
def test_replays_after_the_rewrite(amqp_url):
    pass


@pytest.mark.amqp_cassette("other.yaml")
def test_replays_another(amqp_url):
    pass


def test_the_rewritten_one_was_read_again():
    assert PARSED == ["shared.yaml", "shared.yaml", "other.yaml"]
"""


def test_a_shared_cassette_is_parsed_once_and_again_when_it_changes(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    (pytester.path / "cassettes").mkdir()
    for name in ("shared.yaml", "other.yaml"):
        (pytester.path / "cassettes" / name).write_text(EMPTY)
    pytester.makepyfile(test_shared=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
