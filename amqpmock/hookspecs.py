"""Extension points: pluggy hook specifications, and a typed wrapper to call them.

Rules this module keeps (as tox's ``plugin/spec.py`` and ``manager.py``):
- One annotated, documented function per hook. The rest of amqpmock calls hooks only
  through ``PluginManager``'s typed methods, never ``pm.hook.x`` directly.
- Built-in behaviour (exchange types, RPC conventions, message decoders, redactors,
  matchers) registers through these same hooks, from ``amqpmock.builtin_plugins``.
- Third-party plugins register with the setuptools entry point group ``amqpmock``
  or with ``amqpmock.hookspecs.get_plugin_manager().register(obj)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from amqpmock.fake.routing import ExchangeType

PROJECT = "amqpmock"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class RPCConvention(Protocol):
    """How RPC requests and replies look on the wire for one family of clients.

    ``parse_request`` returns None when a message is not a request of this convention;
    otherwise a dict with at least ``payload`` (what the stub sees), ``reply_exchange``,
    ``reply_routing_key`` and whatever the convention needs to build the reply.
    ``build_replies`` turns a stub's result (or exception) into the messages to publish:
    a list of (exchange, routing_key, properties dict, body bytes).
    """

    name: str

    def parse_request(
        self, exchange: str, routing_key: str, properties: Mapping[str, Any], body: bytes
    ) -> dict[str, Any] | None: ...

    def build_replies(
        self, request: dict[str, Any], result: Any, error: BaseException | None
    ) -> list[tuple[str, str, dict[str, Any], bytes]]: ...


MessageDecoder = Callable[[bytes], Any]
Redactor = Callable[[dict[str, Any]], dict[str, Any] | None]
Matcher = Callable[[dict[str, Any], dict[str, Any]], None]


class AmqpmockSpec:
    @hookspec
    def amqpmock_exchange_types(self) -> Mapping[str, type[ExchangeType]]:
        """Exchange types by name (``{"x-random": RandomRouting}``). Each class has
        ``bind``, ``unbind`` and ``match`` (see ``amqpmock.fake.routing.ExchangeType``).
        Later plugins override earlier names."""
        raise NotImplementedError

    @hookspec
    def amqpmock_rpc_conventions(self) -> Sequence[RPCConvention]:
        """RPC conventions an RPC stub understands (AMQP-native, oslo.messaging, ...).
        A stub tries them in order and uses the first whose ``parse_request`` accepts."""
        raise NotImplementedError

    @hookspec
    def amqpmock_message_decoders(self) -> Mapping[str, MessageDecoder]:
        """Body decoders by content type (``{"application/json": json.loads}``), used by
        inspection helpers such as ``message.json()`` and cassette rendering."""
        raise NotImplementedError

    @hookspec
    def amqpmock_redactors(self) -> Sequence[Redactor]:
        """Functions applied to each decoded cassette record before it is written. Return
        the (possibly changed) record, or None to drop it from the cassette."""
        raise NotImplementedError

    @hookspec
    def amqpmock_matchers(self) -> Mapping[str, Matcher]:
        """Replay matchers by name. A matcher takes (live, recorded) publish records and
        raises ``AssertionError`` with a readable difference when they do not match."""
        raise NotImplementedError


class PluginManager:
    """Typed access to the hooks: the only place that touches ``pm.hook``."""

    def __init__(self, load_entrypoints: bool = True) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(AmqpmockSpec)
        from amqpmock import builtin_plugins

        for plugin in builtin_plugins.DEFAULT_PLUGINS:
            self.pm.register(plugin)
        if load_entrypoints:
            self.pm.load_setuptools_entrypoints(PROJECT)

    def register(self, plugin: object, name: str | None = None) -> None:
        self.pm.register(plugin, name)

    def unregister(self, plugin: object) -> None:
        self.pm.unregister(plugin)

    def exchange_types(self) -> dict[str, type[ExchangeType]]:
        merged: dict[str, type[ExchangeType]] = {}
        # pluggy calls the last registered first; apply in registration order
        for result in reversed(self.pm.hook.amqpmock_exchange_types()):
            merged.update(result)
        return merged

    def rpc_conventions(self) -> list[RPCConvention]:
        out: list[RPCConvention] = []
        for result in self.pm.hook.amqpmock_rpc_conventions():
            out.extend(result)
        return out

    def message_decoders(self) -> dict[str, MessageDecoder]:
        merged: dict[str, MessageDecoder] = {}
        for result in reversed(self.pm.hook.amqpmock_message_decoders()):
            merged.update(result)
        return merged

    def redactors(self) -> list[Redactor]:
        out: list[Redactor] = []
        for result in reversed(self.pm.hook.amqpmock_redactors()):
            out.extend(result)
        return out

    def matchers(self) -> dict[str, Matcher]:
        merged: dict[str, Matcher] = {}
        for result in reversed(self.pm.hook.amqpmock_matchers()):
            merged.update(result)
        return merged


_default: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, built on first use."""
    global _default
    if _default is None:
        _default = PluginManager()
    return _default
