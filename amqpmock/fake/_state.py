"""The core's plain state: vhosts, channels, unacked records, timers, interceptors,
and the property helpers every seam uses. No behaviour beyond bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pamqp import base
from pamqp.commands import Basic

from amqpmock.fake.commands import SendMethod
from amqpmock.fake.model import Consumer, Entry, Exchange, Message, Queue
from amqpmock.fake.routing import TopicRouting

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker
    from amqpmock.fake._connection import CoreConnection


DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
REPLY_PREFIX = DIRECT_REPLY_TO + "."


def copy_properties(props: Basic.Properties, **changes: Any) -> Basic.Properties:
    values = {name: getattr(props, name) for name in Basic.Properties.__slots__}
    if values.get("headers") is not None:
        values["headers"] = dict(values["headers"])
    values.update(changes)
    return Basic.Properties(**values)


@dataclass(slots=True, eq=False)
class Unacked:
    entry: Entry
    queue: Queue
    consumer: Consumer | None


@dataclass(eq=False)
class Timer:
    """A callback due at ``when`` (clock seconds); ``cancel()`` stops it."""

    when: float
    seq: int
    callback: Callable[[], None]
    cancelled: bool = False

    def __lt__(self, other: Timer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


class Interceptor:
    """An outside consumer of publishes to one exchange (see ``Broker.intercept``)."""

    def __init__(
        self,
        broker: Broker,
        vhost: str,
        exchange: str,
        pattern: str,
        handler: Callable[[Message], None],
    ) -> None:
        self.broker = broker
        self.vhost = vhost
        self.exchange = exchange
        self.pattern = pattern
        self.handler = handler
        self.active = True
        self.calls = 0
        self._routing = TopicRouting()
        self._routing.bind(self, pattern, {})

    def matches(self, routing_key: str) -> bool:
        return bool(self._routing.match(routing_key, None))

    def run(self, message: Message) -> None:
        if self.active:
            self.calls += 1
            self.handler(message)

    def remove(self) -> None:
        self.active = False
        entries = self.broker._interceptors.get((self.vhost, self.exchange), [])
        if self in entries:
            entries.remove(self)
            if not entries:
                del self.broker._interceptors[(self.vhost, self.exchange)]


@dataclass(slots=True, eq=False)
class TxOp:
    kind: str  # "publish" | "ack" | "nack" | "reject"
    method: base.Frame
    properties: Basic.Properties | None = None
    body: bytes = b""


class VHost:
    def __init__(self, name: str) -> None:
        self.name = name
        self.exchanges: dict[str, Exchange] = {}
        self.queues: dict[str, Queue] = {}


# Channel states, and the methods each state accepts (everything else is ignored while
# closing, as RabbitMQ does after it has sent Channel.Close).
OPEN, CLOSING = "open", "closing"


@dataclass(eq=False)
class Channel:
    id: int
    conn: CoreConnection
    state: str = OPEN
    next_tag: int = 0
    unacked: dict[int, Unacked] = field(default_factory=dict)
    consumers: dict[str, Consumer] = field(default_factory=dict)
    consumer_prefetch: int = 0
    global_prefetch: int = 0
    # False while deliveries must wait: the connection's socket is backed up (see
    # CoreConnection.set_writable). A client's channel.flow(active=false) would set it
    # too, but RabbitMQ 3.x refuses that with 540, and so does the core.
    flow_active: bool = True
    confirm: bool = False
    publish_seq: int = 0
    tx: bool = False
    tx_ops: list[TxOp] = field(default_factory=list)
    last_queue: str | None = None
    reply_consumer: str | None = None
    reply_token: str | None = None

    def unacked_count(self) -> int:
        return len(self.unacked)

    def __hash__(self) -> int:
        return id(self)


def send_reply(ch: Channel, method: base.Frame) -> None:
    ch.conn.send(SendMethod(ch.id, method))
