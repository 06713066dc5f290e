"""What the management handlers work on: the broker, the wire's connections (for their
addresses and negotiated limits, and to close one), and AMQP methods run on behalf of
the HTTP user, so that declares and deletes get the broker's own checks and texts."""

from __future__ import annotations

import base64
import contextlib
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pamqp import base
from pamqp.commands import Basic

from amqpmock.errors import ACCESS_REFUSED, NOT_FOUND, AMQPError
from amqpmock.fake import Broker
from amqpmock.fake._connection import CoreConnection
from amqpmock.fake._state import Channel, VHost
from amqpmock.fake.commands import Command
from amqpmock.management._errors import ManagementError, bad_request, not_found

if TYPE_CHECKING:
    from amqpmock.wire._connection import AMQPConnection
    from amqpmock.wire.protocol import Switchboard

NODE = "rabbit@localhost"

Call = Callable[..., list[Command]]


@dataclass
class Listener:
    protocol: str  # "amqp", "amqp/ssl", "http"
    host: str
    port: int


@dataclass
class VHostMetadata:
    """What a vhost's PUT said of it (the core's vhost has no such fields)."""

    description: Any = ""
    tags: list[Any] = field(default_factory=list)
    tracing: bool = False


@dataclass
class Context:
    broker: Broker
    switchboard: Switchboard | None = None
    listeners: list[Listener] = field(default_factory=list)
    node: str = NODE
    user: str | None = None  # the request's user, while a request is handled
    started: float = field(default_factory=time.monotonic)  # for the node's uptime
    # by the vhost object, so that one deleted and made again starts blank
    metadata: weakref.WeakKeyDictionary[VHost, VHostMetadata] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    _cluster_id: str = ""

    def vhost_metadata(self, name: str) -> VHostMetadata:
        vhost = self.broker.vhosts[name]
        known = self.metadata.get(vhost)
        if known is None:
            known = self.metadata[vhost] = VHostMetadata(
                "Default virtual host" if name == "/" else ""
            )
        return known

    @property
    def cluster_id(self) -> str:
        """The ``internal_cluster_id`` global parameter: made once, as RabbitMQ does at
        its first start."""
        if not self._cluster_id:
            raw = bytes(self.broker._rng.randrange(256) for _ in range(16))
            token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            self._cluster_id = f"rabbitmq-cluster-id-{token}"
        return self._cluster_id

    def tags(self, user: str) -> tuple[str, ...]:
        known = self.broker.users.get(user)
        return known[1] if known is not None else ()

    def vhost(self, name: str) -> VHost:
        """The vhost ``name``: 404 when there is none, 401 when the request's user may
        not see it."""
        vhost = self.broker.vhosts.get(name)
        if vhost is None:
            raise not_found()
        if self.user is not None and name not in self.visible_vhosts():
            raise ManagementError(
                401, "not_authorised", "User not authorised to access virtual host"
            )
        return vhost

    def sees_everything(self) -> bool:
        """Administrators and monitoring users see every vhost and connection;
        management users their own connections and the vhosts they have access to."""
        if self.user is None:
            return True
        return bool({"administrator", "monitoring"} & set(self.tags(self.user)))

    def visible_vhosts(self) -> list[str]:
        names = sorted(self.broker.vhosts)
        if self.sees_everything():
            return names
        return [name for name in names if (self.user, name) in self.broker.permissions]

    def visible_connections(self) -> Iterator[AMQPConnection]:
        everything = self.sees_everything()
        for conn in self.wire_connections():
            if everything or (conn.core is not None and conn.core.user == self.user):
                yield conn

    def wire_connections(self) -> Iterator[AMQPConnection]:
        """Running connections on the wire (past the handshake), in open order."""
        if self.switchboard is None:
            return
        for conn in list(self.switchboard.connections):
            if conn.core is not None and not conn.core.closed:
                yield conn

    def amqp_port(self, tls: bool = False) -> int:
        for listener in self.listeners:
            if listener.protocol == ("amqp/ssl" if tls else "amqp"):
                return listener.port
        return 0

    def unacked_by_queue(self) -> dict[int, tuple[int, int]]:
        """id(queue) -> (deliveries waiting for an ack, their body bytes), over every
        connection."""
        counts: dict[int, tuple[int, int]] = {}
        for conn in self.broker.connections.values():
            for ch in conn.channels.values():
                for record in ch.unacked.values():
                    key = id(record.queue)
                    count, size = counts.get(key, (0, 0))
                    counts[key] = (count + 1, size + len(record.entry.message.body))
        return counts

    def run_as_system(self, vhost: str, method: base.Frame) -> list[Command]:
        """``method`` as the broker itself, which no permission limits (definitions)."""
        with self.session(vhost, "", system=True) as call:
            return call(method)

    @contextlib.contextmanager
    def session(
        self,
        vhost: str,
        user: str,
        system: bool = False,
        errors: Callable[[AMQPError], ManagementError] | None = None,
    ) -> Iterator[Call]:
        """AMQP methods on one channel of a connection of ``user`` to ``vhost`` that
        lives for the block (closed after: unacknowledged gets go back, as RabbitMQ's
        management ``get`` leaves them); the broker's errors become the API's (by
        ``errors``, default 404 / 401 / 400 with the text)."""
        as_http = errors or _as_http
        b = self.broker
        self.vhost(vhost)
        captured: list[Command] = []
        b._next_conn += 1
        conn = CoreConnection(b, b._next_conn, vhost, user, {}, "management", captured.append)
        ch = conn.channels[1] = Channel(1, conn)
        previous_system = b._system
        if system:
            b._system = conn  # the broker's own connection: permissions do not apply

        def call(
            method: base.Frame, properties: Basic.Properties | None = None, body: bytes = b""
        ) -> list[Command]:
            captured.clear()
            b._in_method += 1
            try:
                b.handlers[type(method)](b, ch, method, properties, body)
            except AMQPError as exc:
                raise as_http(exc) from None
            finally:
                b._in_method -= 1
                b._run_dispatch()
                if not b._in_method:
                    b._run_deferred()
            return list(captured)

        try:
            yield call
        finally:
            if system:
                b._system = previous_system
            conn.close()

    def run(
        self,
        vhost: str,
        user: str,
        method: base.Frame,
        properties: Basic.Properties | None = None,
        body: bytes = b"",
        errors: Callable[[AMQPError], ManagementError] | None = None,
    ) -> list[Command]:
        """One method in its own ``session``."""
        with self.session(vhost, user, errors=errors) as call:
            return call(method, properties, body)


def _as_http(exc: AMQPError) -> ManagementError:
    if exc.reply_code == NOT_FOUND:
        return ManagementError(404, "not_found", exc.text)
    if exc.reply_code == ACCESS_REFUSED:
        return ManagementError(401, "not_authorised", exc.text)
    return bad_request(exc.text)


def channel_closed(exc: AMQPError) -> ManagementError:
    """A channel error as RabbitMQ's handlers that publish on a channel of their own
    answer it (``bad_request_exception``): 400, ``"CODE NAME - text"``, e.g.
    ``403 ACCESS_REFUSED - cannot publish to internal exchange 'x' in vhost '/'``."""
    return bad_request(f"{exc.reply_code} {exc.reply_text}")


def property_table(props: Basic.Properties | None) -> dict[str, Any]:
    """A message's properties as the management API lists them."""
    out: dict[str, Any] = {}
    if props is None:
        return out
    for name in Basic.Properties.__slots__:
        value = getattr(props, name)
        if value is None or (name == "cluster_id" and value == ""):
            continue
        out["type" if name == "message_type" else name] = value
    return out
