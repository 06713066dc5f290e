"""Message contracts from a test session: ``--amqp-asyncapi=FILE`` writes the AsyncAPI
3.0 document of everything the session's tests published and consumed on the fake
broker (plain fake and cassette replay), made by ``amqpmock.contracts`` as
``amqpmock asyncapi`` makes it from cassettes.

Rules this module keeps:
- Off unless asked for: without the option nothing listens and nothing is imported.
- One listener for the session, on the session's broker (every test's fresh broker is
  that broker, reset), attached when the server starts, on the server's thread.
- The document is written when the session ends (YAML, or JSON for ``.json``), relative
  to the invocation directory. Under pytest-xdist each worker has its own broker: a
  worker writes nothing and hands its traffic to the controller (pickled in
  ``workeroutput``: the same package on both ends), which merges every worker's into
  the one document at FILE, as ``amqpmock asyncapi`` merges cassettes.
- A document that cannot be written fails the session with the reason; it never hides
  the tests' own outcome (a session that failed stays failed).

Checking: the ini setting ``amqp_asyncapi`` (relative to the rootdir) or the marker
``@pytest.mark.amqp_contract("FILE")`` (relative to the test's file; the marker wins)
names a document; every publish a test's clients made (``amqp_broker.published``: the
fake, replay, or while recording) is checked against it once the test body has passed,
and violations fail the test, each with its rule, channel and JSON pointer. A test
that failed on its own keeps its own failure as the headline: a broken or missing
document is then a note under it, not a second failure in its place. The channels no
test exercised are reported once for the session; under pytest-xdist the workers hand
the channels they exercised to the controller, which reports over all of them.
"""

from __future__ import annotations

import pickle
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["asyncapi_path", "contract_path", "pytest_addoption"]

_COLLECTOR = pytest.StashKey[Any]()
_WRITTEN = pytest.StashKey[str]()
_FROM_WORKERS = pytest.StashKey[dict[str, Any]]()  # worker id -> its Traffic
# what a worker hands the controller in ``workeroutput``
_TRAFFIC_OUTPUT = "amqpmock_asyncapi_traffic"
_EXERCISED_OUTPUT = "amqpmock_contract_exercised"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amqpmock", "amqpmock: a fake RabbitMQ broker for tests")
    group.addoption(
        "--amqp-asyncapi",
        default=None,
        metavar="FILE",
        help="write the AsyncAPI 3.0 document of what the session's tests published and "
        "consumed on the fake broker to FILE (JSON if it ends in .json, else YAML)",
    )
    parser.addini(
        "amqp_asyncapi",
        "an AsyncAPI document (2.6 or 3.0, relative to the rootdir) every test's publishes "
        "are checked against (the amqp_contract marker names another)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "amqp_contract(path, declare=False): check this test's publishes against the "
        "AsyncAPI document at path (relative to the test's file); declare=True declares "
        "its exchanges, queues and bindings on the fake before the test",
    )


def contract_path(item: pytest.Item) -> Path | None:
    """The document the item's publishes are checked against, or None."""
    marker = item.get_closest_marker("amqp_contract")
    if marker is not None:
        if not marker.args:
            raise pytest.UsageError("amqp_contract needs the document's path")
        unknown = sorted(set(marker.kwargs) - {"declare"})
        if unknown:
            raise pytest.UsageError(
                f"amqp_contract: unknown option(s) {', '.join(unknown)} (known: declare)"
            )
        return (Path(item.path).parent / str(marker.args[0])).resolve()
    ini = str(item.config.getini("amqp_asyncapi") or "").strip()
    # resolved: the ini's and a marker's names of one document are one document
    return Path(item.config.rootpath, ini).resolve() if ini else None


_CONTRACTS = pytest.StashKey[dict[Path, Any]]()


_COVERAGE = pytest.StashKey[dict[Path, Any]]()


def _contract(config: pytest.Config, path: Path) -> Any:
    """The loaded document at path (once a session); a bad one is a usage error."""
    from amqpmock.contracts import Contract, ContractError, Coverage

    cache = config.stash.setdefault(_CONTRACTS, {})
    try:
        if path not in cache:
            cache[path] = Contract.load(path)
            config.stash.setdefault(_COVERAGE, {})[path] = Coverage(cache[path])
    except ContractError as exc:
        # the document may be the ini's or a marker's: the message names its path
        raise pytest.UsageError(f"amqpmock contract: {exc}") from None
    return cache[path]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    path = contract_path(item)
    broker = getattr(item, "funcargs", {}).get("amqp_broker")
    if path is None or broker is None:
        return (yield)
    try:
        result = yield
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise  # the session stops: nothing to add
        # a test that failed on its own keeps its own failure: a document that cannot
        # be read is a note under it, and its publishes are not checked
        try:
            _record(item.config, path, broker.published, broker.delivered)
        except pytest.UsageError as problem:
            exc.add_note(str(problem))
        raise
    published = broker.published
    contract = _record(item.config, path, published, broker.delivered)
    from amqpmock.contracts import conformance_failure

    failure = conformance_failure(contract, published)
    if failure:
        __tracebackhide__ = True
        raise AssertionError(failure)
    return result


