"""``rabbitmqadmin``, RabbitMQ's own management CLI, unmodified, against RabbitMQ 3.10.8
and against the fake: the script the management plugin serves at
``/cli/rabbitmqadmin`` is downloaded from the real node when the test runs (nothing of
it is kept in this repository), and the same command list runs against both. Each
command's exit code, output and error text must be the same, and so must the
definitions it exports.

rabbitmqadmin sends what it is given as strings (``durable=false``, ``count=5``) and
``arguments=`` / ``properties=`` as JSON, so this is the management API as a CLI client
sees it, with ``-f raw_json`` showing RabbitMQ's JSON text as it came.

What is not compared as it came, and why: a binding's ``properties_key`` after the
``~`` (a hash RabbitMQ makes of the arguments' Erlang term); the rows of whole-broker
lists that are not this test's (the session's node also holds other tests' users and
vhosts); the order of the queues and exchanges in an export (RabbitMQ's is the hash
order of its tables). Nothing else needs it: the commands ask for columns without node
names, ports, timestamps or generated ids."""

# Commands are RabbitMQ's exact command lines; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from .conftest import Target


@dataclass
class Settle:
    """Not a command: wait until the vhost's queues hold these counts. RabbitMQ's
    counts come from statistics emitted every 5 s (the fake's are live), and listing
    them before they are in would compare RabbitMQ's past with the fake's present."""

    vhost: str
    messages: dict[str, int]


@dataclass
class Ours:
    """A command that lists the whole broker (users, permissions, vhosts): only the
    header and the rows that name this test's objects are compared, because the
    session's RabbitMQ node also holds what other tests made."""

    line: str
    names: tuple[str, ...]


Step = list[str] | Settle | Ours

# RabbitMQ names a binding with arguments by a hash of their Erlang term
# (erlang:phash2), the fake by one of its own (a known difference, README): the
# properties_key after the "~" differs by nature, the routing key before it does not
HASHED_PROPERTIES_KEY = re.compile(r"~[A-Za-z0-9_-]+")


