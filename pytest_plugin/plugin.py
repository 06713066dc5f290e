"""pytest entry point (``pytest11``) for amqpmock: a fake RabbitMQ for every test.

Fixtures:
- ``amqp_broker``: a fresh broker for the test (``amqpmock.testing.harness.BrokerFixture``):
  ``.url``, inspection (``.published``, ``.queue(name).delivered``...), assertions,
  injected messages, RPC stubs, ``.advance(seconds)``.
- ``amqp_url``: that broker's AMQP URL, for any client.
- ``amqpmock_server``: the session's server (one per xdist worker).
- ``amqps_url`` / ``amqpmock_tls``: the same broker over TLS, and the test CA to trust.

Configuration precedence: command line, then ini file, then defaults. Options live in
one ``amqpmock`` group; ini names match them (``--amqpmock-port`` / ``amqpmock_port``).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from urllib.parse import urlsplit

import pytest

from amqpmock.clocks import AdjustableClock
from amqpmock.fake import Broker
from amqpmock.testing.harness import BrokerFixture
from amqpmock.wire.loopthread import LOOP_KINDS

from . import cassettes
from .cassettes import (
    CassetteSession,
    _amqp_cassette_for_marked_tests,
    amqp_cassette,
    amqp_cassette_config,
    amqp_cassette_dir,
    default_amqp_cassette_name,
)

__all__ = [
    "_amqp_cassette_for_marked_tests",
    "amqp_broker",
    "amqp_cassette",
    "amqp_cassette_config",
    "amqp_cassette_dir",
    "amqp_url",
    "amqpmock_server",
    "amqpmock_tls",
    "amqps_url",
    "default_amqp_cassette_name",
]

# --amqpmock-diagrams: a sequence diagram of each failing test's broker traffic;
# --amqp-asyncapi: the AsyncAPI document of the session's traffic
pytest_plugins = ["pytest_amqpmock.diagrams", "pytest_amqpmock.contracts"]

DEFAULT_HOST = "127.0.0.1"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("amqpmock", "amqpmock: a fake RabbitMQ broker for tests")
    group.addoption(
        "--amqpmock-host",
        default=None,
        help=f"address the fake broker listens on (default {DEFAULT_HOST}; ini amqpmock_host)",
    )
    group.addoption(
        "--amqpmock-port",
        type=int,
        default=None,
        help="port of the fake broker (default: a free port; ini amqpmock_port)",
    )
    group.addoption(
        "--amqpmock-nodes",
        type=int,
        default=None,
        help="nodes of the fake broker: 2 or more make a cluster, each node on its own "
        "port (amqp_broker.node_urls, stop_node, start_node; ini amqpmock_nodes)",
    )
    group.addoption(
        "--amqpmock-seed",
        type=int,
        default=None,
        help="seed for server-generated names (amq.gen-..., amq.ctag-...; ini amqpmock_seed)",
    )
    group.addoption(
        "--amqpmock-loop",
        choices=LOOP_KINDS,
        default=None,
        help="the server thread's event loop: auto (uvloop when installed), asyncio or "
        "uvloop (ini amqpmock_loop)",
    )
    parser.addini("amqpmock_host", "address the fake broker listens on", default=DEFAULT_HOST)
    parser.addini(
        "amqpmock_loop", "the server thread's event loop: auto, asyncio or uvloop", default="auto"
    )
    parser.addini("amqpmock_port", "port of the fake broker (0: a free port)", default="0")
    parser.addini("amqpmock_seed", "seed for server-generated names", default="0")
    parser.addini("amqpmock_nodes", "nodes of the fake broker (2 or more: a cluster)", default="1")
    parser.addini(
        "amqpmock_users",
        "users of the fake broker, one NAME:PASSWORD per line (default guest:guest)",
        type="linelist",
        default=["guest:guest"],
    )
    parser.addini(
        "amqpmock_vhosts", "virtual hosts of the fake broker", type="linelist", default=["/"]
    )
    parser.addini(
        "amqpmock_definitions",
        "a RabbitMQ definitions export (JSON, relative to the rootdir) loaded into the fake "
        "broker before the first test: users, vhosts, permissions, policies, queues, "
        "exchanges, bindings; every test's fresh broker starts from it",
        default="",
    )
    cassettes.addoption(parser)


def pytest_configure(config: pytest.Config) -> None:
    cassettes.configure(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    cassettes.record_report(item, report)
    return report


def _setting(config: pytest.Config, name: str) -> str:
    value = config.getoption(f"--{name.replace('_', '-')}")
    if value is None:
        value = config.getini(name)
    return str(value)


def _users(config: pytest.Config) -> dict[str, str]:
    users: dict[str, str] = {}
    for line in config.getini("amqpmock_users"):
        name, sep, password = str(line).partition(":")
        if not sep or not name:
            raise pytest.UsageError(f"amqpmock_users: expected NAME:PASSWORD, got {line!r}")
        users[name] = password
    return users


@pytest.fixture(scope="session")
def amqpmock_server(pytestconfig: pytest.Config) -> Iterator[object]:
    """The fake broker's server for this session (each xdist worker has its own)."""
    from amqpmock.wire.server import ServerThread

    clock = AdjustableClock()
    from amqpmock.hookspecs import get_plugin_manager

    broker = Broker(
        clock,
        exchange_types=get_plugin_manager().exchange_types(),
        seed=int(_setting(pytestconfig, "amqpmock_seed")),
        users=_users(pytestconfig),
        vhosts=[str(v) for v in pytestconfig.getini("amqpmock_vhosts")],
    )
    definitions = str(pytestconfig.getini("amqpmock_definitions") or "")
    if definitions:
        from amqpmock.management import Context, load_definitions

        try:
            load_definitions(Context(broker), pytestconfig.rootpath / definitions)
        except ValueError as exc:
            raise pytest.UsageError(f"amqpmock_definitions: {exc}") from None
    loop = _setting(pytestconfig, "amqpmock_loop")
    if loop not in LOOP_KINDS:
        raise pytest.UsageError(
            f"amqpmock_loop: expected one of {', '.join(LOOP_KINDS)}, got {loop!r}"
        )
    try:
        server = ServerThread(
            broker=broker,
            host=_setting(pytestconfig, "amqpmock_host"),
            port=int(_setting(pytestconfig, "amqpmock_port")),
            loop=loop,
            nodes=_nodes(pytestconfig),
        )
    except RuntimeError as exc:  # uvloop asked for and missing
        raise pytest.UsageError(f"amqpmock_loop: {exc}") from exc
    with server:
        server.clock = clock  # type: ignore[attr-defined]
        yield server