def _record(config: pytest.Config, path: Path, published: Any, delivered: Any = ()) -> Any:
    """The document at path, with the test's publishes and deliveries counted as
    exercising it."""
    contract = _contract(config, path)
    coverage = config.stash[_COVERAGE][path]
    coverage.record(published)
    coverage.record_deliveries(delivered)
    return contract


def asyncapi_path(config: pytest.Config) -> Path | None:
    """Where the session's document goes, or None when the option is off."""
    option = config.getoption("--amqp-asyncapi", default=None)
    if not option:
        return None
    return Path(config.invocation_params.dir, str(option))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    server = yield
    config = request.config
    if fixturedef.argname == "amqp_broker":
        server.contract_path = contract_path(request.node)  # for assert_conforms()
        marker = request.node.get_closest_marker("amqp_contract")
        if marker is not None and marker.kwargs.get("declare"):
            from amqpmock.contracts import ContractError

            try:
                server.declare_contract()
            except ContractError as exc:
                raise pytest.UsageError(f"amqp_contract: {exc}") from None
    if (
        fixturedef.argname == "amqpmock_server"
        and asyncapi_path(config) is not None
        and _COLLECTOR not in config.stash
    ):
        from amqpmock.contracts import BrokerTraffic

        collector = BrokerTraffic(server.broker, source="the pytest session's fake broker")
        server.call(collector.attach)
        config.stash[_COLLECTOR] = collector
    return server


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_worker(config):
        _hand_to_controller(config)
        return
    path = asyncapi_path(config)
    if path is None:
        return
    from amqpmock.contracts import ContractError, Traffic, build_document, write_document

    collector = config.stash.get(_COLLECTOR, None)
    if collector is not None:
        collector.detach()  # the server has stopped: nothing else touches it now
    parts = [collector.traffic] if collector is not None else []
    workers = config.stash.get(_FROM_WORKERS, {})
    parts += [workers[worker] for worker in sorted(workers)]
    traffic = Traffic()
    for part in parts:
        traffic.merge(part)
    if not parts:
        traffic.sources.append("a pytest session that used no fake broker")
    try:
        document = build_document(traffic, title=f"AMQP traffic of {config.rootpath.name}'s tests")
        written = write_document(document, path)
    except ContractError as exc:
        config.stash[_WRITTEN] = f"amqpmock: no AsyncAPI document: {exc}"
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    counts = f"{len(document['channels'])} channels, {len(document['operations'])} operations"
    config.stash[_WRITTEN] = f"amqpmock: AsyncAPI document {written} ({counts})"


def _hand_to_controller(config: pytest.Config) -> None:
    """A worker's traffic and exercised channels, for the controller to merge (it runs
    before pytest-xdist sends ``workeroutput``, in the worker's own sessionfinish)."""
    output: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
    collector = config.stash.get(_COLLECTOR, None)
    if collector is not None:
        collector.detach()
        output[_TRAFFIC_OUTPUT] = pickle.dumps(collector.traffic)
    output[_EXERCISED_OUTPUT] = {
        str(path): sorted(coverage.exercised)
        for path, coverage in config.stash.get(_COVERAGE, {}).items()
    }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the controller: a worker's traffic and exercised channels, merged."""
    config: pytest.Config = node.config
    output = getattr(node, "workeroutput", None) or {}
    worker = str(node.gateway.id)  # gw0, gw1...
    if _TRAFFIC_OUTPUT in output:
        config.stash.setdefault(_FROM_WORKERS, {})[worker] = pickle.loads(output[_TRAFFIC_OUTPUT])
    for name, exercised in (output.get(_EXERCISED_OUTPUT) or {}).items():
        try:
            _contract(config, Path(name))
        except pytest.UsageError:
            continue  # the worker's tests failed with it already
        config.stash[_COVERAGE][Path(name)].exercised.update(exercised)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _is_worker(config):
        return  # the controller reports, over every worker's tests
    line = config.stash.get(_WRITTEN, None)
    if line:
        terminalreporter.write_line(line)
    ini = str(config.getini("amqp_asyncapi") or "").strip()
    if ini and config.stash.get(_COVERAGE, None) is None:
        try:  # a configured document no test used: every channel is unexercised
            _contract(config, Path(config.rootpath, ini))
        except pytest.UsageError as exc:
            terminalreporter.write_line(str(exc))
    for path, coverage in config.stash.get(_COVERAGE, {}).items():
        lines = coverage.never_exercised()
        if lines:
            terminalreporter.section("amqpmock contract: channels never exercised")
            terminalreporter.write_line(f"{path.name}:")
            for each in lines:
                terminalreporter.write_line(f"  {each}")
