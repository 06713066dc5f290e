"""Differential scenarios: AMQP URL in, JSON-able observation out.

Each scenario drives a broker with pika's ``BlockingConnection`` and returns a dict of
what it saw. The expected observation stored with each scenario was recorded from a real
RabbitMQ 3.10.8 node (see ``docs/rabbitmq-facts.md``); the test module runs every
scenario against each broker and compares.

Determinism rules:
- every queue/exchange name gets a fresh per-run prefix; ``normalise`` turns that prefix
  into ``~`` (so ``dt1a2b3c4d.work`` reads ``~work``);
- server-generated names (``amq.gen-``, ``amq.ctag-``, direct reply-to names) and
  timestamps are replaced by placeholders, after checking their format;
- waits poll for an expected state with a deadline, they never sleep blindly for the
  result (except where "nothing more arrives" is the observation).
"""

# Expected texts are RabbitMQ's exact reply texts; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

import contextlib
import datetime
import re
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pamqp.exceptions
import pamqp.frame
import pika
import pika.compat
import pika.exceptions as pe
import pika.spec as spec
from routing_cases import ROUTING_CASES, LongInt, RoutingCase

Observation = dict[str, Any]

_GEN_RE = re.compile(r"amq\.gen-[A-Za-z0-9_-]{22}")
_CTAG_RE = re.compile(r"amq\.ctag-[A-Za-z0-9_-]{22}")
_REPLY_RE = re.compile(r"amq\.rabbitmq\.reply-to\.[A-Za-z0-9+/=_-]+\.[A-Za-z0-9+/=_-]+")


