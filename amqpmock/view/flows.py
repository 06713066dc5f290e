"""Message flows: what a cassette (or a test's broker traffic) did, as ordered events.

This is the model that ``amqpmock show`` (``amqpmock.view.timeline``) and
``amqpmock diagram`` (``amqpmock.view.diagram``) draw. Two front ends build it:
``flow_from_cassette`` from a recorded cassette and ``flow_from_records`` from the
``TrafficRecorder`` records of a test's fake broker.

Rules this module keeps:
- Pure functions of their inputs: no I/O, no clock. The same cassette gives the same
  flow, event for event.
- A *message* is one published message, whoever saw it: the publish of a recorded
  connection and every delivery of it (the cassette's ``source`` links them) are one
  message; a delivery with ``origin: outside`` is a message some unrecorded party
  published (an RPC server's reply, an event), drawn as published by an outside service.
- A cassette keeps each connection's frames in order but not the order across
  connections. Events are merged causally: a delivery comes after its publish, an RPC
  reply after its request; otherwise the lower-numbered connection goes first.
- The handshake (``Connection.Start`` .. ``OpenOk``) is one ``Connected`` event;
  declarations, bindings, consumes and other housekeeping become ``Setup`` events;
  replies that only confirm a request (``DeclareOk``, ``BindOk``...) fold into them.
- RPC requests are paired with their replies under both conventions: AMQP-native
  (``reply_to`` + ``correlation_id``, including direct reply-to) and oslo.messaging's
  envelope (``oslo.message`` JSON with ``_msg_id`` / ``_reply_q``; replies carry
  ``result`` / ``failure`` / ``ending``). oslo requests are ``call`` (a ``_msg_id``),
  ``cast``, or ``fanout_cast`` (to a fanout exchange).
- A fold (``collapse_repeats``) never passes different messages off as one: runs whose
  messages are the same (exchange, routing key, body, the properties that matter) fold
  first; a run of the same shape whose messages differ folds only with its
  ``variations``, which the views show (``52 different bodies`` and the bodies).
"""

# The code lives in private modules, one idea each; this module is the public face.
#   _flow_model       events, messages, RPC calls, Flow, Summary, ids
#   _flow_repeats     runs of repeated events, and how their messages differ
#   _flow_classify    what a message is for (oslo envelopes, AMQP RPC), the message table
#                     that numbers messages and pairs RPC requests with their replies
#   _flow_cassette    flow_from_cassette: the reader's walk and its dispatch table, with
#                     _flow_cassette_order (identity, causal merge), _flow_cassette_state,
#                     _flow_cassette_setup and _flow_cassette_messages (the handlers)
#   _flow_records     flow_from_records and TrafficContext (a test's fake broker)

from __future__ import annotations

from amqpmock.view._flow_cassette import flow_from_cassette
from amqpmock.view._flow_model import (
    DEFAULT_EXCHANGE,
    DIRECT_REPLY_TO,
    INJECTED,
    OUTSIDE,
    Closed,
    Connected,
    ConnectionInfo,
    DeadLettered,
    Delivered,
    Event,
    Flavor,
    Flow,
    MessageInfo,
    Notice,
    Published,
    Returned,
    RpcCall,
    Settled,
    Setup,
    Summary,
    connection_id,
    exchange_id,
    outside_id,
    queue_id,
)
from amqpmock.view._flow_records import TrafficContext, flow_from_records
from amqpmock.view._flow_repeats import (
    Repeat,
    Variation,
    collapse_repeats,
    repeat_variations,
    sample,
    variation_label,
    variation_text,
)

__all__ = [
    "DEFAULT_EXCHANGE",
    "DIRECT_REPLY_TO",
    "INJECTED",
    "OUTSIDE",
    "Closed",
    "Connected",
    "ConnectionInfo",
    "DeadLettered",
    "Delivered",
    "Event",
    "Flavor",
    "Flow",
    "MessageInfo",
    "Notice",
    "Published",
    "Repeat",
    "Returned",
    "RpcCall",
    "Settled",
    "Setup",
    "Summary",
    "TrafficContext",
    "Variation",
    "collapse_repeats",
    "connection_id",
    "exchange_id",
    "flow_from_cassette",
    "flow_from_records",
    "outside_id",
    "queue_id",
    "repeat_variations",
    "sample",
    "variation_label",
    "variation_text",
]
