"""A remote inventory service for record/replay tests, in its own process: a plain
aio-pika RPC server on the queue `inventory` that answers each request with what it
reserved, to the request's `reply_to` (direct reply-to included) with its
`correlation_id`.
Usage: python inventory_rpc_service.py AMQP_URL READY_FILE"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aio_pika


async def main(url: str, ready: Path) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("inventory")

        async def on_request(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                request = json.loads(message.body)
                reply = {"sku": request["sku"], "reserved": request["qty"]}
                assert message.reply_to is not None
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        json.dumps(reply).encode(),
                        content_type="application/json",
                        correlation_id=message.correlation_id,
                    ),
                    routing_key=message.reply_to,
                )

        await queue.consume(on_request)
        ready.write_text("ready")
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
