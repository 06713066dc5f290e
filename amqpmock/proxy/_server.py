"""The recording proxy: asyncio streams between clients and an upstream RabbitMQ.

Rules this module keeps:
- One upstream connection per client connection; any number at once.
- Bytes are forwarded untouched, in order, only ever held back until the frame they
  start is complete (``StreamTracker``): so the proxy can always stop at a frame
  boundary. Recording is an append to the ``Recorder``'s log after the write.
- Backpressure both ways: a pump reads the next chunk only after the previous one was
  drained into the other socket, and the readers' buffers are bounded; a slow side
  stalls the fast one through TCP instead of filling the proxy's memory.
- The upstream dying (EOF or reset before Connection.Close/CloseOk) never reaches the
  client as a torn stream: it gets a ``Connection.Close`` 320 (or the ``CloseOk`` it was
  waiting for), the connection is marked ``upstream-gone``, and the proxy goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from pathlib import Path
from types import TracebackType

from pamqp import commands
from pamqp import frame as pamqp_frame

from amqpmock.cassette._model import Cassette, Direction
from amqpmock.errors import CONNECTION_FORCED, AMQPMockError
from amqpmock.hookspecs import Redactor
from amqpmock.proxy._frames import StreamTracker
from amqpmock.proxy._recorder import Recorder
from amqpmock.proxy._url import UpstreamURL, parse_upstream_url

log = logging.getLogger("amqpmock.proxy")

READ_SIZE = 256 * 1024
# What RabbitMQ says to every client when it is stopped (SIGTERM), and so the proxy too
SHUTDOWN_TEXT = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
UPSTREAM_LOST_TEXT = (
    "CONNECTION_FORCED - upstream broker connection lost (amqpmock recording proxy)"
)


class UpstreamUnreachable(AMQPMockError, ConnectionError):
    """None of the upstream hosts accepted a connection; the message lists why."""


class RecordingProxy:
    """Listen on ``host:port`` (0: any free port) and record what passes to ``upstream``.

    ``async with RecordingProxy(url) as proxy:`` then point clients at
    ``proxy.client_url()``; afterwards ``proxy.cassette()`` or ``proxy.write(path)``.
    """

    def __init__(
        self,
        upstream: str | UpstreamURL,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        recorder: Recorder | None = None,
        journal: str | os.PathLike[str] | None = None,
        connect_timeout: float = 5.0,
        close_timeout: float = 2.0,
        read_size: int = READ_SIZE,
    ) -> None:
        self.upstream = parse_upstream_url(upstream) if isinstance(upstream, str) else upstream
        self.host = host
        self.port = port
        self.recorder = recorder or Recorder(
            upstream_url=self.upstream.redacted(),
            passwords=self.upstream.passwords,
            journal=journal,
        )
        self.connect_timeout = connect_timeout
        self.close_timeout = close_timeout
        self.read_size = read_size
        self._ssl = self.upstream.ssl_context()
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._live: set[_Session] = set()

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> RecordingProxy:
        self._server = await asyncio.start_server(
            self._serve_client, self.host, self.port, limit=self.read_size
        )
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and end the connections still open (``proxy-stopped``): each
        client gets Connection.Close 320, as RabbitMQ's clients do when it stops."""
        if self._server is not None:
            self._server.close()
        for session in list(self._live):
            session.stop()
        sessions = list(self._sessions)
        if sessions:
            await asyncio.wait(sessions, timeout=self.close_timeout + 0.5)
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.gather(*sessions, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), self.close_timeout)
            self._server = None

    async def __aenter__(self) -> RecordingProxy:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def active_connections(self) -> int:
        return len(self._sessions)

    def client_url(self, show_password: bool = True) -> str:
        """The URL clients use: the proxy's address, the upstream's user and vhost."""
        return self.upstream.client_url(self.host, self.port, show_password=show_password)

    def cassette(self, redactors: list[Redactor] | None = None) -> Cassette:
        return self.recorder.cassette(redactors)

    def write(self, path: str | os.PathLike[str], redactors: list[Redactor] | None = None) -> Path:
        return self.recorder.write(path, redactors)

    # -- one client ----------------------------------------------------------------

    async def _serve_client(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        conn_id = self.recorder.open_connection()
        session = _Session(self, conn_id, client_reader, client_writer)
        self._live.add(session)
        try:
            await session.run()
        except asyncio.CancelledError:
            if session.closed_cleanly():
                self.recorder.close_connection(conn_id, "clean")
            else:
                self.recorder.close_connection(conn_id, "proxy-stopped", "the proxy was stopped")
        except Exception as exc:  # never let one connection take the proxy down
            log.exception("connection %d failed", conn_id)
            self.recorder.close_connection(conn_id, "proxy-stopped", f"proxy error: {exc!r}")
        finally:
            _close(client_writer)
            self._sessions.discard(task)
            self._live.discard(session)

    async def connect_upstream(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
        """Try the upstream hosts in order; the first that accepts wins."""
        problems = []
        for host in self.upstream.hosts:
            server_hostname = None
            if self._ssl is not None:
                server_hostname = self.upstream.options.get("server_hostname", host.host)
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        host.host,
                        host.port,
                        ssl=self._ssl,
                        server_hostname=server_hostname,
                        limit=self.read_size,
                    ),
                    self.connect_timeout,
                )
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                problems.append(f"{host.address}: {exc or type(exc).__name__}")
                continue
            return reader, writer, host.address
        raise UpstreamUnreachable("no upstream host accepted a connection: " + "; ".join(problems))


