"""The control API's contract calls, as Microcks serves a mock: ``amqpmock serve
--asyncapi FILE`` declares the document's exchanges, queues and bindings at start and
after every reset; ``POST /amqpmock/contract/examples/NAME`` publishes a message's
first example, which a pika consumer receives; ``POST /amqpmock/contract/declare``
declares the topology again. The same calls in pytest use the test's document (marker
or ini). No document, an unknown name, a message without examples and a user who is no
administrator each get a clear answer."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pika
import pytest

from tests.management.test_control_api import call
from tests.server.test_cli import serving

pytest_plugins = ["pytester"]

DOCUMENT = """
asyncapi: 3.0.0
info: {title: Shop, version: 1.0.0}
channels:
  orderAccepted:
    address: order.accepted
    messages:
      accepted: {$ref: '#/components/messages/accepted'}
    bindings:
      amqp: {is: routingKey, exchange: {name: shop.events, type: topic, durable: true}}
  orders:
    address: orders
    messages:
      accepted: {$ref: '#/components/messages/accepted'}
    bindings:
      amqp:
        is: queue
        queue: {name: orders, durable: true}
        x-bindings: [{exchange: shop.events, routingKey: 'order.*'}]
  invoices:
    address: 'invoice.{region}'
    messages:
      invoice:
        payload: {type: object}
        examples: [{payload: {n: 1}}]
    bindings:
      amqp: {is: routingKey, exchange: {name: shop.events, type: topic}}
  audit:
    address: audit
    messages:
      entry: {payload: {type: object}}
components:
  messages:
    accepted:
      payload: {type: object}
      examples:
        - {payload: {order_id: 7, total: 9.5}, headers: {x-source: shop}}
"""

ACCEPTED = {"exchange": "shop.events", "routing_key": "order.accepted", "queues": ["orders"]}
DECLARED = {
    "exchanges": ["shop.events"],
    "queues": ["orders"],
    "bindings": [
        {"queue": "orders", "exchange": "shop.events", "routing_key": "order.*", "arguments": {}}
    ],
}


def consume_one(url: str, queue: str) -> tuple[Any, Any, bytes] | None:
    """Start a consumer on queue (declared by the document, passive here) and wait for
    one delivery; None if nothing came within 5 s."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_declare(queue, passive=True)
    got: list[tuple[Any, Any, bytes]] = []
    channel.basic_consume(queue, lambda ch, m, p, b: got.append((m, p, b)), auto_ack=True)
    for _ in range(50):
        connection.process_data_events(time_limit=0.1)
        if got:
            break
    connection.close()
    return got[0] if got else None


def test_serve_with_a_document(tmp_path: Path) -> None:
    document = tmp_path / "shop.yaml"
    document.write_text(DOCUMENT)
    with serving("--asyncapi", str(document), "--user", "admin:pw") as (proc, url):
        assert proc.stdout is not None
        http = proc.stdout.readline().strip()
        api = http.replace("http://", "http://admin:pw@")
        # declared at start: a consumer finds the queue, bound to the exchange
        connection = pika.BlockingConnection(pika.URLParameters(url))
        connection.channel().exchange_declare("shop.events", passive=True)
        connection.close()

        assert call(api, "POST", "/amqpmock/contract/examples/accepted") == (200, ACCEPTED)
        delivered = consume_one(url, "orders")
        assert delivered is not None
        method, properties, body = delivered
        assert method.routing_key == "order.accepted" and method.exchange == "shop.events"
        assert json.loads(body) == {"order_id": 7, "total": 9.5}
        assert properties.headers == {"x-source": "shop"}
        assert properties.content_type == "application/json"
        # a channel's name publishes its first message with examples
        status, answer = call(api, "POST", "/amqpmock/contract/examples/orderAccepted")
        assert (status, answer) == (200, ACCEPTED)

        status, answer = call(api, "POST", "/amqpmock/contract/examples/nothing")
        assert status == 404 and answer["error"] == "not_found"
        assert (
            "shop.yaml: no message or channel 'nothing' with examples (known: "
            in (answer["reason"])
        )
        assert call(api, "POST", "/amqpmock/contract/examples/entry") == (
            400,
            {"error": "bad_request", "reason": f"{document}: message 'entry' has no examples"},
        )
        # a channel that is there but has nothing to publish is a bad request, not 404
        assert call(api, "POST", "/amqpmock/contract/examples/audit") == (
            400,
            {
                "error": "bad_request",
                "reason": f"{document}: channel 'audit' has no message with examples",
            },
        )
        status, answer = call(api, "POST", "/amqpmock/contract/examples/invoice")
        assert status == 400
        assert answer["reason"].endswith(
            "channel 'invoices' has no fixed routing key ('invoice.{region}')"
        )

        # a reset takes everything away, and the document's topology is back at once
        assert call(api, "POST", "/amqpmock/reset")[0] == 204
        assert call(api, "GET", "/api/queues/%2F/orders")[0] == 200
        assert call(api, "DELETE", "/api/queues/%2F/orders")[0] == 204
        assert call(api, "GET", "/api/queues/%2F/orders")[0] == 404
        assert call(api, "POST", "/amqpmock/contract/declare") == (200, DECLARED)
        assert call(api, "POST", "/amqpmock/contract/examples/accepted") == (200, ACCEPTED)
        assert consume_one(url, "orders") is not None

        # administrators only: a user with the control API's own tag may not
        user = {"password": "pw2", "tags": "amqpmock"}
        assert call(api, "PUT", "/api/users/bob", user)[0] in (201, 204)
        assert call(
            api,
            "PUT",
            "/api/permissions/%2F/bob",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )[0] in (201, 204)
        bob = http.replace("http://", "http://bob:pw2@")
        for path in ("/amqpmock/contract/examples/accepted", "/amqpmock/contract/declare"):
            assert call(bob, "POST", path) == (
                401,
                {"error": "not_authorised", "reason": "Not administrator user"},
            ), path
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()


