"""The connection state machine, without sockets: in-memory peers, a hand-moved clock.

Expected frames, texts and timings are those of RabbitMQ 3.10.8 (see
docs/rabbitmq-facts.md and tests/server/test_differential.py).
"""

from __future__ import annotations

import struct

import pytest
from pamqp import body, encode, frame, header
from pamqp.commands import Basic, Channel, Connection, Queue

from amqpmock.fake import Broker
from amqpmock.wire.codec import PROTOCOL_HEADER, BodyFrame, HeaderFrame, MethodFrame
from amqpmock.wire.protocol import (
    CHANNEL0_METHODS,
    SERVER_PROPERTIES,
    TRANSITIONS,
    Challenge,
    ConnectionSettings,
    Credentials,
    SaslSession,
    State,
)

from .peer import Client, Wire, content_frames, heartbeats


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def client(wire: Wire) -> Client:
    return wire.client()


def opened(wire: Wire, **kw: object) -> Client:
    c = wire.client()
    c.open(**kw)  # type: ignore[arg-type]
    return c


# -- protocol header and Start ---------------------------------------------------------


def test_start_advertises_what_rabbitmq_3_10_8_does(client: Client) -> None:
    start = client.start()
    assert (start.version_major, start.version_minor) == (0, 9)
    assert start.mechanisms == "PLAIN AMQPLAIN"
    assert start.locales == "en_US"
    props = start.server_properties
    assert list(props) == [
        "capabilities",
        "cluster_name",
        "copyright",
        "information",
        "platform",
        "product",
        "version",
    ]
    assert props["product"] == "RabbitMQ" and props["version"] == "3.10.8"
    assert props["capabilities"] == {
        "publisher_confirms": True,
        "exchange_exchange_bindings": True,
        "basic.nack": True,
        "consumer_cancel_notify": True,
        "connection.blocked": True,
        "consumer_priorities": True,
        "authentication_failure_close": True,
        "per_consumer_qos": True,
        "direct_reply_to": True,
    }
    assert props == SERVER_PROPERTIES
    assert client.conn.state is State.STARTING


def test_legacy_0_9_header_is_accepted(client: Client) -> None:
    client.send_bytes(b"AMQP\x01\x01\x00\x09")
    client.one(Connection.Start)


@pytest.mark.parametrize(
    "head",
    [
        b"AMQP\x00\x00\x09\x00",
        b"AMQP\x00\x01\x00\x00",
        b"AMQP\x01\x01\x08\x00",
        b"HTTP/1.1",
        b"GET / HTTP/1.1\r\n\r\n",
    ],
)
def test_wrong_header_gets_our_header_and_the_connection_closes(
    client: Client, head: bytes
) -> None:
    client.send_bytes(head)
    assert client.raw() == PROTOCOL_HEADER
    assert client.conn.should_close


def test_a_partial_header_waits_until_the_handshake_timeout(wire: Wire, client: Client) -> None:
    client.send_bytes(b"AMQP")
    assert client.raw() == b""
    wire.advance(9.9)
    assert not client.conn.should_close
    wire.advance(0.1)
    assert client.conn.should_close and client.raw() == b""


def test_handshake_must_finish_within_ten_seconds(wire: Wire, client: Client) -> None:
    client.start()
    client.start_ok()
    client.one(Connection.Tune)
    wire.advance(10)
    assert client.conn.should_close


# -- authentication --------------------------------------------------------------------


def test_plain_login_gets_tune_with_rabbitmq_defaults(client: Client) -> None:
    client.start()
    client.start_ok()
    tune = client.one(Connection.Tune)
    assert (tune.channel_max, tune.frame_max, tune.heartbeat) == (2047, 131072, 60)


def test_amqplain_login(client: Client) -> None:
    client.start()
    response = encode.field_table({"LOGIN": "guest", "PASSWORD": "guest"})[4:]
    client.start_ok(response.decode(), mechanism="AMQPLAIN")
    client.one(Connection.Tune)


@pytest.mark.parametrize(
    ("mechanism", "response"),
    [
        ("PLAIN", "\0guest\0wrong"),
        ("PLAIN", "\0nobody\0guest"),
        ("AMQPLAIN", encode.field_table({"LOGIN": "guest", "PASSWORD": "x"})[4:].decode()),
    ],
)
def test_refused_login_with_authentication_failure_close_gets_403(
    wire: Wire, client: Client, mechanism: str, response: str
) -> None:
    client.start()
    client.start_ok(response, mechanism=mechanism)
    close = client.one(Connection.Close)
    assert close.reply_code == 403
    assert close.reply_text == (
        f"ACCESS_REFUSED - Login was refused using authentication mechanism {mechanism}. "
        "For details see the broker logfile."
    )
    assert (close.class_id, close.method_id) == (0, 0)
    assert not client.conn.should_close
    client.send(0, Connection.CloseOk())
    assert client.conn.should_close


