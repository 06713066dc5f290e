"""``amqpmock show`` on the cassettes committed under cassettes/ (recorded against
RabbitMQ 3.10 by tests/proxy): the seed's oslo.messaging flows, an aio-pika RPC
exchange, and pika acks with a requeue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from amqpmock.cassette import Cassette
from amqpmock.cli import main
from amqpmock.view.flows import flow_from_cassette
from amqpmock.view.timeline import render_timeline

from .conftest import all_committed, committed


def show(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[str]:
    assert main(["show", str(path), *extra]) == 0
    out = capsys.readouterr().out
    return out.splitlines()


def index_of(lines: list[str], pattern: str) -> int:
    for n, line in enumerate(lines):
        if re.search(pattern, line):
            return n
    raise AssertionError(f"no line matches {pattern!r} in:\n" + "\n".join(lines))


def test_oslo_call_cast_fanout_cast(capsys: pytest.CaptureFixture[str]) -> None:
    lines = show(committed("oslo_messaging_rpc.yaml"), capsys)
    text = "\n".join(lines)
    # handshakes are one line per connection, never their frames
    assert "Connection.Start" not in text and "Connection.Tune" not in text
    assert (
        len([x for x in lines if re.match(r"c\d\s+connect\s+py-amqp .*handshake: 6 frames", x)])
        == 2
    )
    call = index_of(
        lines, r'^c2\.1\s+publish\s+#1 call get_active_networks\(host="node-1"\) \[rpc 1\]$'
    )
    assert re.search(
        r"-> neutron \(topic\) key dhcp_agent\.node-1 => outside dhcp_agent", lines[call + 1]
    )
    reply = index_of(
        lines, r'^out\s+publish\s+#2 reply to rpc 1: result=\["net-for-node-1"\] \(ending\)'
    )
    assert re.search(r"-> \(default\) key (reply_\w+) => queue \1$", lines[reply + 1])
    deliver = index_of(lines, r"^c1\.1\s+deliver\s+#2 from reply_\w+ \(tag 1\): reply to rpc 1")
    ack = index_of(lines, r"^c1\.1\s+ack\s+tag 1 \(#2\) on reply_\w+$")
    cast = index_of(lines, r'^c2\.1\s+publish\s+#3 cast port_update\(port=\{"id": "p1"\}\)$')
    assert "-> neutron (topic) key dhcp_agent =>" in lines[cast + 1]
    fanout = index_of(
        lines, r'^c2\.1\s+publish\s+#4 fanout_cast network_delete\(network_id="n1"\)$'
    )
    assert "-> dhcp_agent_fanout (fanout) (no key) => outside dhcp_agent" in lines[fanout + 1]
    # causal order across the two connections: request, reply, delivery, ack
    assert call < reply < deliver < ack
    rpc = index_of(lines, r"^  rpc 1 ")
    assert re.search(
        r'oslo\s+conn 2 -> dhcp_agent: #1 get_active_networks\(host="node-1"\) => answered '
        r'<- #2 result=\["net-for-node-1"\] \(ending\)$',
        lines[rpc],
    )
    assert lines[-1] == (
        "summary: 2 connections, 2 channels, 4 messages (3 published, 1 from outside), "
        "1 delivery, 1 RPC call (1 answered), 1 cast, 1 fanout_cast, 1 ack, 0 nacks/rejects, "
        "0 requeues, 0 returns, 0 dead letters, 3 redactions"
    )


def test_aio_pika_rpc_pairs_requests_and_replies(capsys: pytest.CaptureFixture[str]) -> None:
    lines = show(committed("aio_pika_rpc.yaml"), capsys)
    first = index_of(lines, r'^c1\.1\s+publish\s+#1 call multiply \{"x": 1, "y": 3\} \[rpc 1\]$')
    assert "=> outside multiply [mandatory, confirm acked]" in lines[first + 1]
    assert (
        index_of(lines, r"^out\s+publish\s+#2 reply to rpc 1: 3 \(from outside multiply\)$")
        > first
    )
    index_of(
        lines, r"^c1\.1\s+deliver\s+#2 from amq\.gen-\S+ \(tag 1, no-ack\): reply to rpc 1: 3$"
    )
    index_of(lines, r"^out\s+publish\s+#4 reply to rpc 2: 6")
    returned = index_of(lines, r"^c1\.1\s+publish\s+#5 call nobody_serves_this \{\} \[rpc 3\]$")
    assert "=> returned (no route) [mandatory, confirm acked]" in lines[returned + 1]
    assert re.match(
        r"^c1\.1\s+return\s+#5 returned by \(default\): 312 NO_ROUTE$", lines[returned + 2]
    )
    rpc_lines = [x for x in lines if x.startswith("  rpc ")]
    assert [re.sub(r"\s+", " ", x.strip()) for x in rpc_lines] == [
        'rpc 1 amqp conn 1 -> multiply: #1 multiply {"x": 1, "y": 3} => answered <- #2 3',
        'rpc 2 amqp conn 1 -> multiply: #3 multiply {"x": 2, "y": 3} => answered <- #4 6',
        "rpc 3 amqp conn 1 -> nobody_serves_this: #5 nobody_serves_this {} => returned",
    ]
    assert "3 RPC calls (2 answered)" in lines[-1] and "1 return," in lines[-1]


def test_pika_acks_and_requeue(capsys: pytest.CaptureFixture[str]) -> None:
    lines = show(committed("pika_publish_consume.yaml"), capsys, "--expand")
    publishes = [x for x in lines if re.match(r"^c1\.1\s+publish", x)]
    assert [x.split()[-1] for x in publishes] == ["m1", "m2", "m3", "lost"]
    nack = index_of(lines, r"^c1\.1\s+nack\s+tag 2 \(#2\) on amq\.gen-\S+ -> REQUEUED$")
    again = index_of(
        lines, r"^c1\.1\s+deliver\s+#2 from amq\.gen-\S+ \(tag 4, REDELIVERED\): message m2$"
    )
    assert nack < again
    assert len([x for x in lines if re.match(r"^c1\.1\s+ack\s", x)]) == 3
    index_of(lines, r"^c1\.1\s+return\s+#4 returned by \(default\): 312 NO_ROUTE$")
    assert lines[-1].endswith(
        "4 deliveries, 0 RPC calls, 0 casts, 0 fanout_casts, 3 acks, 1 nack/reject, "
        "1 requeue, 1 return, 0 dead letters, 2 redactions"
    )


@pytest.mark.parametrize("path", all_committed(), ids=lambda p: p.name)
def test_every_committed_cassette_shows(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = show(path, capsys)
    assert lines[0].startswith(path.name + " - RabbitMQ 3.")
    assert lines[-1].startswith("summary: ")
    assert all(line.isascii() for line in lines)
    connections = {m.group(1) for x in lines if (m := re.match(r"^c(\d+)\s+connect\s", x))}
    closes = {m.group(1) for x in lines if (m := re.match(r"^c(\d+)\s+close\s+clean", x))}
    assert connections and connections == closes


def test_short_runs_stay_in_full(pika_cassette: Cassette) -> None:
    """Three publishes in a row are not folded into ``repeat``: only runs of four or
    more are (see test_flows.test_long_sessions_fold_repeats)."""
    text = render_timeline(flow_from_cassette(pika_cassette), collapse=True)
    assert "repeat x" not in text
    assert [line.split()[-1] for line in text.splitlines() if " publish " in line] == [
        "m1",
        "m2",
        "m3",
        "lost",
    ]


def test_show_reports_a_missing_or_broken_cassette(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(tmp_path / "nope.yaml")]) == 1
    assert "amqpmock show:" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nconnections: [{id: 1, interactions: [{dir: up}]}]\n")
    assert main(["show", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "broken.yaml" in err and "connections[0].interactions[0]" in err
