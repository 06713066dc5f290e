"""Hooks: built-ins come through them, and a third-party plugin can add to each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from amqpmock.fake import Broker, LocalClient
from amqpmock.hookspecs import PluginManager, hookimpl

pytest_plugins = ["pytester"]


class FirstBound:
    """A toy exchange type: routes to the first destination bound, whatever the key."""

    def __init__(self) -> None:
        self.dests: list[Any] = []

    def bind(self, dest: Any, routing_key: str, arguments: Mapping[str, Any]) -> None:
        if dest not in self.dests:
            self.dests.append(dest)

    def unbind(self, dest: Any, routing_key: str, arguments: Mapping[str, Any]) -> None:
        self.dests.remove(dest)

    def match(self, routing_key: str, headers: Mapping[str, Any] | None) -> Iterable[Any]:
        return self.dests[:1]


class ToyPlugin:
    @hookimpl
    def amqpmock_exchange_types(self) -> Mapping[str, type[Any]]:
        return {"x-first": FirstBound}

    @hookimpl
    def amqpmock_message_decoders(self) -> Mapping[str, Any]:
        return {"application/x-upper": lambda b: b.decode().upper()}

    @hookimpl
    def amqpmock_matchers(self) -> Mapping[str, Any]:
        def never(live: Any, rec: Any) -> None:
            raise AssertionError("never matches")

        return {"never": never}


def test_builtins_register_through_the_hooks() -> None:
    pm = PluginManager(load_entrypoints=False)
    assert set(pm.exchange_types()) == {
        "direct",
        "fanout",
        "topic",
        "headers",
        "x-consistent-hash",  # RabbitMQ's plugins' types, through the same hook
        "x-delayed-message",
    }
    assert [c.name for c in pm.rpc_conventions()] == ["oslo.messaging", "amqp"]
    assert {"exchange", "routing_key", "body", "headers", "properties"} <= set(pm.matchers())
    assert "application/json" in pm.message_decoders()
    assert pm.redactors()


def test_a_plugin_adds_an_exchange_type_decoder_and_matcher() -> None:
    pm = PluginManager(load_entrypoints=False)
    pm.register(ToyPlugin())
    assert pm.message_decoders()["application/x-upper"](b"abc") == "ABC"
    assert "never" in pm.matchers()
    broker = Broker(exchange_types=pm.exchange_types())
    ch = LocalClient(broker).channel()
    ch.exchange_declare("fb", "x-first")
    for q in ("a", "b"):
        ch.queue_declare(q)
        ch.queue_bind(q, "fb", "ignored")
    assert broker.publish("fb", "any", "m") == ["a"]


def test_plugin_exchange_types_reach_the_pytest_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        from amqpmock.hookspecs import get_plugin_manager
        from tests_toy import ToyPlugin
        get_plugin_manager().register(ToyPlugin())
        """
    )
    pytester.makepyfile(tests_toy=Path(__file__).read_text())
    pytester.makepyfile(
        """
        import pika

        def test_toy(amqp_broker, amqp_url):
            conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
            ch = conn.channel()
            ch.exchange_declare("fb", "x-first")
            ch.queue_declare("a"); ch.queue_declare("b")
            ch.queue_bind("a", "fb", ""); ch.queue_bind("b", "fb", "")
            ch.basic_publish("fb", "k", b"m")
            conn.close()
            assert amqp_broker.queue("a").routed.call_count == 1
            assert amqp_broker.queue("b").routed.call_count == 0
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "test_toy")
    result.assert_outcomes(passed=1)