def test_refused_login_socket_closes_3s_later_without_close_ok(wire: Wire, client: Client) -> None:
    client.start()
    client.start_ok("\0guest\0wrong")
    client.one(Connection.Close)
    wire.advance(2.9)
    assert not client.conn.should_close
    wire.advance(0.1)
    assert client.conn.should_close


def test_refused_login_without_the_capability_is_silent_for_3s(wire: Wire, client: Client) -> None:
    client.start(capabilities={})
    client.start_ok("\0guest\0wrong")
    assert client.raw() == b""
    wire.advance(2.9)
    assert not client.conn.should_close
    wire.advance(0.1)
    assert client.conn.should_close and client.raw() == b""


@pytest.mark.parametrize(
    ("mechanism", "response"),
    [
        ("EXTERNAL", ""),
        ("FOO", "\0guest\0guest"),
        ("PLAIN", "guestguest"),
        ("PLAIN", "authz\0guest\0guest"),  # RabbitMQ refuses an authorization identity
        ("PLAIN", "\0guest\0guest\0x"),
        ("AMQPLAIN", "zzzz"),
        ("AMQPLAIN", encode.field_table({"LOGIN": "guest"})[4:].decode()),
    ],
)
def test_unusable_mechanism_or_response_closes_silently(
    wire: Wire, client: Client, mechanism: str, response: str
) -> None:
    client.start()
    client.start_ok(response, mechanism=mechanism)
    wire.advance(2.9)
    assert client.raw() == b"" and not client.conn.should_close
    wire.advance(0.1)
    assert client.conn.should_close


class _KnockKnock:
    """A two-step mechanism: challenge 'who?', then the response is 'user:password'."""

    def __init__(self) -> None:
        self.asked = False

    def step(self, response: bytes) -> Credentials | Challenge:
        if not self.asked:
            self.asked = True
            return Challenge("who?")
        user, _, password = response.decode().partition(":")
        return Credentials(user, password)


def test_secure_and_secure_ok_drive_a_challenge_mechanism() -> None:
    def knock() -> SaslSession:
        return _KnockKnock()

    wire = Wire(settings=ConnectionSettings(mechanisms={"KNOCK": knock}))
    c = wire.client()
    assert c.start().mechanisms == "KNOCK"
    c.start_ok("hello", mechanism="KNOCK")
    secure = c.one(Connection.Secure)
    assert secure.challenge == "who?"
    assert c.conn.state is State.SECURING
    c.send(0, Connection.SecureOk(response="guest:guest"))
    c.one(Connection.Tune)


# -- tuning and opening ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel_max", "frame_max"),
    [(2047, 200000), (2047, 100), (2047, 0), (0, 131072), (5000, 131072)],
)
def test_tune_ok_above_the_server_limits_fails_the_handshake(
    wire: Wire, client: Client, channel_max: int, frame_max: int
) -> None:
    client.start()
    client.start_ok()
    client.one(Connection.Tune)
    client.send(0, Connection.TuneOk(channel_max=channel_max, frame_max=frame_max, heartbeat=0))
    client.send(0, Connection.Open())
    wire.advance(3)
    assert client.raw() == b"" and client.conn.should_close


def test_client_may_lower_frame_max_and_deliveries_follow_it(wire: Wire) -> None:
    c = opened(wire, frame_max=4096)
    assert c.conn.frame_max == 4096
    c.open_channel()
    c.send(1, Queue.Declare(queue="q"))
    c.one(Queue.DeclareOk, 1)
    c.publish(1, b"x" * 10000, chunk=4000)
    c.send(1, Basic.Get(queue="q", no_ack=True))
    got = c.frames()
    bodies = [f for f in got if isinstance(f, BodyFrame)]
    assert [len(b.data) for b in bodies] == [4088, 4088, 1824]
    assert isinstance(got[0], MethodFrame) and isinstance(got[0].method, Basic.GetOk)


