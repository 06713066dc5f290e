"""oslo.messaging's real rabbit driver against the fake: the seed document's flows.

An RPCServer (threading executor) serves topic ``dhcp_agent`` on server ``node-1`` with
control_exchange ``neutron``; an RPCClient does ``call``, ``cast`` and ``fanout_cast``.
Afterwards the broker holds what the seed document describes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import oslo_messaging as messaging
import pytest
from oslo_config import cfg

from amqpmock.testing.harness import BrokerFixture

TOPIC, HOST, CONTROL = "dhcp_agent", "node-1", "neutron"


class NetworkNotFound(Exception):
    """Not in oslo's allowed_remote_exmods: callers get a RemoteError naming it."""


class DhcpEndpoint:
    def __init__(self) -> None:
        self.casts: list[tuple[str, Any]] = []
        self.event = threading.Event()

    def get_active_networks(self, ctxt: dict[str, Any], host: str) -> list[str]:
        return [f"net-for-{host}"]

    def fail(self, ctxt: dict[str, Any]) -> None:
        raise ValueError("no such network")

    def fail_custom(self, ctxt: dict[str, Any]) -> None:
        raise NetworkNotFound("net-9")

    def port_update(self, ctxt: dict[str, Any], port: dict[str, Any]) -> None:
        self.casts.append(("port_update", port))
        self.event.set()

    def network_delete(self, ctxt: dict[str, Any], network_id: str) -> None:
        self.casts.append(("network_delete", network_id))
        self.event.set()


def make_transport(url: str) -> Any:
    """An RPC transport on a fresh ConfigOpts with every oslo.messaging option
    registered (as oslo.messaging's own ConfFixture does for its tests)."""
    from oslo_messaging import conffixture

    conf = cfg.ConfigOpts()
    conf([], project="amqpmock-test")
    fixture = conffixture.ConfFixture(conf)
    fixture.setUp()
    conf.set_override("control_exchange", CONTROL)
    conf.set_override("heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit")
    return messaging.get_rpc_transport(conf, url=url)


@pytest.fixture
def oslo(amqp_broker: BrokerFixture) -> Iterator[tuple[Any, DhcpEndpoint, Any]]:
    url = amqp_broker.url.replace("amqp://", "rabbit://", 1)
    transport = make_transport(url)
    endpoint = DhcpEndpoint()
    server = messaging.get_rpc_server(
        transport,
        messaging.Target(topic=TOPIC, server=HOST),
        [endpoint],
        executor="threading",
    )
    server.start()
    client = messaging.get_rpc_client(transport, messaging.Target(topic=TOPIC), timeout=10)
    try:
        yield client, endpoint, transport
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def test_call_cast_fanout_cast_and_the_seed_topology(
    amqp_broker: BrokerFixture, oslo: tuple[Any, DhcpEndpoint, Any]
) -> None:
    client, endpoint, _ = oslo
    result = client.prepare(server=HOST).call({}, "get_active_networks", host="h1")
    assert result == ["net-for-h1"]
    client.cast({}, "port_update", port={"id": "p1"})
    client.prepare(fanout=True).cast({}, "network_delete", network_id="n1")
    wait_for(lambda: len(endpoint.casts) == 2)
    assert sorted(endpoint.casts) == [("network_delete", "n1"), ("port_update", {"id": "p1"})]

    exchanges = amqp_broker.exchanges()
    queues = amqp_broker.queues()
    assert CONTROL in exchanges
    assert f"{TOPIC}_fanout" in exchanges
    assert TOPIC in queues and f"{TOPIC}.{HOST}" in queues
    assert any(re.fullmatch(rf"{TOPIC}_fanout_[0-9a-f]{{32}}", q) for q in queues), queues
    assert any(re.fullmatch(r"reply_[0-9a-f]{32}", q) for q in queues), queues
    bindings = {(src, dst, key) for src, dst, key, _ in amqp_broker.bindings()}
    assert (CONTROL, TOPIC, TOPIC) in bindings
    assert (CONTROL, f"{TOPIC}.{HOST}", f"{TOPIC}.{HOST}") in bindings
    # what went over the wire, as the seed describes it
    call = amqp_broker.exchange(CONTROL).published.filter(routing_key=f"{TOPIC}.{HOST}").last
    assert call.json()["method"] == "get_active_networks" and "_reply_q" in call.json()
    fanout = amqp_broker.exchange(f"{TOPIC}_fanout").published.last
    assert fanout.json()["method"] == "network_delete"


def test_remote_exceptions_come_back(oslo: tuple[Any, DhcpEndpoint, Any]) -> None:
    client, _, _ = oslo
    # builtins are re-raised as themselves, other modules as RemoteError
    with pytest.raises(ValueError, match="no such network"):
        client.prepare(server=HOST).call({}, "fail")
    with pytest.raises(messaging.RemoteError) as err:
        client.prepare(server=HOST).call({}, "fail_custom")
    assert err.value.exc_type == "NetworkNotFound"
    assert "net-9" in str(err.value.value)


def test_call_against_an_rpc_stub(amqp_broker: BrokerFixture) -> None:
    url = amqp_broker.url.replace("amqp://", "rabbit://", 1)
    transport = make_transport(url)
    try:
        stub = amqp_broker.rpc_stub(CONTROL, f"{TOPIC}.*")
        stub.returns({"networks": ["stubbed"]})
        client = messaging.get_rpc_client(transport, messaging.Target(topic=TOPIC), timeout=10)
        assert client.prepare(server=HOST).call({}, "get_active_networks", host="h") == {
            "networks": ["stubbed"]
        }
        assert stub.calls.last.method == "get_active_networks"
        assert stub.calls.last.args == {"host": "h"}
        stub.raises(KeyError("missing"))
        with pytest.raises(KeyError, match="missing"):
            client.prepare(server=HOST).call({}, "get_active_networks", host="h")
        stub.raises(NetworkNotFound("net-9"))
        with pytest.raises(messaging.RemoteError) as err:
            client.prepare(server=HOST).call({}, "get_active_networks", host="h")
        assert err.value.exc_type == "NetworkNotFound"
        assert stub.call_count == 3
    finally:
        transport.cleanup()
