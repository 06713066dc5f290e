"""``amqpmock control``: the control API's restart, alarm and fault doors from a shell,
against ``amqpmock serve`` in its own process, with pika as the client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pika
import pika.exceptions
import pytest

from tests.server.test_cli import ROOT, serving


def control(
    http: str | None, *args: str, user: str = "guest:guest"
) -> subprocess.CompletedProcess[str]:
    """``amqpmock control`` in its own process; ``http`` None: no --http (and no
    $AMQPMOCK_HTTP)."""
    env = {k: v for k, v in os.environ.items() if k != "AMQPMOCK_HTTP"}
    where = [] if http is None else ["--http", http]
    return subprocess.run(
        [sys.executable, "-m", "amqpmock.cli", "control", *where, "--user", user, *args],
        cwd=ROOT,
        env=dict(env, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_restart_closes_clients_with_320_and_stays_down_until_come_up() -> None:
    with serving() as (proc, url):
        assert proc.stdout is not None
        http = proc.stdout.readline().strip()
        conn = pika.BlockingConnection(pika.URLParameters(url))
        ch = conn.channel()
        ch.queue_declare("kept", durable=True)
        ch.queue_declare("gone")
        done = control(http, "restart", "--stay-down")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["down"] is True
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            ch.queue_declare("kept", passive=True)
        assert closed.value.reply_code == 320
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            pika.BlockingConnection(pika.URLParameters(url))
        up = control(http, "come-up")
        assert up.returncode == 0 and json.loads(up.stdout) == {"down": False}
        conn = pika.BlockingConnection(pika.URLParameters(url))
        ch = conn.channel()
        ch.queue_declare("kept", passive=True, durable=True)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as missing:
            ch.queue_declare("gone", passive=True)
        assert missing.value.reply_code == 404
        conn.close()


def test_alarms_and_faults() -> None:
    with serving() as (proc, url):
        assert proc.stdout is not None
        http = proc.stdout.readline().strip()
        assert json.loads(control(http, "alarm", "memory").stdout) == {"alarms": ["memory"]}
        assert json.loads(control(http, "alarm", "disk").stdout) == {"alarms": ["disk", "memory"]}
        assert json.loads(control(http, "clear-alarm", "disk").stdout) == {"alarms": ["memory"]}
        assert json.loads(control(http, "alarms").stdout) == {"alarms": ["memory"]}
        assert json.loads(control(http, "clear-alarm", "memory").stdout) == {"alarms": []}

        params = pika.URLParameters(url + "?heartbeat=0")
        params.client_properties = {"connection_name": "victim"}
        victim = pika.BlockingConnection(params)
        bystander = pika.BlockingConnection(pika.URLParameters(url))
        cut = control(http, "fault", "reset_peer", "--connection", "victim")
        assert cut.returncode == 0, cut.stderr
        assert json.loads(cut.stdout) == {"connections": 1}
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            for _ in range(50):
                victim.process_data_events(time_limit=0.1)
        assert bystander.channel().is_open
        slow = control(http, "fault", "latency", "--latency", "0.3", "--for", "5")
        assert slow.returncode == 0 and json.loads(slow.stdout) == {"connections": 1}
        ch = bystander.channel()
        started = time.monotonic()
        ch.queue_declare("slow")
        assert time.monotonic() - started >= 0.3
        assert control(http, "clear-faults").returncode == 0
        bystander.close()


def test_what_goes_wrong_is_said_in_one_line() -> None:
    with serving() as (proc, _url):
        assert proc.stdout is not None
        http = proc.stdout.readline().strip()
        refused = control(http, "alarm", "memory", user="guest:wrong")
        assert refused.returncode == 1
        assert refused.stderr.startswith("amqpmock control: POST ") and "401" in refused.stderr
        assert "Traceback" not in refused.stderr
    gone = control(http, "reset")
    assert gone.returncode == 2 and "cannot reach" in gone.stderr
    assert "Traceback" not in gone.stderr
    missing = control(None, "reset")
    assert missing.returncode == 2 and "--http URL" in missing.stderr
    bad = control(http, "restart", "--down-for", "-1")
    assert bad.returncode == 2 and "expected 0 seconds or more" in bad.stderr