class _Session:
    """The two pumps of one client connection and how they end."""

    def __init__(
        self,
        proxy: RecordingProxy,
        conn_id: int,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
    ) -> None:
        self.proxy = proxy
        self.conn_id = conn_id
        self.client_reader = client_reader
        self.client_writer = client_writer
        self.c2s = StreamTracker()
        self.s2c = StreamTracker()
        self.stopping = False
        self._pumps: tuple[asyncio.Task[str], ...] = ()

    def stop(self) -> None:
        """The proxy stops: end the pumps; ``run`` then closes the client with 320."""
        self.stopping = True
        for pump in self._pumps:
            pump.cancel()

    async def run(self) -> None:
        recorder = self.proxy.recorder
        try:
            up_reader, up_writer, address = await self.proxy.connect_upstream()
        except UpstreamUnreachable as exc:
            log.warning("connection %d: %s", self.conn_id, exc)
            recorder.close_connection(self.conn_id, "upstream-unreachable", str(exc))
            return
        recorder.upstream_connected(self.conn_id, address)
        c2s = asyncio.create_task(
            self._pump(self.client_reader, up_writer, self.c2s, "c2s"), name="c2s"
        )
        s2c = asyncio.create_task(
            self._pump(up_reader, self.client_writer, self.s2c, "s2c"), name="s2c"
        )
        self._pumps = (c2s, s2c)
        try:
            done, _ = await asyncio.wait({c2s, s2c}, return_when=asyncio.FIRST_COMPLETED)
            if self.stopping:
                await asyncio.gather(c2s, s2c, return_exceptions=True)
                if self.closed_cleanly():  # it had ended just as the proxy stopped
                    recorder.close_connection(self.conn_id, "clean")
                else:
                    recorder.close_connection(
                        self.conn_id, "proxy-stopped", "the proxy was stopped"
                    )
                    await self._close_client(SHUTDOWN_TEXT)
                return
            first = c2s if c2s in done else s2c
            reason = first.result()
            if first is s2c and reason == "eof" and not self.closed_cleanly():
                c2s.cancel()
                await asyncio.gather(c2s, return_exceptions=True)
                await self._upstream_lost()
                return
            if first is c2s and reason == "write-failed":
                s2c.cancel()
                await asyncio.gather(s2c, return_exceptions=True)
                await self._upstream_lost()
                return
            if self.closed_cleanly():
                recorder.close_connection(self.conn_id, "clean")
            # One side finished: let the other flush briefly, then end both.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(s2c if first is c2s else c2s), 0.5)
            if self.closed_cleanly():
                recorder.close_connection(self.conn_id, "clean")
            else:
                recorder.close_connection(
                    self.conn_id,
                    "client-gone",
                    "the client closed its socket without Connection.Close",
                )
        finally:
            for task in (c2s, s2c):
                task.cancel()
            await asyncio.gather(c2s, s2c, return_exceptions=True)
            _close(up_writer)

    def closed_cleanly(self) -> bool:
        return (self.c2s.close_seen and self.s2c.close_ok_seen) or (
            self.s2c.close_seen and self.c2s.close_ok_seen
        )

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tracker: StreamTracker,
        direction: Direction,
    ) -> str:
        record = self.proxy.recorder.data
        conn_id = self.conn_id
        read = reader.read
        feed = tracker.feed
        size = self.proxy.read_size
        transport = writer.transport
        while True:
            try:
                data = await read(size)
            except (ConnectionError, OSError):
                return "eof"
            if not data:
                return "eof"
            out = feed(data)
            if not out:
                continue
            if transport.is_closing():
                return "write-failed"
            try:
                writer.write(out)
            except (ConnectionError, OSError):
                return "write-failed"
            record(conn_id, direction, out)  # before any await: what went out is recorded
            # The socket usually takes everything at once; only wait (drain) when some is
            # still buffered, which is where backpressure starts.
            if transport.get_write_buffer_size():
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    return "write-failed"

    async def _upstream_lost(self) -> None:
        """Give the client a clean end of the connection the upstream dropped."""
        recorder = self.proxy.recorder
        recorder.close_connection(
            self.conn_id,
            "upstream-gone",
            "the upstream closed the connection without Connection.Close",
        )
        await self._close_client(UPSTREAM_LOST_TEXT)

    async def _close_client(self, text: str) -> None:
        """Connection.Close 320 with ``text`` to the client (at a frame boundary of
        what it got), and a brief wait for its CloseOk."""
        if not (self.s2c.at_boundary and self.s2c.start_seen):
            return  # nothing AMQP-shaped to say: just close the socket
        if self.c2s.close_seen:
            method: commands.Connection.Close | commands.Connection.CloseOk = (
                commands.Connection.CloseOk()
            )
        else:
            method = commands.Connection.Close(
                reply_code=CONNECTION_FORCED,
                reply_text=text,
                class_id=0,
                method_id=0,
            )
        try:
            self.client_writer.write(pamqp_frame.marshal(method, 0))
            await self.client_writer.drain()
        except (ConnectionError, OSError):
            return
        if isinstance(method, commands.Connection.CloseOk):
            return
        # Wait (briefly) for the client's CloseOk, reading and dropping what it sends.
        # The c2s tracker goes on from where forwarding stopped, mid-frame or not.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.proxy.close_timeout
        while not self.c2s.close_ok_seen:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                data = await asyncio.wait_for(self.client_reader.read(65536), remaining)
            except (TimeoutError, ConnectionError, OSError):
                return
            if not data:
                return
            self.c2s.feed(data)


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
