"""A remote service for record/replay tests: aio-pika's RPC pattern serving `add` and
`greet`, in its own process. Usage: python aio_rpc_server.py AMQP_URL READY_FILE"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aio_pika
from aio_pika.patterns import RPC


async def add(*, a: int, b: int) -> int:
    return a + b


async def greet(*, name: str) -> str:
    return f"hello {name}"


async def main(url: str, ready: Path) -> None:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        rpc = await RPC.create(channel)
        await rpc.register("add", add, auto_delete=True)
        await rpc.register("greet", greet, auto_delete=True)
        ready.write_text("ready")
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
