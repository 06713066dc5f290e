"""End to end: record against a real RabbitMQ with real remote services in other
processes, then replay with RabbitMQ stopped and the services gone.

The client tests (written into a pytester directory) are the same in both runs; only
the command line differs. They check the results the client gets and that replies line
up with the live correlation ids, reply queues and oslo ``_msg_id``s (a reply that did
not would time out or be dropped by the client).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from amqpmock.testing.rabbitmq import RabbitMQNode

pytest_plugins = ["pytester"]

SERVICES = Path(__file__).parent / "services"

CLIENT_TESTS = """
import asyncio
import json
import threading

import aio_pika
import oslo_messaging as messaging
import pytest
from aio_pika.patterns import RPC
from oslo_config import cfg
from oslo_messaging import conffixture


def oslo_client(url):
    conf = cfg.ConfigOpts()
    conf([], project="client")
    conffixture.ConfFixture(conf).setUp()
    conf.set_override("control_exchange", "neutron")
    conf.set_override("heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit")
    transport = messaging.get_rpc_transport(conf, url=url.replace("amqp://", "rabbit://", 1))
    return transport, messaging.get_rpc_client(
        transport, messaging.Target(topic="dhcp_agent"), timeout=5)


@pytest.mark.amqp_cassette("seed_flows.yaml")
def test_seed_call_cast_fanout_cast(amqp_url):
    transport, client = oslo_client(amqp_url)
    try:
        assert client.prepare(server="node-1").call({}, "get_active_networks", host="h1") == [
            "net-for-h1"
        ]
        assert client.prepare(server="node-1").call({}, "get_active_networks", host="h2") == [
            "net-for-h2"
        ]
        client.cast({}, "port_update", port={"id": "p1"})
        client.prepare(fanout=True).cast({}, "network_delete", network_id="n1")
    finally:
        transport.cleanup()


@pytest.mark.amqp_cassette("aio_rpc.yaml")
def test_aio_pika_rpc(amqp_url):
    async def main():
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            rpc = await RPC.create(channel)
            results = [
                await rpc.proxy.add(a=1, b=2),
                await rpc.proxy.greet(name="replay"),
                await rpc.proxy.add(a=40, b=2),
            ]
            await rpc.close()
            return results

    assert asyncio.run(main()) == [3, "hello replay", 42]
"""


PASSWORD = "rec0rd-s3cret"


@pytest.fixture(scope="module")
def rabbit() -> Iterator[RabbitMQNode]:
    node = RabbitMQNode(user="recorder", password=PASSWORD).start()
    try:
        yield node
    finally:
        node.stop()


def start_service(script: str, url: str, tmp: Path) -> subprocess.Popen[bytes]:
    ready = tmp / f"{script}.ready"
    proc = subprocess.Popen(
        [sys.executable, str(SERVICES / script), url, str(ready)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"service {script} did not start")
        time.sleep(0.05)
    return proc


def test_record_then_replay_offline(
    pytester: pytest.Pytester, rabbit: RabbitMQNode, tmp_path: Path
) -> None:
    pytester.makepyfile(test_clients=CLIENT_TESTS)
    pytester.makeini("[pytest]\namqp_cassette_dir = cassettes\n")
    services = [
        start_service("oslo_rpc_server.py", rabbit.url.replace("amqp://", "rabbit://"), tmp_path),
        start_service("aio_rpc_server.py", rabbit.url, tmp_path),
    ]
    try:
        recorded = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--amqp-record-mode=once", f"--amqp-upstream={rabbit.url}"
        )
        recorded.assert_outcomes(passed=2)
    finally:
        for proc in services:
            proc.kill()
            proc.wait()
    rabbit.stop()  # replay has neither the broker nor the services

    cassettes = pytester.path / "cassettes"
    for path in cassettes.glob("*.yaml"):
        assert PASSWORD not in path.read_text(), f"password leaked into {path}"
    seed_path = cassettes / "seed_flows.yaml"
    seed = seed_path.read_text()
    data = yaml.safe_load(seed)
    interactions = [i for c in data["connections"] for i in c["interactions"]]
    publishes = [i for i in interactions if i["method"] == "Basic.Publish"]
    assert len(publishes) >= 4
    # the two call replies came from the service that is now gone
    outside = [i for i in interactions if i.get("origin") == "outside"]
    assert len(outside) == 2

    replayed = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=2)

    # a hand-edited cassette (a recorded request body changed) fails with a clear diff
    seed_path.write_text(seed.replace('"host": "h2"', '"host": "h7"', 1))
    assert seed_path.read_text() != seed, "the edit did not apply"
    edited = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "seed")
    assert edited.ret != 0
    edited.stdout.fnmatch_lines(
        [
            "*the cassette replay went wrong (*seed_flows.yaml):*",
            "*no recorded publish matches live publish: exchange='neutron'*",
            "*body: /oslo.message/args/host: 'h2' != 'h7'*",
        ]
    )


@pytest.mark.parametrize("mode", ["all", "rewrite", "new_episodes"])
def test_every_record_mode_records_twice_and_replays(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode, tmp_path: Path, mode: str
) -> None:
    # the seed's oslo.messaging flows and an aio-pika RPC flow, in each record mode: the
    # second recording must not duplicate connections (new_episodes: not touch the file)
    pytester.makepyfile(test_clients=CLIENT_TESTS)
    pytester.makeini("[pytest]\namqp_cassette_dir = cassettes\n")
    url = rabbitmq_node.url
    services = [
        start_service("oslo_rpc_server.py", url.replace("amqp://", "rabbit://"), tmp_path),
        start_service("aio_rpc_server.py", url, tmp_path),
    ]
    cassettes = pytester.path / "cassettes"
    try:
        args = ("-p", "no:cacheprovider", f"--amqp-record-mode={mode}", f"--amqp-upstream={url}")
        pytester.runpytest_subprocess(*args).assert_outcomes(passed=2)
        first = {p.name: p.read_bytes() for p in cassettes.glob("*.yaml")}
        assert sorted(first) == ["aio_rpc.yaml", "seed_flows.yaml"]
        pytester.runpytest_subprocess(*args).assert_outcomes(passed=2)
        second = {p.name: p.read_bytes() for p in cassettes.glob("*.yaml")}
    finally:
        for proc in services:
            proc.kill()
            proc.wait()
    for name in first:
        before, after = yaml.safe_load(first[name]), yaml.safe_load(second[name])
        assert len(after["connections"]) == len(before["connections"]), name
        if mode == "new_episodes":
            assert second[name] == first[name], f"{name} was rewritten with nothing new"
        else:
            assert after["recorded_at"] >= before["recorded_at"]
    # offline: the services are gone, and the network is blocked
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