class Run:
    """One scenario run: URL, unique name prefix, and the connections to close."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"dt{uuid.uuid4().hex[:8]}."
        self._conns: list[pika.BlockingConnection] = []
        self._shared: pika.BlockingConnection | None = None

    def name(self, short: str) -> str:
        return self.prefix + short

    def connect(self) -> pika.BlockingConnection:
        params = pika.URLParameters(self.url)
        conn = pika.BlockingConnection(params)
        self._conns.append(conn)
        return conn

    @property
    def conn(self) -> pika.BlockingConnection:
        """A shared connection, reopened if a hard error closed it."""
        if self._shared is None or not self._shared.is_open:
            self._shared = self.connect()
        return self._shared

    def channel(self) -> Any:
        return self.conn.channel()

    def attempt(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(channel)`` on a fresh channel; return its value or the broker error.

        Returns ``"ok"`` when ``fn`` returns None, ``{"channel_close": [code, text]}`` or
        ``{"connection_close": [code, text]}`` when the broker closes.
        """
        ch = self.channel()
        try:
            value = fn(ch)
        except pe.ChannelClosedByBroker as exc:
            return {"channel_close": [exc.reply_code, exc.reply_text]}
        except pe.ConnectionClosedByBroker as exc:
            return {"connection_close": [exc.reply_code, exc.reply_text]}
        with contextlib.suppress(Exception):
            if ch.is_open:
                ch.close()
        return "ok" if value is None else value

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(Exception):
                if conn.is_open:
                    conn.close()

    def normalise(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            return {self.normalise(k): self.normalise(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.normalise(v) for v in obj]
        if isinstance(obj, bytes):
            return self.normalise(obj.decode("utf-8", "replace"))
        if isinstance(obj, str):
            obj = obj.replace(self.prefix, "~")
            obj = _GEN_RE.sub("amq.gen-<id>", obj)
            obj = _CTAG_RE.sub("amq.ctag-<id>", obj)
            return _REPLY_RE.sub("amq.rabbitmq.reply-to.<id>", obj)
        if isinstance(obj, datetime.datetime):
            return "<timestamp>"
        if isinstance(obj, bool | None | float):
            return obj
        if isinstance(obj, int):
            return int(obj)
        return repr(obj)


@dataclass(frozen=True)
class Scenario:
    name: str
    func: Callable[[Run], Observation]
    expected: Observation

    def observe(self, url: str) -> Observation:
        """Run against the broker at ``url``; the normalised observation."""
        run = Run(url)
        try:
            result: Observation = run.normalise(self.func(run))
            return result
        finally:
            run.close()


SCENARIOS: list[Scenario] = []


def scenario(expected: Observation) -> Callable[[Callable[[Run], Observation]], Scenario]:
    def register(func: Callable[[Run], Observation]) -> Scenario:
        sc = Scenario(func.__name__, func, expected)
        SCENARIOS.append(sc)
        return sc

    return register


# -- helpers -------------------------------------------------------------------------


def effects(*_results: Any) -> None:
    """Evaluate the arguments (calls made for their effect) and return None ("ok")."""


def sync(ch: Any) -> None:
    """A round trip on ``ch``: surfaces an asynchronous channel close."""
    ch.basic_qos(prefetch_count=0)


def get_all(ch: Any, queue: str, *, props: bool = False) -> list[Any]:
    """basic.get (no-ack) until get-empty."""
    out: list[Any] = []
    while True:
        method, properties, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        item: dict[str, Any] = {"body": body, "redelivered": method.redelivered}
        if props:
            item.update(
                exchange=method.exchange,
                routing_key=method.routing_key,
                properties={k: v for k, v in vars(properties).items() if v is not None},
            )
        out.append(item)


def wait_ready(ch: Any, queue: str, count: int, timeout: float = 3.0) -> int:
    """Poll passive declare until ``queue`` has ``count`` ready messages (or timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        n: int = ch.queue_declare(queue, passive=True).method.message_count
        if n == count or time.monotonic() > deadline:
            return n
        time.sleep(0.01)


def consume(conn: Any, ch: Any, queue: str, count: int, **kw: Any) -> list[Any]:
    """Start a consumer; collect ``count`` deliveries as [body, redelivered, tag]."""
    got: list[Any] = []
    ch.basic_consume(
        queue, lambda _c, m, _p, b: got.append([b, m.redelivered, m.delivery_tag]), **kw
    )
    pump(conn, lambda: len(got) >= count)
    return got


def pump(conn: Any, done: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.01)


def settle(conn: Any, seen: Callable[[], int], quiet: float = 0.25) -> None:
    """Pump events until ``seen()`` stops changing for ``quiet`` seconds."""
    last, since = seen(), time.monotonic()
    deadline = since + 3.0
    while time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.02)
        now = seen()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def publish(ch: Any, exchange: str, key: str, body: str | bytes, **props: Any) -> None:
    ch.basic_publish(exchange, key, body, pika.BasicProperties(**props) if props else None)


def table_types(value: Any) -> Any:
    """Field-table value types as pika decoded them (for x-death)."""
    if isinstance(value, dict):
        return {k: table_types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [table_types(v) for v in value]
    if isinstance(value, pika.compat.long):
        return "long"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    return type(value).__name__


def to_pika(value: Any) -> Any:
    if isinstance(value, LongInt):
        return pika.compat.long(value)
    if isinstance(value, dict):
        return {k: to_pika(v) for k, v in value.items()}
    return value


# -- routing -------------------------------------------------------------------------


def routed_queues(run: Run, ch: Any, case: RoutingCase, index: int) -> list[str]:
    exchange = run.name(f"rx{index}")
    ch.exchange_declare(exchange, case.exchange_type, auto_delete=False)
    names = {q: run.name(f"r{index}.{q}") for q in case.queues}
    for real in names.values():
        ch.queue_declare(real, exclusive=True)
    for key_or_args, q in case.bindings:
        if isinstance(key_or_args, dict):
            ch.queue_bind(names[q], exchange, "", arguments=to_pika(key_or_args))
        else:
            ch.queue_bind(names[q], exchange, key_or_args)
    headers = to_pika(case.headers) if case.headers is not None else None
    ch.basic_publish(exchange, case.routing_key, b"m", pika.BasicProperties(headers=headers))
    got = sorted(q for q, real in names.items() if get_all(ch, real))
    for real in names.values():
        ch.queue_delete(real)
    ch.exchange_delete(exchange)
    return got


@scenario(expected={case.name: sorted(case.expected) for case in ROUTING_CASES})
def routing_table(run: Run) -> Observation:
    """Every case of tests/routing_cases.py: the set of queues the message reaches."""
    ch = run.channel()
    ch.confirm_delivery()
    return {case.name: routed_queues(run, ch, case, i) for i, case in enumerate(ROUTING_CASES)}


@scenario(
    expected={
        "e2e": [["~d1", "~q.dir", "~q.t"], ["~q.dir"]],
        "alternate": [["~q.main"], ["~q.alt"]],
        "alternate_missing": "ok",
        "unroutable_return": [[312, "NO_ROUTE", "~nomatch", "k"]],
        "amq_topic": ["~q.amqtopic"],
    }
)
def exchange_features(run: Run) -> Observation:
    """Exchange-to-exchange bindings, alternate-exchange, predeclared amq.topic."""
    ch = run.channel()
    ch.confirm_delivery()
    src, dst_t, dst_d = run.name("e2e.src"), run.name("e2e.t"), run.name("e2e.d")
    ch.exchange_declare(src, "fanout")
    ch.exchange_declare(dst_t, "topic")
    ch.exchange_declare(dst_d, "direct")
    ch.exchange_bind(dst_t, src)
    ch.exchange_bind(dst_d, src)
    qt, qd, q1 = run.name("q.t"), run.name("q.dir"), run.name("d1")
    for q in (qt, qd, q1):
        ch.queue_declare(q, exclusive=True)
    ch.queue_bind(qt, dst_t, "a.*")
    ch.queue_bind(q1, src)
    ch.queue_bind(qd, dst_d, "a.b")
    publish(ch, src, "a.b", "e2e")
    e2e_a = sorted(n for n in (q1, qt, qd) if get_all(ch, n))
    ch.exchange_unbind(dst_t, src)
    ch.queue_unbind(q1, src)
    publish(ch, src, "a.b", "e2e")
    e2e_b = sorted(n for n in (q1, qt, qd) if get_all(ch, n))

    alt, main = run.name("alt"), run.name("main")
    qa, qm = run.name("q.alt"), run.name("q.main")
    ch.exchange_declare(alt, "fanout")
    ch.exchange_declare(main, "direct", arguments={"alternate-exchange": alt})
    ch.queue_declare(qa, exclusive=True)
    ch.queue_declare(qm, exclusive=True)
    ch.queue_bind(qa, alt)
    ch.queue_bind(qm, main, "k")
    publish(ch, main, "k", "x")
    alt_a = sorted(n for n in (qa, qm) if get_all(ch, n))
    publish(ch, main, "other", "x")
    alt_b = sorted(n for n in (qa, qm) if get_all(ch, n))

    # alternate-exchange naming a missing exchange: message is just unroutable
    missing = run.name("ae.missing")
    ch.exchange_declare(missing, "direct", arguments={"alternate-exchange": run.name("nope")})
    alt_missing = run.attempt(
        lambda c: effects(c.confirm_delivery(), publish(c, missing, "k", "x"), sync(c))
    )

    returns: list[Any] = []
    ch2 = run.channel()
    ch2.add_on_return_callback(
        lambda _c, m, _p, _b: returns.append(
            [m.reply_code, m.reply_text, m.exchange, m.routing_key]
        )
    )
    nomatch = run.name("nomatch")
    ch2.exchange_declare(nomatch, "direct")
    ch2.basic_publish(nomatch, "k", b"x", mandatory=True)
    pump(run.conn, lambda: bool(returns), timeout=2)

    qtop = run.name("q.amqtopic")
    ch.queue_declare(qtop, exclusive=True)
    ch.queue_bind(qtop, "amq.topic", run.name("t.#"))
    publish(ch, "amq.topic", run.name("t.x.y"), "x")
    amq_topic = [qtop] if get_all(ch, qtop) else []
    for x in (src, dst_t, dst_d, alt, main, missing, nomatch):
        ch.exchange_delete(x)
    return {
        "e2e": [e2e_a, e2e_b],
        "alternate": [alt_a, alt_b],
        "alternate_missing": alt_missing,
        "unroutable_return": returns,
        "amq_topic": amq_topic,
    }


# -- declare / delete errors -----------------------------------------------------------

_INEQ = "PRECONDITION_FAILED - inequivalent arg"
_LOCKED = (
    "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '~q' in vhost '/'. "
    "It could be originally declared on another connection or the exclusive property value "
    "does not match that of the original declaration."
)


def _redeclare(run: Run, before: dict[str, Any], after: dict[str, Any]) -> Any:
    q = run.name("q")

    def go(ch: Any) -> None:
        ch.queue_declare(q, **before)
        ch.queue_declare(q, **after)

    result = run.attempt(go)
    run.attempt(lambda ch: effects(ch.queue_delete(q)))
    return result


_QUEUE_REDECLARES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "durable_added": ({}, {"durable": True}),
    "durable_removed": ({"durable": True}, {}),
    "auto_delete_added": ({}, {"auto_delete": True}),
    "auto_delete_removed": ({"auto_delete": True}, {}),
    "exclusive_added": ({}, {"exclusive": True}),
    "exclusive_removed": ({"exclusive": True}, {}),
    "ttl_added": ({}, {"arguments": {"x-message-ttl": 1000}}),
    "ttl_removed": ({"arguments": {"x-message-ttl": 1000}}, {}),
    "ttl_changed": (
        {"arguments": {"x-message-ttl": 1000}},
        {"arguments": {"x-message-ttl": 2000}},
    ),
    "ttl_same": ({"arguments": {"x-message-ttl": 1000}}, {"arguments": {"x-message-ttl": 1000}}),
    "ttl_int_vs_str": (
        {"arguments": {"x-message-ttl": 1000}},
        {"arguments": {"x-message-ttl": "1000"}},
    ),
    "max_length_added": ({}, {"arguments": {"x-max-length": 5}}),
    "max_length_changed": (
        {"arguments": {"x-max-length": 5}},
        {"arguments": {"x-max-length": 6}},
    ),
    "expires_added": ({}, {"arguments": {"x-expires": 10000}}),
    "max_priority_added": ({}, {"arguments": {"x-max-priority": 5}}),
    "overflow_added": ({}, {"arguments": {"x-overflow": "reject-publish"}}),
    "dlx_added": ({}, {"arguments": {"x-dead-letter-exchange": "dlx"}}),
    "dlx_changed": (
        {"arguments": {"x-dead-letter-exchange": "a"}},
        {"arguments": {"x-dead-letter-exchange": "b"}},
    ),
    "unknown_x_arg_added": ({}, {"arguments": {"x-foo": 1}}),
    "non_x_arg_added": ({}, {"arguments": {"foo": 1}}),
}


@scenario(
    expected={
        "reserved_name": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'",
            ]
        },
        "reserved_name_passive": {
            "channel_close": [404, "NOT_FOUND - no queue 'amq.foo' in vhost '/'"]
        },
        "passive_missing": {"channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]},
        "durable_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'durable' for queue '~q' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "durable_removed": {
            "channel_close": [
                406,
                f"{_INEQ} 'durable' for queue '~q' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "auto_delete_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'auto_delete' for queue '~q' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "auto_delete_removed": {
            "channel_close": [
                406,
                f"{_INEQ} 'auto_delete' for queue '~q' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "exclusive_added": {"channel_close": [405, _LOCKED]},
        "exclusive_removed": {"channel_close": [405, _LOCKED]},
        "ttl_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-message-ttl' for queue '~q' in vhost '/': "
                "received the value '1000' of type 'signedint' but current is none",
            ]
        },
        "ttl_removed": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-message-ttl' for queue '~q' in vhost '/': "
                "received none but current is the value '1000' of type 'signedint'",
            ]
        },
        "ttl_changed": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-message-ttl' for queue '~q' in vhost '/': received '2000' but current is '1000'",
            ]
        },
        "ttl_same": "ok",
        "ttl_int_vs_str": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-message-ttl' for queue '~q' in vhost '/': received '1000' but current is '1000'",
            ]
        },
        "max_length_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-max-length' for queue '~q' in vhost '/': "
                "received the value '5' of type 'signedint' but current is none",
            ]
        },
        "dlx_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-dead-letter-exchange' for queue '~q' in vhost '/': "
                "received the value 'dlx' of type 'longstr' but current is none",
            ]
        },
        "dlx_changed": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-dead-letter-exchange' for queue '~q' in vhost '/': received 'b' but current is 'a'",
            ]
        },
        "max_length_changed": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-max-length' for queue '~q' in vhost '/': received '6' but current is '5'",
            ]
        },
        "expires_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-expires' for queue '~q' in vhost '/': "
                "received the value '10000' of type 'signedint' but current is none",
            ]
        },
        "max_priority_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-max-priority' for queue '~q' in vhost '/': "
                "received the value '5' of type 'signedint' but current is none",
            ]
        },
        "overflow_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'x-overflow' for queue '~q' in vhost '/': "
                "received the value 'reject-publish' of type 'longstr' but current is none",
            ]
        },
        "unknown_x_arg_added": "ok",
        "non_x_arg_added": "ok",
        "invalid_ttl": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '~bad' in vhost '/': "
                "{value_negative,-1}",
            ]
        },
        "invalid_ttl_type": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '~bad' in vhost '/': "
                '"expected integer, got longstr"',
            ]
        },
        "invalid_max_length": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '~bad' in vhost '/': "
                "{value_negative,-1}",
            ]
        },
        "invalid_overflow": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-overflow' for queue '~bad' in vhost '/': invalid_overflow",
            ]
        },
        "invalid_expires": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-expires' for queue '~bad' in vhost '/': {value_zero,0}",
            ]
        },
        "invalid_max_priority": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '~bad' in vhost '/': "
                "{max_value_exceeded,300}",
            ]
        },
        "invalid_queue_type": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '~bad' in vhost '/': "
                "\"unsupported queue type 'bogus'\"",
            ]
        },
        # nowait asks for no declare-ok, not for no error
        "reserved_name_nowait": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - queue name 'amq.bad' contains reserved prefix 'amq.*'",
            ]
        },
        "server_named": ["amq.gen-<id>", 30],
        "declare_ok_counts": [[3, 0], [0, 2], [0, 2]],
        "other_connection_exclusive": {
            "declare": {"channel_close": [405, _LOCKED]},
            "passive": {"channel_close": [405, _LOCKED]},
            "bind": {"channel_close": [405, _LOCKED]},
            "consume": {"channel_close": [405, _LOCKED]},
            "get": {"channel_close": [405, _LOCKED]},
            "purge": {"channel_close": [405, _LOCKED]},
            "delete": {"channel_close": [405, _LOCKED]},
            "publish": "ok",
        },
    }
)
def queue_declare(run: Run) -> Observation:
    obs: Observation = {
        "reserved_name": run.attempt(lambda ch: ch.queue_declare("amq.foo")),
        "reserved_name_passive": run.attempt(lambda ch: ch.queue_declare("amq.foo", passive=True)),
        "passive_missing": run.attempt(
            lambda ch: ch.queue_declare(run.name("nope"), passive=True)
        ),
    }
    for key, (before, after) in _QUEUE_REDECLARES.items():
        obs[key] = _redeclare(run, before, after)
    bad = run.name("bad")
    for key, args in {
        "invalid_ttl": {"x-message-ttl": -1},
        "invalid_ttl_type": {"x-message-ttl": "abc"},
        "invalid_max_length": {"x-max-length": -1},
        "invalid_overflow": {"x-overflow": "nope"},
        "invalid_expires": {"x-expires": 0},
        "invalid_max_priority": {"x-max-priority": 300},
        "invalid_queue_type": {"x-queue-type": "bogus"},
    }.items():
        obs[key] = run.attempt(lambda ch, a=args: ch.queue_declare(bad, arguments=a))  # type: ignore[misc]

    def nowait_reserved(ch: Any) -> None:
        ch._impl._send_method(spec.Queue.Declare(queue="amq.bad", nowait=True))
        sync(ch)

    obs["reserved_name_nowait"] = run.attempt(nowait_reserved)

    name = run.channel().queue_declare("", exclusive=True).method.queue
    assert _GEN_RE.fullmatch(name), name
    obs["server_named"] = [name, len(name)]

    ch = run.channel()
    q = run.name("counts")
    ch.queue_declare(q, exclusive=True)
    ch.confirm_delivery()
    for i in range(3):
        publish(ch, "", q, f"m{i}")
    counts = [[ch.queue_declare(q, passive=True).method.message_count, 0]]
    got: list[Any] = []
    ch.basic_consume(q, lambda *a: got.append(1))
    ch2 = run.channel()
    ch2.basic_consume(q, lambda *a: got.append(1))
    pump(run.conn, lambda: len(got) >= 3)
    ok = ch.queue_declare(q, passive=True).method
    ok2 = ch.queue_declare(q, exclusive=True).method
    counts = [
        [counts[0][0], 0],
        [ok.message_count, ok.consumer_count],
        [ok2.message_count, ok2.consumer_count],
    ]
    obs["declare_ok_counts"] = counts

    owner = run.connect().channel()
    exq = run.name("q")
    owner.queue_declare(exq, exclusive=True)
    other = run.connect()

    def on_other(fn: Callable[[Any], Any]) -> Any:
        chan = other.channel()
        try:
            fn(chan)
        except pe.ChannelClosedByBroker as exc:
            return {"channel_close": [exc.reply_code, exc.reply_text]}
        return "ok"

    def publish_confirmed(chan: Any) -> None:
        chan.confirm_delivery()
        publish(chan, "", exq, "x")

    obs["other_connection_exclusive"] = {
        "declare": on_other(lambda c: c.queue_declare(exq)),
        "passive": on_other(lambda c: c.queue_declare(exq, passive=True)),
        "bind": on_other(lambda c: c.queue_bind(exq, "amq.direct", "k")),
        "consume": on_other(lambda c: c.basic_consume(exq, lambda *a: None)),
        "get": on_other(lambda c: c.basic_get(exq)),
        "purge": on_other(lambda c: c.queue_purge(exq)),
        "delete": on_other(lambda c: c.queue_delete(exq)),
        "publish": on_other(publish_confirmed),
    }
    return obs


@scenario(
    expected={
        "unknown_type": {
            "connection_close": [503, "COMMAND_INVALID - unknown exchange type 'bogus'"]
        },
        "unknown_x_type": {
            "connection_close": [503, "COMMAND_INVALID - unknown exchange type 'x-foo'"]
        },
        "type_changed": {
            "channel_close": [
                406,
                f"{_INEQ} 'type' for exchange '~x' in vhost '/': received 'topic' but current is 'direct'",
            ]
        },
        "durable_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'durable' for exchange '~x' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "durable_removed": {
            "channel_close": [
                406,
                f"{_INEQ} 'durable' for exchange '~x' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "auto_delete_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'auto_delete' for exchange '~x' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "internal_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'internal' for exchange '~x' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "internal_removed": {
            "channel_close": [
                406,
                f"{_INEQ} 'internal' for exchange '~x' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "alternate_exchange_added": {
            "channel_close": [
                406,
                f"{_INEQ} 'alternate-exchange' for exchange '~x' in vhost '/': "
                "received the value 'ae' of type 'longstr' but current is none",
            ]
        },
        "alternate_exchange_changed": {
            "channel_close": [
                406,
                f"{_INEQ} 'alternate-exchange' for exchange '~x' in vhost '/': received 'b' but current is 'a'",
            ]
        },
        "alternate_exchange_removed": {
            "channel_close": [
                406,
                f"{_INEQ} 'alternate-exchange' for exchange '~x' in vhost '/': "
                "received none but current is the value 'a' of type 'longstr'",
            ]
        },
        "unknown_arg_added": "ok",
        "passive_missing": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "passive_other_type": "ok",
        "reserved_name": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'",
            ]
        },
        "reserved_name_passive": {
            "channel_close": [404, "NOT_FOUND - no exchange 'amq.foo' in vhost '/'"]
        },
        "amq_direct_same": "ok",
        "amq_direct_topic": {
            "channel_close": [
                406,
                f"{_INEQ} 'type' for exchange 'amq.direct' in vhost '/': received 'topic' but current is 'direct'",
            ]
        },
        "amq_direct_not_durable": {
            "channel_close": [
                406,
                f"{_INEQ} 'durable' for exchange 'amq.direct' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "predeclared": "ok",
        "default_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "default_exchange_passive": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "delete_missing": "ok",
        "delete_missing_if_unused": "ok",
        "delete_amq_direct": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed",
            ]
        },
        "delete_reserved_missing": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - deletion of system exchange 'amq.foo' in vhost '/' not allowed",
            ]
        },
        "delete_default": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "delete_if_unused_in_use": {
            "channel_close": [406, "PRECONDITION_FAILED - exchange '~x' in vhost '/' in use"]
        },
        # deleted (the passive declare after it fails): being a destination is not a use
        "delete_if_unused_only_destination": {
            "channel_close": [404, "NOT_FOUND - no exchange '~dest' in vhost '/'"]
        },
        "auto_delete_after_unbind": {
            "channel_close": [404, "NOT_FOUND - no exchange '~ad' in vhost '/'"]
        },
        "auto_delete_after_queue_delete": {
            "channel_close": [404, "NOT_FOUND - no exchange '~ad3' in vhost '/'"]
        },
        "auto_delete_never_bound": "ok",
    }
)
def exchange_declare(run: Run) -> Observation:
    x = run.name("x")

    def redeclare(before: dict[str, Any], after: dict[str, Any]) -> Any:
        def go(ch: Any) -> None:
            ch.exchange_declare(x, **before)
            ch.exchange_declare(x, **after)

        result = run.attempt(go)
        run.attempt(lambda ch: effects(ch.exchange_delete(x)))
        return result

    obs: Observation = {
        "unknown_type": run.attempt(lambda ch: ch.exchange_declare(run.name("bad"), "bogus")),
        "unknown_x_type": run.attempt(lambda ch: ch.exchange_declare(run.name("bad"), "x-foo")),
        "type_changed": redeclare({}, {"exchange_type": "topic"}),
        "durable_added": redeclare({}, {"durable": True}),
        "durable_removed": redeclare({"durable": True}, {}),
        "auto_delete_added": redeclare({}, {"auto_delete": True}),
        "internal_added": redeclare({}, {"internal": True}),
        "internal_removed": redeclare({"internal": True}, {}),
        "alternate_exchange_added": redeclare({}, {"arguments": {"alternate-exchange": "ae"}}),
        "alternate_exchange_changed": redeclare(
            {"arguments": {"alternate-exchange": "a"}}, {"arguments": {"alternate-exchange": "b"}}
        ),
        "alternate_exchange_removed": redeclare({"arguments": {"alternate-exchange": "a"}}, {}),
        "unknown_arg_added": redeclare({}, {"arguments": {"x-foo": "1"}}),
        "passive_missing": run.attempt(
            lambda ch: ch.exchange_declare(run.name("nope"), passive=True)
        ),
        "passive_other_type": run.attempt(
            lambda ch: effects(ch.exchange_declare("amq.direct", "topic", passive=True))
        ),
        "reserved_name": run.attempt(lambda ch: ch.exchange_declare("amq.foo")),
        "reserved_name_passive": run.attempt(
            lambda ch: ch.exchange_declare("amq.foo", passive=True)
        ),
        "amq_direct_same": run.attempt(
            lambda ch: effects(ch.exchange_declare("amq.direct", "direct", durable=True))
        ),
        "amq_direct_topic": run.attempt(
            lambda ch: ch.exchange_declare("amq.direct", "topic", durable=True)
        ),
        "amq_direct_not_durable": run.attempt(
            lambda ch: ch.exchange_declare("amq.direct", "direct")
        ),
    }

    def predeclared(ch: Any) -> None:
        for name, kind in [
            ("amq.direct", "direct"),
            ("amq.fanout", "fanout"),
            ("amq.topic", "topic"),
            ("amq.headers", "headers"),
            ("amq.match", "headers"),
        ]:
            ch.exchange_declare(name, kind, durable=True)
        ch.exchange_declare("amq.rabbitmq.trace", "topic", durable=True, internal=True)

    obs["predeclared"] = run.attempt(predeclared)
    obs["default_exchange"] = run.attempt(
        lambda ch: ch.exchange_declare("", "direct", durable=True)
    )
    obs["default_exchange_passive"] = run.attempt(lambda ch: ch.exchange_declare("", passive=True))
    obs["delete_missing"] = run.attempt(lambda ch: effects(ch.exchange_delete(run.name("nope"))))
    obs["delete_missing_if_unused"] = run.attempt(
        lambda ch: effects(ch.exchange_delete(run.name("nope"), if_unused=True))
    )
    obs["delete_amq_direct"] = run.attempt(lambda ch: ch.exchange_delete("amq.direct"))
    obs["delete_reserved_missing"] = run.attempt(lambda ch: ch.exchange_delete("amq.foo"))
    obs["delete_default"] = run.attempt(lambda ch: ch.exchange_delete(""))

    def in_use(ch: Any) -> None:
        q = run.name("inuse")
        ch.exchange_declare(x)
        ch.queue_declare(q, exclusive=True)
        ch.queue_bind(q, x, "k")
        ch.exchange_delete(x, if_unused=True)

    obs["delete_if_unused_in_use"] = run.attempt(in_use)
    run.attempt(lambda ch: effects(ch.exchange_delete(x)))

    dest = run.name("dest")

    def only_destination(ch: Any) -> None:
        # an exchange that is only the destination of a binding counts as unused
        ch.exchange_declare(x)
        ch.exchange_declare(dest)
        ch.exchange_bind(dest, x, "k")
        ch.exchange_delete(dest, if_unused=True)
        ch.exchange_declare(dest, passive=True)

    obs["delete_if_unused_only_destination"] = run.attempt(only_destination)
    run.attempt(lambda ch: effects(ch.exchange_delete(x)))

    ad, q = run.name("ad"), run.name("adq")

    def auto_delete(ch: Any) -> None:
        ch.exchange_declare(ad, auto_delete=True)
        ch.queue_declare(q, exclusive=True)
        ch.queue_bind(q, ad, "k")
        ch.queue_unbind(q, ad, "k")
        ch.exchange_declare(ad, passive=True)

    obs["auto_delete_after_unbind"] = run.attempt(auto_delete)
    ad3, q3 = run.name("ad3"), run.name("adq3")

    def auto_delete_queue_gone(ch: Any) -> None:
        ch.exchange_declare(ad3, auto_delete=True)
        ch.queue_declare(q3, exclusive=True)
        ch.queue_bind(q3, ad3, "k")
        ch.queue_delete(q3)
        ch.exchange_declare(ad3, passive=True)

    obs["auto_delete_after_queue_delete"] = run.attempt(auto_delete_queue_gone)
    ad2 = run.name("ad2")
    obs["auto_delete_never_bound"] = run.attempt(
        lambda ch: effects(
            ch.exchange_declare(ad2, auto_delete=True), ch.exchange_declare(ad2, passive=True)
        )
    )
    run.attempt(lambda ch: effects(ch.exchange_delete(ad2)))
    return obs


@scenario(
    expected={
        "bind_missing_queue": {
            "channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]
        },
        "bind_missing_exchange": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "bind_both_missing": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "bind_default_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "unbind_default_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "unbind_missing_queue": "ok",
        "unbind_missing_exchange": "ok",
        "unbind_missing_binding": "ok",
        "bind_twice_one_copy": 1,
        "e2e_missing_source": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "e2e_missing_destination": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "e2e_default_destination": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "e2e_default_source": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "bind_internal_exchange": "ok",
        "bind_reserved_queue": {
            "channel_close": [404, "NOT_FOUND - no queue 'amq.foo' in vhost '/'"]
        },
        "delete_missing_queue": 0,
        "delete_missing_queue_if_unused_if_empty": 0,
        "delete_reserved_queue": 0,
        "delete_if_empty": {
            "channel_close": [406, "PRECONDITION_FAILED - queue '~q' in vhost '/' not empty"]
        },
        "delete_if_unused": {
            "channel_close": [406, "PRECONDITION_FAILED - queue '~q' in vhost '/' in use"]
        },
        "delete_count": 4,
        "purge_missing": {"channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]},
        "purge_count": 4,
    }
)
def bind_delete_purge(run: Run) -> Observation:
    q, nope = run.name("q"), run.name("nope")
    ch = run.channel()
    ch.queue_declare(q, exclusive=True)
    ch.confirm_delivery()
    obs: Observation = {
        "bind_missing_queue": run.attempt(lambda c: c.queue_bind(nope, "amq.direct", "k")),
        "bind_missing_exchange": run.attempt(lambda c: c.queue_bind(q, nope, "k")),
        "bind_both_missing": run.attempt(lambda c: c.queue_bind(nope, nope, "k")),
        "bind_default_exchange": run.attempt(lambda c: c.queue_bind(q, "", q)),
        "unbind_default_exchange": run.attempt(lambda c: c.queue_unbind(q, "", q)),
        "unbind_missing_queue": run.attempt(
            lambda c: effects(c.queue_unbind(nope, "amq.direct", "k"))
        ),
        "unbind_missing_exchange": run.attempt(lambda c: effects(c.queue_unbind(q, nope, "k"))),
        "unbind_missing_binding": run.attempt(
            lambda c: effects(c.queue_unbind(q, "amq.direct", "k"))
        ),
    }
    ch.queue_bind(q, "amq.direct", run.name("k"))
    ch.queue_bind(q, "amq.direct", run.name("k"))
    publish(ch, "amq.direct", run.name("k"), "x")
    obs["bind_twice_one_copy"] = len(get_all(ch, q))
    ch.queue_unbind(q, "amq.direct", run.name("k"))
    obs["e2e_missing_source"] = run.attempt(lambda c: c.exchange_bind("amq.direct", nope, "k"))
    obs["e2e_missing_destination"] = run.attempt(
        lambda c: c.exchange_bind(nope, "amq.direct", "k")
    )
    obs["e2e_default_destination"] = run.attempt(lambda c: c.exchange_bind("", "amq.direct", "k"))
    obs["e2e_default_source"] = run.attempt(lambda c: c.exchange_bind("amq.direct", "", "k"))
    internal = run.name("internal")
    obs["bind_internal_exchange"] = run.attempt(
        lambda c: effects(
            c.exchange_declare(internal, internal=True), c.queue_bind(q, internal, "k")
        )
    )
    run.attempt(lambda c: effects(c.exchange_delete(internal)))
    obs["bind_reserved_queue"] = run.attempt(lambda c: c.queue_bind("amq.foo", "amq.direct", "k"))
    obs["delete_missing_queue"] = ch.queue_delete(nope).method.message_count
    obs["delete_missing_queue_if_unused_if_empty"] = ch.queue_delete(
        nope, if_unused=True, if_empty=True
    ).method.message_count
    obs["delete_reserved_queue"] = ch.queue_delete("amq.foo").method.message_count

    def if_empty(c: Any) -> None:
        c.confirm_delivery()
        publish(c, "", q, "x")
        c.queue_delete(q, if_empty=True)

    obs["delete_if_empty"] = run.attempt(if_empty)
    ch.queue_purge(q)

    def if_unused(c: Any) -> None:
        c.basic_consume(q, lambda *a: None)
        c.queue_delete(q, if_unused=True)

    obs["delete_if_unused"] = run.attempt(if_unused)
    for _ in range(4):
        publish(ch, "", q, "x")
    obs["purge_count"] = ch.queue_purge(q).method.message_count
    for _ in range(4):
        publish(ch, "", q, "x")
    obs["delete_count"] = ch.queue_delete(q).method.message_count
    obs["purge_missing"] = run.attempt(lambda c: c.queue_purge(nope))
    return obs


# -- publish, ack, consume, qos --------------------------------------------------------


@scenario(
    expected={
        "missing_exchange": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "missing_exchange_mandatory": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "internal_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - cannot publish to internal exchange '~int' in vhost '/'",
            ]
        },
        "trace_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - cannot publish to internal exchange 'amq.rabbitmq.trace' in vhost '/'",
            ]
        },
        "mandatory_returns": [
            [312, "NO_ROUTE", "amq.direct", "~nowhere", "b1"],
            [312, "NO_ROUTE", "", "~noqueue", "b2"],
        ],
        "immediate": {"connection_close": [540, "NOT_IMPLEMENTED - immediate=true"]},
        "confirm_mandatory_unroutable": "UnroutableError: [[312, 'NO_ROUTE']]",
    }
)
def publish_errors(run: Run) -> Observation:
    nope, internal = run.name("nope"), run.name("int")

    def to_missing(ch: Any) -> None:
        publish(ch, nope, "k", "x")
        sync(ch)

    def to_internal(ch: Any) -> None:
        ch.exchange_declare(internal, internal=True)
        publish(ch, internal, "k", "x")
        sync(ch)

    def to_missing_mandatory(ch: Any) -> None:
        ch.basic_publish(nope, "k", b"x", mandatory=True)
        sync(ch)

    def to_trace(ch: Any) -> None:
        publish(ch, "amq.rabbitmq.trace", "k", "x")
        sync(ch)

    obs: Observation = {
        "missing_exchange": run.attempt(to_missing),
        "missing_exchange_mandatory": run.attempt(to_missing_mandatory),
        "internal_exchange": run.attempt(to_internal),
        "trace_exchange": run.attempt(to_trace),
    }
    run.attempt(lambda ch: effects(ch.exchange_delete(internal)))
    ch = run.channel()
    returns: list[Any] = []
    ch.add_on_return_callback(
        lambda _c, m, _p, b: returns.append(
            [m.reply_code, m.reply_text, m.exchange, m.routing_key, b]
        )
    )
    ch.basic_publish("amq.direct", run.name("nowhere"), b"b1", mandatory=True)
    ch.basic_publish("", run.name("noqueue"), b"b2", mandatory=True)
    pump(run.conn, lambda: len(returns) >= 2)
    obs["mandatory_returns"] = returns

    def immediate(chan: Any) -> None:
        chan._impl._send_method(
            spec.Basic.Publish(exchange="amq.direct", routing_key="k", immediate=True),
            (spec.BasicProperties(), b"x"),
        )
        sync(chan)

    obs["immediate"] = run.attempt(immediate)

    ch = run.channel()
    ch.confirm_delivery()
    try:
        ch.basic_publish("amq.direct", run.name("nowhere"), b"x", mandatory=True)
        obs["confirm_mandatory_unroutable"] = "acked"
    except pe.UnroutableError as exc:
        codes = [[m.method.reply_code, m.method.reply_text] for m in exc.messages]
        obs["confirm_mandatory_unroutable"] = f"UnroutableError: {codes}"
    return obs


@scenario(
    expected={
        "ack_unknown": {"channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 99"]},
        "nack_unknown": {"channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 99"]},
        "reject_unknown": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 99"]
        },
        "ack_unknown_multiple": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 99"]
        },
        "double_ack": {"channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 1"]},
        "ack_zero_multiple_nothing_outstanding": "ok",
        "ack_zero_multiple_acks_all": 0,
        "ack_zero_single": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 0"]
        },
        "nack_zero_multiple_requeues_all": 2,
        "ack_no_ack_get": {"channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 1"]},
        "ack_no_ack_consumer": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 1"]
        },
        "ack_multiple_beyond": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 6"]
        },
        "ack_after_cancel": "ok",
    }
)
def ack_errors(run: Run) -> Observation:
    def with_two(fn: Callable[[Any, str], Any]) -> Callable[[Any], Any]:
        def go(ch: Any) -> Any:
            q = run.name(f"ack{uuid.uuid4().hex[:6]}")
            ch.queue_declare(q, exclusive=True)
            ch.confirm_delivery()
            publish(ch, "", q, "m1")
            publish(ch, "", q, "m2")
            value = fn(ch, q)
            sync(ch)
            return value

        return go

    def double(ch: Any, q: str) -> None:
        tag = ch.basic_get(q)[0].delivery_tag
        ch.basic_ack(tag)
        ch.basic_ack(tag)

    def zero_all(ch: Any, q: str) -> int:
        ch.basic_get(q)
        ch.basic_get(q)
        ch.basic_ack(0, multiple=True)
        ch.basic_recover(requeue=True)
        return int(ch.queue_declare(q, passive=True).method.message_count)

    def zero_nack(ch: Any, q: str) -> int:
        ch.basic_get(q)
        ch.basic_get(q)
        ch.basic_nack(0, multiple=True, requeue=True)
        return wait_ready(ch, q, 2)

    def no_ack_consumer(ch: Any, q: str) -> None:
        got = consume(run.conn, ch, q, 2, auto_ack=True)
        ch.basic_ack(got[0][2])

    def beyond(ch: Any, q: str) -> None:
        tag = ch.basic_get(q)[0].delivery_tag
        ch.basic_ack(tag + 5, multiple=True)

    def after_cancel(ch: Any, q: str) -> None:
        got: list[Any] = []
        tag = ch.basic_consume(q, lambda _c, m, _p, _b: got.append(m.delivery_tag))
        pump(run.conn, lambda: len(got) >= 2)
        ch.basic_cancel(tag)
        ch.basic_ack(got[0])
        ch.basic_ack(got[1])

    return {
        "ack_unknown": run.attempt(with_two(lambda ch, q: ch.basic_ack(99))),
        "nack_unknown": run.attempt(with_two(lambda ch, q: ch.basic_nack(99))),
        "reject_unknown": run.attempt(with_two(lambda ch, q: ch.basic_reject(99))),
        "ack_unknown_multiple": run.attempt(
            with_two(lambda ch, q: ch.basic_ack(99, multiple=True))
        ),
        "double_ack": run.attempt(with_two(double)),
        "ack_zero_multiple_nothing_outstanding": run.attempt(
            with_two(lambda ch, q: ch.basic_ack(0, multiple=True))
        ),
        "ack_zero_multiple_acks_all": run.attempt(with_two(zero_all)),
        "ack_zero_single": run.attempt(
            with_two(lambda ch, q: effects(ch.basic_get(q), ch.basic_ack(0)))
        ),
        "nack_zero_multiple_requeues_all": run.attempt(with_two(zero_nack)),
        "ack_no_ack_get": run.attempt(
            with_two(lambda ch, q: ch.basic_ack(ch.basic_get(q, auto_ack=True)[0].delivery_tag))
        ),
        "ack_no_ack_consumer": run.attempt(with_two(no_ack_consumer)),
        "ack_multiple_beyond": run.attempt(with_two(beyond)),
        "ack_after_cancel": run.attempt(with_two(after_cancel)),
    }


@scenario(
    expected={
        "duplicate_tag": {
            "connection_close": [530, "NOT_ALLOWED - attempt to reuse consumer tag 't1'"]
        },
        "exclusive_when_consumers": {
            "channel_close": [403, "ACCESS_REFUSED - queue '~q' in vhost '/' in exclusive use"]
        },
        "consumer_when_exclusive": {
            "channel_close": [403, "ACCESS_REFUSED - queue '~q' in vhost '/' in exclusive use"]
        },
        "exclusive_when_exclusive": {
            "channel_close": [403, "ACCESS_REFUSED - queue '~q' in vhost '/' in exclusive use"]
        },
        "missing_queue": {"channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]},
        "empty_name_nothing_declared": {
            "channel_close": [404, "NOT_FOUND - no previously declared queue"]
        },
        "empty_name_after_declare": ["to-last-declared"],
        "server_tag": "amq.ctag-<id>",
        "cancel_unknown_tag": "ok",
        "cancel_notify_on_queue_delete": ["t-cancel"],
    }
)
def consume_errors(run: Run) -> Observation:
    q = run.name("q")
    base = run.channel()
    base.queue_declare(q)

    def duplicate(ch: Any) -> None:
        ch.basic_consume(q, lambda *a: None, consumer_tag="t1")
        ch._impl._send_method(spec.Basic.Consume(queue=q, consumer_tag="t1"))
        sync(ch)

    def exclusive_when_consumers(ch: Any) -> None:
        ch.basic_consume(q, lambda *a: None)
        run.channel().basic_consume(q, lambda *a: None, exclusive=True)

    def consumer_when_exclusive(ch: Any) -> None:
        ch.basic_consume(q, lambda *a: None, exclusive=True)
        run.channel().basic_consume(q, lambda *a: None)

    def exclusive_when_exclusive(ch: Any) -> None:
        ch.basic_consume(q, lambda *a: None, exclusive=True)
        run.channel().basic_consume(q, lambda *a: None, exclusive=True)

    obs: Observation = {
        "duplicate_tag": run.attempt(duplicate),
        "exclusive_when_consumers": run.attempt(exclusive_when_consumers),
        "exclusive_when_exclusive": run.attempt(exclusive_when_exclusive),
    }
    # the first run.attempt closed the shared connection (530); channels of the second died
    # with their connection only if it was the same one, so use fresh connections
    obs["consumer_when_exclusive"] = run.attempt(consumer_when_exclusive)
    obs["missing_queue"] = run.attempt(
        lambda ch: ch.basic_consume(run.name("nope"), lambda *a: None)
    )
    obs["empty_name_nothing_declared"] = run.attempt(
        lambda ch: ch.basic_consume("", lambda *a: None)
    )

    def empty_name_after_declare(ch: Any) -> list[Any]:
        # '' names the queue last declared on the channel
        declared = ch.queue_declare("", exclusive=True).method.queue
        ch.confirm_delivery()
        publish(ch, "", declared, "to-last-declared")
        return [body for body, _r, _t in consume(run.conn, ch, "", 1, auto_ack=True)]

    obs["empty_name_after_declare"] = run.attempt(empty_name_after_declare)

    # a consumer pika does not know about: own connection, closed before anything else
    tag_conn = run.connect()
    ch = tag_conn.channel()
    tq = run.name("tagq")
    ch.queue_declare(tq, exclusive=True)
    tags: list[str] = []
    ch._impl.add_callback(
        lambda frame: tags.append(frame.method.consumer_tag), [spec.Basic.ConsumeOk], one_shot=True
    )
    ch._impl._send_method(spec.Basic.Consume(queue=tq, consumer_tag=""))
    pump(tag_conn, lambda: bool(tags))
    tag_conn.close()
    assert tags and _CTAG_RE.fullmatch(tags[0]), tags
    obs["server_tag"] = tags[0]
    obs["cancel_unknown_tag"] = run.attempt(lambda c: c.basic_cancel("no-such-tag") or None)

    cancelled: list[str] = []
    ch2 = run.channel()
    ch2.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    q2 = run.name("cancelme")
    ch2.queue_declare(q2)
    ch2.basic_consume(q2, lambda *a: None, consumer_tag="t-cancel")
    run.channel().queue_delete(q2)
    pump(run.conn, lambda: bool(cancelled))
    obs["cancel_notify_on_queue_delete"] = cancelled
    run.channel().queue_delete(q)
    return obs


def _prefetch(
    run: Run, qos: list[tuple[int, bool]], *, after_first_consumer: bool = False
) -> list[int]:
    """Two consumers on queues of 5 messages each: how many each gets under ``qos``
    (set before both consumers, or between them with ``after_first_consumer``)."""
    conn = run.connect()
    ch = conn.channel()
    queues = [run.name(f"pf{uuid.uuid4().hex[:6]}") for _ in range(2)]
    ch.confirm_delivery()
    for q in queues:
        ch.queue_declare(q, exclusive=True)
        for i in range(5):
            publish(ch, "", q, f"m{i}")

    def set_qos() -> None:
        for count, is_global in qos:
            ch.basic_qos(prefetch_count=count, global_qos=is_global)

    if not after_first_consumer:
        set_qos()
    got = [0, 0]
    for i, q in enumerate(queues):
        ch.basic_consume(q, lambda *a, i=i: got.__setitem__(i, got[i] + 1))
        if after_first_consumer and i == 0:
            set_qos()
    settle(conn, lambda: sum(got))
    conn.close()
    return got


@scenario(
    expected={
        "prefetch_size": {"connection_close": [540, "NOT_IMPLEMENTED - prefetch_size!=0 (10)"]},
        "per_consumer_2": [2, 2],
        "global_3": [3, 0],
        "per_consumer_2_and_global_3": [2, 1],
        # the consumer started before qos(1) is not limited by it
        "per_consumer_1_after_first_consumer": [5, 1],
        "get_empty": None,
        "get_ok": {
            "message_count": 2,
            "delivery_tag": 1,
            "redelivered": False,
            "exchange": "",
            "routing_key": "~get",
            "body": "a",
        },
        "get_missing": {"channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]},
    }
)
def qos_and_get(run: Run) -> Observation:
    obs: Observation = {
        "prefetch_size": run.attempt(lambda ch: ch.basic_qos(prefetch_size=10)),
        "per_consumer_2": _prefetch(run, [(2, False)]),
        "global_3": _prefetch(run, [(3, True)]),
        "per_consumer_2_and_global_3": _prefetch(run, [(2, False), (3, True)]),
        "per_consumer_1_after_first_consumer": _prefetch(
            run, [(1, False)], after_first_consumer=True
        ),
    }
    ch = run.channel()
    q = run.name("get")
    ch.queue_declare(q, exclusive=True)
    ch.confirm_delivery()
    obs["get_empty"] = ch.basic_get(q)[0]
    for body in ("a", "b", "c"):
        publish(ch, "", q, body)
    method, _props, body = ch.basic_get(q)
    obs["get_ok"] = {
        "message_count": method.message_count,
        "delivery_tag": method.delivery_tag,
        "redelivered": method.redelivered,
        "exchange": method.exchange,
        "routing_key": method.routing_key,
        "body": body,
    }
    obs["get_missing"] = run.attempt(lambda c: c.basic_get(run.name("nope")))
    return obs


# -- requeue order ---------------------------------------------------------------------


def _five(run: Run) -> tuple[Any, Any, str]:
    conn = run.connect()
    ch = conn.channel()
    q = run.name(f"rq{uuid.uuid4().hex[:6]}")
    ch.queue_declare(q, exclusive=True)
    ch.confirm_delivery()
    for i in range(1, 6):
        publish(ch, "", q, f"m{i}")
    return conn, ch, q


@scenario(
    expected={
        "nack_m2_m4_while_consuming": [
            ["m1", False, 1],
            ["m2", False, 2],
            ["m3", False, 3],
            ["m4", False, 4],
            ["m5", False, 5],
            ["m2", True, 6],
            ["m4", True, 7],
        ],
        "nack_m4_then_m2_then_get": [["m2", True], ["m4", True]],
        "nack_then_publish_m6": [["m2", True], ["m4", True], ["m6", False]],
        "requeue_goes_before_ready": [["m2", True], ["m4", False], ["m5", False]],
        "close_channel_requeues": [["m1", True], ["m2", True], ["m4", True], ["m5", True]],
        "close_with_prefetch_2": [
            ["m1", True],
            ["m2", True],
            ["m3", False],
            ["m4", False],
            ["m5", False],
        ],
        "nack_multiple_requeue": [
            ["m1", True],
            ["m2", True],
            ["m3", True],
            ["m4", True],
            ["m5", True],
        ],
        "nack_m5_m3_m1": [["m1", True], ["m3", True], ["m5", True]],
        "recover_requeue": [
            ["m1", False, 1],
            ["m2", False, 2],
            ["m3", False, 3],
            ["m4", False, 4],
            ["m5", False, 5],
            ["m2", True, 6],
            ["m3", True, 7],
            ["m4", True, 8],
            ["m5", True, 9],
        ],
        "recover_async_requeue": [
            ["m1", False, 1],
            ["m2", False, 2],
            ["m3", False, 3],
            ["m4", False, 4],
            ["m5", False, 5],
            ["m2", True, 6],
            ["m3", True, 7],
            ["m4", True, 8],
            ["m5", True, 9],
        ],
        "recover_no_requeue": {"connection_close": [540, "NOT_IMPLEMENTED - requeue=false"]},
        "reject_requeue_false_drops": 0,
    }
)
def requeue_order(run: Run) -> Observation:
    obs: Observation = {}

    conn, ch, q = _five(run)
    got = consume(conn, ch, q, 5)
    ch.basic_nack(got[1][2], requeue=True)
    ch.basic_nack(got[3][2], requeue=True)
    pump(conn, lambda: len(got) >= 7)
    obs["nack_m2_m4_while_consuming"] = got

    conn, ch, q = _five(run)
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(5)]
    ch.basic_nack(tags[3], requeue=True)
    ch.basic_nack(tags[1], requeue=True)
    obs["nack_m4_then_m2_then_get"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(5)]
    ch.basic_nack(tags[1], requeue=True)
    ch.basic_nack(tags[3], requeue=True)
    publish(ch, "", q, "m6")
    obs["nack_then_publish_m6"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(3)]
    ch.basic_nack(tags[1], requeue=True)
    ch.basic_ack(tags[0])
    ch.basic_ack(tags[2])
    obs["requeue_goes_before_ready"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    got = consume(conn, ch, q, 5)
    ch.basic_ack(got[2][2])
    ch.close()
    ch = conn.channel()
    obs["close_channel_requeues"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    ch.basic_qos(prefetch_count=2)
    got = consume(conn, ch, q, 2)
    ch.close()
    ch = conn.channel()
    obs["close_with_prefetch_2"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    ctag = None
    got = []
    ctag = ch.basic_consume(q, lambda _c, m, _p, b: got.append([b, m.redelivered, m.delivery_tag]))
    pump(conn, lambda: len(got) >= 5)
    ch.basic_cancel(ctag)
    ch.basic_nack(0, multiple=True, requeue=True)
    obs["nack_multiple_requeue"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    got = []
    ctag = ch.basic_consume(q, lambda _c, m, _p, b: got.append([b, m.redelivered, m.delivery_tag]))
    pump(conn, lambda: len(got) >= 5)
    ch.basic_cancel(ctag)
    for i in (4, 2, 0):
        ch.basic_nack(got[i][2], requeue=True)
    obs["nack_m5_m3_m1"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    got = consume(conn, ch, q, 5)
    ch.basic_ack(got[0][2])
    ch.basic_recover(requeue=True)
    pump(conn, lambda: len(got) >= 9)
    obs["recover_requeue"] = got

    conn, ch, q = _five(run)
    got = consume(conn, ch, q, 5)
    ch.basic_ack(got[0][2])
    ch._impl._send_method(spec.Basic.RecoverAsync(requeue=True))
    pump(conn, lambda: len(got) >= 9)
    settle(conn, lambda: len(got))
    obs["recover_async_requeue"] = got

    def recover_false(chan: Any) -> None:
        chan._impl._send_method(spec.Basic.Recover(requeue=False))
        sync(chan)

    obs["recover_no_requeue"] = run.attempt(recover_false)

    conn, ch, q = _five(run)
    for _ in range(5):
        ch.basic_reject(ch.basic_get(q)[0].delivery_tag, requeue=False)
    obs["reject_requeue_false_drops"] = ch.queue_declare(q, passive=True).method.message_count
    return obs


# -- TTL, dead-lettering, overflow -----------------------------------------------------


def _dead(ch: Any, queue: str, count: int) -> list[Any]:
    """Wait for ``count`` messages in ``queue``; return them with x-death details."""
    wait_ready(ch, queue, count)
    out = []
    for m in get_all(ch, queue, props=True):
        headers = m["properties"].get("headers") or {}
        m["header_types"] = table_types({k: v for k, v in headers.items() if k == "x-death"})
        m["x_death_key_order"] = [list(d) for d in headers.get("x-death", [])]
        out.append(m)
    return out


_XD = {
    "count": "long",
    "reason": "str",
    "queue": "str",
    "time": "timestamp",
    "exchange": "str",
    "routing-keys": ["str"],
}
_XD_ORDER = ["count", "reason", "queue", "time", "exchange", "routing-keys"]
_XD_SORTED = ["count", "exchange", "queue", "reason", "routing-keys", "time"]


def _death(
    reason: str, queue: str, *, count: int = 1, exchange: str = "", keys: Any = None
) -> Any:
    return {
        "count": count,
        "reason": reason,
        "queue": queue,
        "time": "<timestamp>",
        "exchange": exchange,
        "routing-keys": keys if keys is not None else [queue],
    }


def _first(queue: str, reason: str) -> dict[str, str]:
    return {
        "x-first-death-exchange": "",
        "x-first-death-queue": queue,
        "x-first-death-reason": reason,
    }


@scenario(
    expected={
        "ttl": [
            {
                "body": "hello",
                "redelivered": False,
                "exchange": "~dlx",
                "routing_key": "~src",
                "properties": {
                    "content_type": "text/plain",
                    "headers": {
                        "h": "v",
                        "x-death": [_death("expired", "~src")],
                        **_first("~src", "expired"),
                    },
                    "delivery_mode": 2,
                    "priority": 3,
                    "correlation_id": "cid",
                    "reply_to": "rt",
                    "message_id": "mid",
                    "timestamp": 123,
                },
                "header_types": {"x-death": [_XD]},
                "x_death_key_order": [_XD_ORDER],
            }
        ],
        "per_message_expiration": [
            {
                "body": "exp",
                "redelivered": False,
                "exchange": "~dlx2",
                "routing_key": "newkey",
                "properties": {
                    "headers": {
                        "x-death": [{**_death("expired", "~src2"), "original-expiration": "40"}],
                        **_first("~src2", "expired"),
                    }
                },
                "header_types": {"x-death": [{**_XD, "original-expiration": "str"}]},
                "x_death_key_order": [[*_XD_ORDER, "original-expiration"]],
            }
        ],
    }
)
def ttl_dead_letter(run: Run) -> Observation:
    ch = run.channel()
    ch.confirm_delivery()
    src, dq, dlx = run.name("src"), run.name("dq"), run.name("dlx")
    ch.exchange_declare(dlx, "fanout")
    ch.queue_declare(dq, exclusive=True)
    ch.queue_bind(dq, dlx)
    ch.queue_declare(
        src, exclusive=True, arguments={"x-message-ttl": 40, "x-dead-letter-exchange": dlx}
    )
    publish(
        ch,
        "",
        src,
        "hello",
        content_type="text/plain",
        headers={"h": "v"},
        message_id="mid",
        delivery_mode=2,
        priority=3,
        correlation_id="cid",
        reply_to="rt",
        timestamp=123,
    )
    ttl = _dead(ch, dq, 1)

    src2, dq2, dlx2 = run.name("src2"), run.name("dq2"), run.name("dlx2")
    ch.exchange_declare(dlx2, "fanout")
    ch.queue_declare(dq2, exclusive=True)
    ch.queue_bind(dq2, dlx2)
    ch.queue_declare(
        src2,
        exclusive=True,
        arguments={"x-dead-letter-exchange": dlx2, "x-dead-letter-routing-key": "newkey"},
    )
    publish(ch, "", src2, "exp", expiration="40")
    time.sleep(0.1)
    ch.basic_get(src2, auto_ack=True)  # expiry of a head message is seen by a get at the latest
    expired = _dead(ch, dq2, 1)
    ch.exchange_delete(dlx)
    ch.exchange_delete(dlx2)
    return {"ttl": ttl, "per_message_expiration": expired}


def _dl_msg(body: str, dq: str, deaths: list[Any], first: dict[str, str], order: list[Any]) -> Any:
    return {
        "body": body,
        "redelivered": False,
        "exchange": "",
        "routing_key": dq,
        "properties": {"headers": {"x-death": deaths, **first}},
        "header_types": {"x-death": [_XD for _ in deaths]},
        "x_death_key_order": order,
    }


@scenario(
    expected={
        "rejected": [
            _dl_msg(
                "r1", "~dq", [_death("rejected", "~q")], _first("~q", "rejected"), [_XD_ORDER]
            ),
            _dl_msg(
                "r2", "~dq", [_death("rejected", "~q")], _first("~q", "rejected"), [_XD_ORDER]
            ),
        ],
        "maxlen_kept": ["m3", "m4"],
        "maxlen_dead": [
            _dl_msg("m1", "~mdq", [_death("maxlen", "~mq")], _first("~mq", "maxlen"), [_XD_ORDER]),
            _dl_msg("m2", "~mdq", [_death("maxlen", "~mq")], _first("~mq", "maxlen"), [_XD_ORDER]),
        ],
        "double": [
            _dl_msg(
                "dd",
                "~ddq",
                [_death("expired", "~q2"), _death("expired", "~q1")],
                _first("~q1", "expired"),
                [_XD_SORTED, _XD_ORDER],
            )
        ],
        "cycle": [
            _dl_msg(
                "cyc",
                "~cdq",
                [_death("rejected", "~cq", count=2), _death("rejected", "~cdq")],
                _first("~cq", "rejected"),
                [_XD_SORTED, _XD_SORTED],
            )
        ],
        "ttl_self_cycle_dropped": 0,
        "missing_dlx_dropped": 0,
    }
)
def dead_letter_reasons(run: Run) -> Observation:
    ch = run.channel()
    ch.confirm_delivery()
    obs: Observation = {}

    q, dq = run.name("q"), run.name("dq")
    ch.queue_declare(dq, exclusive=True)
    dl_args = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dq}
    ch.queue_declare(q, exclusive=True, arguments=dl_args)
    publish(ch, "", q, "r1")
    publish(ch, "", q, "r2")
    ch.basic_nack(ch.basic_get(q)[0].delivery_tag, requeue=False)
    ch.basic_reject(ch.basic_get(q)[0].delivery_tag, requeue=False)
    obs["rejected"] = _dead(ch, dq, 2)

    mq, mdq = run.name("mq"), run.name("mdq")
    ch.queue_declare(mdq, exclusive=True)
    ch.queue_declare(
        mq,
        exclusive=True,
        arguments={
            "x-max-length": 2,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": mdq,
        },
    )
    for i in range(1, 5):
        publish(ch, "", mq, f"m{i}")
    obs["maxlen_kept"] = [m["body"] for m in get_all(ch, mq)]
    obs["maxlen_dead"] = _dead(ch, mdq, 2)

    q1, q2, ddq = run.name("q1"), run.name("q2"), run.name("ddq")
    ch.queue_declare(ddq, exclusive=True)
    ch.queue_declare(
        q2,
        exclusive=True,
        arguments={
            "x-message-ttl": 20,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": ddq,
        },
    )
    ch.queue_declare(
        q1,
        exclusive=True,
        arguments={
            "x-message-ttl": 20,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": q2,
        },
    )
    publish(ch, "", q1, "dd")
    obs["double"] = _dead(ch, ddq, 1)

    cq, cdq = run.name("cq"), run.name("cdq")
    ch.queue_declare(
        cdq,
        exclusive=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": cq},
    )
    ch.queue_declare(
        cq,
        exclusive=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": cdq},
    )
    publish(ch, "", cq, "cyc")
    for target in (cq, cdq, cq):
        wait_ready(ch, target, 1)
        ch.basic_reject(ch.basic_get(target)[0].delivery_tag, requeue=False)
    obs["cycle"] = _dead(ch, cdq, 1)

    sq = run.name("self")
    ch.queue_declare(
        sq,
        exclusive=True,
        arguments={
            "x-message-ttl": 20,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": sq,
        },
    )
    publish(ch, "", sq, "loop")
    time.sleep(0.2)
    obs["ttl_self_cycle_dropped"] = wait_ready(ch, sq, 0)

    mdl = run.name("mdl")
    ch.queue_declare(
        mdl,
        exclusive=True,
        arguments={"x-message-ttl": 20, "x-dead-letter-exchange": run.name("nope")},
    )
    publish(ch, "", mdl, "z")
    obs["missing_dlx_dropped"] = wait_ready(ch, mdl, 0)
    return obs


@scenario(
    expected={
        "reject_publish": {
            "confirms": ["ack", "ack", "nack", "nack"],
            "kept": ["m1", "m2"],
            "dead": [],
        },
        "reject_publish_dlx": {
            "confirms": ["ack", "ack", "nack", "nack"],
            "kept": ["m1", "m2"],
            "dead": [["m3", "maxlen"], ["m4", "maxlen"]],
        },
        "fanout_one_full": ["nack", 1],
        "max_length_bytes": ["12345", "123"],
        "max_length_zero": 0,
        "reject_publish_without_confirms": 1,
    }
)
def overflow(run: Run) -> Observation:
    obs: Observation = {}
    for mode in ("reject-publish", "reject-publish-dlx"):
        ch = run.channel()
        ch.confirm_delivery()
        q, dq = run.name(f"ov.{mode}"), run.name(f"ovd.{mode}")
        ch.queue_declare(dq, exclusive=True)
        ch.queue_declare(
            q,
            exclusive=True,
            arguments={
                "x-max-length": 2,
                "x-overflow": mode,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dq,
            },
        )
        confirms = []
        for i in range(1, 5):
            try:
                publish(ch, "", q, f"m{i}")
                confirms.append("ack")
            except pe.NackError:
                confirms.append("nack")
        kept = [m["body"] for m in get_all(ch, q)]
        expect_dead = 2 if mode.endswith("dlx") else 0
        wait_ready(ch, dq, expect_dead, timeout=1.0)
        dead = [
            [m["body"], m["properties"]["headers"]["x-death"][0]["reason"]]
            for m in get_all(ch, dq, props=True)
        ]
        obs[mode.replace("-", "_")] = {"confirms": confirms, "kept": kept, "dead": dead}

    ch = run.channel()
    ch.confirm_delivery()
    x, full, normal = run.name("fx"), run.name("full"), run.name("normal")
    ch.exchange_declare(x, "fanout")
    ch.queue_declare(
        full, exclusive=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
    )
    ch.queue_declare(normal, exclusive=True)
    ch.queue_bind(full, x)
    ch.queue_bind(normal, x)
    try:
        publish(ch, x, "", "x")
        result = "ack"
    except pe.NackError:
        result = "nack"
    obs["fanout_one_full"] = [result, ch.queue_declare(normal, passive=True).method.message_count]
    ch.exchange_delete(x)

    def reject_publish_without_confirms(c: Any) -> int:
        # the excess is dropped without a word; the channel stays open
        rp = run.name("rp")
        c.queue_declare(
            rp, exclusive=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
        )
        for body in ("a", "b", "c"):
            publish(c, "", rp, body)
        sync(c)
        return len(get_all(c, rp))

    obs["reject_publish_without_confirms"] = run.attempt(reject_publish_without_confirms)

    mb = run.name("mb")
    ch.queue_declare(mb, exclusive=True, arguments={"x-max-length-bytes": 10})
    for body in ("12345", "12345", "123"):
        publish(ch, "", mb, body)
    obs["max_length_bytes"] = [m["body"] for m in get_all(ch, mb)]
    m0 = run.name("m0")
    ch.queue_declare(m0, exclusive=True, arguments={"x-max-length": 0})
    publish(ch, "", m0, "a")
    obs["max_length_zero"] = ch.queue_declare(m0, passive=True).method.message_count
    return obs


@scenario(
    expected={
        "max_priority_5": [
            "m2-p5",
            "m3-p9",
            "m6-p5",
            "m4-p3",
            "m1-p1",
            "m7-p1",
            "m0-pNone",
            "m5-p0",
        ],
        "no_max_priority": ["m0-p1", "m1-p5", "m2-p9"],
    }
)
def priorities(run: Run) -> Observation:
    ch = run.channel()
    ch.confirm_delivery()
    q = run.name("prio")
    ch.queue_declare(q, exclusive=True, arguments={"x-max-priority": 5})
    for i, p in enumerate([None, 1, 5, 9, 3, 0, 5, 1]):
        publish(ch, "", q, f"m{i}-p{p}", priority=p)
    q2 = run.name("noprio")
    ch.queue_declare(q2, exclusive=True)
    for i, p in enumerate([1, 5, 9]):
        publish(ch, "", q2, f"m{i}-p{p}", priority=p)
    return {
        "max_priority_5": [m["body"] for m in get_all(ch, q)],
        "no_max_priority": [m["body"] for m in get_all(ch, q2)],
    }


# -- tx, confirms, direct reply-to -----------------------------------------------------


@scenario(
    expected={
        "commit_without_select": {
            "channel_close": [406, "PRECONDITION_FAILED - channel is not transactional"]
        },
        "rollback_without_select": {
            "channel_close": [406, "PRECONDITION_FAILED - channel is not transactional"]
        },
        "confirm_after_tx": {
            "channel_close": [406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode"]
        },
        "tx_after_confirm": {
            "channel_close": [406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode"]
        },
        "publish_rollback_commit": [0, 1],
        "ack_rollback_reack": "ok",
        "select_twice": "ok",
        "confirm_select_twice": 2,
        "return_at_commit": [[], [[312, "NO_ROUTE"]]],
        "confirm_tags": {"highest": 3, "all_in_1_to_3": True},
    }
)
def tx_and_confirms(run: Run) -> Observation:
    obs: Observation = {
        "commit_without_select": run.attempt(lambda ch: ch.tx_commit()),
        "rollback_without_select": run.attempt(lambda ch: ch.tx_rollback()),
        "confirm_after_tx": run.attempt(lambda ch: effects(ch.tx_select(), ch.confirm_delivery())),
        "tx_after_confirm": run.attempt(lambda ch: effects(ch.confirm_delivery(), ch.tx_select())),
    }
    ch = run.channel()
    q = run.name("tx")
    ch.queue_declare(q, exclusive=True)
    ch.tx_select()
    publish(ch, "", q, "a")
    ch.tx_rollback()
    n1 = ch.queue_declare(q, passive=True).method.message_count
    publish(ch, "", q, "b")
    ch.tx_commit()
    n2 = ch.queue_declare(q, passive=True).method.message_count
    obs["publish_rollback_commit"] = [n1, n2]

    def ack_rollback(c: Any) -> None:
        c.tx_select()
        tag = c.basic_get(q)[0].delivery_tag
        c.basic_ack(tag)
        c.tx_rollback()
        c.basic_ack(tag)
        c.tx_commit()

    obs["ack_rollback_reack"] = run.attempt(ack_rollback)
    obs["select_twice"] = run.attempt(lambda c: effects(c.tx_select(), c.tx_select()))

    def confirm_select_twice(c: Any) -> int:
        oks: list[Any] = []
        c._impl.add_callback(lambda frame: oks.append(1), [spec.Confirm.SelectOk], one_shot=False)
        c._impl._send_method(spec.Confirm.Select(nowait=False))
        c._impl._send_method(spec.Confirm.Select(nowait=False))
        sync(c)
        pump(run.conn, lambda: len(oks) >= 2, timeout=1)
        return len(oks)

    obs["confirm_select_twice"] = run.attempt(confirm_select_twice)

    ch = run.channel()
    returns: list[Any] = []
    ch.add_on_return_callback(lambda _c, m, _p, _b: returns.append([m.reply_code, m.reply_text]))
    ch.tx_select()
    ch.basic_publish("amq.direct", run.name("nowhere"), b"x", mandatory=True)
    ch.queue_declare(q, passive=True)
    before = list(returns)
    ch.tx_commit()
    pump(run.conn, lambda: bool(returns))
    obs["return_at_commit"] = [before, returns]

    ch = run.channel()
    acked: list[int] = []
    ch._impl.add_callback(
        lambda frame: acked.append(frame.method.delivery_tag), [spec.Basic.Ack], one_shot=False
    )
    ch._impl._send_method(spec.Confirm.Select(nowait=False))
    ch.queue_declare(q, passive=True)
    for _ in range(3):
        ch._impl._send_method(
            spec.Basic.Publish(exchange="", routing_key=q), (spec.BasicProperties(), b"c")
        )
    ch.queue_declare(q, passive=True)
    pump(run.conn, lambda: bool(acked) and max(acked) >= 3)
    # acks may be coalesced with multiple=True: observe the highest tag and the tag range
    obs["confirm_tags"] = {"highest": max(acked), "all_in_1_to_3": all(1 <= t <= 3 for t in acked)}
    return obs


@scenario(
    expected={
        "consume_with_ack": {
            "channel_close": [406, "PRECONDITION_FAILED - reply consumer cannot acknowledge"]
        },
        "consume_twice": {
            "channel_close": [406, "PRECONDITION_FAILED - reply consumer already set"]
        },
        "publish_without_consumer": {
            "channel_close": [406, "PRECONDITION_FAILED - fast reply consumer does not exist"]
        },
        "consumer_on_other_channel": {
            "channel_close": [406, "PRECONDITION_FAILED - fast reply consumer does not exist"]
        },
        "request_reply_to": "amq.rabbitmq.reply-to.<id>",
        "reply": {
            "body": "resp",
            "exchange": "",
            "routing_key": "amq.rabbitmq.reply-to.<id>",
            "redelivered": False,
            "delivery_tag": 1,
            "correlation_id": "c1",
        },
        "passive_declare_reply_name": [0, 1],
        "publish_bogus_reply_name": "acked",
        "passive_declare_base_name": ["amq.rabbitmq.reply-to", 0, 1],
        "publish_bogus_reply_name_mandatory": ["UnroutableError", [[312, "NO_ROUTE"]]],
        "publish_to_base_name": "acked",
        "server_tag": "amq.ctag-<id>",
    }
)
def direct_reply_to(run: Run) -> Observation:
    drt = "amq.rabbitmq.reply-to"

    def consume_twice(ch: Any) -> None:
        ch.basic_consume(drt, lambda *a: None, auto_ack=True)
        ch.basic_consume(drt, lambda *a: None, auto_ack=True)

    def publish_no_consumer(ch: Any) -> None:
        publish(ch, "", run.name("rpc"), "x", reply_to=drt)
        sync(ch)

    def other_channel(ch: Any) -> None:
        run.channel().basic_consume(drt, lambda *a: None, auto_ack=True)
        publish(ch, "", run.name("rpc"), "x", reply_to=drt)
        sync(ch)

    def server_tag(ch: Any) -> Any:
        tags: list[str] = []
        ch._impl.add_callback(
            lambda frame: tags.append(frame.method.consumer_tag),
            [spec.Basic.ConsumeOk],
            one_shot=True,
        )
        ch._impl._send_method(spec.Basic.Consume(queue=drt, consumer_tag="", no_ack=True))
        pump(run.conn, lambda: bool(tags))
        assert tags and _CTAG_RE.fullmatch(tags[0]), tags
        return tags[0]

    obs: Observation = {
        "consume_with_ack": run.attempt(lambda ch: ch.basic_consume(drt, lambda *a: None)),
        "consume_twice": run.attempt(consume_twice),
        "publish_without_consumer": run.attempt(publish_no_consumer),
        "consumer_on_other_channel": run.attempt(other_channel),
        "server_tag": run.attempt(server_tag),
    }
    conn = run.connect()
    client, server = conn.channel(), conn.channel()
    rpcq = run.name("rpcq")
    server.queue_declare(rpcq, exclusive=True)
    replies: list[Any] = []
    client.basic_consume(
        drt,
        lambda _c, m, p, b: replies.append(
            {
                "body": b,
                "exchange": m.exchange,
                "routing_key": m.routing_key,
                "redelivered": m.redelivered,
                "delivery_tag": m.delivery_tag,
                "correlation_id": p.correlation_id,
            }
        ),
        auto_ack=True,
    )
    publish(client, "", rpcq, "req", reply_to=drt, correlation_id="c1")
    server.confirm_delivery()
    wait_ready(server, rpcq, 1)
    _m, props, _b = server.basic_get(rpcq, auto_ack=True)
    reply_to = props.reply_to
    assert _REPLY_RE.fullmatch(reply_to), reply_to
    obs["request_reply_to"] = reply_to
    publish(server, "", reply_to, "resp", correlation_id=props.correlation_id)
    pump(conn, lambda: bool(replies))
    obs["reply"] = replies[0] if replies else None
    ok = server.queue_declare(reply_to, passive=True).method
    obs["passive_declare_reply_name"] = [ok.message_count, ok.consumer_count]
    ok = server.queue_declare(drt, passive=True).method
    obs["passive_declare_base_name"] = [ok.queue, ok.message_count, ok.consumer_count]
    returned: list[Any] = []
    server.add_on_return_callback(
        lambda _c, m, _p, _b: returned.append([m.reply_code, m.reply_text, m.routing_key])
    )
    try:
        server.basic_publish("", f"{drt}.bogus", b"x", mandatory=True)
        obs["publish_bogus_reply_name_mandatory"] = ["acked", returned]
    except pe.UnroutableError as exc:
        codes = [[m.method.reply_code, m.method.reply_text] for m in exc.messages]
        obs["publish_bogus_reply_name_mandatory"] = ["UnroutableError", codes]
    try:
        publish(server, "", drt, "x")
        obs["publish_to_base_name"] = "acked"
    except pe.NackError:
        obs["publish_to_base_name"] = "nacked"
    try:
        publish(server, "", f"{drt}.bogus", "x")
        obs["publish_bogus_reply_name"] = "acked"
    except pe.NackError:
        obs["publish_bogus_reply_name"] = "nacked"
    return obs


# -- channels and connection -----------------------------------------------------------


@scenario(
    expected={
        "second_channel_open": {
            "connection_close": [504, "CHANNEL_ERROR - second 'channel.open' seen"]
        },
        "flow_inactive": {"connection_close": [540, "NOT_IMPLEMENTED - active=false"]},
        "flow_active": "ok",
        # basic.deliver carries content: the method after it is not the content header
        "client_sends_deliver": {
            "connection_close": [
                505,
                "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead",
            ]
        },
        "channel_number_above_channel_max": [True, True],
        "tune": [2047, 131072, 60],
        "legacy_protocol_header": ["Connection.Start", [0, 9]],
        "server_properties": {
            "capabilities": {
                "publisher_confirms": True,
                "exchange_exchange_bindings": True,
                "basic.nack": True,
                "consumer_cancel_notify": True,
                "connection.blocked": True,
                "consumer_priorities": True,
                "authentication_failure_close": True,
                "per_consumer_qos": True,
                "direct_reply_to": True,
            },
            "keys": [
                "capabilities",
                "cluster_name",
                "copyright",
                "information",
                "platform",
                "product",
                "version",
            ],
            "product": "RabbitMQ",
            "version": "3.10.8",
        },
        "wrong_password": "ProbableAuthenticationError/AuthenticationError: 403 ACCESS_REFUSED - Login was "
        "refused using authentication mechanism PLAIN. For details see the broker logfile.",
        "missing_vhost": "ProbableAccessDeniedError: 530 NOT_ALLOWED - vhost ~novhost not found",
        "unknown_user": "ProbableAuthenticationError: 403 ACCESS_REFUSED - Login was refused using "
        "authentication mechanism PLAIN. For details see the broker logfile.",
    }
)
def channels_and_connection(run: Run) -> Observation:
    def second_open(ch: Any) -> None:
        ch._impl._send_method(spec.Channel.Open())
        sync(ch)

    def flow(active: bool) -> Callable[[Any], None]:
        def go(ch: Any) -> None:
            ch._impl._send_method(spec.Channel.Flow(active=active))
            sync(ch)

        return go

    def client_deliver(ch: Any) -> None:
        ch._impl._send_method(
            spec.Basic.Deliver(consumer_tag="x", delivery_tag=1, exchange="", routing_key="x")
        )
        sync(ch)

    obs: Observation = {
        "second_channel_open": run.attempt(second_open),
        "flow_inactive": run.attempt(flow(False)),
        "flow_active": run.attempt(flow(True)),
        "client_sends_deliver": run.attempt(client_deliver),
    }
    conn = run.connect()
    above = conn.channel(channel_number=4464)  # above channel_max 2047: not enforced
    obs["channel_number_above_channel_max"] = [above.is_open, conn.is_open]
    tuned = conn._impl.params  # pika takes the server's values (heartbeat) or the lower one
    obs["tune"] = [tuned.channel_max, tuned.frame_max, tuned.heartbeat]
    conn.close()
    obs["legacy_protocol_header"] = _first_frame(run.url, b"AMQP\x01\x01\x00\x09")
    props = dict(run.conn._impl.server_properties)
    obs["server_properties"] = {
        "capabilities": props["capabilities"],
        "keys": list(props),
        "product": props["product"],
        "version": props["version"],
    }
    params = pika.URLParameters(run.url)
    bad = pika.ConnectionParameters(
        host=params.host,
        port=params.port,
        credentials=pika.PlainCredentials(params.credentials.username, "wrong-password"),
        connection_attempts=1,
    )
    try:
        pika.BlockingConnection(bad).close()
        obs["wrong_password"] = "connected"
    except pe.ProbableAuthenticationError as exc:
        obs["wrong_password"] = f"ProbableAuthenticationError/AuthenticationError: {_reason(exc)}"
    except pe.AuthenticationError as exc:
        obs["wrong_password"] = f"ProbableAuthenticationError/AuthenticationError: {_reason(exc)}"
    unknown_user = pika.ConnectionParameters(
        host=params.host,
        port=params.port,
        credentials=pika.PlainCredentials("nobody", "x"),
        connection_attempts=1,
    )
    try:
        pika.BlockingConnection(unknown_user).close()
        obs["unknown_user"] = "connected"
    except pe.AMQPConnectionError as exc:
        obs["unknown_user"] = f"{type(exc).__name__}: {_reason(exc)}"
    novhost = pika.ConnectionParameters(
        host=params.host,
        port=params.port,
        virtual_host=run.name("novhost"),
        credentials=params.credentials,
        connection_attempts=1,
    )
    try:
        pika.BlockingConnection(novhost).close()
        obs["missing_vhost"] = "connected"
    except pe.ProbableAccessDeniedError as exc:
        obs["missing_vhost"] = f"ProbableAccessDeniedError: {_reason(exc)}"
    except pe.AMQPConnectionError as exc:
        obs["missing_vhost"] = f"{type(exc).__name__}: {_reason(exc)}"
    return obs


def _first_frame(url: str, protocol_header: bytes) -> Any:
    """Send ``protocol_header`` on a raw socket; the first frame back, as [name, fields]."""
    params = pika.URLParameters(url)
    data = b""
    with socket.create_connection((params.host, params.port), timeout=2) as sock:
        sock.sendall(protocol_header)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return ["hung up", data.decode("latin-1")]
            data += chunk
            with contextlib.suppress(pamqp.exceptions.UnmarshalingException):
                _n, _channel, frame = pamqp.frame.unmarshal(data)
                return [frame.name, [frame.version_major, frame.version_minor]]


# -- consumer priorities ----------------------------------------------------------------


@scenario(
    expected={
        "deliveries": {
            "high": ["0", "2"],
            "high2": ["1", "3"],
            "mid": ["4", "5"],
            "low": ["6", "7"],
        },
        "still_ready": 2,
        "after_high_acks": {"high": ["8"]},
        "bad_priority": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-priority' for queue '~prio' in vhost '/': \"expected integer, got longstr\"",
            ]
        },
    }
)
def consumer_priorities(run: Run) -> Observation:
    conn = run.connect()
    q = run.name("prio")
    ch = conn.channel()
    ch.queue_declare(q)  # not exclusive: the bad consume below comes from another connection
    got: dict[str, list[str]] = {}
    channels: dict[str, Any] = {}
    for name, priority in (("low", 0), ("high", 10), ("mid", 5), ("high2", 10)):
        consumer_ch = conn.channel()
        consumer_ch.basic_qos(prefetch_count=2)
        consumer_ch.basic_consume(
            q,
            lambda _c, _m, _p, body, name=name: got.setdefault(name, []).append(body.decode()),
            arguments={"x-priority": priority} if priority else None,
        )
        channels[name] = consumer_ch
    ch.confirm_delivery()
    for i in range(10):
        publish(ch, "", q, str(i))
    pump(conn, lambda: sum(map(len, got.values())) >= 8)
    settle(conn, lambda: sum(map(len, got.values())))
    obs: Observation = {"deliveries": {k: got[k] for k in sorted(got)}}
    obs["still_ready"] = wait_ready(ch, q, 2)
    got.clear()
    channels["high"].basic_ack(1)
    pump(conn, lambda: bool(got))
    settle(conn, lambda: sum(map(len, got.values())))
    obs["after_high_acks"] = dict(got)
    obs["bad_priority"] = run.attempt(
        lambda c: c.basic_consume(q, lambda *a: None, arguments={"x-priority": "x"})
    )
    ch.queue_delete(q)
    return obs


# -- quorum queues --------------------------------------------------------------------------

QUORUM = {"x-queue-type": "quorum"}


def _headers_in_order(headers: dict[str, Any] | None) -> list[list[Any]]:
    """[key, value, type] in wire order (pika keeps it)."""
    return [
        [key, value.decode() if isinstance(value, bytes) else value, table_types(value)]
        for key, value in (headers or {}).items()
    ]


def _got(ch: Any, queue: str) -> Any:
    method, props, body = ch.basic_get(queue)
    if method is None:
        return None
    return method, [body.decode(), method.redelivered, _headers_in_order(props.headers)]


def _close(text: str) -> Observation:
    return {"channel_close": [406, f"PRECONDITION_FAILED - {text}"]}


_DC = "x-delivery-count"


@scenario(
    expected={
        "non_durable": _close(
            "invalid property 'non-durable' for queue '~qq_non_durable' in vhost '/'"
        ),
        "exclusive": _close(
            "invalid property 'exclusive-owner' for queue '~qq_exclusive' in vhost '/'"
        ),
        "auto_delete": _close(
            "invalid property 'auto-delete' for queue '~qq_auto_delete' in vhost '/'"
        ),
        "server_named": _close("Cannot declare a server-named queue for type rabbit_quorum_queue"),
        "max_priority": _close(
            "invalid arg 'x-max-priority' for queue '~qq_args' in vhost '/' of queue type rabbit_quorum_queue"
        ),
        "queue_mode": _close(
            "invalid arg 'x-queue-mode' for queue '~qq_args' in vhost '/' of queue type rabbit_quorum_queue"
        ),
        # every delivery carries x-delivery-count (0 at first), after the message's own
        # headers; a rejected message goes to the back
        "returns": [
            ["a", False, [["app", "x", "str"], ["n", 1, "int"], [_DC, 0, "long"]]],
            ["b", False, [[_DC, 0, "long"]]],
            ["c", False, [[_DC, 0, "long"]]],
            ["a", True, [["app", "x", "str"], ["n", 1, "int"], [_DC, 1, "long"]]],
        ],
        # one returned by its channel closing goes to the front, and counts as a return
        "after_channel_close": [
            ["b", True, [[_DC, 2, "long"]]],
            ["c", True, [[_DC, 1, "long"]]],
            ["a", True, [["app", "x", "str"], ["n", 1, "int"], [_DC, 2, "long"]]],
        ],
        "redeclare_classic_as_quorum": _close(
            "inequivalent arg 'x-queue-type' for queue '~qq_cl' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"
        ),
        "redeclare_quorum_without_type": _close(
            "inequivalent arg 'x-queue-type' for queue '~qq_eq' in vhost '/': received none but current is the value 'quorum' of type 'longstr'"
        ),
        "redeclare_quorum_as_classic": _close(
            "inequivalent arg 'x-queue-type' for queue '~qq_eq' in vhost '/': received 'classic' but current is 'quorum'"
        ),
        "redeclare_plain_as_classic": "ok",
        "redeclare_other_delivery_limit": _close(
            "inequivalent arg 'x-delivery-limit' for queue '~qq_eq' in vhost '/': received '5' but current is '3'"
        ),
        "delivery_limit_counts": [0, 1, None],
        "dead_lettered": {"body": "z", "reason": "delivery_limit", "has_delivery_count": False},
    }
)
def quorum_queues(run: Run) -> Observation:
    obs: Observation = {}
    for what, kwargs in (
        ("non_durable", {"durable": False}),
        ("exclusive", {"durable": True, "exclusive": True}),
        ("auto_delete", {"durable": True, "auto_delete": True}),
    ):
        q = run.name(f"qq_{what}")
        obs[what] = run.attempt(
            lambda c, q=q, kw=kwargs: c.queue_declare(q, arguments=QUORUM, **kw)
        )
    obs["server_named"] = run.attempt(
        lambda c: c.queue_declare("", durable=True, arguments=QUORUM)
    )
    for what, extra in (
        ("max_priority", {"x-max-priority": 5}),
        ("queue_mode", {"x-queue-mode": "lazy"}),
    ):
        obs[what] = run.attempt(
            lambda c, extra=extra: c.queue_declare(
                run.name("qq_args"), durable=True, arguments={**QUORUM, **extra}
            )
        )

    # redeclaring: x-queue-type must match, where absent and 'classic' are the same
    eq, cl = run.name("qq_eq"), run.name("qq_cl")
    setup = run.connect().channel()
    setup.queue_declare(eq, durable=True, arguments={**QUORUM, "x-delivery-limit": 3})
    setup.queue_declare(cl, durable=True)
    for what, queue, arguments in (
        ("redeclare_classic_as_quorum", cl, QUORUM),
        ("redeclare_quorum_without_type", eq, None),
        ("redeclare_quorum_as_classic", eq, {"x-queue-type": "classic"}),
        ("redeclare_plain_as_classic", cl, {"x-queue-type": "classic"}),
        ("redeclare_other_delivery_limit", eq, {**QUORUM, "x-delivery-limit": 5}),
    ):
        obs[what] = run.attempt(
            lambda c, queue=queue, arguments=arguments: effects(
                c.queue_declare(queue, durable=True, arguments=arguments)
            )
        )
    setup.queue_delete(eq)
    setup.queue_delete(cl)

    conn = run.connect()
    ch = conn.channel()
    q = run.name("qq")
    ch.queue_declare(q, durable=True, arguments=QUORUM)
    ch.confirm_delivery()
    publish(ch, "", q, "a", headers={"app": "x", "n": 1})
    publish(ch, "", q, "b")
    publish(ch, "", q, "c")
    seen = []
    method, item = _got(ch, q)
    seen.append(item)
    ch.basic_nack(method.delivery_tag, requeue=True)  # a goes back: to the end
    for _ in range(3):
        method, item = _got(ch, q)
        seen.append(item)
        ch.basic_reject(method.delivery_tag, requeue=True)
    obs["returns"] = seen
    # a return by closing the channel counts too
    other = conn.channel()
    _got(other, q)
    other.close()
    obs["after_channel_close"] = [_got(ch, q)[1] for _ in range(3)]
    ch.queue_delete(q)

    dlq, limited = run.name("qq_dead"), run.name("qq_limited")
    ch.queue_declare(dlq, durable=True)
    ch.queue_declare(
        limited,
        durable=True,
        arguments={
            **QUORUM,
            "x-delivery-limit": 1,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq,
        },
    )
    publish(ch, "", limited, "z")
    counts = []
    for _ in range(3):
        got = _got(ch, limited)
        if got is None:
            counts.append(None)
            break
        counts.append(dict((k, v) for k, v, _ in got[1][2]).get("x-delivery-count"))
        ch.basic_nack(got[0].delivery_tag, requeue=True)
    obs["delivery_limit_counts"] = counts
    wait_ready(ch, dlq, 1)
    method, props, body = ch.basic_get(dlq, auto_ack=True)
    headers = dict(props.headers or {}) if method else {}
    obs["dead_lettered"] = {
        "body": body.decode() if method else None,
        "reason": headers.get("x-first-death-reason"),
        "has_delivery_count": "x-delivery-count" in headers,
    }
    ch.queue_delete(limited)
    ch.queue_delete(dlq)
    return obs


_CLOSED_RE = re.compile(r"\((\d+)\) (['\"])(.*)\2$")


def _reason(exc: BaseException) -> str:
    """'<code> <text>' from a pika connection error (pika wraps the close as a string)."""
    code = getattr(exc, "reply_code", None)
    if code is not None:
        return f"{code} {getattr(exc, 'reply_text', '')}"
    for arg in exc.args:
        if isinstance(arg, BaseException):
            return _reason(arg)
        if isinstance(arg, str) and (m := _CLOSED_RE.search(arg)):
            return f"{m.group(1)} {m.group(3)}"
    return f"{type(exc).__name__}: {exc}"