def test_a_frame_over_the_lowered_frame_max_is_501(wire: Wire) -> None:
    c = opened(wire, frame_max=4096)
    c.open_channel()
    c.send_bytes(struct.pack(">BHI", 3, 1, 4097) + b"x" * 4097 + b"\xce")
    close = c.one(Connection.Close)
    assert close.reply_text == (
        "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4097,4088}"
    )


def test_open_of_a_missing_vhost_is_530(client: Client) -> None:
    client.start()
    client.start_ok()
    client.one(Connection.Tune)
    client.send(0, Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0))
    client.send(0, Connection.Open(virtual_host="nope"))
    close = client.one(Connection.Close)
    assert (close.reply_code, close.reply_text) == (530, "NOT_ALLOWED - vhost nope not found")
    assert (close.class_id, close.method_id) == (10, 40)
    client.send(0, Connection.CloseOk())
    assert client.conn.should_close


def test_open_of_a_vhost_without_permission_is_530() -> None:
    broker = Broker()
    broker.add_vhost("private")
    wire = Wire(broker)
    c = wire.client()
    c.start()
    c.start_ok()
    c.one(Connection.Tune)
    c.send(0, Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0))
    c.send(0, Connection.Open(virtual_host="private"))
    close = c.one(Connection.Close)
    assert close.reply_text == "NOT_ALLOWED - access to vhost 'private' refused for user 'guest'"


def test_channel_open_before_connection_open_is_505(wire: Wire, client: Client) -> None:
    # after TuneOk RabbitMQ 3.10.8 answers with Connection.Close (differential case
    # "channel.open before connection.open"), not the silent close of earlier states
    client.start()
    client.start_ok()
    client.one(Connection.Tune)
    client.send(0, Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0))
    client.send(1, Channel.Open())
    close = client.one(Connection.Close)
    assert (close.reply_code, close.reply_text) == (
        505,
        "UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,1,48>>",
    )
    assert not wire.broker.connections


@pytest.mark.parametrize(
    ("host", "refused"),
    [
        ("192.0.2.7", True),
        ("10.1.2.3", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:192.0.2.7", True),
    ],
)
def test_guest_may_log_in_from_loopback_only(host: str, refused: bool) -> None:
    # RabbitMQ's default loopback_users = [guest]: from elsewhere, refused as a wrong
    # password is (observed on 3.10.8: 403 with the capability, a silent close without)
    wire = Wire()
    client = wire.client(host)
    client.start()
    client.start_ok("\0guest\0guest")
    if refused:
        close = client.one(Connection.Close)
        assert close.reply_code == 403
        assert close.reply_text.startswith("ACCESS_REFUSED - Login was refused")
    else:
        client.one(Connection.Tune)


def test_loopback_users_can_be_emptied(wire: Wire) -> None:
    # RabbitMQ's loopback_users = none
    wire = Wire(settings=ConnectionSettings(loopback_users=frozenset()))
    client = wire.client("192.0.2.7")
    client.start()
    client.start_ok("\0guest\0guest")
    client.one(Connection.Tune)


# -- heartbeats ------------------------------------------------------------------------


def test_server_sends_heartbeats_at_half_the_interval_when_idle(wire: Wire) -> None:
    c = opened(wire, heartbeat=10)
    assert c.conn.next_deadline() == wire.now + 5
    wire.advance(4.9)
    assert heartbeats(c.frames()) == 0
    wire.advance(0.1)
    assert heartbeats(c.frames()) == 1
    c.send_bytes(b"\x08\x00\x00\x00\x00\x00\x00\xce")  # the client's heartbeat
    wire.advance(5)
    assert heartbeats(c.frames()) == 1


def test_a_silent_client_is_dropped_at_the_second_check_without_a_byte(wire: Wire) -> None:
    """RabbitMQ checks every interval from TuneOk on; the check at 10 s still sees the
    channel open, those at 20 s and 30 s see nothing: closed, without a Close (on a
    real node: tests/server/test_heartbeat_timeout.py)."""
    c = opened(wire, heartbeat=10)
    c.open_channel()
    wire.advance(29.9)
    assert not c.conn.should_close
    wire.advance(0.1)
    assert c.conn.should_close
    assert all(not isinstance(f, MethodFrame) for f in c.frames())  # only heartbeats
    assert not wire.broker.connections  # the core let go of it


def test_client_heartbeats_keep_the_connection(wire: Wire) -> None:
    c = opened(wire, heartbeat=2)
    for _ in range(20):
        wire.advance(1)
        c.send_bytes(b"\x08\x00\x00\x00\x00\x00\x00\xce")
    assert not c.conn.should_close
    assert heartbeats(c.frames()) == 20


def test_heartbeat_zero_disables_heartbeats(wire: Wire) -> None:
    c = opened(wire, heartbeat=0)
    assert c.conn.next_deadline() is None
    wire.advance(1000)
    assert c.raw() == b"" and not c.conn.should_close


# -- closing ---------------------------------------------------------------------------


def test_client_close_gets_close_ok_and_requeues_unacked(wire: Wire) -> None:
    c = opened(wire)
    c.open_channel()
    c.send(1, Queue.Declare(queue="q"))
    c.one(Queue.DeclareOk, 1)
    c.publish(1, b"hello")
    c.send(1, Basic.Get(queue="q"))
    assert any(
        isinstance(f, MethodFrame) and isinstance(f.method, Basic.GetOk) for f in c.frames()
    )
    assert wire.broker.messages("q") == []  # delivered, not acked
    c.send(0, Connection.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0))
    c.one(Connection.CloseOk)
    assert c.conn.should_close
    assert not wire.broker.connections
    (message,) = wire.broker.messages("q")
    assert message.body == b"hello"