def commands(v: str, v2: str, user: str) -> list[Step]:
    """The command lines (after ``-H -P -u -p``), as a shell would split them."""
    ttl = """'arguments={"x-message-ttl":60000,"x-max-length":10,"x-weight":1000.0,"x-ratio":0.25}'"""
    props = """'properties={"content_type":"text/plain","delivery_mode":2,"priority":3,"headers":{"zone":"eu","attempt":1},"message_id":"m-1","timestamp":1700000000}'"""
    lines: list[str | Step] = [
        # vhosts
        f"declare vhost name={v}",
        f"declare vhost name={v}",
        # exchanges, as rabbitmqadmin sends them: every flag a string
        f"-V {v} declare exchange name=events type=topic durable=false auto_delete=false internal=false",
        f"-V {v} declare exchange name=events type=topic durable=false auto_delete=false internal=false",
        f"-V {v} declare exchange name=events type=topic",  # durable=true by default: refused
        f"-V {v} declare exchange name=audit type=fanout internal=true",
        f"-V {v} declare exchange name=odd type=nope",
        # queues: string flags, arguments as JSON
        f"-V {v} declare queue name=jobs durable=false",
        f"-V {v} declare queue name=slow durable=true auto_delete=false {ttl}",
        f"-V {v} declare queue name=slow durable=false",
        f"""-V {v} declare queue name=slow 'arguments={{"x-message-ttl":30000}}'""",
        f"-V {v} declare queue name=bad durable=yes",
        f"""-V {v} declare queue name=typed 'arguments={{"x-message-ttl":"1000"}}'""",
        f"-V {v} declare queue name=café/☃ durable=false",
        f"-V {v}-missing declare queue name=jobs",
        # bindings
        f"-V {v} declare binding source=events destination=jobs routing_key=job.*",
        f"-V {v} declare binding source=events destination=slow routing_key=#",
        f"-V {v} declare binding source=events destination=audit destination_type=exchange routing_key=audit.#",
        f"""-V {v} declare binding source=events destination=jobs routing_key=hdr 'arguments={{"x-match":"any","kind":"a"}}'""",
        f"-V {v} declare binding source=missing destination=jobs",
        f"-V {v} declare binding source=events destination=missing",
        # publish: routed, to the default exchange, not routed, refused
        f"-V {v} publish exchange=events routing_key=job.created payload=hello {props}",
        f"-V {v} publish exchange=events routing_key=job.done payload=café",
        f"-V {v} publish exchange=events routing_key=nowhere 'payload=only slow'",
        f"-V {v} publish routing_key=jobs payload=direct",
        f"-V {v} publish exchange=amq.direct routing_key=none payload=lost",
        f"-V {v} publish exchange=audit routing_key=x payload=internal",
        f"-V {v} publish exchange=missing routing_key=x payload=y",
        f"""-V {v} publish exchange=events routing_key=job.x payload=p 'properties={{"delivery_mode":"2"}}'""",
        Settle(v, {"café/☃": 0, "jobs": 3, "slow": 3}),
        # lists with columns (and the CLI's default ones), sorted
        f"-V {v} list queues",
        f"-V {v} list queues name messages durable",
        f"-V {v} -f tsv list queues name messages durable auto_delete arguments.x-message-ttl",
        f"-V {v} -f raw_json list queues name durable arguments",
        f"-V {v} -f tsv -S messages -R list queues name messages",
        f"-V {v} list exchanges",
        f"-V {v} -f tsv list exchanges name type durable auto_delete internal",
        f"-V {v} -f raw_json -S type list exchanges name type",
        f"-V {v} -f tsv list bindings source destination destination_type routing_key properties_key",
        f"-V {v} -f raw_json list bindings source routing_key arguments",
        f"-V {v} -f raw_json -S destination list bindings destination routing_key",
        # get: count and ackmode as strings
        f"-V {v} -f raw_json get queue=jobs count=5 ackmode=ack_requeue_true",
        f"-V {v} get queue=jobs count=1",
        f"-V {v} -f tsv -d 3 get queue=slow count=2 ackmode=ack_requeue_false",
        f"-V {v} -f raw_json get queue=slow count=5 encoding=base64 ackmode=reject_requeue_true",
        f"-V {v} get queue=jobs count=x",
        f"-V {v} get queue=missing",
        # purge
        f"-V {v} purge queue name=jobs",
        f"-V {v} -f raw_json get queue=jobs",
        f"-V {v} purge queue name=missing",
        # a vhost that is not there
        f"-V {v}-missing publish routing_key=jobs payload=p",
        f"-V {v}-missing get queue=jobs",
        f"-V {v}-missing declare binding source=events destination=jobs",
        f"-V {v}-missing export missing.json",
        f"-V {v}-missing list queues",
        Settle(v, {"café/☃": 0, "jobs": 0, "slow": 1}),
        f"-V {v} -f tsv list queues name messages messages_ready messages_unacknowledged",
        # export, then import into a fresh vhost
        f"-V {v} export definitions.json",
        f"declare vhost name={v2}",
        Ours("-f tsv list vhosts name messages", (v2,)),  # no queue yet: no count
        f"-V {v2} import definitions.json",
        f"-V {v2} -f tsv list queues name durable auto_delete arguments.x-max-length",
        f"-V {v2} -f tsv list exchanges name type durable internal",
        f"-V {v2} -f tsv list bindings source destination routing_key",
        f"-V {v2} export imported.json",
        # delete, then import the export back
        f"-V {v} delete binding source=events destination_type=queue destination=slow properties_key=#",
        f"-V {v} delete binding source=events destination_type=queue destination=slow properties_key=#",
        f"-V {v} delete queue name=jobs",
        f"-V {v} delete queue name=jobs",
        f"-V {v} delete exchange name=events",
        f"-V {v} -f tsv list bindings source destination routing_key",
        f"-V {v} import definitions.json",
        f"-V {v} -f tsv list queues name durable arguments.x-message-ttl",
        f"-V {v} -f tsv list bindings source destination routing_key",
        # a management user of its own vhost
        f"declare user name={user} password=pw tags=management",
        f"declare permission vhost={v} user={user} configure=^$ write=^$ read=job",
        Ours("-f tsv list permissions vhost user configure write read", (v, v2)),
        Ours("-f tsv list users name tags", (user,)),
        f"-u {user} -p pw -f tsv list vhosts name",
        # write=^$ does not take the default exchange: its name is amq.default here
        f"-u {user} -p pw -V {v} publish routing_key=jobs payload=default",
        f"-u {user} -p pw -V {v} publish exchange=amq.direct routing_key=jobs payload=refused",
        # read=job is searched for in the name: it lets jobs be read, not slow
        f"-u {user} -p pw -V {v} -f raw_json get queue=jobs ackmode=ack_requeue_false",
        f"-u {user} -p pw -V {v} get queue=slow",
        f"-u {user} -p pw -V {v} declare queue name=mine",
        f"-u {user} -p pw -V {v2} list queues",
        f"-u {user} -p pw list users",
        f"-u {user} -p wrong list vhosts",
        f"delete user name={user}",
        # and gone
        f"delete vhost name={v2}",
        f"delete vhost name={v}",
        f"delete vhost name={v}",
        Ours("-f tsv list vhosts name", (v, v2)),
    ]
    return [shlex.split(line) if isinstance(line, str) else line for line in lines]


