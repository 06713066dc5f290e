"""amqpmock's own behaviour, registered through the same hooks as third-party plugins
(as datasette's DEFAULT_PLUGINS). Each entry is a module or object with hookimpls."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from amqpmock.cassette._redact import BuiltinRedactors
from amqpmock.hookspecs import MessageDecoder, hookimpl


class BuiltinExchangeTypes:
    @hookimpl
    def amqpmock_exchange_types(self) -> Mapping[str, type[Any]]:
        from amqpmock.fake.delayed import DELAYED_TYPE, DelayedMessageRouting
        from amqpmock.fake.hashing import ConsistentHashRouting
        from amqpmock.fake.routing import EXCHANGE_TYPES

        # the exchange types of RabbitMQ's plugins, registered as a plugin would
        return {
            **EXCHANGE_TYPES,
            "x-consistent-hash": ConsistentHashRouting,
            DELAYED_TYPE: DelayedMessageRouting,
        }


class BuiltinDecoders:
    @hookimpl
    def amqpmock_message_decoders(self) -> Mapping[str, MessageDecoder]:
        return {"application/json": json.loads, "text/plain": lambda b: b.decode("utf-8")}


def _conventions() -> object:
    from amqpmock.testing.rpc import BuiltinConventions

    return BuiltinConventions()


class BuiltinMatchers:
    @hookimpl
    def amqpmock_matchers(self) -> Mapping[str, Any]:
        from amqpmock.replay import BUILTIN_MATCHERS

        return dict(BUILTIN_MATCHERS)


DEFAULT_PLUGINS: list[object] = [
    BuiltinExchangeTypes(),
    BuiltinDecoders(),
    _conventions(),
    BuiltinRedactors(),
    BuiltinMatchers(),
]