def test_core_connection_error_waits_for_close_ok_and_ignores_the_rest(wire: Wire) -> None:
    c = opened(wire)
    c.send(3, Basic.Qos(prefetch_count=1))  # channel 3 was never opened
    close = c.one(Connection.Close)
    assert (close.reply_code, close.reply_text) == (504, "CHANNEL_ERROR - expected 'channel.open'")
    assert (close.class_id, close.method_id) == (60, 10)
    assert c.conn.state is State.CLOSED
    c.send(1, Channel.Open())
    assert c.raw() == b""  # RabbitMQ's 'closed' state: other methods are ignored
    c.send(0, Connection.CloseOk())
    assert c.conn.should_close
    assert not wire.broker.connections


def test_a_close_that_crosses_ours_gets_close_ok(wire: Wire) -> None:
    # observed on RabbitMQ 3.10.8 (differential test_crossing_closes_get_close_ok)
    c = opened(wire)
    c.send(3, Basic.Qos(prefetch_count=1))
    c.one(Connection.Close)
    c.send(0, Connection.Close(reply_code=200, reply_text="", class_id=0, method_id=0))
    c.one(Connection.CloseOk)
    assert c.conn.should_close


def test_without_close_ok_the_socket_closes_after_the_heartbeat_timeout(wire: Wire) -> None:
    c = opened(wire, heartbeat=5)
    c.send(0, Basic.Qos())
    c.one(Connection.Close)
    wire.advance(4.9)
    assert not c.conn.should_close
    wire.advance(0.1)
    assert c.conn.should_close


def test_without_heartbeats_the_close_timeout_is_30s(wire: Wire) -> None:
    c = opened(wire, heartbeat=0)
    c.send(0, Basic.Qos())
    c.one(Connection.Close)
    wire.advance(29.9)
    assert not c.conn.should_close
    wire.advance(0.1)
    assert c.conn.should_close


def test_force_close_is_320_connection_forced(wire: Wire) -> None:
    c = opened(wire)
    c.conn.force_close(wire.now)
    close = c.one(Connection.Close)
    assert close.reply_code == 320
    assert close.reply_text == (
        "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
    )
    c.send(0, Connection.CloseOk())
    assert c.conn.should_close


def test_peer_going_away_releases_the_core_connection(wire: Wire) -> None:
    c = opened(wire)
    c.open_channel()
    assert len(wire.broker.connections) == 1
    c.send_bytes(b"")
    assert c.conn.should_close
    assert not wire.broker.connections


# -- errors the reader finds -----------------------------------------------------------


def test_method_on_channel_0_that_is_not_connection_class_is_504(wire: Wire) -> None:
    c = opened(wire)
    c.send(0, Channel.Open())
    close = c.one(Connection.Close)
    assert close.reply_text == "CHANNEL_ERROR - unexpected method in connection state running"
    assert (close.class_id, close.method_id) == (20, 10)


@pytest.mark.parametrize(
    "method",
    [
        Connection.Start(),
        Connection.TuneOk(),
        Connection.Open(),
        Connection.CloseOk(),
        Connection.SecureOk(response="x"),
        Connection.Blocked(reason="x"),
    ],
)
def test_connection_methods_out_of_place_are_504(wire: Wire, method: object) -> None:
    c = opened(wire)
    c.send(0, method)
    close = c.one(Connection.Close)
    assert close.reply_code == 504
    assert close.reply_text == "CHANNEL_ERROR - unexpected method in connection state running"


