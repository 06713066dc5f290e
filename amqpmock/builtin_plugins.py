"""amqpmock's own behaviour, registered through the same hooks as third-party plugins
(as datasette's DEFAULT_PLUGINS). Each entry is a module or object with hookimpls."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from amqpmock.hookspecs import MessageDecoder, hookimpl

if TYPE_CHECKING:
    from amqpmock.hookspecs import Redactor, RPCConvention


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


# The conventions and redactors are imported when the hook is first called, not when
# the plugins are registered: ``amqpmock serve`` registers them on its way to the first
# connection, and the cassette side (PyYAML) and the RPC stubs are not on that way.
class LazyConventions:
    @hookimpl
    def amqpmock_rpc_conventions(self) -> Sequence[RPCConvention]:
        from amqpmock.testing.rpc import BuiltinConventions

        return BuiltinConventions().amqpmock_rpc_conventions()


class LazyRedactors:
    @hookimpl
    def amqpmock_redactors(self) -> Sequence[Redactor]:
        from amqpmock.cassette._redact import BuiltinRedactors

        return BuiltinRedactors().amqpmock_redactors()


class BuiltinMatchers:
    @hookimpl
    def amqpmock_matchers(self) -> Mapping[str, Any]:
        from amqpmock.replay import BUILTIN_MATCHERS

        return dict(BUILTIN_MATCHERS)


DEFAULT_PLUGINS: list[object] = [
    BuiltinExchangeTypes(),
    BuiltinDecoders(),
    LazyConventions(),
    LazyRedactors(),
    BuiltinMatchers(),
]
