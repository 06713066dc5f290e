"""Message contracts from a test session: ``--amqp-asyncapi=FILE`` writes the AsyncAPI
3.0 document of everything the session's tests published and consumed on the fake
broker (plain fake and cassette replay), made by ``amqpmock.contracts`` as
``amqpmock asyncapi`` makes it from cassettes.

Rules this module keeps:
- Off unless asked for: without the option nothing listens and nothing is imported.
- One listener for the session, on the session's broker (every test's fresh broker is
  that broker, reset), attached when the server starts, on the server's thread.
- The document is written when the session ends (YAML, or JSON for ``.json``), relative
  to the invocation directory. Under pytest-xdist each worker has its own broker and
  writes its own document, ``NAME.<worker>.SUFFIX``.
- A document that cannot be written fails the session with the reason; it never hides
  the tests' own outcome (a session that failed stays failed).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["asyncapi_path", "pytest_addoption"]

_COLLECTOR = pytest.StashKey[Any]()
_WRITTEN = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amqpmock", "amqpmock: a fake RabbitMQ broker for tests")
    group.addoption(
        "--amqp-asyncapi",
        default=None,
        metavar="FILE",
        help="write the AsyncAPI 3.0 document of what the session's tests published and "
        "consumed on the fake broker to FILE (JSON if it ends in .json, else YAML)",
    )


def asyncapi_path(config: pytest.Config) -> Path | None:
    """Where the session's document goes, or None when the option is off."""
    option = config.getoption("--amqp-asyncapi", default=None)
    if not option:
        return None
    path = Path(config.invocation_params.dir, str(option))
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        path = path.with_name(f"{path.stem}.{worker}{path.suffix}")
    return path


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    server = yield
    config = request.config
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
    path = asyncapi_path(config)
    if path is None:
        return
    from amqpmock.contracts import ContractError, build_document, write_document

    collector = config.stash.get(_COLLECTOR, None)
    try:
        if collector is None:
            from amqpmock.contracts import Traffic

            traffic = Traffic(sources=["a pytest session that used no fake broker"])
        else:
            collector.detach()  # the server has stopped: nothing else touches it now
            traffic = collector.traffic
        document = build_document(traffic, title=f"AMQP traffic of {config.rootpath.name}'s tests")
        written = write_document(document, path)
    except ContractError as exc:
        config.stash[_WRITTEN] = f"amqpmock: no AsyncAPI document: {exc}"
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    counts = f"{len(document['channels'])} channels, {len(document['operations'])} operations"
    config.stash[_WRITTEN] = f"amqpmock: AsyncAPI document {written} ({counts})"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    line = config.stash.get(_WRITTEN, None)
    if line:
        terminalreporter.write_line(line)
