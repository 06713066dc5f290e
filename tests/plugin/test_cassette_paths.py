"""Where a test's cassette lives, and how its options merge (pytest-recording's
conventions): no two tests share a cassette by accident; module, class and test markers
and the ``amqp_cassette_config`` fixture merge in a written-down order; the marker alone
brings the cassette, whichever amqpmock fixture the test uses."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

# The test reports the path it would replay from: with record mode none and no cassette,
# the plugin fails the test naming that path.
TWO_CLASSES = """
import pytest

@pytest.mark.amqp_cassette
class TestCheckout:
    def test_flow(self, amqp_url):
        pass

@pytest.mark.amqp_cassette
class TestRefund:
    def test_flow(self, amqp_url):
        pass

@pytest.mark.amqp_cassette
@pytest.mark.parametrize("n", [1, 2])
def test_param(amqp_url, n):
    pass
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def summary_errors(result: pytest.RunResult) -> dict[str, str]:
    """Each erroring test's line of the short summary (whole under -vv, whatever the
    terminal's width), by test name."""
    errors = {}
    for line in result.stdout.lines:
        if line.startswith("ERROR ") and "::" in line:
            name, _, reason = line.split("::", 1)[1].partition(" - ")
            errors[name] = reason
    return errors


def test_classes_and_parameters_get_their_own_cassettes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=TWO_CLASSES)
    result = run(pytester)
    result.assert_outcomes(errors=4)
    out = result.stdout.str()
    for name in (
        "cassettes/test_shop/TestCheckout.test_flow.yaml",
        "cassettes/test_shop/TestRefund.test_flow.yaml",
        "cassettes/test_shop/test_param_1.yaml",
        "cassettes/test_shop/test_param_2.yaml",
    ):
        assert name in out, name


def test_modules_of_the_same_name_in_two_folders_do_not_collide(
    pytester: pytest.Pytester,
) -> None:
    body = "import pytest\n\n@pytest.mark.amqp_cassette\ndef test_api(amqp_url):\n    pass\n"
    for folder in ("a", "b"):
        pytester.mkpydir(folder)
        (pytester.path / folder / "test_api.py").write_text(body)
    result = run(pytester, "--import-mode=importlib")
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    assert "cassettes/a/test_api/test_api.yaml" in out
    assert "cassettes/b/test_api/test_api.yaml" in out


def test_override_fixtures_choose_the_folder_and_the_name(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def amqp_cassette_dir():
            return "/tmp/elsewhere"

        @pytest.fixture
        def default_amqp_cassette_name(request):
            return "custom-" + request.node.name
        """
    )
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.amqp_cassette\ndef test_x(amqp_url):\n    pass\n"
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    assert "/tmp/elsewhere/custom-test_x.yaml" in result.stdout.str()


MERGE = """
import pytest

pytestmark = pytest.mark.amqp_cassette(record_mode="bogus-from-module")

@pytest.mark.amqp_cassette("x.yaml")
def test_module_option_reaches_a_marked_test(amqp_url):
    pass

@pytest.mark.amqp_cassette("x.yaml", record_mode="none")
def test_the_test_marker_wins(amqp_url):
    pass
"""


def test_module_and_test_markers_merge_nearest_winning(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MERGE)
    result = run(pytester, "-vv")
    # the module's (bad) record mode reaches the first test through the merge; the
    # second test's own record_mode wins and it fails only for the missing cassette
    result.assert_outcomes(errors=2)
    errors = summary_errors(result)
    assert (
        "record_mode 'bogus-from-module' is not one of"
        in errors["test_module_option_reaches_a_marked_test"]
    )
    assert "cassettes/x.yaml: no such cassette file" in errors["test_the_test_marker_wins"]


def test_the_config_fixture_sets_defaults_that_markers_override(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def amqp_cassette_config():
            return {"record_mode": "bogus-from-config"}
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.amqp_cassette("x.yaml")
        def test_config_applies(amqp_url):
            pass

        @pytest.mark.amqp_cassette("x.yaml", record_mode="none")
        def test_marker_overrides(amqp_url):
            pass
        """
    )
    result = run(pytester, "-vv")
    result.assert_outcomes(errors=2)
    errors = summary_errors(result)
    assert "'bogus-from-config' is not one of" in errors["test_config_applies"]
    assert "cassettes/x.yaml: no such cassette file" in errors["test_marker_overrides"]


def test_a_marked_test_that_uses_only_amqp_broker_gets_its_cassette(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.amqp_cassette("missing.yaml")
        def test_broker_only(amqp_broker):
            pass

        def test_unmarked(amqp_broker):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*cassettes/missing.yaml*"])


def test_disable_recording_runs_marked_tests_on_the_plain_fake(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.amqp_cassette("missing.yaml")
        def test_marked(amqp_url, amqp_broker):
            assert amqp_url == amqp_broker.url
        """
    )
    run(pytester).assert_outcomes(errors=1)  # the cassette is missing
    run(pytester, "--amqp-disable-recording").assert_outcomes(passed=1)


INLINE = (
    "version: 1\n"
    "amqpmock: 0.1.0\n"
    "connections:\n"
    "- id: 1\n"
    "  interactions:\n"
    "  - dir: c2s\n"
    "    channel: 1\n"
    "    method: Basic.Publish\n"
    "    args: {exchange: '', routing_key: jobs}\n"
    '    body: \'{"n": 1, "at": "mon"}\'\n'
    "    outcome: routed\n"
)

INLINE_TESTS = """
import json
import pika
import pytest

def same_n(live, recorded):
    # a matcher function inline in the marker, as VCR.py allows
    if json.loads(live.body)["n"] != json.loads(recorded.body)["n"]:
        raise AssertionError("n differs")

@pytest.mark.amqp_cassette("jobs.yaml", match_on=("routing_key", same_n))
def test_inline(amqp_url):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.basic_publish("", "jobs", json.dumps(BODY))
    conn.process_data_events(time_limit=0.2)
    conn.close()
"""


@pytest.mark.parametrize(
    ("body", "passed"), [({"n": 1, "at": "tue"}, True), ({"n": 2, "at": "mon"}, False)]
)
def test_an_inline_matcher_function_in_the_marker(
    pytester: pytest.Pytester, body: dict[str, object], passed: bool
) -> None:
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "jobs.yaml").write_text(INLINE)
    pytester.makepyfile(INLINE_TESTS.replace("BODY", repr(body)))
    result = run(pytester)
    if passed:
        result.assert_outcomes(passed=1)
    else:
        # the test passed on its own; the replay's mismatch fails it, in its own report
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*the cassette replay went wrong*", "*n differs*"])
