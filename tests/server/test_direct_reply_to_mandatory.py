"""A mandatory reply to a direct reply-to name: RabbitMQ 3.10.8 delivers it *and*
returns it (312 NO_ROUTE), since it reaches no queue. aio-pika publishes with
mandatory=True by default, so every RPC reply an aio-pika responder sends through
direct reply-to comes back as a Basic.Return (aio-pika logs "Unhandled message ...
returning"; with publisher confirms, aiormq raises PublishError although the caller got
the reply). Found by bench/wire.py; the fake now does the same.

Raw frames, the same bytes to both brokers (see rawclient.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pamqp import body, header
from pamqp.commands import Basic, Confirm, Queue

from amqpmock.testing.rabbitmq import RabbitMQNode
from amqpmock.wire.codec import BodyFrame, HeaderFrame, MethodFrame
from amqpmock.wire.server import ServerThread

from .rawclient import RawClient


@pytest.fixture(scope="module")
def fake() -> Iterator[ServerThread]:
    with ServerThread() as srv:
        yield srv


def describe(frames: list[Any]) -> list[tuple[Any, ...]]:
    """Method frames as comparable tuples; content as its body."""
    out: list[tuple[Any, ...]] = []
    for item in frames:
        if isinstance(item, MethodFrame):
            m = item.method
            if isinstance(m, Basic.Return):
                out.append(("Basic.Return", m.reply_code, m.reply_text, m.exchange))
            elif isinstance(m, Basic.Ack):
                out.append(("Basic.Ack", m.delivery_tag, m.multiple))
            elif isinstance(m, Basic.Deliver):
                out.append(("Basic.Deliver", m.exchange, m.redelivered))
            else:
                out.append((m.name,))
        elif isinstance(item, BodyFrame):
            out.append(("body", item.data))
        elif not isinstance(item, HeaderFrame):
            out.append((repr(item),))
    return out


def observe(url: str, confirm: bool) -> dict[str, list[tuple[Any, ...]]]:
    """A caller consuming direct reply-to asks; a responder answers with mandatory=True."""
    with RawClient(url) as caller, RawClient(url) as responder:
        caller.handshake()
        caller.open_channel()
        caller.send(1, Basic.Consume(queue="amq.rabbitmq.reply-to", no_ack=True))
        caller.expect(Basic.ConsumeOk, 1)

        responder.handshake()
        responder.open_channel()
        responder.send(1, Queue.Declare(queue="", exclusive=True))
        requests = responder.expect(Queue.DeclareOk, 1).queue
        if confirm:
            responder.send(1, Confirm.Select())
            responder.expect(Confirm.SelectOk, 1)

        caller.send(
            1,
            Basic.Publish(exchange="", routing_key=requests),
            *content(b"request", Basic.Properties(reply_to="amq.rabbitmq.reply-to")),
        )
        headers: list[HeaderFrame] = []
        for _ in range(50):  # the request may still be on its way to the queue
            responder.send(1, Basic.Get(queue=requests, no_ack=True))
            got, _ = responder.frames(0.1)
            headers = [f for f in got if isinstance(f, HeaderFrame)]
            if headers:
                break
        assert len(headers) == 1, "the request never reached the responder"
        reply_to = headers[0].header.properties.reply_to
        assert reply_to is not None and reply_to.startswith("amq.rabbitmq.reply-to."), reply_to

        responder.send(
            1,
            Basic.Publish(exchange="", routing_key=reply_to, mandatory=True),
            *content(b"reply", Basic.Properties()),
        )
        responder_saw, _ = responder.frames(0.5)
        caller_saw, _ = caller.frames(0.2)
    return {"responder": describe(responder_saw), "caller": describe(caller_saw)}


def content(data: bytes, properties: Basic.Properties) -> list[Any]:
    return [header.ContentHeader(0, len(data), properties), body.ContentBody(data)]


EXPECTED = {
    False: {
        "responder": [("Basic.Return", 312, "NO_ROUTE", ""), ("body", b"reply")],
        "caller": [("Basic.Deliver", "", False), ("body", b"reply")],
    },
    True: {
        "responder": [
            ("Basic.Return", 312, "NO_ROUTE", ""),
            ("body", b"reply"),
            ("Basic.Ack", 1, False),
        ],
        "caller": [("Basic.Deliver", "", False), ("body", b"reply")],
    },
}


@pytest.mark.rabbitmq
@pytest.mark.parametrize("confirm", [False, True], ids=["no confirms", "confirms"])
def test_rabbitmq_delivers_and_returns_a_mandatory_direct_reply(
    rabbitmq_node: RabbitMQNode, confirm: bool
) -> None:
    assert observe(rabbitmq_node.url, confirm) == EXPECTED[confirm]


@pytest.mark.parametrize("confirm", [False, True], ids=["no confirms", "confirms"])
def test_fake_delivers_and_returns_a_mandatory_direct_reply(
    fake: ServerThread, confirm: bool
) -> None:
    assert observe(fake.url, confirm) == EXPECTED[confirm]