def download(target: Target, into: Path) -> Path:
    """The management plugin's own copy of rabbitmqadmin."""
    with urllib.request.urlopen(target.http_url + "/cli/rabbitmqadmin", timeout=10) as answer:
        text = answer.read().decode()
    assert text.startswith("#!/usr/bin/env python3") and "VERSION = '3.10.8'" in text
    script = into / "rabbitmqadmin"
    script.write_text(text)
    return script


def settle(target: Target, step: Settle, timeout: float = 20.0) -> None:
    path = f"/api/queues/{quote(step.vhost, safe='')}?columns=name,messages"

    def counts() -> dict[str, Any]:
        return {q["name"]: q.get("messages") for q in target.call("GET", path).body}

    deadline = time.monotonic() + timeout
    while counts() != step.messages and time.monotonic() < deadline:
        time.sleep(0.25)
    assert counts() == step.messages, target.name


def transcript(target: Target, script: Path, workdir: Path, steps: list[Step]) -> str:
    """Each command line, its exit code, its output and its error text."""
    workdir.mkdir()
    login = [
        "-H",
        "127.0.0.1",
        "-P",
        str(urlsplit(target.http_url).port),
        "-u",
        "guest",
        "-p",
        "guest",
    ]
    # HOME: no ~/.rabbitmqadmin.conf of this machine's; UTF-8 whatever the locale
    env = {**os.environ, "HOME": str(workdir), "PYTHONUTF8": "1"}
    out: list[str] = []
    for step in steps:
        if isinstance(step, Settle):
            settle(target, step)
            continue
        args, keep = step, None
        if isinstance(step, Ours):
            args, names = shlex.split(step.line), step.names
            keep = _ours(names)
        done = subprocess.run(
            [sys.executable, str(script), *login, *args],
            capture_output=True,
            text=True,
            cwd=workdir,
            env=env,
            timeout=30,
        )
        lines = done.stdout.splitlines()
        if keep is not None:
            lines = lines[:1] + [line for line in lines[1:] if keep(line)]
        text = HASHED_PROPERTIES_KEY.sub("~<hash>", "\n".join(lines))
        out.append(f"$ rabbitmqadmin {' '.join(args)}\nexit {done.returncode}\n{text}")
        if done.stderr:
            out.append("stderr: " + done.stderr.rstrip("\n"))
    return "\n".join(out) + "\n"


def _ours(names: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda line: any(field in names for field in line.split("\t"))


def _definitions(path: Path) -> tuple[dict[str, Any], int]:
    """An export file, its queues and exchanges by name: RabbitMQ lists them in the
    hash order of its Mnesia tables (a known difference, README), and with it the
    file's length (the same items in another order are as long)."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    for key in ("queues", "exchanges"):
        data[key] = sorted(data[key], key=lambda item: item["name"])
    return data, len(text)


def _cleanup(target: Target, names: tuple[str, str, str]) -> None:
    v, v2, user = names
    for path in (
        f"/api/vhosts/{quote(v, safe='')}",
        f"/api/vhosts/{quote(v2, safe='')}",
        f"/api/users/{quote(user, safe='')}",
    ):
        target.call("DELETE", path)


@pytest.mark.rabbitmq
def test_rabbitmqadmin_gives_the_same_answers(
    rabbitmq_target: Target, fake_target: Target, tmp_path: Path
) -> None:
    script = download(rabbitmq_target, tmp_path)
    tag = uuid.uuid4().hex[:8]
    names = (f"ra{tag}.main", f"ra{tag}.copy", f"ra{tag}.user")
    steps = commands(*names)
    try:
        real = transcript(rabbitmq_target, script, tmp_path / "rabbitmq", steps)
    finally:
        _cleanup(rabbitmq_target, names)
    fake = transcript(fake_target, script, tmp_path / "amqpmock", steps)
    assert fake == real, "\n".join(
        difflib.unified_diff(
            real.splitlines(), fake.splitlines(), "rabbitmq", "amqpmock", lineterm=""
        )
    )
    for exported in ("definitions.json", "imported.json"):
        assert _definitions(tmp_path / "amqpmock" / exported) == _definitions(
            tmp_path / "rabbitmq" / exported
        ), exported
