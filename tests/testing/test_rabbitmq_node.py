"""RabbitMQNode leaves nothing behind, even when its owner is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.rabbitmq

OWNER = """
import json, sys, time
from amqpmock.testing.rabbitmq import RabbitMQNode
node = RabbitMQNode().start()
pid = int(node.pid_file.read_text().strip())
print(json.dumps({"pid": pid, "workdir": str(node.workdir), "port": node.port}), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rpartition(")")[2].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_a_killed_owner_takes_its_node_and_directory_with_it() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert owner.stdout is not None
        started = json.loads(owner.stdout.readline())
        beam, workdir = started["pid"], Path(started["workdir"])
        assert _alive(beam) and workdir.exists()
        os.kill(owner.pid, signal.SIGKILL)  # no stop(), no atexit, no finally
        owner.wait()
        assert _wait_gone(beam, 30), f"RabbitMQ (pid {beam}) outlived its killed owner"
        deadline = time.monotonic() + 10
        while workdir.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not workdir.exists()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_stop_ends_the_watchdog_too() -> None:
    from amqpmock.testing.rabbitmq import RabbitMQNode

    node = RabbitMQNode().start()
    watchdog = node._watchdog
    assert watchdog is not None and watchdog.poll() is None
    beam = int(node.pid_file.read_text().strip())
    node.stop()
    assert watchdog.poll() is not None
    assert not _alive(beam)
