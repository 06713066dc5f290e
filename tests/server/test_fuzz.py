"""Fuzzing the wire server with hypothesis: mutated and random frames, before and after
the handshake. Whatever arrives, the server

- never raises (sans-IO: ``receive_data`` returns; sockets: nothing is logged as an
  error and the server thread lives on) and only ever writes well-formed frames;
- ends the connection the RabbitMQ way: a ``Connection.Close`` with an error code (and
  nothing after it), our protocol header for a bad header, or a closed socket;
- never hangs: the connection is gone within bounded (virtual or real) time;
- leaks nothing: the broker forgets the connection, and a new client works afterwards.

Every input is followed by an *ending*: either the peer hangs up (EOF), or a run of
``0xCE`` octets longer than any frame, which completes whatever frame is pending and
is then itself a framing error. So the server must always come to an end, whatever
state the input left it in.

Two variants: sans-IO (``amqpmock.wire.protocol`` fed directly, fast, many examples) and
over real sockets (``ServerThread``, fewer examples).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pamqp import body, commands, frame, header
from pamqp.base import Frame
from pamqp.commands import Basic, Channel, Confirm, Connection, Exchange, Queue, Tx
from pamqp.common import FieldTable

from amqpmock.errors import REPLY_NAMES
from amqpmock.wire.codec import (
    FRAME_MAX,
    PROTOCOL_HEADER,
    BadFrame,
    FrameReader,
    InboundFrame,
    MethodFrame,
    UnknownMethod,
)
from amqpmock.wire.protocol import ACCEPTED_HEADERS, AMQPConnection, ConnectionSettings, State
from amqpmock.wire.server import ServerThread

from .peer import Wire
from .rawclient import CAPABILITIES

# Longer than any frame the server accepts: completes a pending frame, then is a
# frame of type 0xCE with an impossible size.
PAD = b"\xce" * (FRAME_MAX + 16)
# Short timeouts, so that lingering sockets close quickly in the socket variant.
FAST = ConnectionSettings(silent_close_delay=0.05, handshake_timeout=2.0, closing_timeout=0.2)
# Reply codes a Connection.Close may carry (the connection-level errors and 403 for a
# refused login).
CLOSE_CODES = {320, 402, 403, 501, 502, 503, 504, 505, 506, 530, 540, 541}
SOCKET_WAIT = 5.0
CLIENT_PROPERTIES: FieldTable = {"capabilities": dict(CAPABILITIES)}

# -- strategies: valid frames ------------------------------------------------------

# pamqp refuses other characters in queue and exchange names (flips reach the rest).
NAME_ALPHABET = "abcxyzABC019-_.:@#,/+ "
names = st.one_of(
    st.text(NAME_ALPHABET, max_size=12),
    st.sampled_from(["", "q", "amq.direct", "amq.topic", "amq.gen-x", "amq.rabbitmq.reply-to"]),
)
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20).filter(
    lambda s: len(s.encode()) <= 255
)
short_bytes_text = st.text(st.characters(codec="ascii"), max_size=12)
int64 = st.integers(-(2**63), 2**63 - 1)
field_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | int64
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | text
    | st.decimals(places=2, min_value=-1000, max_value=1000)
    | st.datetimes(
        min_value=datetime.datetime(1970, 1, 2), max_value=datetime.datetime(2100, 1, 1)
    ).map(lambda d: d.replace(microsecond=0)),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(short_bytes_text, inner, max_size=4)
    ),
    max_leaves=12,
)
field_tables = st.dictionaries(short_bytes_text, field_values, max_size=5)
# RabbitMQ's own argument names, so random tables also hit the argument checks.
known_args = st.dictionaries(
    st.sampled_from(
        [
            "x-message-ttl",
            "x-expires",
            "x-max-length",
            "x-max-length-bytes",
            "x-overflow",
            "x-dead-letter-exchange",
            "x-dead-letter-routing-key",
            "x-max-priority",
            "x-single-active-consumer",
            "x-queue-type",
            "alternate-exchange",
            "x-match",
            "x-priority",
            "x-cancel-on-ha-failover",
        ]
    ),
    field_values,
    max_size=3,
)
arguments = st.one_of(field_tables, known_args)
u8, u16, u32 = (st.integers(0, 2**bits - 1) for bits in (8, 16, 32))
delivery_tags = st.integers(0, 2**63 - 1)  # pamqp encodes them signed
exchange_types = st.sampled_from(["direct", "fanout", "topic", "headers", "x-nope", ""])


def _properties(draw: st.DrawFn) -> Basic.Properties:
    return Basic.Properties(
        content_type=draw(st.none() | short_bytes_text),
        headers=draw(st.none() | field_tables),
        delivery_mode=draw(st.none() | st.integers(1, 2)),
        priority=draw(st.none() | st.integers(0, 255)),
        correlation_id=draw(st.none() | short_bytes_text),
        reply_to=draw(st.none() | st.sampled_from(["amq.rabbitmq.reply-to", "r", ""])),
        expiration=draw(st.none() | st.sampled_from(["0", "10", "-1", "abc"])),
        message_id=draw(st.none() | short_bytes_text),
    )


@st.composite
def methods(draw: st.DrawFn) -> list[tuple[int, Any]]:
    """One valid method (with its content, if it carries any): (channel, pamqp value)."""
    channel = draw(st.sampled_from([1, 1, 1, 2, 0]))
    queue, exchange, key = draw(names), draw(names), draw(names)
    choice = draw(st.integers(0, 17))
    method: Frame
    if choice == 0:
        method = Channel.Open()
    elif choice == 1:
        method = Queue.Declare(
            queue=queue,
            passive=draw(st.booleans()),
            durable=draw(st.booleans()),
            exclusive=draw(st.booleans()),
            auto_delete=draw(st.booleans()),
            arguments=draw(arguments),
        )
    elif choice == 2:
        method = Exchange.Declare(
            exchange=exchange,
            exchange_type=draw(exchange_types),
            passive=draw(st.booleans()),
            durable=draw(st.booleans()),
            auto_delete=draw(st.booleans()),
            internal=draw(st.booleans()),
            arguments=draw(arguments),
        )
    elif choice == 3:
        method = Queue.Bind(
            queue=queue, exchange=exchange, routing_key=key, arguments=draw(arguments)
        )
    elif choice == 4:
        payload = draw(st.binary(max_size=300))
        chunks = draw(st.integers(1, 3))
        step = max(1, -(-len(payload) // chunks))
        parts: list[tuple[int, Any]] = [
            (
                channel,
                Basic.Publish(exchange=exchange, routing_key=key, mandatory=draw(st.booleans())),
            ),
            (channel, header.ContentHeader(0, len(payload), _properties(draw))),
        ]
        parts += [
            (channel, body.ContentBody(payload[i : i + step]))
            for i in range(0, len(payload), step)
        ]
        return parts
    elif choice == 5:
        method = Basic.Consume(
            queue=queue,
            consumer_tag=draw(short_bytes_text),
            no_ack=draw(st.booleans()),
            exclusive=draw(st.booleans()),
            arguments=draw(arguments),
        )
    elif choice == 6:
        method = Basic.Ack(delivery_tag=draw(delivery_tags), multiple=draw(st.booleans()))
    elif choice == 7:
        method = Basic.Nack(
            delivery_tag=draw(delivery_tags),
            multiple=draw(st.booleans()),
            requeue=draw(st.booleans()),
        )
    elif choice == 8:
        method = Basic.Qos(
            prefetch_count=draw(u16),
            prefetch_size=draw(st.sampled_from([0, 0, 1])),
            global_=draw(st.booleans()),
        )
    elif choice == 9:
        method = Basic.Get(queue=queue, no_ack=draw(st.booleans()))
    elif choice == 10:
        method = Confirm.Select()
    elif choice == 11:
        method = draw(st.sampled_from([Tx.Select(), Tx.Commit(), Tx.Rollback()]))
    elif choice == 12:
        method = Channel.Flow(active=draw(st.booleans()))
    elif choice == 13:
        method = Channel.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0)
    elif choice == 14:
        method = Queue.Delete(
            queue=queue, if_unused=draw(st.booleans()), if_empty=draw(st.booleans())
        )
    elif choice == 15:
        method = Basic.Cancel(consumer_tag=draw(short_bytes_text))
    elif choice == 16:
        method = Basic.Recover(requeue=draw(st.booleans()))
    else:
        method = draw(
            st.sampled_from(
                [
                    Connection.Close(reply_code=200, reply_text="", class_id=0, method_id=0),
                    Connection.UpdateSecret(new_secret="s", reason="r"),
                    Connection.Open(virtual_host="/"),
                    Channel.CloseOk(),
                ]
            )
        )
    return [(channel, method)]


def marshal_all(values: list[tuple[int, Any]]) -> list[bytes]:
    return [frame.marshal(value, channel) for channel, value in values]


@st.composite
def frame_lists(draw: st.DrawFn) -> list[bytes]:
    """A few valid frames, each as its own bytes."""
    out: list[bytes] = []
    for parts in draw(st.lists(methods(), min_size=1, max_size=4)):
        out += marshal_all(parts)
    return out


# -- strategies: mutations -----------------------------------------------------------


def _flip(draw: st.DrawFn, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] ^= draw(st.integers(1, 255))
    return bytes(data)


def _size(draw: st.DrawFn, raw: bytes) -> bytes:
    size = draw(st.one_of(u32, st.integers(0, len(raw) + 8)))
    return raw[:3] + struct.pack(">I", size) + raw[7:]


def _truncate(draw: st.DrawFn, raw: bytes) -> bytes:
    return raw[: draw(st.integers(0, len(raw) - 1))]


def _frame_end(draw: st.DrawFn, raw: bytes) -> bytes:
    return raw[:-1] + bytes([draw(st.integers(0, 0xCD))])


def _method_id(draw: st.DrawFn, raw: bytes) -> bytes:
    ids = draw(
        st.one_of(
            st.tuples(u16, u16),
            st.sampled_from([index for index in commands.INDEX_MAPPING]).map(
                lambda i: (i >> 16, i & 0xFFFF)
            ),
        )
    )
    return raw[:7] + struct.pack(">HH", *ids) + raw[11:] if raw[0] == 1 else raw


def _frame_type(draw: st.DrawFn, raw: bytes) -> bytes:
    return bytes([draw(u8)]) + raw[1:]


def _channel(draw: st.DrawFn, raw: bytes) -> bytes:
    return raw[:1] + struct.pack(">H", draw(u16)) + raw[3:]


def _insert(draw: st.DrawFn, raw: bytes) -> bytes:
    at = draw(st.integers(0, len(raw)))
    return raw[:at] + draw(st.binary(min_size=1, max_size=16)) + raw[at:]


MUTATIONS: dict[str, Callable[[st.DrawFn, bytes], bytes]] = {
    "flip": _flip,
    "size": _size,
    "truncate": _truncate,
    "frame-end": _frame_end,
    "method-id": _method_id,
    "frame-type": _frame_type,
    "channel": _channel,
    "insert": _insert,
}


def mutate(draw: st.DrawFn, raw: bytes) -> bytes:
    """One mutation; frames already cut short by an earlier one only grow."""
    name = draw(st.sampled_from(sorted(MUTATIONS))) if len(raw) >= 12 else "insert"
    return MUTATIONS[name](draw, raw)


@st.composite
def mutated_stream(draw: st.DrawFn) -> bytes:
    """Valid frames with one to three of them mutated."""
    frames = draw(frame_lists())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(frames) - 1))
        frames[at] = mutate(draw, frames[at])
    return b"".join(frames)


@st.composite
def random_method_frame(draw: st.DrawFn) -> bytes:
    """A well-framed method frame with any ids and any arguments."""
    payload = struct.pack(">HH", draw(u16), draw(u16)) + draw(st.binary(max_size=64))
    return frame._marshal(1, draw(st.sampled_from([0, 1, 1, 5])), payload)


@st.composite
def table_frame(draw: st.DrawFn) -> bytes:
    """Queue.Declare whose arguments table is random octets (its length right or not)."""
    raw = draw(st.binary(max_size=64))
    length = draw(st.one_of(st.just(len(raw)), u32))
    fixed = frame.marshal(Queue.Declare(queue="q"), 1)
    payload = fixed[7:-1][:-4] + struct.pack(">I", length) + raw  # replace the empty table
    return frame._marshal(1, 1, payload)


after_open_inputs = st.one_of(
    mutated_stream(),
    st.builds(b"".join, frame_lists()),  # valid but arbitrary method sequences
    random_method_frame(),
    table_frame(),
    st.binary(min_size=1, max_size=200),
)
endings = st.sampled_from(["pad", "eof"])


# -- checking what the server wrote ----------------------------------------------------


@dataclass
class Reply:
    frames: list[InboundFrame]
    close: Connection.Close | None


def parse_reply(raw: bytes) -> Reply:
    """The server's bytes as frames: they must all be well formed, and nothing may
    follow a Connection.Close but one CloseOk (the answer to a client's Close that
    crossed it, as RabbitMQ gives)."""
    reader = FrameReader(frame_max=0)
    reader.feed(raw)
    frames = list(reader)
    assert reader.buffered == 0, f"the server wrote a partial frame: {raw[-40:]!r}"
    close: Connection.Close | None = None
    crossed = False
    for item in frames:
        assert not isinstance(item, BadFrame | UnknownMethod), f"server wrote bad frame {item}"
        if (
            close is not None
            and not crossed
            and isinstance(item, MethodFrame)
            and item.channel == 0
            and isinstance(item.method, Connection.CloseOk)
        ):
            crossed = True
            continue
        assert close is None, f"the server wrote {item} after {close}"
        if (
            isinstance(item, MethodFrame)
            and item.channel == 0
            and isinstance(item.method, Connection.Close)
        ):
            close = item.method
    if close is not None:
        assert close.reply_code in CLOSE_CODES, close
        assert close.reply_text.startswith(REPLY_NAMES[close.reply_code]), close
        assert len(close.reply_text.encode()) <= 255
    return Reply(frames, close)


# -- sans-IO --------------------------------------------------------------------------


def opened_client(wire: Wire, channel_open: bool) -> AMQPConnection:
    client = wire.client()
    client.open()
    if channel_open:
        client.open_channel(1)
    return client.conn


def finish(wire: Wire, conn: AMQPConnection, answer_close: bool) -> None:
    """Drive the clock until the connection is over; it must be within 40 s."""
    if answer_close and conn.state is State.CLOSED:
        conn.receive_data(frame.marshal(Connection.CloseOk(), 0), wire.now)
    limit = wire.now + 40.0
    while not conn.should_close:
        deadline = conn.next_deadline()
        assert deadline is not None, f"{conn.state}: no deadline and not closing: it would hang"
        assert deadline <= limit, f"{conn.state}: next deadline {deadline - wire.now:.1f}s away"
        wire.now = max(wire.now, deadline)
        wire.switchboard.handle_timeout(wire.now)
    wire.switchboard.forget(conn)
    assert conn not in wire.switchboard.connections
    assert wire.broker.connections == {}, "the broker still holds the connection"


def a_new_client_works(wire: Wire) -> None:
    client = wire.client()
    client.open()
    client.open_channel(1)
    client.send(1, Queue.Declare(queue="", exclusive=True))
    queue = client.one(Queue.DeclareOk, 1).queue
    client.publish(1, b"still alive", routing_key=queue)
    client.send(1, Basic.Get(queue=queue, no_ack=True))
    got = client.frames()
    assert isinstance(got[0], MethodFrame) and isinstance(got[0].method, Basic.GetOk), got
    assert [f.data for f in got[2:] if hasattr(f, "data")] == [b"still alive"]


def check_ending(conn: AMQPConnection, reply: Reply, ending: str) -> None:
    event(f"Connection.Close {reply.close.reply_code}" if reply.close else "no Close")
    if ending == "eof":
        # over, or lingering until a deadline (the adapter drops the socket on EOF anyway)
        assert conn.state in (State.LINGERING, State.DONE), f"{conn.state} after the peer hung up"
    else:
        # the padding is a framing error whatever came before: the connection is over
        assert conn.state in (State.CLOSED, State.LINGERING, State.DONE), conn.state
        if conn.state is State.CLOSED:
            assert reply.close is not None, "waiting for CloseOk without having sent Close"


FUZZ = settings(
    max_examples=500,
    deadline=None,
    database=None,  # failures print their example; nothing written to the tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(data=after_open_inputs, channel_open=st.booleans(), ending=endings, answer=st.booleans())
def test_sans_io_fuzz_after_open(
    data: bytes, channel_open: bool, ending: str, answer: bool
) -> None:
    wire = Wire(settings=FAST)
    conn = opened_client(wire, channel_open)
    conn.receive_data(data, wire.now)
    conn.receive_data(PAD if ending == "pad" else b"", wire.now)
    check_ending(conn, parse_reply(conn.data_to_send()), ending)
    finish(wire, conn, answer)
    a_new_client_works(wire)


@st.composite
def handshake_inputs(draw: st.DrawFn) -> bytes:
    """The client's half of a handshake, mutated; or random frames instead of it."""
    frames = [
        frame.marshal(
            Connection.StartOk(
                client_properties=draw(st.sampled_from([CLIENT_PROPERTIES, {}])),
                mechanism=draw(st.sampled_from(["PLAIN", "AMQPLAIN", "EXTERNAL", ""])),
                response=draw(st.sampled_from(["\0guest\0guest", "\0guest\0nope", "", "x"])),
                locale="en_US",
            ),
            0,
        ),
        frame.marshal(
            Connection.TuneOk(
                channel_max=draw(st.sampled_from([2047, 1, 100]) | u16),
                frame_max=draw(st.sampled_from([131072, 4096, 8192]) | u32),
                heartbeat=draw(st.just(0) | u16),
            ),
            0,
        ),
        frame.marshal(Connection.Open(virtual_host=draw(st.sampled_from(["/", "nope", ""]))), 0),
    ]
    frames = frames[: draw(st.integers(0, 3))]
    mutated = draw(st.booleans())
    if frames and mutated:
        at = draw(st.integers(0, len(frames) - 1))
        frames[at] = mutate(draw, frames[at])
    return b"".join(frames) + draw(st.one_of(st.just(b""), after_open_inputs))


