"""The cassettes committed under cassettes/proxy/ load and hold the flows they claim.

They are recorded by tests/proxy/test_live_clients.py against a real RabbitMQ
(AMQPMOCK_UPDATE_CASSETTES=1 rewrites them); this checks them without a broker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amqpmock.cassette import Cassette, load_cassette

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "proxy"


def load(name: str) -> Cassette:
    cassette = load_cassette(CASSETTES / name)
    assert cassette.header.version == 1
    assert cassette.header.upstream_product == "RabbitMQ"
    assert cassette.complete
    text = (CASSETTES / name).read_text()
    assert "pw-" not in text  # the recording user's password prefix
    return cassette


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_committed_cassette_loads(path: Path) -> None:
    cassette = load(path.name)
    for conn in cassette:
        assert conn.methods()[:2] == ["Connection.Start", "Connection.StartOk"]
        start_ok = conn.interactions[1]
        assert "<redacted>" in str(start_ok.args["response"])


def test_aio_pika_rpc() -> None:
    cassette = load("aio_pika_rpc.yaml")
    calls = [i for _, _, i in cassette.interactions() if i.is_publish]
    assert [c.outcome for c in calls] == ["routed", "routed", "returned"]
    replies = [i for _, _, i in cassette.interactions() if i.is_delivery]
    assert [r.body for r in replies] == [b"3", b"6"]
    assert {r.origin for r in replies} == {"outside"}


def test_pika_publish_consume() -> None:
    cassette = load("pika_publish_consume.yaml")
    (conn,) = cassette.connections
    got = [(i.body, i.args["redelivered"]) for i in conn if i.is_delivery]
    assert got == [(b"m1", False), (b"m2", False), (b"m3", False), (b"m2", True)]
    assert "Basic.Nack" in conn.methods("c2s")


def test_oslo_messaging_call_cast_fanout_cast() -> None:
    cassette = load("oslo_messaging_rpc.yaml")
    sent = [i for _, _, i in cassette.interactions() if i.is_publish]
    targets = sorted((p.args["exchange"], p.args["routing_key"]) for p in sent)
    assert targets == [
        ("dhcp_agent_fanout", ""),
        ("neutron", "dhcp_agent"),
        ("neutron", "dhcp_agent.node-1"),
    ]
    replies = [i for _, _, i in cassette.interactions() if i.is_delivery]
    assert replies and {r.origin for r in replies} == {"outside"}
