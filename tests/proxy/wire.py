"""AMQP bytes for sans-IO tests, made with pamqp (the codec the proxy decodes with)."""

from __future__ import annotations

from pamqp import body as pamqp_body
from pamqp import commands, heartbeat
from pamqp import frame as pamqp_frame
from pamqp import header as pamqp_header
from pamqp.base import Frame

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def method(channel: int, value: Frame) -> bytes:
    return pamqp_frame.marshal(value, channel)


def content(
    channel: int,
    value: Frame,
    body: bytes,
    frame_max: int = 131072,
    **properties: object,
) -> bytes:
    """A method with its header and body frames (body split to fit ``frame_max``)."""
    props = commands.Basic.Properties(**properties)  # type: ignore[arg-type]
    out = [
        method(channel, value),
        pamqp_frame.marshal(pamqp_header.ContentHeader(0, len(body), props), channel),
    ]
    step = frame_max - 8
    for start in range(0, len(body), step):
        out.append(
            pamqp_frame.marshal(pamqp_body.ContentBody(body[start : start + step]), channel)
        )
    return b"".join(out)


def beat() -> bytes:
    return pamqp_frame.marshal(heartbeat.Heartbeat(), 0)


def server_hello(product: str = "RabbitMQ", version: str = "3.10.8") -> bytes:
    return method(
        0,
        commands.Connection.Start(
            server_properties={"product": product, "version": version},
            mechanisms="PLAIN AMQPLAIN",
        ),
    ) + method(0, commands.Connection.Tune(channel_max=2047, frame_max=131072, heartbeat=60))


def client_hello(user: str = "guest", password: str = "s3cret-pw") -> bytes:
    return (
        PROTOCOL_HEADER
        + method(
            0,
            commands.Connection.StartOk(
                client_properties={"product": "test"},
                mechanism="PLAIN",
                response=f"\0{user}\0{password}",
            ),
        )
        + method(0, commands.Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=60))
        + method(0, commands.Connection.Open(virtual_host="/"))
    )


def close_c2s() -> bytes:
    return method(
        0, commands.Connection.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0)
    )


def close_ok() -> bytes:
    return method(0, commands.Connection.CloseOk())
