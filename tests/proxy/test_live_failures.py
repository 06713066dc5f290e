"""The proxy when things go wrong, and how it is reached: upstream killed mid-session,
failover across hosts, no host reachable, TLS upstream, many clients, backpressure,
and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pika
import pytest

from amqpmock.cassette import load_cassette
from amqpmock.proxy import UPSTREAM_LOST_TEXT, RecordingProxy
from amqpmock.testing.rabbitmq import RabbitMQNode, free_port

from .conftest import Upstream, add_recording_user
from .test_live_clients import in_thread

pytestmark = pytest.mark.rabbitmq


def kill_node(node: RabbitMQNode) -> None:
    """SIGKILL the Erlang VM: the broker dies without a word to its clients. Returns once
    its port refuses connections (helper processes can hold the listening socket for a
    moment after the VM is gone, and a connection made then is accepted and dropped)."""
    pid = int(node.pid_file.read_text().strip())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection((node.host, node.port), timeout=0.5).close()
        except OSError:
            return
        time.sleep(0.05)
    raise AssertionError(f"port {node.port} still accepts connections after SIGKILL")


def publish_then_wait_for_close(url: str, killed: threading.Event, kill: Any) -> dict[str, Any]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare("work", durable=False)
    for n in range(3):
        channel.basic_publish("", "work", f"before-{n}".encode())
    kill()
    killed.set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            connection.process_data_events(time_limit=0.2)
        except pika.exceptions.ConnectionClosedByBroker as exc:
            return {"code": exc.reply_code, "text": exc.reply_text}
        except pika.exceptions.AMQPError as exc:
            return {"error": repr(exc)}
    return {"error": "no close within 20 s"}


async def test_upstream_killed_mid_session(tmp_path: Path) -> None:
    with RabbitMQNode() as node:
        doomed = add_recording_user(node)
        killed = threading.Event()
        async with RecordingProxy(doomed.url) as proxy:
            outcome = await in_thread(
                publish_then_wait_for_close, proxy.client_url(), killed, lambda: kill_node(node)
            )
            # the client got a clean Connection.Close, not a torn socket
            assert outcome == {"code": 320, "text": UPSTREAM_LOST_TEXT}
            # the proxy keeps running: a new client is accepted (and told no upstream)
            with pytest.raises(pika.exceptions.AMQPConnectionError):
                await in_thread(pika.BlockingConnection, pika.URLParameters(proxy.client_url()))
            path = proxy.write(tmp_path / "killed.yaml")
    assert doomed.password not in path.read_text()
    cassette = load_cassette(path)
    assert not cassette.complete
    first, second = cassette.connections
    assert first.ending == "upstream-gone" and not first.complete
    assert first.error == "the upstream closed the connection without Connection.Close"
    bodies = [i.body for i in first if i.is_publish]
    assert bodies == [b"before-0", b"before-1", b"before-2"]
    assert second.ending == "upstream-unreachable" and second.interactions == []


async def test_hosts_are_tried_in_order(upstream: Upstream) -> None:
    dead = free_port()
    node = upstream.node
    url = f"amqp://{upstream.user}:{upstream.password}@127.0.0.1:{dead},127.0.0.1:{node.port}/"
    async with RecordingProxy(url) as proxy:
        connection = await aio_pika.connect(proxy.client_url())
        await connection.close()
    (conn,) = proxy.cassette().connections
    assert conn.upstream == f"127.0.0.1:{node.port}"
    assert conn.ending == "clean"


async def test_no_upstream_reachable_keeps_the_proxy_running() -> None:
    url = f"amqp://u:p@127.0.0.1:{free_port()},127.0.0.1:{free_port()}/"
    async with RecordingProxy(url, connect_timeout=1) as proxy:
        for _ in range(2):
            with pytest.raises((ConnectionError, OSError, aio_pika.exceptions.AMQPError)):
                await aio_pika.connect(proxy.client_url(), timeout=5)
    cassette = proxy.cassette()
    assert [c.ending for c in cassette] == ["upstream-unreachable"] * 2
    assert cassette.connections[0].error is not None
    assert "no upstream host accepted a connection" in cassette.connections[0].error


# -- TLS upstream: a TLS terminator in front of the node ------------------------------


@pytest.fixture
async def tls_upstream(upstream: Upstream, tmp_path: Path) -> AsyncIterator[str]:
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def terminate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream.node.port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(terminate, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield (f"amqps://{upstream.user}:{upstream.password}@localhost:{port}/%2F?cafile={cert}")
    finally:
        server.close()


async def test_amqps_upstream(tls_upstream: str) -> None:
    async with RecordingProxy(tls_upstream) as proxy:
        connection = await aio_pika.connect(proxy.client_url())
        channel = await connection.channel()
        queue = await channel.declare_queue("", exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(b"over tls"), queue.name)
        message = await queue.get(timeout=5)
        assert message.body == b"over tls"
        await message.ack()
        await connection.close()
    (conn,) = proxy.cassette().connections
    assert conn.ending == "clean"
    assert [i.body for i in conn if i.is_delivery] == [b"over tls"]


async def test_amqps_refuses_an_unknown_certificate(tls_upstream: str) -> None:
    without_ca = tls_upstream.split("?")[0]
    async with RecordingProxy(without_ca, connect_timeout=5) as proxy:
        with pytest.raises((ConnectionError, OSError, aio_pika.exceptions.AMQPError)):
            await aio_pika.connect(proxy.client_url(), timeout=5)
    (conn,) = proxy.cassette().connections
    assert conn.ending == "upstream-unreachable"
    assert conn.error is not None and "CERTIFICATE_VERIFY_FAILED" in conn.error


# -- many clients at once ------------------------------------------------------------


async def test_many_connections_at_once(upstream: Upstream) -> None:
    async def client(proxy_url: str, n: int) -> bytes:
        connection = await aio_pika.connect(proxy_url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue("", exclusive=True)
            await channel.default_exchange.publish(aio_pika.Message(f"m{n}".encode()), queue.name)
            message = await queue.get(timeout=5)
            await message.ack()
            return message.body
        finally:
            await connection.close()

    async with RecordingProxy(upstream.url) as proxy:
        bodies = await asyncio.gather(*(client(proxy.client_url(), n) for n in range(20)))
    assert sorted(bodies) == sorted(f"m{n}".encode() for n in range(20))
    cassette = proxy.cassette()
    assert [c.id for c in cassette] == list(range(1, 21))
    assert all(c.ending == "clean" for c in cassette)
    # each connection's delivery is its own publish
    for conn in cassette:
        (delivery,) = [i for i in conn if i.is_delivery]
        assert delivery.source is not None and delivery.source[0] == conn.id


# -- backpressure (no RabbitMQ needed: a fake upstream) ------------------------------

HEARTBEATS = b"\x08\x00\x00\x00\x00\x00\x00\xce" * 8192  # 64 KiB of valid frames


@pytest.mark.parametrize("direction", ["c2s", "s2c"])
async def test_backpressure(direction: str) -> None:
    """A side that does not read stalls the other through the proxy, which buffers a
    bounded amount instead of reading everything into memory."""
    pushed = 0
    stop = asyncio.Event()

    async def flood(writer: asyncio.StreamWriter) -> None:
        nonlocal pushed
        while not stop.is_set():
            writer.write(HEARTBEATS)
            await writer.drain()
            pushed += len(HEARTBEATS)

    async def upstream_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if direction == "s2c":
            await flood(writer)
        else:
            await stop.wait()  # never reads
        writer.close()

    fake = await asyncio.start_server(upstream_side, "127.0.0.1", 0)
    port = fake.sockets[0].getsockname()[1]
    async with RecordingProxy(f"amqp://127.0.0.1:{port}/") as proxy:
        _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.transport.set_write_buffer_limits(high=64 * 1024)
        if direction == "c2s":
            writer.write(b"AMQP\x00\x00\x09\x01")
            task = asyncio.create_task(flood(writer))
        else:
            task = asyncio.create_task(stop.wait())  # the client never reads
        # wait until the flood stops making progress: the buffers along the way are full
        stalled_at, last = -1, -1
        for _ in range(40):
            await asyncio.sleep(0.25)
            if pushed == last:
                stalled_at = pushed
                break
            last = pushed
        stop.set()
        task.cancel()
        writer.transport.abort()
        fake.close()
    # without backpressure the proxy would read on (64 MiB goes through in well under a
    # second); with it, only socket buffers (a few MiB) fill up before everything stops
    assert 0 < stalled_at < 32 * 1024 * 1024, (stalled_at, pushed)
    assert proxy.recorder.bytes_recorded <= pushed


# -- the command line ------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [("amqpmock.cli", "record"), ("amqpmock.proxy",)], ids=["amqpmock-record", "module"]
)
def test_command_line_records_until_interrupted(
    upstream: Upstream, tmp_path: Path, command: tuple[str, ...]
) -> None:
    cassette_path = tmp_path / "cli.yaml"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", *command, "--upstream", upstream.url),
            *("--cassette", str(cassette_path), "--listen", "127.0.0.1:0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        match = re.search(r"clients connect to (amqp://\S+)", lines[1])
        assert match, lines
        shown = match.group(1)
        assert "***" in shown and upstream.password not in "".join(lines)
        url = shown.replace("***", upstream.password)
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        channel.queue_declare("cli-q")
        channel.basic_publish("", "cli-q", b"via the command line")
        connection.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"wrote {cassette_path}: 1 connection(s)" in out and "complete" in out
    text = cassette_path.read_text()
    assert upstream.password not in text
    (conn,) = load_cassette(cassette_path).connections
    assert [i.body for i in conn if i.is_publish] == [b"via the command line"]


def test_command_line_rejects_a_bad_url(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "amqpmock.proxy", "--upstream", "http://u:secret@h/"),
            *("--cassette", str(tmp_path / "x.yaml")),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unsupported scheme" in done.stderr and "secret" not in done.stderr


def record_cli(url: str, cassette_path: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "amqpmock.cli", "record", "--upstream", url),
            *("--cassette", str(cassette_path), "--listen", "127.0.0.1:0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for _ in range(4):
        lines.append(proc.stdout.readline())
        match = re.search(r"clients connect to (amqp://\S+)", lines[-1])
        if match:
            return proc, match.group(1)
    raise AssertionError(lines)


def test_an_ordinary_word_password_never_costs_the_recording(
    rabbitmq_node: RabbitMQNode, tmp_path: Path
) -> None:
    # issue #13 item 6: guest:guest upstream, a body {"role": "guest"} and pika's
    # user_id=guest made the proxy refuse to write anything; 101 publishes were lost
    assert rabbitmq_node.url.startswith("amqp://guest:guest@")
    cassette_path = tmp_path / "guest.yaml"
    proc, shown = record_cli(rabbitmq_node.url, cassette_path)
    try:
        connection = pika.BlockingConnection(pika.URLParameters(shown.replace("***", "guest")))
        channel = connection.channel()
        channel.queue_declare("roles", auto_delete=True)
        for n in range(101):
            channel.basic_publish(
                "",
                "roles",
                json.dumps({"role": "guest", "n": n}),
                pika.BasicProperties(user_id="guest"),
            )
        connection.close()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "warning: a recorded password appears in the traffic" in err
    assert "left as it is" in err
    (conn,) = load_cassette(cassette_path).connections
    publishes = [i for i in conn if i.is_publish]
    assert len(publishes) == 101
    assert json.loads(publishes[0].body or b"") == {"role": "guest", "n": 0}


def test_credentials_in_traffic_are_redacted_by_default(
    upstream: Upstream, tmp_path: Path
) -> None:
    # issue #13 item 7: an Authorization header, a URL's password in a binary body and
    # the upstream's own (strong) password in a body never reach the cassette
    cassette_path = tmp_path / "creds.yaml"
    proc, shown = record_cli(upstream.url, cassette_path)
    try:
        connection = pika.BlockingConnection(
            pika.URLParameters(shown.replace("***", upstream.password))
        )
        channel = connection.channel()
        channel.queue_declare("creds", auto_delete=True)
        channel.basic_publish(
            "",
            "creds",
            b"\x00\xff dsn=postgres://app:Db-Pa55-word@db:5432/x \x01",
            pika.BasicProperties(headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9"}),
        )
        channel.basic_publish("", "creds", f"my password is {upstream.password}".encode())
        connection.close()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    text = cassette_path.read_text()
    for secret in ("eyJhbGciOiJIUzI1NiJ9", "Db-Pa55-word", upstream.password):
        assert secret not in text
    (conn,) = load_cassette(cassette_path).connections
    first, second = [i for i in conn if i.is_publish]
    assert first.properties is not None
    assert first.properties["headers"] == {"Authorization": "<redacted>"}
    assert b"postgres://app:<redacted>@db:5432/x" in (first.body or b"")
    assert second.body == b"my password is <redacted>"


def test_a_sigkilled_recording_is_recovered_with_every_confirmed_publish(
    upstream: Upstream, tmp_path: Path
) -> None:
    # issue #13 item 5: SIGKILL used to lose the whole recording (no cassette, no file)
    cassette_path = tmp_path / "killed.yaml"
    proc, shown = record_cli(upstream.url, cassette_path)
    journal = Path(f"{cassette_path}.journal")
    try:
        connection = pika.BlockingConnection(
            pika.URLParameters(shown.replace("***", upstream.password))
        )
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare("killed", auto_delete=True)
        for n in range(300):
            channel.basic_publish("", "killed", f"message {n}".encode())  # confirmed
        proc.kill()  # SIGKILL: no handler runs
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not cassette_path.exists()
    assert journal.exists() and journal.stat().st_mode & 0o777 == 0o600
    assert upstream.password.encode() in journal.read_bytes()  # raw traffic, until recovered
    done = subprocess.run(
        [
            *(sys.executable, "-m", "amqpmock.cli", "record"),
            *("--recover", str(journal), "--cassette", str(cassette_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"recovered {journal} into {cassette_path}" in done.stdout
    assert not journal.exists()
    cassette = load_cassette(cassette_path)
    assert not cassette.complete
    bodies = [i.body for conn in cassette.connections for i in conn if i.is_publish]
    assert bodies == [f"message {n}".encode() for n in range(300)]
    assert upstream.password not in cassette_path.read_text()


def test_the_next_recording_recovers_a_dead_ones_journal_first(
    upstream: Upstream, tmp_path: Path
) -> None:
    cassette_path = tmp_path / "again.yaml"
    proc, shown = record_cli(upstream.url, cassette_path)
    try:
        connection = pika.BlockingConnection(
            pika.URLParameters(shown.replace("***", upstream.password))
        )
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare("again", auto_delete=True)
        channel.basic_publish("", "again", b"before the crash")
    finally:
        proc.kill()
        proc.wait(30)
    proc, _shown = record_cli(upstream.url, cassette_path)  # recovers, then records
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    # the recovered session went to the cassette (none existed); the new recording saw
    # no connection at all, so it does not replace it
    assert "nothing was recorded" in out
    recovered = load_cassette(cassette_path)
    assert not recovered.complete
    assert [i.body for c in recovered.connections for i in c if i.is_publish] == [
        b"before the crash"
    ]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_the_recorder_closes_its_clients_with_320(
    upstream: Upstream, tmp_path: Path, signum: int
) -> None:
    # issue #13 item 3: the recording proxy gave its clients a bare EOF; RabbitMQ says
    # CONNECTION_FORCED when it stops, and so does the proxy now, then writes the cassette
    cassette_path = tmp_path / "stopped.yaml"
    proc, shown = record_cli(upstream.url, cassette_path)
    try:
        connection = pika.BlockingConnection(
            pika.URLParameters(shown.replace("***", upstream.password))
        )
        channel = connection.channel()
        channel.queue_declare("stopped", auto_delete=True)
        channel.basic_publish("", "stopped", b"before the stop")
        connection.process_data_events(time_limit=0.2)
        proc.send_signal(signum)
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            for _ in range(100):
                connection.process_data_events(time_limit=0.1)
        assert closed.value.reply_code == 320
        assert "reason 'shutdown'" in closed.value.reply_text
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    (conn,) = load_cassette(cassette_path).connections
    assert [i.body for i in conn if i.is_publish] == [b"before the stop"]
    assert conn.ending == "proxy-stopped"
