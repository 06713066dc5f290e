"""nameko's own pytest plugin (``nameko.testing.pytest``: ``rabbit_manager``,
``vhost_pipeline``, ``rabbit_config``, ``container_factory``, ``runner_factory``),
unmodified, against RabbitMQ 3.10.8 and against the fake: a vhost per test made, granted
and deleted over the management API, and nameko services talking over AMQP in it.

nameko's plugin loads through an entry point and needs eventlet's monkey patch, so it
is never installed in the project's environment: it is installed once per session into
a directory of its own, and an inner pytest runs with that directory on its path in a
subprocess. The outer test compares what the inner run did on both brokers: each inner
test's outcome, the management calls nameko made (method, path, status) and that every
vhost it made is gone afterwards."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from .conftest import Target

# the versions this was written against (nameko's last release line, on Python 3.11)
NAMEKO = ("nameko==2.14.1", "eventlet==0.41.3", "kombu==5.7.0")

INNER_CONFTEST = '''
import eventlet

eventlet.monkey_patch()  # nameko >= 2.13 leaves this to the test suite

import json
import os

import requests

_original = requests.Session.request


def _logged(self, method, url, *args, **kwargs):
    """Every management call nameko's ``rabbit_manager`` makes, to a JSON-lines file."""
    response = _original(self, method, url, *args, **kwargs)
    with open(os.environ["NAMEKO_HTTP_LOG"], "a") as log:
        entry = {"method": method, "url": url, "status": response.status_code,
                 "body": response.text}
        log.write(json.dumps(entry) + "\\n")
    return response


