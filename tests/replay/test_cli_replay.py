"""`amqpmock replay`: a cassette served to any client over TCP."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pika

from .test_engine import CASSETTE, oslo

AMQPMOCK = [sys.executable, "-m", "amqpmock.cli"]


def test_replay_serves_recorded_replies_to_a_pika_client(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(CASSETTE)
    proc = subprocess.Popen(
        [*AMQPMOCK, "replay", "--cassette", str(path), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("amqp://guest:guest@127.0.0.1:")
        conn = pika.BlockingConnection(pika.URLParameters(url))
        ch = conn.channel()
        reply_q = "reply_" + "7" * 32
        ch.queue_declare(reply_q)
        ch.exchange_declare("neutron", "topic")
        msg_id = "3" * 32
        ch.basic_publish(
            "neutron",
            "dhcp_agent.node-1",
            oslo(
                {
                    "method": "get_networks",
                    "args": {"host": "h1"},
                    "_msg_id": msg_id,
                    "_reply_q": reply_q,
                }
            ),
            pika.BasicProperties(content_type="application/json"),
            mandatory=True,
        )
        body = None
        for _ in range(100):
            method, _props, body = ch.basic_get(reply_q, auto_ack=True)
            if method:
                break
            conn.sleep(0.02)
        assert body is not None
        reply = json.loads(json.loads(body)["oslo.message"])
        assert reply["result"] == ["net-1"] and reply["_msg_id"] == msg_id
        conn.close()
        # SIGTERM ends a replay as Ctrl-C does: clients closed, then the report; the
        # recorded event on 'events' was never consumed, so it is named and exit is 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 1
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "Traceback" not in err
        assert "1 of 1 recorded publishes replayed, 0 live publishes matched nothing" in err
        assert "outside delivery never injected: queue='events'" in err
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_replay_names_a_missing_cassette(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = subprocess.run(
        [*AMQPMOCK, "replay", "--cassette", str(missing)], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert str(missing) in result.stderr


def replay(path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*AMQPMOCK, "replay", "--cassette", str(path), "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=10)
    assert proc.stderr is not None
    return code, proc.stderr.read()


RECORDED_LOGIN = """
version: 1
amqpmock: 0.1.0
connections:
- id: 1
  interactions:
  - dir: c2s
    channel: 0
    method: Connection.StartOk
    args: {mechanism: PLAIN, response: "\\0orders-svc\\0<redacted>", locale: en_US}
  - {dir: c2s, channel: 0, method: Connection.Open, args: {virtual_host: shop}}
  - {dir: c2s, channel: 1, method: Queue.Declare, args: {queue: orders}}
  - dir: c2s
    channel: 1
    method: Basic.Publish
    args: {exchange: "", routing_key: orders}
    body: '{"order": 1, "meta": {"id": "a1"}}'
    outcome: routed
"""


def test_replay_takes_the_recorded_user_any_password_and_the_matching_options(
    tmp_path: Path,
) -> None:
    path = tmp_path / "login.yaml"
    path.write_text(RECORDED_LOGIN)
    proc = replay(path, "--ignore-fields", "meta.id", "--match-on", "routing_key,body")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        port = url.rsplit(":", 1)[1].rstrip("/")
        # the recorded user name, a password the cassette never saw, the recorded vhost
        conn = pika.BlockingConnection(
            pika.URLParameters(f"amqp://orders-svc:anything@127.0.0.1:{port}/shop")
        )
        ch = conn.channel()
        ch.queue_declare("orders")
        # meta.id is ignored, and the exchange is not matched on (--match-on)
        ch.basic_publish("", "orders", json.dumps({"order": 1, "meta": {"id": "zz"}}))
        conn.close()
        code, err = stop(proc)
        assert code == 0, err
        assert "1 of 1 recorded publishes replayed, 0 live publishes matched nothing" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_replay_reports_mismatches_and_unplayed_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "login.yaml"
    path.write_text(RECORDED_LOGIN)
    proc = replay(path, "--user", "alice:s3cret")
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip().rsplit(":", 1)[1].rstrip("/")
        conn = pika.BlockingConnection(
            pika.URLParameters(f"amqp://alice:s3cret@127.0.0.1:{port}/shop")
        )
        ch = conn.channel()
        ch.queue_declare("orders")
        ch.basic_publish("", "orders", json.dumps({"order": 2, "meta": {"id": "a1"}}))
        conn.sleep(0.2)
        code, err = stop(proc)
        assert code == 1
        assert "0 of 1 recorded publishes replayed, 1 live publishes matched nothing" in err
        assert "body: /order: 2 != 1" in err
        assert "publish never replayed" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    # with --allow-unused, a run that published nothing is fine
    proc = replay(path, "--allow-unused")
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        code, err = stop(proc)
        assert code == 0, err
        assert "0 of 1 recorded publishes replayed" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_replay_serves_the_management_and_control_apis(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(CASSETTE)
    proc = replay(path)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        http = proc.stdout.readline().strip()
        assert http.startswith("http://127.0.0.1:")
        token = base64.b64encode(b"guest:guest").decode()

        def get(path: str) -> object:
            request = urllib.request.Request(http + path)
            request.add_header("Authorization", f"Basic {token}")
            with urllib.request.urlopen(request, timeout=5) as answer:
                return json.loads(answer.read())

        conn = pika.BlockingConnection(pika.URLParameters(url))
        conn.channel().basic_publish("", "nobody", b"seen over http")
        conn.close()
        published = get("/amqpmock/records/published")
        assert isinstance(published, list)
        assert [r["body"] for r in published if r["routing_key"] == "nobody"] == ["seen over http"]
        assert get("/api/whoami") == {"name": "guest", "tags": ["administrator"]}
    finally:
        stop(proc)
