"""A picture of a failing test: its fake broker's traffic as a sequence diagram.

With ``--amqpmock-diagrams=DIR`` (or the ini setting ``amqpmock_diagrams``), a test that
used ``amqp_broker`` (directly, or through ``amqp_url`` / ``amqp_cassette``) and fails
gets ``DIR/<node id, made file-safe>.html``: the diagram of what it published, what
was routed, delivered, acked, returned and dead-lettered, built from the fixture's
``TrafficRecorder`` records. The failure report names the file.

Rules this module keeps:
- Off unless asked for: without the option no listener is attached and nothing runs.
- Connections and channels are not in the recorder's records, so a ``TrafficContext``
  listens next to the recorder from the moment the fixture is ready, and leaves before
  the fixture is torn down (the session's broker outlives the test).
- Reads of broker state happen on the server's thread (``server.call``).
- A diagram that cannot be written never hides the test's own failure: the report then
  says why there is no diagram.

Configuration precedence: command line (relative to the invocation directory), then the
ini setting (relative to the rootdir).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from amqpmock.testing.harness import BrokerFixture
from amqpmock.view.flows import TrafficContext, flow_from_records

__all__ = ["diagram_file_name", "pytest_addoption"]

SECTION = "amqpmock diagram"
_CONTEXT = pytest.StashKey[tuple[BrokerFixture, TrafficContext]]()
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 150


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amqpmock", "amqpmock: a fake RabbitMQ broker for tests")
    group.addoption(
        "--amqpmock-diagrams",
        default=None,
        metavar="DIR",
        help="write a sequence diagram of the broker traffic of each failing test that "
        "used amqp_broker into DIR (ini amqpmock_diagrams)",
    )
    parser.addini(
        "amqpmock_diagrams",
        "directory for sequence diagrams of failing tests' broker traffic (relative to "
        "the rootdir; empty: off)",
        default="",
    )


def diagrams_dir(config: pytest.Config) -> Path | None:
    """Where diagrams go, or None when the feature is off."""
    option = config.getoption("--amqpmock-diagrams", default=None)
    if option:
        return Path(config.invocation_params.dir, str(option))
    ini = str(config.getini("amqpmock_diagrams") or "").strip()
    if ini:
        return Path(config.rootpath, ini)
    return None


def diagram_file_name(nodeid: str) -> str:
    """A file name for a test: its node id with everything but ``[A-Za-z0-9._-]``
    turned into ``_``; a long id is shortened and keeps a hash so names stay unique."""
    name = _UNSAFE.sub("_", nodeid).strip("._") or "test"
    if len(name) > _MAX_NAME:
        digest = hashlib.sha256(nodeid.encode()).hexdigest()[:10]
        name = f"{name[: _MAX_NAME - 11]}-{digest}"
    return f"{name}.html"


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    result = yield
    if (
        fixturedef.argname == "amqp_broker"
        and isinstance(result, BrokerFixture)
        and diagrams_dir(request.config) is not None
    ):
        context = TrafficContext()
        listeners = result.broker.listeners
        result.server.call(lambda: listeners.append(context.listener))
        request.node.stash[_CONTEXT] = (result, context)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    attached = item.stash.get(_CONTEXT, None)
    directory = diagrams_dir(item.config)
    if report.when == "call" and report.failed and attached is not None and directory:
        fixture, context = attached
        try:
            path = _write(directory, item.nodeid, fixture, context)
            line = f"broker traffic diagram: {path}"
        except Exception as exc:  # the test's own failure matters more
            line = f"no broker traffic diagram: {type(exc).__name__}: {exc}"
        report.sections.append((SECTION, line))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    attached = item.stash.get(_CONTEXT, None)
    if attached is not None:
        fixture, context = attached
        listeners = fixture.broker.listeners

        def detach() -> None:
            if context.listener in listeners:
                listeners.remove(context.listener)

        fixture.server.call(detach)
        del item.stash[_CONTEXT]
    return (yield)


def _write(directory: Path, nodeid: str, fixture: BrokerFixture, context: TrafficContext) -> Path:
    from amqpmock.cassette import write_text_atomic
    from amqpmock.view.diagram import build_diagram, render_html

    flow = fixture.server.call(
        lambda: flow_from_records(list(fixture.recorder.records), context, title=nodeid)
    )
    flow.subtitle = "broker traffic of a failing test"
    if not flow.events:
        flow.notes.append("The test's broker saw no message traffic.")
    path = directory / diagram_file_name(nodeid)
    write_text_atomic(path, render_html(build_diagram(flow)))
    return path
