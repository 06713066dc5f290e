"""Connection and channel state: ``CoreConnection`` takes each method from an adapter,
opens channels, routes methods to their handlers and turns errors into
``Channel.Close`` / ``Connection.Close``; the ``channel.*`` handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pamqp import base, commands
from pamqp.commands import Basic
from pamqp.commands import Channel as ChannelMethods
from pamqp.commands import Connection as ConnectionMethods

from amqpmock.errors import (
    CHANNEL_ERROR,
    COMMAND_INVALID,
    INTERNAL_ERROR,
    NOT_IMPLEMENTED,
    AMQPError,
    ChannelError,
    ConnectionError_,
)
from amqpmock.fake._state import (
    CLOSING,
    OPEN,
    Channel,
    VHost,
    send_reply,
)
from amqpmock.fake.commands import Command, SendMethod

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker


class CoreConnection:
    """One client connection inside the broker, after the AMQP handshake."""

    def __init__(
        self,
        broker: Broker,
        number: int,
        vhost: str,
        user: str,
        client_properties: dict[str, Any] | None,
        peer: str,
        sink: Callable[[Command], None] | None,
    ) -> None:
        self.broker = broker
        self._handlers = broker.handlers
        self.number = number
        self.vhost_name = vhost
        # a VHost object lives as long as the broker does not reset, and reset closes
        # every connection, so caching it here is safe
        self.vhost: VHost = broker.vhosts[vhost]
        self.user = user
        self.client_properties: dict[str, Any] = dict(client_properties or {})
        caps = self.client_properties.get("capabilities") or {}
        self.capabilities: dict[str, Any] = dict(caps) if isinstance(caps, dict) else {}
        self.peer = peer
        self.node = broker.nodes[0]  # the node the client connected to
        self.sink = sink
        self.outbox: list[Command] = []
        self.channels: dict[int, Channel] = {}
        self.writable = True
        self.closing = False
        self.closed = False

    def __repr__(self) -> str:
        return f"<CoreConnection #{self.number} {self.user}@{self.vhost_name} {self.peer}>"

    # --- output ------------------------------------------------------------------

    def send(self, command: Command) -> None:
        if self.closed:
            return
        if self.sink is not None:
            self.sink(command)
        else:
            self.outbox.append(command)
            self.broker._dirty[self] = None

    def take_output(self) -> list[Command]:
        out, self.outbox = self.outbox, []
        self.broker._dirty.pop(self, None)
        return out

    def set_writable(self, writable: bool) -> None:
        """Whether the client is keeping up with what is sent to it.

        An adapter calls this with False when the socket's write buffer is over its
        high-water mark: the connection's consumers then get no deliveries, and the
        messages stay ready in their queues (where RabbitMQ keeps them while its writer
        is blocked), instead of piling up as bytes in the adapter. True resumes them.
        """
        if writable == self.writable:
            return
        self.writable = writable
        broker = self.broker
        for ch in self.channels.values():
            ch.flow_active = writable
            if writable:
                for consumer in ch.consumers.values():
                    broker._to_dispatch[consumer.queue] = None
        if writable and broker._to_dispatch and not broker._in_method:
            broker._run_dispatch()

    # --- input -------------------------------------------------------------------

    def channel_is_open(self, channel_id: int) -> bool:
        ch = self.channels.get(channel_id)
        return ch is not None and ch.state == OPEN

    def handle(
        self,
        channel_id: int,
        method: base.Frame,
        properties: Basic.Properties | None = None,
        body: bytes = b"",
    ) -> None:
        """Process one method from the client. Never raises for anything the client sent."""
        if self.closed or self.closing:
            return
        broker = self.broker
        broker._in_method += 1
        try:
            self._handle(channel_id, method, properties, body)
        except ChannelError as exc:
            self._channel_error(channel_id, exc, method)
        except ConnectionError_ as exc:
            self.connection_error(exc, method)
        except Exception as exc:  # a bug of ours must not take the server down
            self.connection_error(
                ConnectionError_(INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}"),
                method,
            )
        finally:
            broker._in_method -= 1
            if broker._to_dispatch:
                broker._run_dispatch()
            if broker._deferred and not broker._in_method:
                broker._run_deferred()

    def _handle(
        self,
        channel_id: int,
        method: base.Frame,
        properties: Basic.Properties | None,
        body: bytes,
    ) -> None:
        if isinstance(method, ChannelMethods.Open):
            if channel_id in self.channels:
                raise ConnectionError_(CHANNEL_ERROR, "second 'channel.open' seen")
            if channel_id == 0:
                raise ConnectionError_(
                    CHANNEL_ERROR, "unexpected method in connection state running"
                )
            self.channels[channel_id] = Channel(channel_id, self, flow_active=self.writable)
            self.send(SendMethod(channel_id, ChannelMethods.OpenOk()))
            return
        ch = self.channels.get(channel_id)
        if ch is None:
            raise ConnectionError_(CHANNEL_ERROR, "expected 'channel.open'")
        if ch.state == CLOSING:
            # RabbitMQ drops everything but close/close-ok on a closing channel
            if isinstance(method, ChannelMethods.CloseOk):
                del self.channels[channel_id]
            elif isinstance(method, ChannelMethods.Close):
                self.send(SendMethod(channel_id, ChannelMethods.CloseOk()))
            return
        handler = self._handlers.get(type(method))
        if handler is None:
            if type(method).__qualname__.startswith("Connection."):
                # RabbitMQ's words for a connection method on a channel
                raise ConnectionError_(COMMAND_INVALID, "unimplemented method")
            raise ConnectionError_(
                NOT_IMPLEMENTED if _is_known(method) else COMMAND_INVALID,
                f"unexpected method {method.name} on channel {channel_id}",
            )
        observers = self.broker.method_observers
        if observers:
            for observe in observers:
                observe(self, ch, method)
        handler(self.broker, ch, method, properties, body)

    def _channel_error(self, channel_id: int, exc: AMQPError, method: base.Frame) -> None:
        ch = self.channels.get(channel_id)
        if ch is None:
            self.connection_error(ConnectionError_(CHANNEL_ERROR, exc.text), method)
            return
        self._close_with(ch, exc, _class_id(method), _method_id(method))

    def close_channel(self, channel_id: int, exc: AMQPError) -> None:
        """Close channel ``channel_id`` from the broker's side with ``exc``'s code and
        text (a forced close: no method caused it, class and method ids 0)."""
        ch = self.channels.get(channel_id)
        if ch is not None and ch.state == OPEN:
            self._close_with(ch, exc, 0, 0)

    def _close_with(self, ch: Channel, exc: AMQPError, class_id: int, method_id: int) -> None:
        """The channel's state goes, and the client gets Channel.Close with ``exc``."""
        self.broker._close_channel(ch)
        ch.state = CLOSING
        self.send(
            SendMethod(
                ch.id,
                ChannelMethods.Close(
                    reply_code=exc.reply_code,
                    reply_text=exc.reply_text,
                    class_id=class_id,
                    method_id=method_id,
                ),
            )
        )
        self.broker._notify_error(self, exc)

    def connection_error(self, exc: AMQPError, method: base.Frame | None = None) -> None:
        """Close the whole connection with ``exc`` (Connection.Close on channel 0)."""
        if self.closing or self.closed:
            return
        self.broker._release_connection(self)
        self.closing = True
        self.send(
            SendMethod(
                0,
                ConnectionMethods.Close(
                    reply_code=exc.reply_code,
                    reply_text=exc.reply_text,
                    class_id=exc.class_id or (_class_id(method) if method else 0),
                    method_id=exc.method_id or (_method_id(method) if method else 0),
                ),
            )
        )
        self.broker._notify_error(self, exc)

    def close(self) -> None:
        """The connection is over (Close handled by the protocol, or the socket died)."""
        if self.closed:
            return
        self.broker._release_connection(self)
        self.closing = True
        self.closed = True
        self.outbox.clear()
        self.broker._dirty.pop(self, None)
        self.broker.connections.pop(self.number, None)
        self.broker._run_dispatch()