@FUZZ
@given(data=handshake_inputs(), ending=endings, answer=st.booleans())
def test_sans_io_fuzz_during_handshake(data: bytes, ending: str, answer: bool) -> None:
    wire = Wire(settings=FAST)
    conn = wire.client().conn
    conn.receive_data(PROTOCOL_HEADER, wire.now)
    start = parse_reply(conn.data_to_send())
    assert isinstance(start.frames[0], MethodFrame)
    assert isinstance(start.frames[0].method, Connection.Start)
    conn.receive_data(data, wire.now)
    conn.receive_data(PAD if ending == "pad" else b"", wire.now)
    check_ending(conn, parse_reply(conn.data_to_send()), ending)
    finish(wire, conn, answer)
    a_new_client_works(wire)


@FUZZ
@given(data=st.binary(min_size=1, max_size=100), ending=endings)
def test_sans_io_random_bytes_instead_of_the_protocol_header(data: bytes, ending: str) -> None:
    wire = Wire(settings=FAST)
    conn = wire.client().conn
    conn.receive_data(data, wire.now)
    conn.receive_data(PAD if ending == "pad" else b"", wire.now)
    out = conn.data_to_send()
    if data[:8] in ACCEPTED_HEADERS:
        # a valid header (0-9-1 or the legacy 0-9) and then garbage: a Start, then the
        # handshake fails silently
        check_ending(conn, parse_reply(out), ending)
    elif len(data) < len(PROTOCOL_HEADER) and ending == "eof":
        assert out == b""  # hung up before a header was complete
        assert conn.should_close
    else:
        assert out == PROTOCOL_HEADER, out  # RabbitMQ's answer to a wrong header
        assert conn.should_close
    finish(wire, conn, False)
    a_new_client_works(wire)


