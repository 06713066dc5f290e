"""``amqpmock diagram`` on the committed cassettes: who takes part, how many arrows of
each kind, call/cast/fanout_cast told apart, RPC requests paired with their replies,
filters, and pages that need no network."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from amqpmock.cli import main

from .conftest import Dom, all_committed, committed

SVG = "{http://www.w3.org/2000/svg}"


def draw(tmp_path: Path, cassette: str, suffix: str = ".html", *extra: str) -> Dom:
    out = tmp_path / (Path(cassette).stem + suffix)
    assert main(["diagram", str(committed(cassette)), "-o", str(out), *extra]) == 0
    return Dom(out.read_text(encoding="utf-8"))


def reply_queue(dom: Dom) -> str:
    (queue,) = [p for p in dom.participants() if p.startswith("queue:")]
    return queue


def test_oslo_participants_and_arrows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dom = draw(tmp_path, "oslo_messaging_rpc.yaml")
    assert "participants, 10 arrows)" in capsys.readouterr().out
    queue = reply_queue(dom)
    assert re.fullmatch(r"queue:reply_[0-9a-f]{32}", queue)
    assert dom.participants() == [
        "conn:1",
        "conn:2",
        "exchange:neutron",
        "exchange:",
        "exchange:dhcp_agent_fanout",
        queue,
        "outside:dhcp_agent",
    ]
    kinds = {
        e.get("data-participant"): e.get("data-participant-kind")
        for e in dom.having("data-participant")
    }
    assert kinds["conn:2"] == "connection" and kinds["outside:dhcp_agent"] == "outside"
    assert dom.count_by_kind() == {"publish": 4, "route": 4, "deliver": 1, "ack": 1}
    # call, cast and fanout_cast told apart: each publish carries its flavour
    publishes = dom.arrows("publish")
    assert [
        (a.get("data-flavor"), a.get("data-source"), a.get("data-target")) for a in publishes
    ] == [
        ("call", "conn:2", "exchange:neutron"),
        ("reply", "outside:dhcp_agent", "exchange:"),
        ("cast", "conn:2", "exchange:neutron"),
        ("fanout_cast", "conn:2", "exchange:dhcp_agent_fanout"),
    ]
    assert (
        "".join(publishes[0].text).strip().startswith('#1 call get_active_networks(host="node-1")')
    )
    # every call, cast and fanout_cast went on to the outside dhcp_agent service
    routes = dom.arrows("route")
    assert [(r.get("data-source"), r.get("data-target")) for r in routes] == [
        ("exchange:neutron", "outside:dhcp_agent"),
        ("exchange:", queue),
        ("exchange:neutron", "outside:dhcp_agent"),
        ("exchange:dhcp_agent_fanout", "outside:dhcp_agent"),
    ]
    # the RPC request and its reply share data-rpc
    paired = [
        (a.get("data-arrow-kind"), a.get("data-rpc-role"))
        for a in dom.having("data-rpc", "1")
        if a.tag == "g"
    ]
    assert paired == [
        ("publish", "request"),
        ("route", "request"),
        ("publish", "reply"),
        ("route", "reply"),
        ("deliver", "reply"),
    ]
    (deliver,) = dom.arrows("deliver")
    assert (deliver.get("data-source"), deliver.get("data-target")) == (queue, "conn:1")
    # handshakes collapsed into one note per connection; the legend names the flavours
    notes = [n.get("data-note-kind") for n in dom.having("data-row-kind", "note")]
    assert notes.count("handshake") == 2 and notes.count("close") == 2
    legend = [e.get("data-legend-item") for e in dom.having("data-legend-item")]
    assert {"call", "cast", "fanout_cast", "reply", "publish", "route", "deliver", "ack"} <= set(
        legend
    )
    # the RPC table pairs them too
    (row,) = [e for e in dom.having("data-rpc", "1") if e.tag == "tr"]
    assert "answered by #2" in "".join(row.text)


def test_aio_pika_rpc(tmp_path: Path) -> None:
    dom = draw(tmp_path, "aio_pika_rpc.yaml")
    queue = reply_queue(dom)
    assert queue.startswith("queue:amq.gen-")
    assert dom.participants() == ["conn:1", "exchange:", queue, "outside:multiply"]
    assert dom.count_by_kind() == {"publish": 5, "route": 4, "deliver": 2, "return": 1}
    for rpc in ("1", "2"):
        rows = [a for a in dom.having("data-rpc", rpc) if a.get("data-row-kind") == "arrow"]
        assert [(a.get("data-arrow-kind"), a.get("data-rpc-role")) for a in rows] == [
            ("publish", "request"),
            ("route", "request"),
            ("publish", "reply"),
            ("route", "reply"),
            ("deliver", "reply"),
        ]
        assert rows[-1].get("data-target") == "conn:1"
    returned = [a for a in dom.having("data-rpc", "3") if a.get("data-row-kind") == "arrow"]
    assert [a.get("data-arrow-kind") for a in returned] == ["publish", "return"]
    assert "312 NO_ROUTE" in "".join(returned[1].text)


def test_pika_acks_and_requeue(tmp_path: Path) -> None:
    dom = draw(tmp_path, "pika_publish_consume.yaml")
    queue = reply_queue(dom)
    assert dom.participants() == ["conn:1", "exchange:", queue]
    assert dom.count_by_kind() == {
        "publish": 4,
        "route": 3,
        "return": 1,
        "deliver": 4,
        "ack": 3,
        "requeue": 1,
    }
    (requeue,) = dom.arrows("requeue")
    assert (
        requeue.get("data-source"),
        requeue.get("data-target"),
        requeue.get("data-message"),
    ) == (
        "conn:1",
        queue,
        "2",
    )
    redelivered = [a for a in dom.arrows("deliver") if "redelivered" in "".join(a.text)]
    assert [a.get("data-message") for a in redelivered] == ["2"]


def test_filters_by_connection_and_queue(tmp_path: Path) -> None:
    full = draw(tmp_path, "oslo_messaging_rpc.yaml")
    queue = reply_queue(full)
    one = draw(tmp_path, "oslo_messaging_rpc.yaml", ".html", "--connection", "1")
    assert one.participants() == ["conn:1", "exchange:", queue, "outside:dhcp_agent"]
    assert one.count_by_kind() == {"publish": 1, "route": 1, "deliver": 1, "ack": 1}
    by_queue = draw(tmp_path, "oslo_messaging_rpc.yaml", ".svg", "--queue", queue.split(":", 1)[1])
    assert by_queue.count_by_kind() == one.count_by_kind()
    assert (
        main(
            [
                "diagram",
                str(committed("oslo_messaging_rpc.yaml")),
                "-o",
                str(tmp_path / "x.html"),
                "--connection",
                "7",
            ]
        )
        == 1
    )


@pytest.mark.parametrize("path", all_committed(), ids=lambda p: p.name)
def test_every_committed_cassette_draws_standalone(path: Path, tmp_path: Path) -> None:
    html_file, svg_file = tmp_path / "d.html", tmp_path / "d.svg"
    assert main(["diagram", str(path), "-o", str(html_file)]) == 0
    assert main(["diagram", str(path), "-o", str(svg_file)]) == 0
    page, svg = html_file.read_text(encoding="utf-8"), svg_file.read_text(encoding="utf-8")
    # nothing to fetch: no links, sources, imports or remote URLs (the SVG namespace
    # is a name, not a fetch)
    for text in (page, svg):
        assert re.findall(r"https?://[^\s\"'<>]+", text) == ["http://www.w3.org/2000/svg"]
        assert "<link" not in text and "src=" not in text and "@import" not in text
        assert re.findall(r"url\((?!#)", text) == []
    root = ET.fromstring(svg.split("?>", 1)[1])  # well-formed XML, one <svg>
    assert root.tag == f"{SVG}svg"
    participants = root.findall(f".//{SVG}g[@data-participant]")
    arrows = root.findall(f".//{SVG}g[@data-row-kind='arrow']")
    assert participants and arrows
    assert {a.get("data-source") for a in arrows} | {a.get("data-target") for a in arrows} <= {
        p.get("data-participant") for p in participants
    }
    assert Dom(page).participants() == [p.get("data-participant") for p in participants]


def test_diagram_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = str(committed("pika_publish_consume.yaml"))
    assert main(["diagram", cassette, "-o", str(tmp_path / "x.png")]) == 2
    assert "must end in .html or .svg" in capsys.readouterr().err
    assert main(["diagram", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "x.svg")]) == 1
    assert "missing.yaml" in capsys.readouterr().err
    assert not (tmp_path / "x.svg").exists()
