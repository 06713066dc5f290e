"""Exchange types: how a message's routing key and headers pick destinations.

Rules this module keeps (RabbitMQ 3.x is the reference):
- A destination is any hashable (the broker uses Queue and Exchange objects); an
  exchange type only stores bindings and answers ``match``.
- Topic keys split on ``.`` into words; the empty key has no words. ``*`` is exactly
  one word, ``#`` zero or more. Matching walks a trie, so the cost of a publish grows
  with the key's length and the wildcards on its path, not with the binding count.
- Headers matching skips binding arguments whose name starts with ``x-`` unless
  x-match is ``all-with-x``/``any-with-x``; values compare by value and type class
  (1 and "1" differ; True and 1 differ), and a void (None) binding value matches on
  presence.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Destination = Hashable
Headers = Mapping[str, Any]


class ExchangeType(Protocol):
    """The routing behaviour of one exchange. Registered by name in ``EXCHANGE_TYPES``."""

    def bind(self, dest: Destination, routing_key: str, arguments: Headers) -> None: ...

    def unbind(self, dest: Destination, routing_key: str, arguments: Headers) -> None: ...

    def match(self, routing_key: str, headers: Headers | None) -> Iterable[Destination]: ...


class DirectRouting:
    """Exact routing key equality, one dict lookup per publish."""

    def __init__(self) -> None:
        self._by_key: dict[str, dict[Destination, None]] = {}

    def bind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        self._by_key.setdefault(routing_key, {})[dest] = None

    def unbind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        dests = self._by_key.get(routing_key)
        if dests is not None:
            dests.pop(dest, None)
            if not dests:
                del self._by_key[routing_key]

    def match(self, routing_key: str, headers: Headers | None) -> Iterable[Destination]:
        return self._by_key.get(routing_key, ())


class FanoutRouting:
    """Every bound destination, whatever the key."""

    def __init__(self) -> None:
        # destination -> number of bindings (different keys bind the same pair twice)
        self._dests: dict[Destination, int] = {}

    def bind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        self._dests[dest] = self._dests.get(dest, 0) + 1

    def unbind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        count = self._dests.get(dest, 0) - 1
        if count <= 0:
            self._dests.pop(dest, None)
        else:
            self._dests[dest] = count

    def match(self, routing_key: str, headers: Headers | None) -> Iterable[Destination]:
        return self._dests


def split_topic(key: str) -> list[str]:
    """Words of a topic key as RabbitMQ splits them: '' has none, 'a..b' has three."""
    return key.split(".") if key else []


@dataclass(slots=True, eq=False)
class _TrieNode:
    children: dict[str, _TrieNode] = field(default_factory=dict)
    dests: dict[Destination, None] = field(default_factory=dict)


class TopicRouting:
    """Topic wildcards through a trie of binding words."""

    def __init__(self) -> None:
        self._root = _TrieNode()
        self._cache: dict[str, tuple[Destination, ...]] = {}

    def bind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        node = self._root
        for word in split_topic(routing_key):
            node = node.children.setdefault(word, _TrieNode())
        node.dests[dest] = None
        self._cache.clear()

    def unbind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        path = [self._root]
        words = split_topic(routing_key)
        for word in words:
            child = path[-1].children.get(word)
            if child is None:
                return
            path.append(child)
        path[-1].dests.pop(dest, None)
        # prune empty branches so the trie does not keep dead paths forever
        for depth in range(len(words), 0, -1):
            node = path[depth]
            if node.dests or node.children:
                break
            del path[depth - 1].children[words[depth - 1]]
        self._cache.clear()

    def match(self, routing_key: str, headers: Headers | None) -> Iterable[Destination]:
        cached = self._cache.get(routing_key)
        if cached is not None:
            return cached
        out: dict[Destination, None] = {}
        self._walk(self._root, split_topic(routing_key), 0, out)
        result = tuple(out)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[routing_key] = result
        return result

    def _walk(
        self, node: _TrieNode, words: list[str], i: int, out: dict[Destination, None]
    ) -> None:
        children = node.children
        if i == len(words):
            out.update(node.dests)
            hash_node = children.get("#")
            if hash_node is not None:
                self._walk(hash_node, words, i, out)
            return
        exact = children.get(words[i])
        if exact is not None:
            self._walk(exact, words, i + 1, out)
        star = children.get("*")
        if star is not None:
            self._walk(star, words, i + 1, out)
        hash_node = children.get("#")
        if hash_node is not None:
            # '#' swallows zero or more words: try every split point
            for j in range(i, len(words) + 1):
                self._walk(hash_node, words, j, out)


def _type_class(value: Any) -> str:
    # RabbitMQ compares header values by type class and value: all integer widths are
    # one class, booleans another, strings (short or long) another.
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str | bytes):
        return "str"
    return type(value).__name__


def _as_comparable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value


def headers_match(binding_args: Headers, headers: Headers | None) -> bool:
    """RabbitMQ's headers exchange match of one binding against message headers."""
    x_match = binding_args.get("x-match", "all")
    if isinstance(x_match, bytes):
        x_match = x_match.decode()
    with_x = x_match in ("all-with-x", "any-with-x")
    want_all = x_match in ("all", "all-with-x")
    message = headers or {}
    seen_any = False
    for key, want in binding_args.items():
        if key == "x-match" or (key.startswith("x-") and not with_x):
            continue
        if key not in message:
            if want_all:
                return False
            continue
        have = message[key]
        if want is None or (
            _type_class(want) == _type_class(have) and _as_comparable(want) == _as_comparable(have)
        ):
            if not want_all:
                return True
            seen_any = True
        elif want_all:
            return False
    # 'all' with no matchable arguments matches everything; 'any' needs one match
    return True if want_all else seen_any


def _args_key(arguments: Headers) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in arguments.items()))


class HeadersRouting:
    """Header table matching; the routing key is ignored."""

    def __init__(self) -> None:
        self._bindings: dict[tuple[Destination, tuple[tuple[str, str], ...]], Headers] = {}

    def bind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        self._bindings[(dest, _args_key(arguments))] = dict(arguments)

    def unbind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        self._bindings.pop((dest, _args_key(arguments)), None)

    def match(self, routing_key: str, headers: Headers | None) -> Iterable[Destination]:
        out: dict[Destination, None] = {}
        for (dest, _), args in self._bindings.items():
            if dest not in out and headers_match(args, headers):
                out[dest] = None
        return out


# The built-in exchange types. Plugins add theirs through the `amqpmock_exchange_types`
# hook; the broker merges both into one table.
EXCHANGE_TYPES: dict[str, type[ExchangeType]] = {
    "direct": DirectRouting,
    "fanout": FanoutRouting,
    "topic": TopicRouting,
    "headers": HeadersRouting,
}
