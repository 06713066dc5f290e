"""The one table from AMQP method to handler, for every method a client may send on an
open channel. Each handler takes (broker, channel, method, properties, body), raises
``AMQPError`` on failure and replies through the channel's connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pamqp import base
from pamqp.commands import Basic, Confirm, Tx
from pamqp.commands import Channel as ChannelMethods
from pamqp.commands import Exchange as ExchangeMethods
from pamqp.commands import Queue as QueueMethods

from amqpmock.fake import _connection, _delivery, _exchanges, _publish, _queues
from amqpmock.fake._state import Channel

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker

Handler = Callable[["Broker", Channel, Any, "Basic.Properties | None", bytes], None]

HANDLERS: dict[type[base.Frame], Handler] = {
    # channel: connection and channel state
    ChannelMethods.Close: _connection.channel_close,
    ChannelMethods.CloseOk: _connection.channel_close_ok,
    ChannelMethods.Flow: _connection.channel_flow,
    ChannelMethods.FlowOk: _connection.channel_flow_ok,
    # exchange
    ExchangeMethods.Declare: _exchanges.exchange_declare,
    ExchangeMethods.Delete: _exchanges.exchange_delete,
    ExchangeMethods.Bind: _exchanges.exchange_bind,
    ExchangeMethods.Unbind: _exchanges.exchange_bind,
    # queue
    QueueMethods.Declare: _queues.queue_declare,
    QueueMethods.Bind: _queues.queue_bind,
    QueueMethods.Unbind: _queues.queue_bind,
    QueueMethods.Purge: _queues.queue_purge,
    QueueMethods.Delete: _queues.queue_delete,
    # basic: publishing
    Basic.Publish: _publish.basic_publish,
    # basic: consuming and settling
    Basic.Qos: _delivery.basic_qos,
    Basic.Consume: _delivery.basic_consume,
    Basic.Cancel: _delivery.basic_cancel,
    Basic.Get: _delivery.basic_get,
    Basic.Ack: _delivery.basic_settle,
    Basic.Nack: _delivery.basic_settle,
    Basic.Reject: _delivery.basic_settle,
    Basic.Recover: _delivery.basic_recover,
    Basic.RecoverAsync: _delivery.basic_recover,
    # confirm and tx
    Confirm.Select: _publish.confirm_select,
    Tx.Select: _publish.tx_select,
    Tx.Commit: _publish.tx_commit,
    Tx.Rollback: _publish.tx_rollback,
}
