"""Exchanges: ``exchange.declare`` (with RabbitMQ's equivalence checks), ``delete``,
``bind`` / ``unbind``, and the binding bookkeeping (auto-delete included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamqp.commands import Exchange as ExchangeMethods

from amqpmock.errors import (
    ACCESS_REFUSED,
    COMMAND_INVALID,
    NOT_FOUND,
    PRECONDITION_FAILED,
    ChannelError,
    ConnectionError_,
)
from amqpmock.fake._args import (
    args_key,
    check_reserved,
    erl_bool,
    inequivalent_values,
    same_arg,
)
from amqpmock.fake._state import (
    Channel,
    VHost,
    send_reply,
)
from amqpmock.fake.model import Exchange, Queue
from amqpmock.fake.routing import ExchangeType

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker


def add_binding(
    b: Broker,
    vhost: VHost,
    source: Exchange,
    dest: Queue | Exchange,
    routing_key: str,
    arguments: dict[str, Any],
) -> None:
    key = (dest, routing_key, args_key(arguments))
    if key not in source.bindings:
        # the exchange type first: it may refuse the binding (x-consistent-hash: 406)
        source.routing.bind(dest, routing_key, arguments)
        source.bindings[key] = dict(arguments)


def remove_binding(b: Broker, vhost: VHost, exchange: Exchange, key: tuple[Any, str, str]) -> None:
    args = exchange.bindings.pop(key)
    exchange.routing.unbind(key[0], key[1], args)
    if exchange.auto_delete and not exchange.bindings:
        b._delete_exchange(vhost, exchange)


def delete_exchange(b: Broker, vhost: VHost, exchange: Exchange) -> None:
    if vhost.exchanges.get(exchange.name) is not exchange:
        return
    del vhost.exchanges[exchange.name]
    for key in list(exchange.bindings):
        exchange.routing.unbind(key[0], key[1], exchange.bindings.pop(key))
    # bindings in which this exchange is the destination
    for other in list(vhost.exchanges.values()):
        for key in [k for k in other.bindings if k[0] is exchange]:
            b._remove_binding(vhost, other, key)


# --- handlers ---


def exchange_declare(
    b: Broker, ch: Channel, m: ExchangeMethods.Declare, p: Any, body: bytes
) -> None:
    conn = ch.conn
    vhost = conn.vhost
    name = m.exchange
    existing = vhost.exchanges.get(name)
    if name == "":
        raise ChannelError(ACCESS_REFUSED, "operation not permitted on the default exchange")
    if m.passive:
        b._exchange(conn, name)
    else:
        if m.exchange_type not in b.exchange_types:
            raise ConnectionError_(COMMAND_INVALID, f"unknown exchange type '{m.exchange_type}'")
        if existing is None:
            check_reserved(name, "exchange")
        b._check_perm(conn, 0, "exchange", name)
        arguments = dict(m.arguments or {})
        if existing is None:
            vhost.exchanges[name] = Exchange(
                name,
                m.exchange_type,
                _routing(b.exchange_types[m.exchange_type], arguments),
                durable=bool(m.durable),
                auto_delete=bool(m.auto_delete),
                internal=bool(m.internal),
                arguments=arguments,
            )
            if b.policies:
                b._apply_exchange_policy(vhost.name, vhost.exchanges[name])
            b._emit("exchange_declared", exchange=vhost.exchanges[name])
        else:
            _exchange_equivalent(existing, m, vhost.name)
    if not m.nowait:
        send_reply(ch, ExchangeMethods.DeclareOk())


def _exchange_equivalent(ex: Exchange, m: ExchangeMethods.Declare, vhost: str) -> None:
    def fail(arg: str, received: str, current: str) -> None:
        raise ChannelError(
            PRECONDITION_FAILED,
            f"inequivalent arg '{arg}' for exchange '{ex.name}' in vhost '{vhost}': "
            f"received '{received}' but current is '{current}'",
        )

    if m.exchange_type != ex.type:
        fail("type", m.exchange_type, ex.type)
    if bool(m.durable) != ex.durable:
        fail("durable", erl_bool(m.durable), erl_bool(ex.durable))
    if bool(m.auto_delete) != ex.auto_delete:
        fail("auto_delete", erl_bool(m.auto_delete), erl_bool(ex.auto_delete))
    if bool(m.internal) != ex.internal:
        fail("internal", erl_bool(m.internal), erl_bool(ex.internal))
    new_args = dict(m.arguments or {})
    for key in ("alternate-exchange",):
        new, old = new_args.get(key), ex.arguments.get(key)
        if not same_arg(new, old):
            received, current = inequivalent_values(new, old)
            raise ChannelError(
                PRECONDITION_FAILED,
                f"inequivalent arg '{key}' for exchange '{ex.name}' in vhost '{vhost}': "
                f"received {received} but current is {current}",
            )


def exchange_delete(
    b: Broker, ch: Channel, m: ExchangeMethods.Delete, p: Any, body: bytes
) -> None:
    conn = ch.conn
    vhost = conn.vhost
    name = m.exchange
    if name == "":
        raise ChannelError(ACCESS_REFUSED, "operation not permitted on the default exchange")
    if name.startswith("amq."):
        raise ChannelError(
            ACCESS_REFUSED,
            f"deletion of system exchange '{name}' in vhost '{vhost.name}' not allowed",
        )
    b._check_perm(conn, 0, "exchange", name)
    exchange = vhost.exchanges.get(name)
    if exchange is not None:
        if m.if_unused and exchange.bindings:
            raise ChannelError(
                PRECONDITION_FAILED, f"exchange '{name}' in vhost '{vhost.name}' in use"
            )
        b._delete_exchange(vhost, exchange)
    if not m.nowait:
        send_reply(ch, ExchangeMethods.DeleteOk())


def exchange_bind(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    conn = ch.conn
    vhost = conn.vhost
    if m.source == "" or m.destination == "":
        raise ChannelError(ACCESS_REFUSED, "operation not permitted on the default exchange")
    unbinding = isinstance(m, ExchangeMethods.Unbind)
    dest = vhost.exchanges.get(m.destination)
    source = vhost.exchanges.get(m.source)
    if source is None or dest is None:
        if unbinding:
            send_reply(ch, ExchangeMethods.UnbindOk())
            return
        missing = m.source if source is None else m.destination
        raise ChannelError(NOT_FOUND, f"no exchange '{missing}' in vhost '{vhost.name}'")
    b._check_perm(conn, 1, "exchange", m.destination)
    b._check_perm(conn, 2, "exchange", m.source)
    arguments = dict(m.arguments or {})
    if unbinding:
        key = (dest, m.routing_key, args_key(arguments))
        if key in source.bindings:
            b._remove_binding(vhost, source, key)
        if not m.nowait:
            send_reply(ch, ExchangeMethods.UnbindOk())
    else:
        b._add_binding(vhost, source, dest, m.routing_key, arguments)
        if not m.nowait:
            send_reply(ch, ExchangeMethods.BindOk())


def _routing(kind: type[ExchangeType], arguments: dict[str, Any]) -> ExchangeType:
    """An exchange type's routing state; types that read the exchange's arguments
    (``takes_arguments``, as ``x-consistent-hash``'s ``hash-header``) get them."""
    if getattr(kind, "takes_arguments", False):
        return kind(arguments)  # type: ignore[call-arg]
    return kind()