requests.Session.request = _logged
'''

INNER_TESTS = """
import pytest
from nameko.events import EventDispatcher, event_handler
from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy, rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import get_container
from requests import HTTPError


class GreetingService:
    name = "greeting"
    dispatch = EventDispatcher()

    @rpc
    def hello(self, who):
        self.dispatch("greeted", {"who": who})
        return "hello " + who

    @rpc
    def fail(self):
        raise ValueError("nope")


class FrontService:
    name = "front"
    greeting = RpcProxy("greeting")

    @rpc
    def welcome(self, who):
        return self.greeting.hello(who).upper()


class AuditService:
    name = "audit"
    seen = []

    @event_handler("greeting", "greeted")
    def record(self, payload):
        AuditService.seen.append(payload)


def test_rpc_through_a_container(container_factory, rabbit_config):
    container = container_factory(GreetingService, rabbit_config)
    container.start()
    with ServiceRpcProxy("greeting", rabbit_config) as greeting:
        assert greeting.hello("fake") == "hello fake"
        with pytest.raises(RemoteError) as caught:
            greeting.fail()
    assert caught.value.exc_type == "ValueError"


def test_services_call_each_other_and_events_arrive(runner_factory, rabbit_config):
    runner = runner_factory(rabbit_config, GreetingService, FrontService, AuditService)
    runner.start()
    audit = get_container(runner, AuditService)
    with entrypoint_waiter(audit, "record"):
        with ServiceRpcProxy("front", rabbit_config) as front:
            assert front.welcome("amqp") == "HELLO AMQP"
    assert AuditService.seen == [{"who": "amqp"}]


def test_the_vhost_is_this_tests_own(
    rabbit_manager, rabbit_config, container_factory, get_message_from_queue
):
    vhost, user = rabbit_config["vhost"], rabbit_config["username"]
    assert vhost.startswith("nameko_test_")
    assert rabbit_config["AMQP_URI"].endswith("/" + vhost)
    assert vhost in [v["name"] for v in rabbit_manager.get_all_vhosts()]
    assert rabbit_manager._get("permissions", vhost, user) == {
        "user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*",
    }
    # the service's queue and exchange, as the API shows them
    container_factory(GreetingService, rabbit_config).start()
    assert "rpc-greeting" in [q["name"] for q in rabbit_manager.get_queues(vhost)]
    assert "nameko-rpc" in [e["name"] for e in rabbit_manager.get_exchanges(vhost)]
    keys = {b["routing_key"] for b in rabbit_manager.get_queue_bindings(vhost, "rpc-greeting")}
    assert keys == {"rpc-greeting", "greeting.*"}
    # a message put in over HTTP, read over AMQP (kombu's SimpleQueue: durable)
    rabbit_manager.create_queue(vhost, "inbox", durable=True)
    rabbit_manager.create_queue_binding(vhost, "amq.direct", "inbox", "to-inbox")
    assert rabbit_manager.publish(vhost, "amq.direct", "to-inbox", "over http") == {
        "routed": True
    }
    # nameko's get_messages sends ``requeue``, not ``ackmode``: 3.10 refuses it
    with pytest.raises(HTTPError) as refused:
        rabbit_manager.get_messages(vhost, "inbox")
    assert refused.value.response.status_code == 400
    assert get_message_from_queue("inbox").body == b"over http"


def test_every_test_gets_another_vhost(rabbit_manager, rabbit_config):
    vhost = rabbit_config["vhost"]
    assert rabbit_manager.get_queues(vhost) == []
    assert "nameko-rpc" not in [e["name"] for e in rabbit_manager.get_exchanges(vhost)]
"""

EXPECTED_OUTCOMES = {
    "test_rpc_through_a_container": "passed",
    "test_services_call_each_other_and_events_arrive": "passed",
    "test_the_vhost_is_this_tests_own": "passed",
    "test_every_test_gets_another_vhost": "passed",
}

# (method, path with the vhost names as ``{vhost}``, status): what nameko's plugin and
# the inner tests asked RabbitMQ 3.10.8, and what it answered
EXPECTED_CALLS = {
    ("GET", "/api/overview", 200),
    ("PUT", "/api/vhosts/{vhost}", 201),
    ("PUT", "/api/permissions/{vhost}/guest", 204),  # the vhost creator has them already
    ("GET", "/api/vhosts", 200),
    ("GET", "/api/permissions/{vhost}/guest", 200),
    ("GET", "/api/queues/{vhost}", 200),
    ("GET", "/api/exchanges/{vhost}", 200),
    ("GET", "/api/queues/{vhost}/rpc-greeting/bindings", 200),
    ("PUT", "/api/queues/{vhost}/inbox", 201),
    ("POST", "/api/bindings/{vhost}/e/amq.direct/q/inbox", 201),
    ("POST", "/api/exchanges/{vhost}/amq.direct/publish", 200),
    ("POST", "/api/queues/{vhost}/inbox/get", 400),
    ("DELETE", "/api/vhosts/{vhost}", 204),
}


@pytest.fixture(scope="session")
def nameko_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nameko and its dependencies, installed for this session only (``pip --target``),
    never into the project's environment."""
    site = tmp_path_factory.mktemp("nameko-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--target",
            str(site),
            *NAMEKO,
        ],
        check=True,
        timeout=600,
    )
    return site


def _outcomes(junit: Path) -> dict[str, str]:
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        children = {child.tag for child in case}
        outcome = next(
            (tag for tag in ("failure", "error", "skipped") if tag in children), "passed"
        )
        outcomes[case.attrib["name"]] = outcome
    return outcomes


def test_nameko_pytest_plugin(target: Target, nameko_site: Path, tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pytest.ini").write_text("[pytest]\n")
    (inner / "conftest.py").write_text(textwrap.dedent(INNER_CONFTEST))
    (inner / "test_services.py").write_text(textwrap.dedent(INNER_TESTS))
    amqp = urlsplit(target.amqp_url)
    http = urlsplit(target.http_url)
    log = tmp_path / "http.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": str(nameko_site),
        "NAMEKO_HTTP_LOG": str(log),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:amqpmock",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "no:benchmark",
            "-q",
            f"--junitxml={tmp_path / 'junit.xml'}",
            f"--amqp-uri=amqp://guest:guest@{amqp.hostname}:{amqp.port}/",
            f"--rabbit-api-uri=http://guest:guest@{http.hostname}:{http.port}",
            "test_services.py",
        ],
        cwd=inner,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert _outcomes(tmp_path / "junit.xml") == EXPECTED_OUTCOMES, report
    assert proc.returncode == 0, report

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    made = {
        unquote(urlsplit(c["url"]).path.split("/")[3])
        for c in calls
        if c["method"] == "PUT" and urlsplit(c["url"]).path.startswith("/api/vhosts/")
    }
    assert made and all(re.fullmatch("nameko_test_[a-z]{10}", v) for v in made)

    def shape(call: dict[str, object]) -> tuple[str, str, int]:
        path = urlsplit(str(call["url"])).path
        for vhost in made:
            path = path.replace("/" + quote(vhost, safe="") + "/", "/{vhost}/")
            if path.endswith("/" + vhost):
                path = path[: -len(vhost)] + "{vhost}"
        return (str(call["method"]), path, int(str(call["status"])))

    assert {shape(c) for c in calls} == EXPECTED_CALLS, calls
    refused = [c["body"] for c in calls if c["method"] == "POST" and c["status"] == 400]
    assert [json.loads(body) for body in refused] == [
        {"error": "bad_request", "reason": "[{key_missing,ackmode}]"}
    ]
    # the pipeline deleted every vhost it made, the ones made ahead and never used too
    assert [v for v in made if target.call("GET", f"/api/vhosts/{v}").status != 404] == []
