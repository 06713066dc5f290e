"""A synchronous in-memory client for the broker core: no sockets, no loop.

It speaks to ``CoreConnection.handle`` exactly as the wire server does (pamqp methods
in, commands out), so unit tests exercise the same code paths as real clients, and
behaves like a careful client: it answers ``Channel.Close`` with ``CloseOk`` and raises
``ChannelClosed`` / ``ConnectionClosed`` carrying the broker's reply code and text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pamqp import base
from pamqp.commands import Basic, Confirm, Exchange, Queue, Tx
from pamqp.commands import Channel as ChannelMethods
from pamqp.commands import Connection as ConnectionMethods

from amqpmock.errors import AMQPError
from amqpmock.fake._broker import Broker
from amqpmock.fake._connection import CoreConnection
from amqpmock.fake.commands import Command, SendContent, SendMethod

CLIENT_CAPABILITIES = {
    "publisher_confirms": True,
    "exchange_exchange_bindings": True,
    "basic.nack": True,
    "consumer_cancel_notify": True,
    "connection.blocked": True,
    "authentication_failure_close": True,
    "per_consumer_qos": True,
}


class ChannelClosed(AMQPError):
    """The broker closed the channel (Channel.Close)."""


class ConnectionClosed(AMQPError):
    """The broker closed the connection (Connection.Close)."""


def _error(cls: type[AMQPError], method: Any) -> AMQPError:
    code = int(method.reply_code)
    text = str(method.reply_text)
    _name, _, rest = text.partition(" - ")
    exc = cls(code, rest if rest else text, method.class_id, method.method_id)
    return exc


@dataclass
class Delivery:
    """A message as a client receives it (Deliver, GetOk or Return)."""

    method: base.Frame
    properties: Basic.Properties
    body: bytes

    @property
    def delivery_tag(self) -> int:
        return int(getattr(self.method, "delivery_tag", 0))

    @property
    def redelivered(self) -> bool:
        return bool(getattr(self.method, "redelivered", False))

    @property
    def routing_key(self) -> str:
        return str(getattr(self.method, "routing_key", ""))

    @property
    def exchange(self) -> str:
        return str(getattr(self.method, "exchange", ""))

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.properties.headers or {})


@dataclass
class LocalChannel:
    client: LocalClient
    id: int
    deliveries: list[Delivery] = field(default_factory=list)
    returns: list[Delivery] = field(default_factory=list)
    confirms: list[base.Frame] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    replies: list[base.Frame] = field(default_factory=list)
    closed: ChannelClosed | None = None
    flow: bool | None = None

    # --- the raw call ------------------------------------------------------------

    def call(
        self, method: base.Frame, properties: Basic.Properties | None = None, body: bytes = b""
    ) -> base.Frame | Delivery | None:
        """Send one method; return the synchronous reply (if any) or raise the close."""
        if self.closed is not None:
            raise self.closed
        self.client._check_open()
        self.replies.clear()
        self.client.conn.handle(self.id, method, properties, body)
        if self.client.closed is not None:
            raise self.client.closed
        if self.closed is not None:
            raise self.closed
        return self.replies[-1] if self.replies else None

    def _receive(self, command: Command) -> None:
        method = command.method if isinstance(command, SendMethod | SendContent) else None
        if isinstance(command, SendContent):
            delivery = Delivery(command.method, command.properties, command.body)
            if isinstance(method, Basic.Deliver):
                self.deliveries.append(delivery)
            elif isinstance(method, Basic.Return):
                self.returns.append(delivery)
            else:
                self.replies.append(delivery)  # type: ignore[arg-type]
        elif isinstance(method, ChannelMethods.Close):
            self.closed = _error(ChannelClosed, method)  # type: ignore[assignment]
            self.client.conn.handle(self.id, ChannelMethods.CloseOk())
        elif isinstance(method, Basic.Ack | Basic.Nack):
            self.confirms.append(method)
        elif isinstance(method, Basic.Cancel):
            self.cancels.append(str(method.consumer_tag))
        elif isinstance(method, ChannelMethods.Flow):
            self.flow = bool(method.active)
        elif method is not None:
            self.replies.append(method)

    # --- conveniences ------------------------------------------------------------

    def exchange_declare(self, exchange: str, exchange_type: str = "direct", **kw: Any) -> Any:
        return self.call(Exchange.Declare(exchange=exchange, exchange_type=exchange_type, **kw))

    def exchange_delete(self, exchange: str, **kw: Any) -> Any:
        return self.call(Exchange.Delete(exchange=exchange, **kw))

    def exchange_bind(
        self, destination: str, source: str, routing_key: str = "", **kw: Any
    ) -> Any:
        return self.call(
            Exchange.Bind(destination=destination, source=source, routing_key=routing_key, **kw)
        )

    def exchange_unbind(
        self, destination: str, source: str, routing_key: str = "", **kw: Any
    ) -> Any:
        return self.call(
            Exchange.Unbind(destination=destination, source=source, routing_key=routing_key, **kw)
        )

    def queue_declare(self, queue: str = "", **kw: Any) -> Queue.DeclareOk:
        reply = self.call(Queue.Declare(queue=queue, **kw))
        assert isinstance(reply, Queue.DeclareOk)
        return reply

    def queue_bind(self, queue: str, exchange: str, routing_key: str = "", **kw: Any) -> Any:
        return self.call(Queue.Bind(queue=queue, exchange=exchange, routing_key=routing_key, **kw))

    def queue_unbind(self, queue: str, exchange: str, routing_key: str = "", **kw: Any) -> Any:
        return self.call(
            Queue.Unbind(queue=queue, exchange=exchange, routing_key=routing_key, **kw)
        )

    def queue_delete(self, queue: str, **kw: Any) -> Any:
        return self.call(Queue.Delete(queue=queue, **kw))

    def queue_purge(self, queue: str) -> Any:
        return self.call(Queue.Purge(queue=queue))

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes | str = b"",
        properties: Basic.Properties | None = None,
        *,
        mandatory: bool = False,
        **props: Any,
    ) -> None:
        if isinstance(body, str):
            body = body.encode()
        if properties is None:
            properties = Basic.Properties(**props)
        self.call(
            Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=mandatory),
            properties,
            body,
        )

    def get(self, queue: str, no_ack: bool = False) -> Delivery | None:
        reply = self.call(Basic.Get(queue=queue, no_ack=no_ack))
        return reply if isinstance(reply, Delivery) else None

    def consume(self, queue: str, consumer_tag: str = "", **kw: Any) -> str:
        reply = self.call(Basic.Consume(queue=queue, consumer_tag=consumer_tag, **kw))
        assert isinstance(reply, Basic.ConsumeOk)
        return str(reply.consumer_tag)

    def cancel(self, consumer_tag: str) -> Any:
        return self.call(Basic.Cancel(consumer_tag=consumer_tag))

    def qos(self, prefetch_count: int, global_: bool = False, prefetch_size: int = 0) -> Any:
        return self.call(
            Basic.Qos(prefetch_size=prefetch_size, prefetch_count=prefetch_count, global_=global_)
        )

    def ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.call(Basic.Ack(delivery_tag=delivery_tag, multiple=multiple))

    def nack(self, delivery_tag: int, multiple: bool = False, requeue: bool = True) -> None:
        self.call(Basic.Nack(delivery_tag=delivery_tag, multiple=multiple, requeue=requeue))

    def reject(self, delivery_tag: int, requeue: bool = True) -> None:
        self.call(Basic.Reject(delivery_tag=delivery_tag, requeue=requeue))

    def recover(self, requeue: bool = True) -> Any:
        return self.call(Basic.Recover(requeue=requeue))

    def confirm_select(self) -> Any:
        return self.call(Confirm.Select())

    def tx_select(self) -> Any:
        return self.call(Tx.Select())

    def tx_commit(self) -> Any:
        return self.call(Tx.Commit())

    def tx_rollback(self) -> Any:
        return self.call(Tx.Rollback())

    def set_flow(self, active: bool) -> Any:
        return self.call(ChannelMethods.Flow(active=active))

    def close(self) -> None:
        if self.closed is None and self.client.closed is None:
            self.call(ChannelMethods.Close(reply_code=200, reply_text="Normal shutdown"))
            self.closed = ChannelClosed(200, "closed by client")

    def take_deliveries(self) -> list[Delivery]:
        out, self.deliveries = self.deliveries, []
        return out


class LocalClient:
    """One connection to the broker core, used directly from Python."""

    def __init__(
        self,
        broker: Broker,
        vhost: str = "/",
        user: str = "guest",
        capabilities: dict[str, Any] | None = None,
    ) -> None:
        self.broker = broker
        caps = CLIENT_CAPABILITIES if capabilities is None else capabilities
        self.conn: CoreConnection = broker.open_connection(
            vhost=vhost,
            user=user,
            client_properties={"product": "amqpmock.LocalClient", "capabilities": caps},
            peer="local",
            sink=self._receive,
        )
        self.channels: dict[int, LocalChannel] = {}
        self._next_channel = 0
        self.closed: ConnectionClosed | None = None

    def _check_open(self) -> None:
        if self.closed is not None:
            raise self.closed

    def _receive(self, command: Command) -> None:
        if isinstance(command, SendMethod) and command.channel == 0:
            if isinstance(command.method, ConnectionMethods.Close):
                self.closed = _error(ConnectionClosed, command.method)  # type: ignore[assignment]
                self.conn.close()
            return
        if isinstance(command, SendMethod | SendContent):
            ch = self.channels.get(command.channel)
            if ch is not None:
                ch._receive(command)

    def channel(self, number: int | None = None) -> LocalChannel:
        self._check_open()
        if number is None:
            self._next_channel += 1
            number = self._next_channel
        ch = LocalChannel(self, number)
        self.channels[number] = ch
        ch.call(ChannelMethods.Open())
        return ch

    def close(self) -> None:
        if self.closed is None:
            self.conn.close()
            self.closed = ConnectionClosed(320, "closed by client")

    def __enter__(self) -> LocalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
