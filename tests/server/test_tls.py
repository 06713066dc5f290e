"""The fake's amqps listener (issue #14, TLS): the pytest plugin's ``amqps_url``, pika and
aio-pika over TLS, and the same flow over TLS on RabbitMQ 3.10.8 and on the fake."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import aio_pika
import pika
import pytest

from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.rabbitmq import RabbitMQNode
from amqpmock.testing.tls import TestCertificates
from amqpmock.wire import ServerThread


def pika_flow(url: str, context: ssl.SSLContext) -> dict[str, Any]:
    params = pika.URLParameters(url.replace("amqps://", "amqp://", 1))
    params.ssl_options = pika.SSLOptions(context, "127.0.0.1")
    conn = pika.BlockingConnection(params)
    try:
        ch = conn.channel()
        queue = ch.queue_declare("", exclusive=True).method.queue
        ch.confirm_delivery()
        ch.basic_publish("", queue, b"over tls", pika.BasicProperties(content_type="text/plain"))
        method, props, body = ch.basic_get(queue, auto_ack=True)
        server = conn._impl.server_properties  # what the broker said in Connection.Start
        return {
            "server_named": queue.startswith("amq.gen-"),
            "body": body,
            "content_type": props.content_type,
            "redelivered": method.redelivered,
            "product": server["product"],
            "capabilities": sorted(server["capabilities"]),
        }
    finally:
        conn.close()


def test_amqps_url_serves_the_tests_broker_over_tls(
    amqps_url: str, amqpmock_tls: TestCertificates, amqp_broker: BrokerFixture
) -> None:
    assert amqps_url.startswith("amqps://")
    got = pika_flow(amqps_url, amqpmock_tls.client_context())
    assert got["body"] == b"over tls" and got["server_named"]
    # the same broker as amqp_url: the test's inspection sees what came over TLS
    assert amqp_broker.published.last.body == b"over tls"


async def test_aio_pika_over_tls_with_a_cafile(
    amqps_url: str, amqpmock_tls: TestCertificates
) -> None:
    url = f"{amqps_url}?cafile={quote(str(amqpmock_tls.ca_file))}"
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(b"tls"), routing_key=queue.name)
        message = await queue.get(timeout=5)
        assert message is not None
        await message.ack()
        assert message.body == b"tls"


def test_a_client_that_does_not_trust_the_ca_is_refused(amqps_url: str) -> None:
    with pytest.raises((pika.exceptions.AMQPConnectionError, ssl.SSLError)):
        pika_flow(amqps_url, ssl.create_default_context())  # system CAs only


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return TestCertificates.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_rabbitmq(certificates: TestCertificates) -> Iterator[RabbitMQNode]:
    node = RabbitMQNode(tls=certificates).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.mark.rabbitmq
def test_the_same_flow_over_tls_on_rabbitmq_and_the_fake(
    certificates: TestCertificates, tls_rabbitmq: RabbitMQNode
) -> None:
    with ServerThread(tls=certificates.server_context()) as fake:
        assert fake.tls_url is not None
        on_fake = pika_flow(fake.tls_url, certificates.client_context())
    assert tls_rabbitmq.tls_url is not None
    on_rabbitmq = pika_flow(tls_rabbitmq.tls_url, certificates.client_context())
    assert on_fake == on_rabbitmq


def test_serve_with_a_certificate_serves_amqps_too(certificates: TestCertificates) -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0", "--tls-port", "0"),
            *("--tls-cert", str(certificates.cert_file), "--tls-key", str(certificates.key_file)),
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        plain, tls = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        assert plain.startswith("amqp://") and tls.startswith("amqps://")
        assert pika_flow(tls, certificates.client_context())["body"] == b"over tls"
    finally:
        proc.terminate()
        proc.wait(10)
