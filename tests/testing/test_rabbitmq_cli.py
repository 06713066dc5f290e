"""``amqpmock rabbitmq``: a throwaway real node on loopback, stopped cleanly by SIGTERM."""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pika
import pytest

from amqpmock.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _lines_until(proc: subprocess.Popen[str], last: str, timeout: float) -> list[str]:
    """Lines of the command's stdout up to the one starting with ``last``. Read in a
    thread: a select() on the pipe would not see lines already in the text buffer."""
    assert proc.stdout is not None
    stdout = proc.stdout
    got: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [got.put(line) for line in stdout], daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = got.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(last):
            return lines
    raise AssertionError(f"no {last!r} line in time; got {lines}")


def _closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


@pytest.mark.rabbitmq
def test_it_prints_the_url_serves_clients_and_stops_on_sigterm() -> None:
    command = ["rabbitmq", "--management", "--user", "rec", "--password", "s3cret"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "amqpmock.cli", *command],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _lines_until(proc, "stop:", timeout=60)
        url = lines[0]
        assert url.startswith("amqp://rec:s3cret@127.0.0.1:"), lines
        said = dict(line.split(": ", 1) for line in lines[1:])
        port = int(said["AMQP port"].split()[0])
        http_port = int(said["management HTTP port"].split()[0])
        data = Path(said["data"].split(" (")[0])
        assert f"kill -TERM {proc.pid}" in said["stop"]
        assert data.is_dir()

        conn = pika.BlockingConnection(pika.URLParameters(url))
        ch = conn.channel()
        ch.queue_declare("cli-rabbit-q")
        ch.basic_publish("", "cli-rabbit-q", b"via a real node")
        _, _, body = ch.basic_get("cli-rabbit-q", auto_ack=True)
        assert body == b"via a real node"
        conn.close()

        request = urllib.request.Request(f"http://127.0.0.1:{http_port}/api/overview")
        token = base64.b64encode(b"rec:s3cret").decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert "rabbitmq_version" in json.load(response)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()
        assert _closed(port) and _closed(http_port)
        assert not data.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_port_in_use_is_refused_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["rabbitmq", "--port", str(port)]) == 1
    assert f"--port {port} is in use on 127.0.0.1" in capsys.readouterr().err
