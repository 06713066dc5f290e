"""amqp_broker.fault with real clients on the wall clock: a stalled network
(``timeout``) makes pika report the missed heartbeats and aio-pika's connect_robust
reconnect, while the fake closes the stalled connection as RabbitMQ closes one whose
client's heartbeats stopped; ``reset_peer`` and ``latency``; the control API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aio_pika
import pika
import pika.exceptions as pe
import pytest
from pika.adapters.utils.connection_workflow import AMQPConnectorStackTimeout

from amqpmock.testing.harness import BrokerFixture

from .test_restart import call


def _params(url: str, name: str, heartbeat: int = 2) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.heartbeat = heartbeat
    params.client_properties = {"connection_name": name}
    return params


def _wait(until: Any, timeout: float, *pumped: pika.BlockingConnection) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        for conn in pumped:  # a blocking client sends its heartbeats only here
            conn.process_data_events(time_limit=0)
        time.sleep(0.05)


def test_pika_reports_missed_heartbeats_and_reconnects(amqp_broker: BrokerFixture) -> None:
    amqp_broker.declare_queue("jobs")
    amqp_broker.publish("", "jobs", b"job")
    healthy = pika.BlockingConnection(_params(amqp_broker.url, "healthy"))
    conn = pika.BlockingConnection(_params(amqp_broker.url, "worker"))
    ch = conn.channel()
    _method, _props, body = ch.basic_get("jobs")  # taken, not acked
    assert body == b"job"
    assert amqp_broker.fault("timeout", connection="worker") == 1
    began = time.monotonic()
    with pytest.raises(pe.AMQPHeartbeatTimeout) as caught:
        while time.monotonic() - began < 20:
            conn.process_data_events(time_limit=0.1)
            healthy.process_data_events(time_limit=0)
    took = time.monotonic() - began
    assert "missed heartbeats" in str(caught.value)
    # pika checks every heartbeat + 5 s whether anything came since its last check
    assert 2 <= took < 16, took
    # the broker, hearing nothing, closed it after two heartbeat intervals: the
    # unacked message is back, and the healthy connection was not touched
    _wait(lambda: amqp_broker.connections() == 1, 7, healthy)
    assert amqp_broker.connections() == 1
    assert [m.body for m in amqp_broker.messages("jobs")] == [b"job"]
    # the client reconnects: a new connection is not faulted
    again = pika.BlockingConnection(_params(amqp_broker.url, "worker"))
    assert again.channel().basic_get("jobs", auto_ack=True)[2] == b"job"
    again.close()
    healthy.close()


def test_the_fake_closes_a_client_whose_heartbeats_stop(amqp_broker: BrokerFixture) -> None:
    """The server's side alone: reads stopped for longer than two heartbeat intervals,
    then the network heals; the client finds its connection closed without a
    Connection.Close (RabbitMQ: "missed heartbeats from client", socket closed)."""
    conn = pika.BlockingConnection(_params(amqp_broker.url, "quiet", heartbeat=2))
    conn.channel()
    amqp_broker.fault("timeout", for_=8.0)
    _wait(lambda: amqp_broker.connections() == 0, 7.5)
    assert amqp_broker.connections() == 0, amqp_broker.call(lambda b: list(b.connections.values()))
    time.sleep(1.5)  # the stall ends; the client sees the close now
    with pytest.raises((pe.StreamLostError, pe.AMQPHeartbeatTimeout)):
        for _ in range(100):
            conn.process_data_events(time_limit=0.05)


def test_aio_pika_connect_robust_reconnects_after_a_stall(amqp_broker: BrokerFixture) -> None:
    async def main() -> list[str]:
        seen: list[str] = []
        connection = await aio_pika.connect_robust(
            amqp_broker.url + "?heartbeat=2&name=robust", reconnect_interval=0.5
        )
        reconnected = asyncio.Event()
        connection.reconnect_callbacks.add(lambda *_: reconnected.set())
        channel = await connection.channel()
        queue = await channel.declare_queue("events", auto_delete=True)
        got: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            await got.put(message.body)

        await queue.consume(on_message)
        assert amqp_broker.fault("timeout", connection="robust") == 1
        await asyncio.wait_for(reconnected.wait(), 20)
        seen.append("reconnected")
        await channel.default_exchange.publish(aio_pika.Message(b"after"), "events")
        seen.append((await asyncio.wait_for(got.get(), 5)).decode())
        await connection.close()
        return seen

    assert asyncio.run(main()) == ["reconnected", "after"]


def test_reset_peer_drops_the_connection_without_close(amqp_broker: BrokerFixture) -> None:
    amqp_broker.declare_queue("jobs")
    amqp_broker.publish("", "jobs", b"job")
    conn = pika.BlockingConnection(_params(amqp_broker.url, "victim", heartbeat=0))
    ch = conn.channel()
    assert ch.basic_get("jobs")[2] == b"job"
    assert amqp_broker.fault("reset_peer", connection="victim") == 1
    with pytest.raises(pe.StreamLostError, match="reset by peer"):
        for _ in range(100):
            conn.process_data_events(time_limit=0.05)
    _wait(lambda: amqp_broker.connections() == 0, 2)
    assert [m.body for m in amqp_broker.messages("jobs")] == [b"job"]  # requeued


def test_latency_delays_what_the_broker_sends(amqp_broker: BrokerFixture) -> None:
    conn = pika.BlockingConnection(_params(amqp_broker.url, "slow", heartbeat=0))
    ch = conn.channel()
    amqp_broker.fault("latency", latency=0.4)
    began = time.monotonic()
    ch.queue_declare("q")
    slow = time.monotonic() - began
    amqp_broker.clear_faults()
    began = time.monotonic()
    ch.queue_declare("q")
    fast = time.monotonic() - began
    assert 0.4 <= slow < 1.5 and fast < 0.2, (slow, fast)
    conn.close()


def test_faults_refuse_unknown_kinds(amqp_broker: BrokerFixture) -> None:
    with pytest.raises(ValueError, match="'slow' is not one of timeout, reset_peer, latency"):
        amqp_broker.fault("slow")
    assert amqp_broker.fault("timeout", connection="nobody") == 0


def test_control_api_faults(amqp_broker: BrokerFixture, amqp_management_url: str) -> None:
    conn = pika.BlockingConnection(_params(amqp_broker.url, "ctl", heartbeat=0))
    conn.channel()
    body = {"kind": "reset_peer", "connection": "ctl"}
    assert call(amqp_management_url, "POST", "/amqpmock/faults", body) == (200, {"connections": 1})
    with pytest.raises(pe.StreamLostError):
        for _ in range(100):
            conn.process_data_events(time_limit=0.05)
    slow = pika.BlockingConnection(_params(amqp_broker.url, "slow", heartbeat=0))
    ch = slow.channel()
    body = {"kind": "latency", "latency": 0.3, "for": 30}
    assert call(amqp_management_url, "POST", "/amqpmock/faults", body) == (200, {"connections": 1})
    began = time.monotonic()
    ch.queue_declare("q")
    assert time.monotonic() - began >= 0.3
    assert call(amqp_management_url, "DELETE", "/amqpmock/faults") == (204, None)
    began = time.monotonic()
    ch.queue_declare("q")
    assert time.monotonic() - began < 0.2
    slow.close()
    for bad, reason in [
        (
            {"kind": "slow"},
            "fault: 'slow' is not one of timeout, reset_peer, latency, bandwidth, slicer,"
            " half_open",
        ),
        ({"kind": "slicer"}, "fault: slicer needs average_size, in bytes, 1 or more"),
        ({"kind": "bandwidth", "rate": 0}, "fault: bandwidth needs rate, in KB/s, more than 0"),
        (
            {"kind": "slicer", "average_size": 2.5},
            "average_size: a whole number of bytes, 0 or more",
        ),
        ({"kind": "timeout", "node": 3}, "fault: node 3 is not one of this server's 1 nodes"),
        ({"kind": "timeout", "node": "rabbit@x"}, "no node 'rabbit@x' (nodes: rabbit@localhost)"),
        ({"kind": "timeout", "for": "2"}, "for: a number of seconds, 0 or more, or null"),
        ({"kind": "latency", "latency": -1}, "latency: a number of seconds, 0 or more"),
        ({"kind": "timeout", "new": 1}, "new: true or false"),
        (
            {"kind": "timeout", "to": 1},
            "unknown field(s) to: expected kind, connection, for, new, node, latency, jitter,"
            " rate, average_size, size_variation, delay",
        ),
    ]:
        assert call(amqp_management_url, "POST", "/amqpmock/faults", bad) == (
            400,
            {"error": "bad_request", "reason": reason},
        )


def test_a_fault_for_new_connections_holds_reconnects_until_it_ends(
    amqp_broker: BrokerFixture,
) -> None:
    """new=True: a node behind a broken network. Connects are reset while it lasts;
    once it is over (for_), the client gets through."""
    assert amqp_broker.fault("reset_peer", new=True, for_=1.5) == 0
    began = time.monotonic()
    with pytest.raises(pe.AMQPConnectionError):
        pika.BlockingConnection(_params(amqp_broker.url, "early", heartbeat=0))
    assert time.monotonic() - began < 1.0  # reset at once, not timed out
    time.sleep(1.6)
    conn = pika.BlockingConnection(_params(amqp_broker.url, "later", heartbeat=0))
    conn.channel()
    conn.close()


def test_a_stall_for_new_connections_times_their_handshake_out(
    amqp_broker: BrokerFixture, amqp_management_url: str
) -> None:
    body = {"kind": "timeout", "new": True}
    assert call(amqp_management_url, "POST", "/amqpmock/faults", body) == (200, {"connections": 0})
    params = _params(amqp_broker.url, "stalled", heartbeat=0)
    params.socket_timeout = 0.5
    params.stack_timeout = 1.0
    with pytest.raises(AMQPConnectorStackTimeout, match="Timeout during AMQP handshake"):
        pika.BlockingConnection(params)
    assert call(amqp_management_url, "DELETE", "/amqpmock/faults") == (204, None)
    conn = pika.BlockingConnection(_params(amqp_broker.url, "after", heartbeat=0))
    conn.close()
