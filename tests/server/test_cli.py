"""``amqpmock serve``: prints its URL, serves real clients, stops on Ctrl-C."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pika
import pytest

from amqpmock.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_serve_prints_the_url_and_stops_on_ctrl_c() -> None:
    with serving() as (proc, url):
        assert url.startswith("amqp://guest:guest@127.0.0.1:") and url.endswith("/")
        conn = pika.BlockingConnection(pika.URLParameters(url))
        ch = conn.channel()
        ch.queue_declare("cli-q")
        ch.basic_publish("", "cli-q", b"via cli")
        _, _, body = ch.basic_get("cli-q", auto_ack=True)
        assert body == b"via cli"
        conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()


def test_serve_with_users_and_vhosts() -> None:
    with serving("--user", "alice:s3cret", "--vhost", "dev") as (proc, url):
        assert url.startswith("amqp://alice:s3cret@")
        conn = pika.BlockingConnection(pika.URLParameters(url + "dev"))
        assert conn.channel().is_open
        conn.close()
        default_vhost = pika.BlockingConnection(pika.URLParameters(url))
        default_vhost.close()
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(pika.URLParameters(url.replace("alice:s3cret", "guest:guest")))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_bad_user_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--user", "nocolon"])
    assert caught.value.code == 2
    assert "expected NAME:PASSWORD" in capsys.readouterr().err


def test_a_command_is_required() -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args([])
    assert caught.value.code == 2


def test_serve_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.user, args.vhost) == ("127.0.0.1", 5672, None, None)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_closes_clients_with_320_on_sigterm_and_sigint(signum: int) -> None:
    # RabbitMQ answers SIGTERM with Connection.Close 320 to every client, not a reset
    with serving() as (proc, url):
        conn = pika.BlockingConnection(pika.URLParameters(url))
        conn.channel()
        proc.send_signal(signum)
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            for _ in range(100):
                conn.process_data_events(time_limit=0.1)
        assert closed.value.reply_code == 320
        assert "broker forced connection closure with reason 'shutdown'" in (
            closed.value.reply_text
        )
        assert proc.wait(10) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()


def test_serve_prints_the_management_api_and_stops_it_with_the_server() -> None:
    with serving("--user", "alice:s3cret") as (proc, url):
        assert url.startswith("amqp://alice:s3cret@")
        assert proc.stdout is not None
        http = proc.stdout.readline().strip()
        assert http.startswith("http://127.0.0.1:")
        request = urllib.request.Request(http + "/api/whoami")
        token = base64.b64encode(b"alice:s3cret").decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read()) == {"name": "alice", "tags": ["administrator"]}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(http + "/api/overview", timeout=2)


def test_serve_without_the_management_api() -> None:
    with serving("--no-http") as (proc, url):
        assert url.startswith("amqp://")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        assert proc.stdout is not None
        assert proc.stdout.read() == ""  # no http:// line