def test_content_frames_on_channel_0_are_505(wire: Wire) -> None:
    c = opened(wire)
    c.send(0, body.ContentBody(b"abc"))
    close = c.one(Connection.Close)
    assert close.reply_text == 'UNEXPECTED_FRAME - type 3, all octets = <<"abc">>'
    c2 = opened(wire)
    c2.send(0, header.ContentHeader(0, 3, Basic.Properties()))
    close = c2.one(Connection.Close)
    assert close.reply_text == (
        "UNEXPECTED_FRAME - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0,3,0,0>>"
    )


def test_heartbeat_on_a_channel_is_505(wire: Wire) -> None:
    c = opened(wire)
    c.send_bytes(b"\x08\x00\x01\x00\x00\x00\x00\xce")
    close = c.one(Connection.Close)
    assert close.reply_text == "UNEXPECTED_FRAME - type 8, all octets = <<>>"


def test_content_on_an_unopened_channel_is_505(wire: Wire) -> None:
    c = opened(wire)
    c.send(5, body.ContentBody(b"abc"))
    close = c.one(Connection.Close)
    assert close.reply_code == 505
    assert close.reply_text == (
        "UNEXPECTED_FRAME - expected method frame, got non method frame instead"
    )


def test_publish_then_a_method_is_505_with_the_publish_ids(wire: Wire) -> None:
    c = opened(wire)
    c.open_channel()
    c.send(1, Basic.Publish(routing_key="q"), Basic.Qos())
    close = c.one(Connection.Close)
    assert close.reply_text == (
        "UNEXPECTED_FRAME - expected content header for class 60, "
        "got non content header frame instead"
    )
    assert (close.class_id, close.method_id) == (60, 40)


def test_frame_error_closes_the_socket_3s_after_the_close(wire: Wire) -> None:
    c = opened(wire)
    c.send_bytes(struct.pack(">BHI", 1, 0, 4) + struct.pack(">HH", 10, 50) + b"\x00")
    close = c.one(Connection.Close)
    assert close.reply_text == (
        "FRAME_ERROR - type 1, all octets = <<0,10,0,50>>: {invalid_frame_end_marker,0}"
    )
    c.send(0, Connection.CloseOk())  # no longer read: the stream is out of sync
    assert not c.conn.should_close
    wire.advance(3)
    assert c.conn.should_close


def test_unknown_frame_type_waits_for_close_ok(wire: Wire) -> None:
    c = opened(wire)
    c.send_bytes(struct.pack(">BHI", 9, 0, 0) + b"\xce")
    close = c.one(Connection.Close)
    assert close.reply_text == "FRAME_ERROR - type 9, all octets = <<>>: unknown_frame"
    c.send(0, Connection.CloseOk())
    assert c.conn.should_close


def test_unknown_method_drops_the_connection_without_a_close(wire: Wire) -> None:
    # RabbitMQ 3.10.8's reader crashes on it: the client sees a TCP reset
    c = opened(wire)
    c.open_channel()
    c.send_bytes(struct.pack(">BHI", 1, 1, 4) + struct.pack(">HH", 60, 99) + b"\xce")
    assert c.raw() == b""
    assert c.conn.should_close
    assert not wire.broker.connections


def test_undecodable_method_is_501_cannot_decode(wire: Wire) -> None:
    c = opened(wire)
    c.open_channel()
    c.send_bytes(struct.pack(">BHI", 1, 1, 5) + struct.pack(">HH", 50, 10) + b"\x00\xce")
    close = c.one(Connection.Close)
    assert (close.reply_code, close.reply_text) == (501, "FRAME_ERROR - cannot decode <<0>>")
    assert (close.class_id, close.method_id) == (50, 10)


def test_channel_max_counts_open_channels(wire: Wire) -> None:
    c = opened(wire, channel_max=2)
    c.open_channel(1)
    c.open_channel(2000)  # the number is not checked, the count is
    c.send(3, Channel.Open())
    close = c.one(Connection.Close)
    assert (close.reply_code, close.reply_text) == (
        530,
        "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)",
    )


def test_update_secret_is_acknowledged(wire: Wire) -> None:
    c = opened(wire)
    c.send(0, Connection.UpdateSecret(new_secret="guest", reason="rotation"))
    c.one(Connection.UpdateSecretOk)


# -- several connections, one broker ---------------------------------------------------