def test_serve_without_a_document() -> None:
    with serving() as (proc, _url):
        assert proc.stdout is not None
        api = proc.stdout.readline().strip().replace("http://", "http://guest:guest@")
        for path in ("/amqpmock/contract/examples/accepted", "/amqpmock/contract/declare"):
            status, answer = call(api, "POST", path)
            assert status == 400, path
            assert answer["reason"].startswith(
                "no AsyncAPI document: start amqpmock serve with --asyncapi FILE"
            )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "nowhere.yaml: cannot read: No such file or directory"),
        (
            "asyncapi: [3.0.0\n",
            "nowhere.yaml: not valid yaml: line 2, column 1: expected ',' or ']'",
        ),
    ],
    ids=["missing", "broken"],
)
def test_serve_refuses_a_bad_document(tmp_path: Path, content: str | None, problem: str) -> None:
    document = tmp_path / "nowhere.yaml"
    if content is not None:
        document.write_text(content)
    with serving("--asyncapi", str(document)) as (proc, url):
        assert proc.wait(20) == 2
        assert url == ""
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert f"amqpmock serve: --asyncapi {tmp_path}/{problem}" in err, err
        assert "Traceback" not in err


PLUGIN_TESTS = """
import base64
import json
import urllib.error
import urllib.request

import pika
import pytest


def post(base, path):
    userinfo, host = base[len("http://"):].split("@")
    request = urllib.request.Request(f"http://{host}{path}", method="POST")
    token = base64.b64encode(userinfo.encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, b"", timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.amqp_contract("shop.yaml")
def test_declare_and_publish_over_http(amqp_management_url, amqp_url, amqp_broker):
    assert amqp_broker.queues() == []  # declare=False: nothing until asked
    status, declared = post(amqp_management_url, "/amqpmock/contract/declare")
    assert status == 200 and declared["queues"] == ["orders"]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    got = []
    channel.basic_consume("orders", lambda ch, m, p, b: got.append(b), auto_ack=True)
    status, published = post(amqp_management_url, "/amqpmock/contract/examples/accepted")
    assert (status, published["queues"]) == (200, ["orders"])
    while not got:
        connection.process_data_events(time_limit=0.05)
    assert json.loads(got[0]) == {"order_id": 7, "total": 9.5}
    connection.close()
    status, answer = post(amqp_management_url, "/amqpmock/contract/examples/nothing")
    assert status == 404, answer


def test_no_document(amqp_management_url):
    status, answer = post(amqp_management_url, "/amqpmock/contract/examples/accepted")
    assert status == 400
    assert "no AsyncAPI document" in answer["reason"]
    assert "the amqp_contract marker or the amqp_asyncapi ini setting" in answer["reason"]
"""


def test_the_plugins_control_api_uses_the_tests_document(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", shop=DOCUMENT)
    pytester.makepyfile(test_service=PLUGIN_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
