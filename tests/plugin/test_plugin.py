"""The pytest plugin, run as users run it: pytest inside pytest (pytester)."""

from __future__ import annotations

# pytester's in-process runs drop, afterwards, every module they imported first. kombu's
# package loads its submodules lazily and caches them on itself, so a kombu first used
# inside such a run is left half-dropped: later code then mixes two Connection classes
# ("'Connection' object has no attribute 'exchange_declare'"). Loaded here, they stay.
import kombu.connection
import kombu.messaging
import kombu.simple  # noqa: F401
import pytest

pytest_plugins = ["pytester"]


def test_fixtures_with_pika_and_inspection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json
        import pika

        def test_publish_consume(amqp_broker, amqp_url):
            assert amqp_url == amqp_broker.url and amqp_url.startswith("amqp://guest:guest@127.0.0.1:")
            conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
            ch = conn.channel()
            ch.exchange_declare("events", "topic")
            ch.queue_declare("audit")
            ch.queue_bind("audit", "events", "user.#")
            ch.basic_publish("events", "user.created", json.dumps({"id": 7}),
                             pika.BasicProperties(content_type="application/json",
                                                  headers={"tenant": "a"}))
            method, props, body = ch.basic_get("audit")
            ch.basic_ack(method.delivery_tag)
            conn.close()
            assert amqp_broker.exchange("events").called
            assert amqp_broker.exchange("events").last.json() == {"id": 7}
            assert amqp_broker.queue("audit").routed.call_count == 1
            assert amqp_broker.queue("audit").acked.last.routing_key == "user.created"
            assert amqp_broker.published.filter(headers={"tenant": "a"}).called
            amqp_broker.assert_published(exchange="events", json={"id": 7}, times=1)

        def test_isolated_from_previous_test(amqp_broker):
            assert "audit" not in amqp_broker.queues()
            assert not amqp_broker.published
            assert "events" not in amqp_broker.exchanges()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_failure_message_shows_what_was_published(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_wrong_key(amqp_broker):
            amqp_broker.declare_queue("orders")
            amqp_broker.publish("", "orders", {"n": 1})
            amqp_broker.assert_published(routing_key="invoices")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected a publish with routing_key='invoices' at least once, found 0*",
            "*1. published: exchange='' routing_key='orders' -> ?'orders'? body='{\"n\": 1}'",
        ]
    )


