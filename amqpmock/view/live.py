"""The live page at the HTTP port's root: connections, queues with their counts,
exchanges, bindings, the latest messages with their bodies, and the sequence diagram
of the traffic so far (the one ``amqpmock diagram`` draws), redrawn every second.

``LivePage`` answers ``/`` (the page), ``/amqpmock/state`` (its JSON) and
``/amqpmock/diagram`` (the diagram's SVG), and hands every other ``/amqpmock/`` path to
the control API. Its data comes from the management API's views and the fixture's
traffic records; nothing here keeps state of its own but the ``TrafficContext`` that
says which connection did what.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from typing import Any

from amqpmock.management import Context, Response
from amqpmock.management._errors import ManagementError
from amqpmock.management._views import (
    bindings,
    channel_view,
    connection_view,
    exchange_view,
    queue_view,
)
from amqpmock.testing.control import ControlAPI, control_user, record_data
from amqpmock.view._diagram_svg import render_svg
from amqpmock.view.diagram import build_diagram
from amqpmock.view.flows import TrafficContext, flow_from_records

RECENT = 50  # messages shown
DRAWN = 300  # message events the diagram draws, the latest (a poll a second redraws it)
REMEMBERED = 100_000  # publishes and deliveries whose connection the diagram knows


@cache
def _asset(name: str) -> str:
    return (files("amqpmock.view") / "assets" / name).read_text(encoding="utf-8")


def page() -> str:
    def section(key: str, title: str, columns: str, wide: bool = False) -> str:
        heads = "".join(f"<th>{html.escape(c)}</th>" for c in columns.split(","))
        cls = ' class="wide"' if wide else ""
        return (
            f'<section{cls}><h2>{title}</h2><table id="{key}"><thead><tr>{heads}</tr></thead>'
            "<tbody></tbody></table></section>"
        )

    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>amqpmock - live</title>"
        f"<style>\n{_asset('live.css')}\n{_asset('diagram.css')}</style></head>"
        '<body data-amqpmock-live="">'
        '<header><h1>amqpmock</h1><small>updated <span id="updated">never</span></small>'
        "</header><main>"
        + section("connections", "Connections", "name,user,vhost,channels,client")
        + section("queues", "Queues", "vhost,name,type,ready,unacked,consumers")
        + section("exchanges", "Exchanges", "vhost,name,type,durable")
        + section("bindings", "Bindings", "vhost,source,destination,routing key")
        + section("messages", "Latest messages", "event,exchange,routing key,where,body", True)
        + '<section class="wide"><h2>Traffic</h2><div id="diagram"></div></section>'
        + f"</main><script>\n{_asset('live.js')}</script></body></html>\n"
    )


class LivePage:
    """The page and its data, in front of the control API (``handle`` like it)."""

    def __init__(self, control: ControlAPI, management: Context) -> None:
        self.control = control
        self.management = management
        # what the diagram needs of who did what is read off the recorder's tape when
        # the page asks (catch_up), not at every event: nothing per message otherwise
        self.traffic = TrafficContext(limit=REMEMBERED)
        self.visible: set[str] | None = None  # the vhosts this request's user may see
        self._paths = {
            "/": self._page,
            "/amqpmock/state": self._state,
            "/amqpmock/diagram": self._diagram,
            "/favicon.ico": self._no_icon,
        }

    def handle(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Response:
        path = raw_path.split("?", 1)[0]
        view = self._paths.get(path)
        if view is None:
            return self.control.handle(method, raw_path, query, body, headers)
        if method != "GET":
            return Response(405)
        try:  # the control API's users: it shows message bodies
            _user, self.visible = control_user(self.management, headers or {})
        except ManagementError as exc:
            return exc.response()
        return view()

    def _sees(self, vhost: str) -> bool:
        return self.visible is None or vhost in self.visible

    def _no_icon(self) -> Response:
        return Response(204)  # no icon; not a 404 in the browser's console

    def _page(self) -> Response:
        return Response(200, page(), {"Content-Type": "text/html; charset=utf-8"})

    def _state(self) -> Response:
        ctx = self.management
        b = ctx.broker
        unacked = ctx.unacked_by_queue()
        queues = [
            queue_view(ctx, q, unacked.get(id(q), (0, 0)))
            for name in sorted(b.vhosts)
            if self._sees(name)
            for q in sorted(b.vhosts[name].queues.values(), key=lambda q: q.name)
        ]
        connections = []
        for conn in ctx.wire_connections():
            row = connection_view(ctx, conn)
            if not self._sees(str(row.get("vhost", "/"))):
                continue
            props = row["client_properties"]
            row["client"] = props.get("connection_name") or props.get("product", "")
            connections.append(row)
        channels = [
            channel_view(ctx, conn, ch)
            for conn in ctx.wire_connections()
            if conn.core is not None and self._sees(conn.core.vhost_name)
            for ch in conn.core.channels.values()
        ]
        records = [
            r for r in self.control.fixture.recorder.latest(RECENT) if self._sees(r.message.vhost)
        ]
        messages: list[dict[str, Any]] = []
        for record in reversed(records):
            row = record_data(record)
            row["where"] = record.queue or ", ".join(record.queues)
            row["body"] = row.get("body", "(binary)")
            messages.append(row)
        return Response(
            200,
            {
                "connections": connections,
                "channels": channels,
                "queues": queues,
                "exchanges": [
                    exchange_view(name, e)
                    for name in sorted(b.vhosts)
                    if self._sees(name)
                    for e in sorted(b.vhosts[name].exchanges.values(), key=lambda e: e.name)
                    if not e.predeclared
                ],
                "bindings": [
                    row
                    for name in sorted(b.vhosts)
                    if self._sees(name)
                    for row in bindings(b.vhosts[name])
                    if row["source"]
                ],
                "messages": messages,
            },
        )

    def _diagram(self) -> Response:
        recorder = self.control.fixture.recorder
        records = [r for r in recorder.latest(DRAWN) if self._sees(r.message.vhost)]
        tape = getattr(recorder, "tape", None)
        if tape is not None:
            self.traffic.catch_up(tape, self.control.fixture.broker)
        if not records:
            return Response(200, "<p>No traffic yet.</p>", {"Content-Type": "text/html"})
        flow = flow_from_records(records, self.traffic, title="live traffic")
        svg = render_svg(build_diagram(flow), standalone=False)
        return Response(200, svg, {"Content-Type": "image/svg+xml"})
