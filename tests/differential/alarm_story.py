"""One client story around a resource alarm, observed the same way on RabbitMQ and on
the fake (``test_alarms.py`` compares them).

Connections, each named (``connection_name``) so the management API shows which is
which: ``pub_cap`` and ``pub_empty`` publish and announce the ``connection.blocked``
capability, ``pub_nocap`` publishes without it, ``consumer`` only consumes, ``idle``
does nothing. Then the alarm goes on (``raise_alarm()``): what each connection is told,
what the management API shows, whether the consumer still gets and acks messages; then
the publishers publish (``pub_empty`` a message without a body first, then one with):
what they are told, whether anything reached the queue, what a connection opened
during the alarm looks like; then the alarm is cleared (``clear()``, which may clear in
steps and call ``between()`` after the first): what each is told, whether the messages
arrive.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pika

Observation = dict[str, Any]
P = "as."
NAMES = ("pub_cap", "pub_empty", "pub_nocap", "consumer", "idle")
# pika's capabilities without connection.blocked
NO_BLOCKED_CAPABILITY = {
    "basic.nack": True,
    "publisher_confirms": True,
    "consumer_cancel_notify": True,
    "authentication_failure_close": True,
}
# RabbitMQ refreshes its management statistics every 5 s: wait for a change that long
SETTLE = 15.0


class Management:
    """``GET /api/PATH`` of a management API at ``url`` (``http://user:pw@host:port``)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.base = f"http://{parts.hostname}:{parts.port}/api/"
        self.auth = b64encode(f"{parts.username}:{parts.password}".encode()).decode()

    def get(self, path: str) -> Any:
        request = urllib.request.Request(self.base + path)
        request.add_header("Authorization", f"Basic {self.auth}")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    def states(self) -> dict[str, str]:
        return {
            str(c["client_properties"].get("connection_name")): c["state"]
            for c in self.get("connections")
        }

    def health(self) -> list[Any]:
        """``/api/health/checks/alarms``: status, reason and the alarms' resources."""
        request = urllib.request.Request(self.base + "health/checks/alarms")
        request.add_header("Authorization", f"Basic {self.auth}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, body = answer.status, json.load(answer)
        except urllib.error.HTTPError as exc:
            status, body = exc.code, json.load(exc)
        resources = [a["resource"] for a in body.get("alarms", [])]
        return [status, body.get("reason"), resources]

    def node(self) -> dict[str, bool | None]:
        node = self.get("nodes")[0]
        # a node just started has no statistics yet: None until it has
        return {key: node.get(key) for key in ("mem_alarm", "disk_free_alarm")}

    def settled(self, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The connections' states and the node's alarms once ``done`` holds for them
        (or what they are after SETTLE seconds)."""
        deadline = time.monotonic() + SETTLE
        while True:
            node = self.node()
            seen: dict[str, Any] = {"states": self.states(), "node": node}
            complete = None not in node.values()
            if (complete and done(seen)) or time.monotonic() > deadline:
                return seen
            time.sleep(0.25)


class Client:
    def __init__(self, url: str, name: str, *, blocked_capability: bool = True) -> None:
        params = pika.URLParameters(url)
        properties: dict[str, Any] = {"connection_name": name}
        if not blocked_capability:
            properties["capabilities"] = NO_BLOCKED_CAPABILITY
        params.client_properties = properties
        self.conn = pika.BlockingConnection(params)
        self.events: list[Any] = []
        self.conn.add_on_connection_blocked_callback(
            lambda _c, frame: self.events.append(["blocked", frame.method.reason])
        )
        self.conn.add_on_connection_unblocked_callback(
            lambda _c, _frame: self.events.append(["unblocked"])
        )
        self.channel = self.conn.channel()


def _pump(clients: dict[str, Client], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for client in clients.values():
            client.conn.process_data_events(time_limit=0.02)


def _events(clients: dict[str, Client]) -> dict[str, list[Any]]:
    return {name: list(client.events) for name, client in clients.items()}


def _depth(client: Client, queue: str) -> int:
    return int(client.channel.queue_declare(queue, passive=True).method.message_count)


def _all(states: dict[str, str], state: str) -> bool:
    return bool(states) and all(s == state for s in states.values())


def story(
    url: str,
    management: Management,
    raise_alarm: Callable[[], None],
    clear: Callable[[Callable[[], None]], None],
) -> Observation:
    out: Observation = {}
    setup = pika.BlockingConnection(pika.URLParameters(url))
    ch = setup.channel()
    for queue in ("work", "pre", "during"):
        ch.queue_delete(P + queue)
    ch.queue_declare(P + "work")
    ch.queue_declare(P + "pre")
    for n in range(3):
        ch.basic_publish("", P + "pre", f"pre{n}".encode())
    setup.close()
    clients = {name: Client(url, name, blocked_capability=name != "pub_nocap") for name in NAMES}
    clients["consumer"].channel.basic_qos(prefetch_count=10)
    out["before"] = management.settled(lambda s: _all(s["states"], "running"))

    raise_alarm()
    _pump(clients, 1.0)
    out["told_on_alarm"] = _events(clients)
    out["on_alarm"] = management.settled(
        lambda s: _all(s["states"], "blocking") and any(s["node"].values())
    )

    out["health_on_alarm"] = management.health()
    consumer = clients["consumer"]
    got: list[str] = []

    def on_message(channel: Any, method: Any, _props: Any, body: bytes) -> None:
        got.append(body.decode())
        channel.basic_ack(method.delivery_tag)

    consumer.channel.basic_consume(P + "pre", on_message)
    consumer.channel.queue_declare(P + "during")
    _pump(clients, 1.0)
    out["consumer_got_during_alarm"] = got
    out["pre_left"] = _depth(consumer, P + "pre")

    clients["pub_empty"].channel.basic_publish("", P + "work", b"")
    clients["pub_empty"].channel.basic_publish("", P + "work", b"empty-then")
    clients["pub_cap"].channel.basic_publish("", P + "work", b"cap")
    clients["pub_nocap"].channel.basic_publish("", P + "work", b"nocap")
    _pump(clients, 1.5)
    out["told_on_publish"] = _events(clients)
    out["work_during_alarm"] = _depth(consumer, P + "work")
    late = Client(url, "late")
    clients["late"] = late
    out["on_publish"] = management.settled(
        lambda s: s["states"].get("pub_nocap") == "blocked" and "late" in s["states"]
    )

    def between() -> None:
        _pump(clients, 1.0)
        out["told_after_first_clear"] = _events(clients)
        out["work_after_first_clear"] = _depth(consumer, P + "work")

    clear(between)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ["unblocked"] not in clients["pub_cap"].events:
        _pump(clients, 0.1)
    _pump(clients, 1.0)
    out["told_on_clear"] = _events(clients)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _depth(consumer, P + "work") < 4:
        _pump(clients, 0.1)
    out["work_after_clear"] = _depth(consumer, P + "work")
    out["after_clear"] = management.settled(
        lambda s: _all(s["states"], "running") and not any(s["node"].values())
    )
    out["health_after_clear"] = management.health()
    for client in clients.values():
        client.conn.close()
    return out