def _class_id(method: base.Frame) -> int:
    return (method.index >> 16) & 0xFFFF if hasattr(method, "index") else 0


def _method_id(method: base.Frame) -> int:
    return method.index & 0xFFFF if hasattr(method, "index") else 0


def _is_known(method: base.Frame) -> bool:
    return getattr(method, "index", None) in commands.INDEX_MAPPING


def release_connection(b: Broker, conn: CoreConnection) -> None:
    """Close every channel of a connection and delete its exclusive queues."""
    if conn.closing:
        return
    for ch in list(conn.channels.values()):
        if ch.state == OPEN:
            b._close_channel(ch)
    conn.channels.clear()
    for vhost in b.vhosts.values():
        for queue in [q for q in vhost.queues.values() if q.exclusive_owner is conn]:
            b._delete_queue(queue)
    b._emit("connection_closed", connection=conn)


def channel_close(b: Broker, ch: Channel, m: ChannelMethods.Close, p: Any, body: bytes) -> None:
    b._close_channel(ch)
    del ch.conn.channels[ch.id]
    ch.state = CLOSING
    send_reply(ch, ChannelMethods.CloseOk())


def channel_close_ok(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    # unsolicited close-ok on an open channel: RabbitMQ ignores it
    return


def channel_flow(b: Broker, ch: Channel, m: ChannelMethods.Flow, p: Any, body: bytes) -> None:
    # RabbitMQ 3.x refuses to stop sending to a client: flow(active=false) is 540
    if not m.active:
        raise ConnectionError_(NOT_IMPLEMENTED, "active=false")
    ch.flow_active = ch.conn.writable
    send_reply(ch, ChannelMethods.FlowOk(active=True))
    if ch.flow_active:
        for consumer in ch.consumers.values():
            b._to_dispatch[consumer.queue] = None


def channel_flow_ok(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    return
