"""Folding repeated events (issue 18): ``amqpmock show`` and ``amqpmock diagram`` fold
only messages that are the same, and a fold of messages that differ says so and shows
them, never one body for all. The cassette is written by hand: a consumer of
``stock.changed`` events published by somebody outside the recording."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from amqpmock.cassette import Cassette, CassetteConnection, Interaction, write_cassette
from amqpmock.cli import main

from .conftest import Dom

DIFFERENT = 52
SAME = 5
HEADERS = 4


def c2s(channel: int, method: str, **args: Any) -> Interaction:
    return Interaction("c2s", channel, method, args)


def s2c(channel: int, method: str, **args: Any) -> Interaction:
    return Interaction("s2c", channel, method, args)


def event(tag: int, body: dict[str, Any], **props: Any) -> list[Interaction]:
    """An outside ``stock.changed`` delivery on channel 1, and its ack."""
    deliver = Interaction(
        "s2c",
        1,
        "Basic.Deliver",
        {
            "consumer_tag": "ctag",
            "delivery_tag": tag,
            "redelivered": False,
            "exchange": "stock",
            "routing_key": "stock.changed",
        },
        properties={"content_type": "application/json", **props},
        body=json.dumps(body).encode(),
        origin="outside",
    )
    return [deliver, c2s(1, "Basic.Ack", delivery_tag=tag, multiple=False)]


def stock_cassette(path: Path) -> Path:
    """52 events with 52 different bodies, then 5 equal ones (their ``message_id`` is
    their own, which does not make them different), then 4 with the same body and
    different headers."""
    items = [
        s2c(0, "Connection.Start", server_properties={"product": "RabbitMQ"}),
        c2s(
            0,
            "Connection.StartOk",
            client_properties={"product": "pika", "version": "1.3.2"},
            mechanism="PLAIN",
            response="\x00guest\x00<redacted>",
        ),
        s2c(0, "Connection.Tune", heartbeat=60),
        c2s(0, "Connection.TuneOk", heartbeat=60),
        c2s(0, "Connection.Open", virtual_host="/"),
        s2c(0, "Connection.OpenOk"),
        c2s(1, "Channel.Open"),
        s2c(1, "Channel.OpenOk"),
        c2s(1, "Exchange.Declare", exchange="stock", exchange_type="topic"),
        s2c(1, "Exchange.DeclareOk"),
        c2s(1, "Queue.Declare", queue="stock-watch"),
        s2c(1, "Queue.DeclareOk", queue="stock-watch"),
        c2s(1, "Queue.Bind", queue="stock-watch", exchange="stock", routing_key="stock.*"),
        s2c(1, "Queue.BindOk"),
        c2s(1, "Basic.Consume", queue="stock-watch", consumer_tag="", no_ack=False),
        s2c(1, "Basic.ConsumeOk", consumer_tag="ctag"),
    ]
    tag = 0
    for n in range(DIFFERENT):
        tag += 1
        items += event(tag, {"sku": f"A-{n}", "level": 100 - n})
    for n in range(SAME):
        tag += 1
        items += event(tag, {"sku": "B-1", "level": 7}, message_id=f"evt-{n}")
    for n in range(HEADERS):
        tag += 1
        items += event(tag, {"sku": "C-1", "level": 0}, headers={"trace": f"t{n}"})
    items += [c2s(0, "Connection.Close", reply_code=200), s2c(0, "Connection.CloseOk")]
    cassette = Cassette(connections=[CassetteConnection(id=1, interactions=items)])
    return write_cassette(cassette, path / "stock_events.yaml")


def show(path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["show", str(path)]) == 0
    return capsys.readouterr().out.splitlines()


def frames(lines: list[str]) -> dict[str, list[str]]:
    """Each ``repeat`` frame of a timeline: its header, and the lines inside it."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("repeat x"):
            current = found.setdefault(line, [])
        elif line == "}":
            current = None
        elif current is not None:
            current.append(line)
    return found