# -- over sockets ------------------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Collects what the server logs at ERROR: an exception while serving is a crash."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[tuple[ServerThread, ErrorLog]]:
    errors = ErrorLog()
    logger = logging.getLogger("amqpmock")
    logger.addHandler(errors)
    try:
        with ServerThread(settings=FAST) as srv:
            yield srv, errors
    finally:
        logger.removeHandler(errors)


def read_until_hang_up(sock: socket.socket, answer_close: bool) -> bytes:
    """Everything the server writes until it hangs up; answers a Close with CloseOk.

    Fails if the server neither hangs up nor closes within SOCKET_WAIT seconds."""
    received = b""
    reader = FrameReader(frame_max=0)
    deadline = time.monotonic() + SOCKET_WAIT
    answered = False
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
        reader.feed(chunk)
        if answer_close and not answered:
            for item in reader:
                if isinstance(item, MethodFrame) and isinstance(item.method, Connection.Close):
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        sock.sendall(frame.marshal(Connection.CloseOk(), 0))
                    answered = True
    raise AssertionError(f"the server neither hung up nor closed within {SOCKET_WAIT}s")


def client_frames(*values: tuple[int, Frame]) -> bytes:
    return b"".join(frame.marshal(value, channel) for channel, value in values)


# A well-behaved client's bytes, in pieces that can be sent without waiting for replies.
OPEN = PROTOCOL_HEADER + client_frames(
    (
        0,
        Connection.StartOk(
            client_properties=CLIENT_PROPERTIES,
            mechanism="PLAIN",
            response="\0guest\0guest",
            locale="en_US",
        ),
    ),
    (0, Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0)),
    (0, Connection.Open(virtual_host="/")),
)
CHANNEL_OPEN = client_frames((1, Channel.Open()))
DECLARE_AND_CLOSE = client_frames(
    (1, Queue.Declare(queue="", exclusive=True)),
    (0, Connection.Close(reply_code=200, reply_text="", class_id=0, method_id=0)),
)
OPENINGS = {
    "before header": b"",
    "after header": PROTOCOL_HEADER,
    "open": OPEN,
    "channel open": OPEN + CHANNEL_OPEN,
}