def test_a_publish_on_one_connection_is_delivered_on_another(wire: Wire) -> None:
    consumer = opened(wire)
    publisher = opened(wire)
    consumer.open_channel()
    consumer.send(1, Queue.Declare(queue="jobs"))
    consumer.one(Queue.DeclareOk, 1)
    consumer.send(1, Basic.Consume(queue="jobs", consumer_tag="c1"))
    consumer.one(Basic.ConsumeOk, 1)
    publisher.open_channel(7)
    publisher.publish(7, b"work", routing_key="jobs", properties=Basic.Properties(priority=1))
    assert publisher.raw() == b""
    got = consumer.frames()
    assert isinstance(got[0], MethodFrame) and isinstance(got[0].method, Basic.Deliver)
    assert got[0].channel == 1 and got[0].method.consumer_tag == "c1"
    head, data = content_frames(got)
    assert isinstance(head, HeaderFrame) and head.header.properties.priority == 1
    assert isinstance(data, BodyFrame) and data.data == b"work"


def test_pending_lists_connections_with_output_once(wire: Wire) -> None:
    a = opened(wire)
    b = wire.client()
    assert wire.switchboard.pending() == [a.conn]  # OpenOk is waiting to be written
    a.raw()
    b.send_bytes(b"HTTP/1.1")
    assert wire.switchboard.pending() == [b.conn]
    assert wire.switchboard.pending() == [b.conn]  # still to be closed
    wire.switchboard.forget(b.conn)
    assert wire.switchboard.pending() == []


# -- resource alarms -------------------------------------------------------------------


def test_alarm_blocks_a_publishing_connection_until_it_ends(wire: Wire) -> None:
    idle = opened(wire)
    c = opened(wire)
    c.open_channel()
    wire.broker.block("low on memory")
    c.publish(1, b"x", routing_key="nowhere")
    c.send(1, Basic.Qos(prefetch_count=1))
    blocked = c.one(Connection.Blocked)
    assert blocked.reason == "low on memory"
    assert idle.raw() == b""  # only publishers are blocked
    wire.advance(1)
    assert c.raw() == b""  # not reading: Qos waits
    wire.broker.unblock()
    wire.advance(0.05)
    got = c.methods()
    assert [type(m) for _, m in got] == [Connection.Unblocked, Basic.QosOk]


def test_alarm_pauses_clients_without_the_capability_silently(wire: Wire) -> None:
    c = opened(wire, capabilities={})
    c.open_channel()
    wire.broker.block("low on disk")
    c.publish(1, b"x", routing_key="nowhere")
    c.send(1, Basic.Qos(prefetch_count=1))
    assert c.raw() == b""
    wire.broker.unblock()
    wire.advance(0.05)
    c.one(Basic.QosOk, 1)


# -- the rules as data -----------------------------------------------------------------


def test_every_handled_state_change_is_in_the_transition_table() -> None:
    for state, handlers in CHANNEL0_METHODS.items():
        assert state in TRANSITIONS
        assert handlers, state
    for state, targets in TRANSITIONS.items():
        if state is not State.DONE:
            assert State.DONE in targets
    assert TRANSITIONS[State.DONE] == frozenset()


def test_publish_through_the_wire_reaches_the_broker(wire: Wire) -> None:
    c = opened(wire)
    c.open_channel()
    c.send(1, Queue.Declare(queue="q"))
    c.one(Queue.DeclareOk, 1)
    payload = bytes(range(256)) * 1000
    c.publish(
        1,
        payload,
        properties=Basic.Properties(content_type="application/octet-stream"),
        chunk=50000,
    )
    (message,) = wire.broker.messages("q")
    assert message.body == payload
    assert message.properties.content_type == "application/octet-stream"


def test_frames_split_at_every_byte_give_the_same_result(wire: Wire) -> None:
    c = wire.client()
    stream = (
        PROTOCOL_HEADER
        + frame.marshal(
            Connection.StartOk(
                client_properties={}, mechanism="PLAIN", response="\0guest\0guest", locale="en_US"
            ),
            0,
        )
        + frame.marshal(Connection.TuneOk(channel_max=10, frame_max=8192, heartbeat=0), 0)
        + frame.marshal(Connection.Open(), 0)
        + frame.marshal(Channel.Open(), 1)
    )
    for i in range(len(stream)):
        c.send_bytes(stream[i : i + 1])
    assert [type(m) for _, m in c.methods()] == [
        Connection.Start,
        Connection.Tune,
        Connection.OpenOk,
        Channel.OpenOk,
    ]