def test_aio_pika_under_pytest_asyncio_with_rpc_stub(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(
        """
        import json
        import aio_pika

        async def test_rpc(amqp_broker, amqp_url):
            stub = amqp_broker.rpc_stub("", "calc").side_effect(lambda p: {"sum": sum(p["xs"])})
            conn = await aio_pika.connect(amqp_url)
            async with conn:
                ch = await conn.channel()
                reply_q = await ch.declare_queue(exclusive=True)
                await ch.default_exchange.publish(
                    aio_pika.Message(json.dumps({"xs": [1, 2, 3]}).encode(),
                                     content_type="application/json",
                                     reply_to=reply_q.name, correlation_id="c-1"),
                    routing_key="calc",
                )
                msg = await reply_q.get(timeout=5, fail=True)
                await msg.ack()
            assert json.loads(msg.body) == {"sum": 6}
            assert msg.correlation_id == "c-1"
            assert stub.call_count == 1 and stub.calls.last.payload == {"xs": [1, 2, 3]}
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_clock_advance_expires_messages(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pika

        def test_ttl(amqp_broker, amqp_url):
            conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
            ch = conn.channel()
            ch.queue_declare("dead")
            ch.queue_declare("q", arguments={"x-message-ttl": 60_000,
                                             "x-dead-letter-exchange": "",
                                             "x-dead-letter-routing-key": "dead"})
            ch.basic_publish("", "q", b"m")
            amqp_broker.advance(59)
            assert len(amqp_broker.messages("q")) == 1
            amqp_broker.advance(2)
            assert amqp_broker.messages("q") == []
            assert amqp_broker.queue("q").dead_lettered.last.reason == "expired"
            method, props, body = ch.basic_get("dead", auto_ack=True)
            assert body == b"m" and props.headers["x-death"][0]["reason"] == "expired"
            conn.close()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_options_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\namqpmock_users =\n    app:s3cret\namqpmock_vhosts =\n    /\n    tenant\n"
    )
    pytester.makepyfile(
        """
        import pika, pytest

        def test_users(amqp_broker, amqpmock_server):
            host, port = amqp_broker.url.split("@")[1].split("/")[0].split(":")
            params = pika.ConnectionParameters(host, int(port), "tenant",
                                               pika.PlainCredentials("app", "s3cret"))
            pika.BlockingConnection(params).close()
            bad = pika.ConnectionParameters(host, int(port), "/",
                                            pika.PlainCredentials("app", "wrong"))
            with pytest.raises(pika.exceptions.ProbableAuthenticationError):
                pika.BlockingConnection(bad)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--amqpmock-seed", "3")
    result.assert_outcomes(passed=1)


def test_bad_users_ini_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\namqpmock_users =\n    nocolon\n")
    pytester.makepyfile("def test_x(amqp_url):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*amqpmock_users: expected NAME:PASSWORD, got 'nocolon'*"])
    assert result.ret != 0


@pytest.mark.parametrize(("how", "loop"), [("option", "asyncio"), ("ini", "uvloop")])
def test_the_server_threads_loop_can_be_chosen(
    pytester: pytest.Pytester, how: str, loop: str
) -> None:
    pytester.makepyfile(
        f"""
        import asyncio, pika

        def test_loop(amqp_broker, amqp_url, amqpmock_server):
            conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
            conn.channel().queue_declare("q")
            conn.close()
            kind = amqpmock_server.call(lambda: type(asyncio.get_running_loop()).__module__)
            assert kind.startswith("{loop}")
        """
    )
    if how == "option":
        result = pytester.runpytest("-p", "no:cacheprovider", "--amqpmock-loop", loop)
    else:
        pytester.makeini(f"[pytest]\namqpmock_loop = {loop}\n")
        result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_bad_loop_ini_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\namqpmock_loop = trio\n")
    pytester.makepyfile("def test_x(amqp_url):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        ["*amqpmock_loop: expected one of auto, asyncio, uvloop, got 'trio'*"]
    )
    assert result.ret != 0


def test_xdist_workers_are_isolated(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pika, pytest

        @pytest.mark.parametrize("i", range(6))
        def test_each(amqp_broker, amqp_url, i):
            conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
            ch = conn.channel()
            assert amqp_broker.queues() == []
            ch.queue_declare("shared")
            ch.basic_publish("", "shared", str(i))
            assert [m.body for m in amqp_broker.messages("shared")] == [str(i).encode()]
            conn.close()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=6)


def test_host_and_port_options(pytester: pytest.Pytester) -> None:
    from amqpmock.testing.rabbitmq import free_port

    port = free_port()
    pytester.makepyfile(
        f"""
        def test_url(amqp_url):
            assert amqp_url == "amqp://guest:guest@127.0.0.1:{port}/"
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--amqpmock-host", "127.0.0.1", "--amqpmock-port", str(port)
    )
    result.assert_outcomes(passed=1)


def test_oslo_messaging_client_against_a_stub(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import oslo_messaging as messaging
        import pytest
        from oslo_config import cfg
        from oslo_messaging import conffixture

        def test_call(amqp_broker, amqp_url):
            conf = cfg.ConfigOpts()
            conf([], project="t")
            conffixture.ConfFixture(conf).setUp()
            conf.set_override("control_exchange", "nova")
            transport = messaging.get_rpc_transport(
                conf, url=amqp_url.replace("amqp://", "rabbit://"))
            try:
                stub = amqp_broker.rpc_stub("nova", "compute.*").side_effect(
                    lambda p: {"echo": p["args"]})
                client = messaging.get_rpc_client(
                    transport, messaging.Target(topic="compute"), timeout=5)
                assert client.prepare(server="c1").call({}, "ping", n=1) == {"echo": {"n": 1}}
                assert stub.calls.last.method == "ping"
                stub.raises(LookupError("gone"))
                with pytest.raises(LookupError, match="gone"):
                    client.prepare(server="c1").call({}, "ping", n=2)
                client.cast({}, "notify", n=3)
                amqp_broker.assert_published(exchange="nova", routing_key="compute")
            finally:
                transport.cleanup()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_kombu_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import kombu

        def test_simple_queue(amqp_broker, amqp_url):
            with kombu.Connection(amqp_url) as conn:
                queue = conn.SimpleQueue("tasks")
                queue.put({"task": "resize", "id": 9})
                message = queue.get(timeout=5)
                assert message.payload == {"task": "resize", "id": 9}
                message.ack()
                queue.close()
            assert amqp_broker.queue("tasks").acked.last.json() == {"task": "resize", "id": 9}
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_seed_makes_server_names_repeatable_and_nothing_published_message(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pika

        def test_names(amqp_broker, amqp_url):
            conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
            name = conn.channel().queue_declare("", exclusive=True).method.queue
            conn.close()
            print("SERVER-NAME", name)

        def test_quiet(amqp_broker):
            amqp_broker.declare_queue("q")
            amqp_broker.publish("", "q", "oops")
            amqp_broker.assert_nothing_published()
        """
    )
    names = []
    for _ in range(2):
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--amqpmock-seed=7")
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            ["*expected no publishes, found:*", "*published: exchange='' routing_key='q'*"]
        )
        line = next(x for x in result.outlines if "SERVER-NAME" in x)
        names.append(line.split("SERVER-NAME ")[1].split()[0])
    assert names[0] == names[1] and names[0].startswith("amq.gen-")
    other = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--amqpmock-seed=8")
    line = next(x for x in other.outlines if "SERVER-NAME" in x)
    assert line.split("SERVER-NAME ")[1].split()[0] != names[0]
