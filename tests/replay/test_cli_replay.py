"""`amqpmock replay`: a cassette served to any client over TCP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
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
        # SIGTERM ends a replay as Ctrl-C does: clients closed, report, exit status
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()
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