def _nodes(config: pytest.Config) -> int:
    value = str(_setting(config, "amqpmock_nodes")).strip()
    if not value.isdigit() or int(value) < 1:
        raise pytest.UsageError(f"amqpmock_nodes: a number of nodes, 1 or more, got {value!r}")
    return int(value)


@pytest.fixture
def amqp_broker(amqpmock_server: object) -> Iterator[BrokerFixture]:
    """A fresh fake broker for this test: nothing is left from earlier tests."""
    server = amqpmock_server
    fixture = BrokerFixture(server, server.clock)  # type: ignore[arg-type, attr-defined]
    fixture.reset()
    try:
        yield fixture
    finally:
        fixture.reset()
        fixture.close()


@pytest.fixture(scope="session")
def amqpmock_tls(amqpmock_server: object, tmp_path_factory: pytest.TempPathFactory) -> object:
    """The session server's amqps listener, opened on first use, and its throwaway CA
    (``amqpmock.testing.tls.TestCertificates``: ``.ca_file``, ``.client_context()``).
    Needs trustme (the ``tls`` extra)."""
    from amqpmock.testing.tls import TestCertificates

    certificates = TestCertificates.create(tmp_path_factory.mktemp("amqpmock-tls"))
    amqpmock_server.start_tls(certificates.server_context())  # type: ignore[attr-defined]
    return certificates


@pytest.fixture(scope="session")
def _amqpmock_control(amqpmock_server: object) -> object:
    from amqpmock.testing.control import ControlAPI

    clock = amqpmock_server.clock  # type: ignore[attr-defined]
    return ControlAPI(BrokerFixture(amqpmock_server, clock))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def amqpmock_http(amqpmock_server: object, _amqpmock_control: object) -> str:
    """The session server's HTTP side, started on first use: RabbitMQ's management API
    (``/api/...``), the control API (``/amqpmock/...``) and the live page (``/``), at
    ``http://127.0.0.1:PORT``. Needs aiohttp (the ``http`` extra)."""
    from amqpmock.http import ManagementHTTP
    from amqpmock.view.live import LivePage

    http = ManagementHTTP(amqpmock_server.server)  # type: ignore[attr-defined]
    http.control = LivePage(_amqpmock_control, http.context)  # type: ignore[arg-type]
    url: str = amqpmock_server.run(http.start())  # type: ignore[attr-defined]
    return url


@pytest.fixture
def amqp_management_url(
    amqp_broker: BrokerFixture, amqpmock_http: str, _amqpmock_control: object
) -> str:
    """The management HTTP API (``/api/...``) and the control API (``/amqpmock/...``)
    of this test's fresh broker, with the broker's credentials:
    ``http://guest:guest@127.0.0.1:PORT`` (vhosts, users and permissions made through
    it are gone at the next test, like everything else)."""
    _amqpmock_control.fixture = amqp_broker  # type: ignore[attr-defined]
    parts = urlsplit(amqp_broker.url)
    userinfo = parts.netloc.rpartition("@")[0]
    return f"http://{userinfo}@{urlsplit(amqpmock_http).netloc}"


@pytest.fixture
def amqps_url(amqp_broker: BrokerFixture, amqpmock_tls: object) -> str:
    """The same fresh broker as ``amqp_url``, over TLS (``amqps://...``); clients trust
    ``amqpmock_tls.ca_file`` or ``amqpmock_tls.client_context()``."""
    url = amqp_broker.server.tls_url  # type: ignore[attr-defined]
    assert url is not None
    return str(url)


@pytest.fixture
def amqp_url(amqp_broker: BrokerFixture, amqp_cassette: CassetteSession | None) -> str:
    """The AMQP URL for this test's clients: the fake broker
    (``amqp://guest:guest@127.0.0.1:PORT/``), replaying the cassette when the test is
    marked ``amqp_cassette``, or the recording proxy when it is recording."""
    if amqp_cassette is not None:
        return str(amqp_cassette.url)
    return amqp_broker.url
