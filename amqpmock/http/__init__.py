"""The management HTTP API over HTTP: aiohttp on the AMQP server's own event loop, so
the broker is only ever touched from its thread. A thin adapter: the request's method,
raw path, query, body and headers go to ``amqpmock.management``; its answer comes back
as JSON.

Imports: aiohttp (the ``http`` extra), ``amqpmock.management`` and the wire server it
attaches to. Nothing here decides what an answer is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from amqpmock.management import Context, Listener, ManagementAPI, Response

if TYPE_CHECKING:
    from amqpmock.wire.server import AMQPServer

# RabbitMQ's management listener answers with these on every response
_HEADERS = {"Server": "amqpmock", "Vary": "origin"}


class Handler(Protocol):
    """What answers a path prefix (the management API, the control API)."""

    def handle(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str] | None = ...,
        body: bytes = ...,
        headers: dict[str, str] | None = ...,
    ) -> Response: ...


class ManagementHTTP:
    """``await ManagementHTTP(server).start(host, port)`` -> ``http://host:port``; the
    AMQP server's ``stop()`` stops it too. ``control``: what answers ``/amqpmock/...``
    (``amqpmock.testing.control.ControlAPI``, given by whoever starts it)."""

    def __init__(self, server: AMQPServer, control: Handler | None = None) -> None:
        self.server = server
        self.context = Context(server.broker, server.switchboard, node=server.broker.nodes[0])
        self.api = ManagementAPI(self.context)
        self.control = control
        self._runner: web.AppRunner | None = None
        self.host = ""
        self.port = 0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api{tail:.*}", self._handle)
        if self.control is not None:
            app.router.add_route("*", "/amqpmock/{tail:.*}", self._handle)
            app.router.add_route("GET", "/", self._handle)
            app.router.add_route("GET", "/favicon.ico", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        assert runner.addresses, "the HTTP site has no address"
        self.host, self.port = host, int(runner.addresses[0][1])
        self._refresh_listeners()
        self.server.on_stop.append(self.stop)
        return self.url

    def _refresh_listeners(self) -> None:
        server = self.server
        listeners = [Listener("amqp", server.host, server.port)]
        if server.tls_url is not None:
            listeners.append(Listener("amqp/ssl", server.host, server.tls_port))
        listeners.append(Listener("http", self.host, self.port))
        self.context.listeners = listeners

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self._refresh_listeners()
        handler: Handler = self.api
        if self.control is not None and not request.raw_path.startswith("/api"):
            handler = self.control
        answer = handler.handle(
            request.method,
            request.raw_path,
            dict(request.query),
            body,
            dict(request.headers),
        )
        headers = {**_HEADERS, **answer.headers}
        if answer.body is None:
            return web.Response(status=answer.status, headers=headers)
        if isinstance(answer.body, str) and "Content-Type" in answer.headers:
            return web.Response(status=answer.status, body=answer.body.encode(), headers=headers)
        return web.Response(
            status=answer.status,
            body=answer.encoded(),
            content_type="application/json",
            headers=headers,
        )


__all__ = ["ManagementHTTP"]
