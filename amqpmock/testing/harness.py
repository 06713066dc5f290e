"""The test-facing broker: a fake broker behind a live AMQP URL, with inspection,
assertions, injected messages, RPC stubs and a clock, for any test framework.

Rules this module keeps:
- The broker lives on the server's thread; every read or change from the test goes
  through ``server.call`` (run on that thread, wait for the result), so a test never
  races the clients it drives.
- ``reset()`` puts the broker back to new (connections closed, queues, exchanges,
  stubs and records gone) in well under a millisecond, so one server serves a session.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pamqp.commands import Basic

from amqpmock.clocks import AdjustableClock
from amqpmock.fake import Broker, alarms
from amqpmock.fake.model import Message
from amqpmock.hookspecs import PluginManager, get_plugin_manager
from amqpmock.testing.inspection import ExchangeView, QueueView, Records, TrafficRecorder
from amqpmock.testing.inspection import assert_published as _assert_published
from amqpmock.testing.rpc import RPCStub
from amqpmock.wire import faults
from amqpmock.wire.server import AMQPServer

if TYPE_CHECKING:  # the contracts extra: imported when a contract is used
    from amqpmock.contracts import Example, Topology

T = TypeVar("T")


class ServerLike(Protocol):
    url: str
    broker: Broker

    def call(self, fn: Callable[[], T]) -> T: ...


class Restartable(Protocol):
    """A server that can go down and come back (``ServerThread``, ``OnLoop``)."""

    @property
    def down(self) -> bool: ...

    def restart(self, down_for: float | None = 0.0, *, crash: bool = False) -> None: ...

    def come_up(self) -> None: ...

    @property
    def node_urls(self) -> list[str]: ...

    def stop_node(self, index: int) -> None: ...

    def start_node(self, index: int) -> None: ...


def _restartable(server: ServerLike) -> Restartable:
    if not all(hasattr(server, name) for name in ("restart", "come_up", "down")):
        raise TypeError(f"{type(server).__name__} has no listener to restart")
    return server  # type: ignore[return-value]


def _amqp_server(server: ServerLike) -> AMQPServer:
    """The asyncio server behind a ``ServerThread`` (or the control API's ``OnLoop``)."""
    inner = getattr(server, "server", None) or getattr(server, "_server", None)
    if not isinstance(inner, AMQPServer):
        raise TypeError(f"{type(server).__name__} has no connections to fault")
    return inner


class BrokerFixture:
    """What ``amqp_broker`` gives a test. ``url`` is the AMQP URL for any client."""

    def __init__(
        self,
        server: ServerLike,
        clock: AdjustableClock,
        plugins: PluginManager | None = None,
    ) -> None:
        self.server = server
        self.clock = clock
        self.plugins = plugins or get_plugin_manager()
        self.recorder: TrafficRecorder = server.call(lambda: TrafficRecorder(server.broker))
        self.stubs: list[RPCStub] = []
        self.url_override: str | None = None  # set while a cassette records
        self.contract_path: str | os.PathLike[str] | None = None  # the marker's or ini's

    def assert_conforms(self, document: str | os.PathLike[str] | None = None) -> None:
        """Check every publish so far against the AsyncAPI document (default: the
        ``amqp_contract`` marker's or the ``amqp_asyncapi`` ini's); an AssertionError
        names rule, channel and JSON pointer of each violation."""
        from amqpmock.contracts import ContractError, conformance_failure

        __tracebackhide__ = True
        target = document if document is not None else self.contract_path
        if target is None:
            raise AssertionError(
                "assert_conforms: no document (marker amqp_contract, ini amqp_asyncapi)"
            )
        try:
            failure = conformance_failure(target, self.published)
        except ContractError as exc:
            raise AssertionError(f"assert_conforms: {exc}") from None
        if failure:
            raise AssertionError(failure)

    # --- basics ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL for the test's clients: the fake broker, or, while a cassette
        records, the recording proxy in front of the real one."""
        return self.url_override or self.server.url

    @property
    def broker(self) -> Broker:
        """The core broker itself; touch it only inside ``call``."""
        return self.server.broker

    def call(self, fn: Callable[[Broker], T]) -> T:
        """Run ``fn(broker)`` on the server's thread and return its result."""
        broker = self.server.broker
        return self.server.call(lambda: fn(broker))

    def reset(self) -> None:
        if hasattr(self.server, "stop_node"):  # a cluster: every node up again
            for index in sorted(_amqp_server(self.server).nodes_down):
                _restartable(self.server).start_node(index)

        def do_reset() -> None:
            inner = _amqp_server(self.server) if hasattr(self.server, "down") else None
            if inner is not None:  # the connections a fault holds go with the rest
                faults.clear(inner)
            for stub in self.stubs:
                stub.stop()
            self.server.broker.reset()
            self.server.broker.unblock()  # alarms are the node's, not the test's
            self.recorder.clear()

        self.stubs.clear()
        self.clock.reset()
        self.server.call(do_reset)

    def close(self) -> None:
        self.server.call(self.recorder.close)

    # --- restarts and crashes ------------------------------------------------------

    def restart(self, down_for: float | None = 0.0, *, crash: bool = False) -> None:
        """Restart the broker as a RabbitMQ node restarts: every client connection gets
        Connection.Close 320 ``CONNECTION_FORCED - broker forced connection closure with
        reason 'shutdown'`` (``crash=True``: its socket is reset, no Close), new
        connections are refused for ``down_for`` seconds of wall time (0: back at once;
        None: until ``come_up()``), and only what RabbitMQ keeps is left: durable
        exchanges, queues and their bindings, persistent messages in durable queues
        (unacknowledged ones back, redelivered), everything in quorum queues and streams;
        users, vhosts, permissions and policies. RPC stubs keep answering.

        Returns once the clients have been told (or dropped) and the state is the one
        the node comes back with."""
        _restartable(self.server).restart(down_for, crash=crash)

    def crash(self, down_for: float | None = 0.0) -> None:
        """``restart(down_for, crash=True)``: connections dropped without a Close."""
        self.restart(down_for, crash=True)

    def come_up(self) -> None:
        """Listen again now, after ``restart(down_for=...)`` (a no-op while up)."""
        _restartable(self.server).come_up()

    @property
    def down(self) -> bool:
        """True while a restart keeps new connections out."""
        return bool(_restartable(self.server).down)

    # --- a cluster's nodes (ini amqpmock_nodes) ---------------------------------------

    @property
    def node_urls(self) -> list[str]:
        """Each node's AMQP URL, node 0's (``url``) first; one unless the session's
        broker is a cluster (``--amqpmock-nodes N``)."""
        return list(_restartable(self.server).node_urls)

    @property
    def node_names(self) -> list[str]:
        """RabbitMQ's names of the nodes (``rabbit@localhost``; in a cluster
        ``rabbit-1@localhost`` ...)."""
        return list(self.server.broker.nodes)

    def _node_index(self, node: int | str) -> int:
        names = self.server.broker.nodes
        if isinstance(node, str):
            if node not in names:
                raise ValueError(f"no node {node!r} (nodes: {', '.join(names)})")
            return names.index(node)
        return node

    def stop_node(self, node: int | str) -> None:
        """Node ``node`` (its index in ``node_urls``, or its name) stops, as with
        ``rabbitmqctl stop_app`` on it: its connections get Connection.Close 320
        (shutdown) and its port refuses; its transient and exclusive classic queues are
        gone, its durable classic queues answer 404 (home node down) and their
        consumers elsewhere are cancelled; quorum queues go on while a majority of
        nodes is up. Back at ``start_node`` (or the next test)."""
        _restartable(self.server).stop_node(self._node_index(node))

    def start_node(self, node: int | str) -> None:
        """Node ``node`` is back: its durable queues with their persistent messages,
        its port listening when this returns."""
        _restartable(self.server).start_node(self._node_index(node))

    # --- network faults (amqpmock.wire.faults) -----------------------------------

    def fault(
        self,
        kind: str,
        connection: str | None = None,
        for_: float | None = None,
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        rate: float = 0.0,
        average_size: int = 0,
        size_variation: int = 0,
        delay: float = 0.0,
        new: bool = False,
        node: int | str | None = None,
    ) -> int:
        """A network fault on the client connections open now, in Toxiproxy's words:
        ``"timeout"`` (nothing read, nothing written: the client's heartbeat check
        fires, and the broker closes it after two missed heartbeats as RabbitMQ does,
        unseen by the client), ``"reset_peer"`` (TCP RST now, no Close),
        ``"latency"`` (the broker's bytes arrive ``latency`` s, plus up to ``jitter``,
        later), ``"bandwidth"`` (at ``rate`` KB/s at most), ``"slicer"`` (in pieces of
        ``average_size`` bytes, give or take ``size_variation``, ``delay`` s apart) or
        ``"half_open"`` (the broker loses the connection, the client's socket stays
        open and swallows everything; reset when the fault ends). ``connection``: only
        the one with that ``connection_name`` client property or peer ``host:port``;
        ``node``: only those to that node (index or name). Lasts ``for_`` seconds or
        until ``clear_faults()``. Returns how many connections it hit; connections made
        later are not affected unless ``new`` (then those made while it lasts are,
        from their first byte)."""
        server = _amqp_server(self.server)
        toxic = faults.Toxic(kind, latency, jitter, rate, average_size, size_variation, delay)
        index = None if node is None else self._node_index(node)
        return self.server.call(
            lambda: faults.add(server, toxic, connection, for_, new=new, node=index)
        )

    def close_connection(
        self,
        connection: str | None = None,
        code: int = 320,
        text: str = faults.FORCED_TEXT,
        *,
        channel: int | None = None,
    ) -> int:
        """Close client connections from the broker's side, as RabbitMQ does for an
        error: Connection.Close ``code`` with ``text`` (320 ``CONNECTION_FORCED -
        Closed via management plugin`` by default, what ``DELETE
        /api/connections/NAME`` sends), on every open connection or only the one whose
        ``connection_name`` property or peer ``host:port`` is ``connection``; with
        ``channel``, only that channel, with Channel.Close (``code`` 406 ``text``, say).
        Unacked messages go back to their queues. Returns how many it closed."""
        server = _amqp_server(self.server)
        return self.server.call(lambda: faults.close(server, connection, code, text, channel))

    def clear_faults(self) -> None:
        """End every network fault now: what waited is delivered."""
        server = _amqp_server(self.server)
        self.server.call(lambda: faults.clear(server))

    # --- resource alarms (amqpmock.fake.alarms) ------------------------------------

    def alarm(self, resource: str = "memory") -> None:
        """Raise RabbitMQ's ``"memory"`` or ``"disk"`` alarm: each connection that
        publishes from now on is blocked (its socket is not read, its message waits) and,
        if its client announced the ``connection.blocked`` capability, gets
        Connection.Blocked ``low on memory`` / ``low on disk`` (``low on disk & memory``
        with both); consuming connections keep working."""
        self.server.call(lambda: alarms.set_alarm(self.server.broker, resource))

    def clear_alarm(self, resource: str = "memory") -> None:
        """End that alarm; once none is left, blocked connections get
        Connection.Unblocked and what they published is routed."""
        self.server.call(lambda: alarms.clear_alarm(self.server.broker, resource))

    @property
    def alarms(self) -> frozenset[str]:
        """The resources in alarm now."""
        return self.server.call(lambda: alarms.active(self.server.broker))

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for TTLs, expiry and delayed replies, without sleeping."""
        broker = self.server.broker

        def advance() -> None:
            # on the server thread, after what clients already sent has been taken in,
            # so a publish just made by the test is not stamped with the future time
            self.clock.advance(seconds)
            broker.run_timers()

        self.server.call(advance)

    # --- setup and injection -----------------------------------------------------

    def declare_exchange(self, name: str, type: str = "direct", **kw: Any) -> None:
        self.call(lambda b: b.declare_exchange(name, type, **kw))

    def declare_queue(self, name: str = "", **kw: Any) -> str:
        return self.call(lambda b: b.declare_queue(name, **kw).name)

    def bind_queue(self, queue: str, exchange: str, routing_key: str = "", **kw: Any) -> None:
        self.call(lambda b: b.bind_queue(queue, exchange, routing_key, **kw))

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes | str | dict[str, Any] | list[Any] = b"",
        properties: Basic.Properties | dict[str, Any] | None = None,
        **props: Any,
    ) -> list[str]:
        """Inject a message as if a remote service had published it; dicts and lists
        are sent as JSON. Returns the queues it reached."""
        import json

        if isinstance(body, dict | list):
            body = json.dumps(body)
            props.setdefault("content_type", "application/json")
        if properties is None:
            properties = props or None
        payload = body
        return self.call(lambda b: b.publish(exchange, routing_key, payload, properties))

    inject = publish

    def declare_contract(self, document: str | os.PathLike[str] | None = None) -> Topology:
        """Declare the document's exchanges, queues and bindings on the fake; what was
        declared."""
        from amqpmock.contracts import Contract, declare_topology, topology

        target = document if document is not None else self.contract_path
        if target is None:
            raise ValueError(
                "declare_contract: no document (marker amqp_contract, ini amqp_asyncapi)"
            )
        wanted = topology(Contract.load(target))
        self.call(lambda b: declare_topology(b, wanted))
        return wanted

    def example(self, name: str, document: str | os.PathLike[str] | None = None) -> Example:
        """The first ``examples`` entry of the document's message (or channel) called
        name, with its channel's exchange and routing key: what ``publish_example``
        publishes."""
        from amqpmock.contracts import Contract, find_example

        target = document if document is not None else self.contract_path
        if target is None:
            raise ValueError(
                "publish_example: no document (marker amqp_contract, ini amqp_asyncapi)"
            )
        return find_example(Contract.load(target), name)

    def publish_example(
        self, name: str, document: str | os.PathLike[str] | None = None
    ) -> list[str]:
        """Publish the first ``examples`` entry of the document's message (or channel)
        called name on its channel's exchange and routing key; the queues it reached."""
        example = self.example(name, document)
        return self.publish(
            example.exchange, example.routing_key, example.body, headers=example.headers
        )

    # --- RPC stubs -------------------------------------------------------------------

    def rpc_stub(self, exchange: str, routing_key: str, *, vhost: str = "/") -> RPCStub:
        """Answer requests published to ``exchange`` with a matching ``routing_key``
        (topic wildcards allowed). Configure with ``.returns``/``.raises``/..."""
        conventions = self.plugins.rpc_conventions()
        stub = self.call(lambda b: RPCStub(b, exchange, routing_key, conventions, vhost))
        self.stubs.append(stub)
        return stub

    # --- inspection ----------------------------------------------------------------

    def exchange(self, name: str) -> ExchangeView:
        return ExchangeView(self.recorder, name, self.server.call)

    def queue(self, name: str) -> QueueView:
        return QueueView(self.recorder, name, self.server.call)

    def _records(self, attr: str) -> Records:
        return self.server.call(lambda: Records(getattr(self.recorder, attr)))

    @property
    def published(self) -> Records:
        return self._records("published")

    @property
    def delivered(self) -> Records:
        return self._records("delivered")

    @property
    def acked(self) -> Records:
        return self._records("acked")

    @property
    def nacked(self) -> Records:
        return self._records("nacked")

    @property
    def returned(self) -> Records:
        return self._records("returned")

    @property
    def dead_lettered(self) -> Records:
        return self._records("dead_lettered")

    def messages(self, queue: str) -> list[Message]:
        """Ready messages of a queue right now, without taking them."""
        return self.call(lambda b: b.messages(queue))

    def queues(self) -> list[str]:
        return self.call(lambda b: sorted(b.queues()))

    def exchanges(self) -> list[str]:
        return self.call(lambda b: sorted(b.exchanges()))

    def bindings(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        return self.call(lambda b: list(b.bindings()))

    def consumers(self, queue: str) -> list[str]:
        return self.call(lambda b: [c.tag for c in b.queue(queue).consumers])

    def connections(self) -> int:
        return self.call(lambda b: len(b.connections))

    def assert_published(self, *, times: int | None = None, **criteria: Any) -> Records:
        __tracebackhide__ = True
        return self.server.call(lambda: _assert_published(self.recorder, times=times, **criteria))

    def assert_nothing_published(self) -> None:
        __tracebackhide__ = True
        published = self.published
        if published:
            raise AssertionError(f"expected no publishes, found:\n{published.describe()}")
