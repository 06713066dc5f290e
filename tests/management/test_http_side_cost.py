"""The HTTP side of a default ``amqpmock serve`` costs nothing per message while nobody
looks (issue 23): it hangs no listener on the broker (a listener is a call and a
keyword dict per event, and each of its records an object made at once: together they
doubled the drain time of a deep queue and fed the garbage collector pauses of a third
of a second), only a tape of tuples; records and the live page's "who did what" are
made from the tape when an HTTP client asks, and say the same as before."""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import pika

from amqpmock._http_cli import start_http
from amqpmock.clocks import AdjustableClock
from amqpmock.fake import Broker
from amqpmock.wire import ServerThread


def get(base: str, path: str) -> Any:
    request = urllib.request.Request(base + path)
    token = base64.b64encode(b"guest:guest").decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read()
        kind = answer.headers.get("Content-Type", "")
    return json.loads(body) if "json" in kind else body.decode()


def test_the_default_http_side_hangs_nothing_per_event_on_the_broker(capsys: Any) -> None:
    broker = Broker(AdjustableClock())
    with ServerThread(broker=broker) as server:
        server.run(start_http(server.server, "127.0.0.1", 0))
        http = capsys.readouterr().out.strip().splitlines()[-1]
        assert http.startswith("http://127.0.0.1:")
        # as `amqpmock serve` starts it: no listener, one bounded tape
        assert server.call(lambda: list(broker.listeners)) == []
        (tape,) = server.call(lambda: list(broker.tapes))
        assert tape.max_entries is not None and tape.max_bytes is not None

        conn = pika.BlockingConnection(pika.URLParameters(server.url))
        ch = conn.channel()
        ch.queue_declare("jobs")
        for n in range(200):
            ch.basic_publish("", "jobs", json.dumps({"n": n}))
        got = [ch.basic_get("jobs", auto_ack=False) for _ in range(3)]
        ch.basic_ack(got[-1][0].delivery_tag, multiple=True)
        conn.close()
        # per message: one tuple on the tape, nothing else made
        entries = server.call(lambda: list(tape.entries))
        assert {type(e) for e in entries} == {tuple}
        assert [e[0] for e in entries].count("published") == 200
        assert server.call(lambda: list(broker.listeners)) == []

        # records are made when asked for, and say what they said before
        published = get(http, "/amqpmock/records/published?routing_key=jobs")
        assert [r["json"]["n"] for r in published] == list(range(200))
        assert published[0]["queues"] == ["jobs"]
        delivered = get(http, "/amqpmock/records/delivered")
        assert [(r["queue"], r["delivery_tag"], r["json"]) for r in delivered] == [
            ("jobs", n + 1, {"n": n}) for n in range(3)
        ]
        assert len(get(http, "/amqpmock/records/acked")) == 3
        state = get(http, "/amqpmock/state")
        assert [m["json"]["n"] for m in state["messages"] if m["event"] == "published"][:1] == [
            199
        ]
        diagram = get(http, "/amqpmock/diagram")
        assert "<svg" in diagram and "jobs" in diagram
        # the page's questions hung nothing on the broker either
        assert server.call(lambda: list(broker.listeners)) == []