def test_show_folds_equal_events_and_tells_different_ones_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = show(stock_cassette(tmp_path), capsys)
    found = frames(lines)
    assert list(found) == [
        "repeat x52 (messages #1..#52, 52 different bodies) {",
        "repeat x5 (messages #53..#57) {",
        "repeat x4 (messages #58..#61, same bodies, different headers) {",
    ]
    different, same, headers = found.values()
    # the fold of different bodies lists them: the first and last few, the rest counted
    listed = [re.sub(r"^\s+(bodies)?\s+", "", x) for x in different[4:]]
    assert listed == [
        '#1 message {"sku": "A-0", "level": 100}',
        '#2 message {"sku": "A-1", "level": 99}',
        '#3 message {"sku": "A-2", "level": 98}',
        "... 46 more ...",
        '#50 message {"sku": "A-49", "level": 51}',
        '#51 message {"sku": "A-50", "level": 50}',
        '#52 message {"sku": "A-51", "level": 49}',
    ]
    assert re.match(r"^\s+bodies\s+#1 message", different[4])
    # equal events fold as one: their own message ids do not make them different
    assert len(same) == 4
    assert (
        same[0].strip() == 'out     publish  #53 message {"sku": "B-1", "level": 7} (from outside)'
    )
    assert not any("bodies" in x for x in same)
    # equal bodies with different headers: the fold names the headers of each
    assert [re.sub(r"^\s+(differ)?\s+", "", x) for x in headers[4:]] == [
        "#58 headers={'trace': 't0'}",
        "#59 headers={'trace': 't1'}",
        "#60 headers={'trace': 't2'}",
        "#61 headers={'trace': 't3'}",
    ]
    assert lines[-1].startswith(
        "summary: 1 connection, 1 channel, 61 messages (0 published, 61 from outside), "
        "61 deliveries"
    )


def test_show_names_an_unnamed_outside_publisher_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "\n".join(show(stock_cassette(tmp_path), capsys))
    assert "(from outside)" in text
    assert "outside outside" not in text


def test_diagram_folds_equal_events_and_tells_different_ones_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stock.html"
    assert main(["diagram", str(stock_cassette(tmp_path)), "-o", str(out)]) == 0
    capsys.readouterr()
    dom = Dom(out.read_text(encoding="utf-8"))
    # a loop label's text is its tooltip (its <title>: what differs, one a line), then
    # the label drawn on the frame
    labels = [e.text for e in dom.elements if e.get("class") == "loop-label"]
    assert [t[-1] for t in labels] == [
        "loop x52 #1..#52, 52 different bodies",
        "loop x5 #53..#57",
        "loop x4 #58..#61, same bodies, different headers",
    ]
    assert labels[0][0].splitlines() == [
        "52 different bodies:",
        '#1 {"sku": "A-0", "level": 100}',
        '#2 {"sku": "A-1", "level": 99}',
        '#3 {"sku": "A-2", "level": 98}',
        "... 46 more ...",
        '#50 {"sku": "A-49", "level": 51}',
        '#51 {"sku": "A-50", "level": 50}',
        '#52 {"sku": "A-51", "level": 49}',
    ]
    assert len(labels[1]) == 1  # equal messages: nothing to list
    assert labels[2][0].splitlines()[0] == "same bodies, different headers:"
    # each frame draws one publish; the one of different bodies shows the first and last
    publishes = dom.arrows("publish")
    assert [p.get("data-message") for p in publishes] == ["1", "53", "58"]
    drawn = [p.text[-1] for p in publishes]
    assert drawn == [
        '#1 {"sku": "A-0"…level": 100} … #52 {"sku": "A-51…"level": 49}',
        '#53 {"sku": "B-1", "level": 7}',
        '#58 {"sku": "C-1", "level": 0} (headers differ)',
    ]
    # its tooltip lists the different bodies too
    assert '\n... 46 more ...\n#50 {"sku": "A-49", "level": 51}' in publishes[0].text[0]