def send_ending(sock: socket.socket, ending: str) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if ending == "pad":
            sock.sendall(PAD)
        else:
            sock.shutdown(socket.SHUT_WR)


def server_is_healthy(srv: ServerThread, errors: ErrorLog) -> None:
    """Nothing logged as an error, a new client gets served, nothing lingers."""
    assert not errors.records, [r.getMessage() for r in errors.records]
    with socket.create_connection((srv.host, srv.port), timeout=SOCKET_WAIT) as sock:
        sock.sendall(OPEN + CHANNEL_OPEN + DECLARE_AND_CLOSE)
        reader = FrameReader(frame_max=0)
        reader.feed(read_until_hang_up(sock, answer_close=False))
        got = [(f.channel, type(f.method)) for f in reader if isinstance(f, MethodFrame)]
    assert got == [
        (0, Connection.Start),
        (0, Connection.Tune),
        (0, Connection.OpenOk),
        (1, Channel.OpenOk),
        (1, Queue.DeclareOk),
        (0, Connection.CloseOk),
    ], got
    # every fuzzed connection is gone from the server and the broker
    deadline = time.monotonic() + SOCKET_WAIT
    while srv.call(lambda: len(srv.server.switchboard.connections) + len(srv.broker.connections)):
        assert time.monotonic() < deadline, "connections linger on the server"
        time.sleep(0.005)


SOCKET_FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,  # failures print their example; nothing written to the tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SOCKET_FUZZ
@given(
    data=st.one_of(after_open_inputs, handshake_inputs(), st.binary(min_size=1, max_size=100)),
    stage=st.sampled_from(sorted(OPENINGS)),
    ending=endings,
    answer=st.booleans(),
)
def test_socket_fuzz(
    fuzz_server: tuple[ServerThread, ErrorLog], data: bytes, stage: str, ending: str, answer: bool
) -> None:
    srv, errors = fuzz_server
    with socket.create_connection((srv.host, srv.port), timeout=SOCKET_WAIT) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(OPENINGS[stage] + data)
        send_ending(sock, ending)
        out = read_until_hang_up(sock, answer)
    if stage == "before header":
        if data[:8] in ACCEPTED_HEADERS:
            parse_reply(out)
        elif len(data) >= len(PROTOCOL_HEADER) or ending == "pad":
            assert out == PROTOCOL_HEADER, out
        else:
            assert out == b"", out
    else:
        parse_reply(out)
    server_is_healthy(srv, errors)
