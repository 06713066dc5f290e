"""Routing cases for direct, fanout, topic and headers exchanges.

A plain data table, shared by the unit tests of the fake broker and by the
differential suite (``tests/differential``), which checks every ``expected`` value
against a real RabbitMQ 3.10 node. Do not change an expected value without running
``pytest tests/differential -k routing`` against RabbitMQ.

Each case declares one fresh exchange of ``exchange_type``, binds the listed queues
(``(binding key, queue)`` for direct/fanout/topic; ``(arguments table, queue)`` for
headers), publishes one message with ``routing_key`` and ``headers``, and expects it to
land in exactly the queues named in ``expected``.

Header values: ``int`` is sent by pika as a signed 32-bit ``I`` field, ``LongInt`` as a
64-bit ``l`` field, ``bool`` as ``t``, ``None`` as void ``V``, ``str`` as ``S``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class LongInt(int):
    """An int sent as a 64-bit signed ``l`` table field (pika: ``pika.compat.long``)."""


Binding = tuple["str | dict[str, Any]", str]


@dataclass(frozen=True)
class RoutingCase:
    name: str
    exchange_type: str
    bindings: tuple[Binding, ...]
    routing_key: str = ""
    headers: dict[str, Any] | None = None
    expected: frozenset[str] = field(default_factory=frozenset)

    @property
    def queues(self) -> list[str]:
        """Every queue named by the bindings, in first-seen order."""
        seen: dict[str, None] = {}
        for _, queue in self.bindings:
            seen.setdefault(queue, None)
        return list(seen)


def _topic(name: str, key: str, rk: str, match: bool) -> RoutingCase:
    """One topic binding ``key`` -> queue ``q``; does routing key ``rk`` reach it?"""
    return RoutingCase(
        name=name,
        exchange_type="topic",
        bindings=((key, "q"),),
        routing_key=rk,
        expected=frozenset({"q"} if match else set()),
    )


def _headers(
    name: str, args: dict[str, Any], headers: dict[str, Any] | None, match: bool
) -> RoutingCase:
    """One headers binding with ``args`` -> queue ``q``; does a message with ``headers``?"""
    return RoutingCase(
        name=name,
        exchange_type="headers",
        bindings=((args, "q"),),
        routing_key="ignored",
        headers=headers,
        expected=frozenset({"q"} if match else set()),
    )


DIRECT_CASES = [
    RoutingCase(
        "direct exact key",
        "direct",
        (("k", "q1"), ("other", "q2")),
        routing_key="k",
        expected=frozenset({"q1"}),
    ),
    RoutingCase(
        "direct is case sensitive",
        "direct",
        (("Key", "q1"),),
        routing_key="key",
        expected=frozenset(),
    ),
    RoutingCase(
        "direct same key to two queues",
        "direct",
        (("k", "q1"), ("k", "q2")),
        routing_key="k",
        expected=frozenset({"q1", "q2"}),
    ),
    RoutingCase(
        "direct one queue bound with two keys (delivered once)",
        "direct",
        (("a", "q1"), ("b", "q1")),
        routing_key="b",
        expected=frozenset({"q1"}),
    ),
    RoutingCase(
        "direct empty key",
        "direct",
        (("", "q1"), ("k", "q2")),
        routing_key="",
        expected=frozenset({"q1"}),
    ),
    RoutingCase(
        "direct does not treat * or # as wildcards",
        "direct",
        (("*", "q1"), ("#", "q2")),
        routing_key="a",
        expected=frozenset(),
    ),
    RoutingCase(
        "direct no binding", "direct", (("k", "q1"),), routing_key="x", expected=frozenset()
    ),
]

FANOUT_CASES = [
    RoutingCase(
        "fanout ignores routing and binding keys",
        "fanout",
        (("x", "q1"), ("", "q2"), ("#", "q3")),
        routing_key="anything",
        expected=frozenset({"q1", "q2", "q3"}),
    ),
    RoutingCase(
        "fanout queue bound twice gets one copy",
        "fanout",
        (("a", "q1"), ("b", "q1")),
        routing_key="",
        expected=frozenset({"q1"}),
    ),
]

TOPIC_CASES = [
    _topic("topic a.# matches a", "a.#", "a", True),
    _topic("topic a.# matches a.b.c", "a.#", "a.b.c", True),
    _topic("topic a.# does not match b.a", "a.#", "b.a", False),
    _topic("topic #.b matches b", "#.b", "b", True),
    _topic("topic #.b matches x.y.b", "#.b", "x.y.b", True),
    _topic("topic a.#.c matches a.c", "a.#.c", "a.c", True),
    _topic("topic a.#.c matches a.b.x.c", "a.#.c", "a.b.x.c", True),
    _topic("topic a.#.c does not match a.b.x", "a.#.c", "a.b.x", False),
    _topic("topic a.*.c matches a.b.c", "a.*.c", "a.b.c", True),
    _topic("topic a.*.c does not match a.b.x.c", "a.*.c", "a.b.x.c", False),
    _topic("topic a.*.c does not match a.c", "a.*.c", "a.c", False),
    _topic("topic a.b does not match aXb (dot is literal)", "a.b", "aXb", False),
    _topic("topic exact a.b.c", "a.b.c", "a.b.c", True),
    _topic("topic is case sensitive", "a.b.c", "A.b.c", False),
    _topic("topic # matches empty key", "#", "", True),
    _topic("topic # matches a.b.c", "#", "a.b.c", True),
    _topic("topic * does not match empty key", "*", "", False),
    _topic("topic * matches a", "*", "a", True),
    _topic("topic * does not match a.b", "*", "a.b", False),
    _topic("topic *.* does not match a", "*.*", "a", False),
    _topic("topic *.* matches a.b", "*.*", "a.b", True),
    _topic("topic *.* matches . (two empty words)", "*.*", ".", True),
    _topic("topic #.# matches empty key", "#.#", "", True),
    _topic("topic #.# matches a.b.c", "#.#", "a.b.c", True),
    _topic("topic a.#.#.b matches a.b", "a.#.#.b", "a.b", True),
    _topic("topic a.#.#.b matches a.x.y.b", "a.#.#.b", "a.x.y.b", True),
    _topic("topic a.#.#.b matches a.b.b", "a.#.#.b", "a.b.b", True),
    _topic("topic a..b matches a..b", "a..b", "a..b", True),
    _topic("topic a..b does not match a.b", "a..b", "a.b", False),
    _topic("topic a.*.b matches a..b (empty word)", "a.*.b", "a..b", True),
    _topic("topic a.b does not match a..b", "a.b", "a..b", False),
    _topic("topic a.#.b # in middle matches a.x.y.b", "a.#.b", "a.x.y.b", True),
    _topic("topic #.a.# matches a", "#.a.#", "a", True),
    _topic("topic #.a.# matches x.a.y", "#.a.#", "x.a.y", True),
    _topic("topic #.a.# does not match x.y", "#.a.#", "x.y", False),
    _topic("topic *.a does not match a", "*.a", "a", False),
    _topic("topic a.* does not match a", "a.*", "a", False),
    _topic("topic a.* matches a. (trailing empty word)", "a.*", "a.", True),
    _topic("topic a.# matches a.", "a.#", "a.", True),
    _topic("topic a. does not match a", "a.", "a", False),
    _topic("topic *.# does not match empty key", "*.#", "", False),
    _topic("topic *.# matches a", "*.#", "a", True),
    _topic("topic a.*.# does not match a", "a.*.#", "a", False),
    _topic("topic a.*.# matches a.b", "a.*.#", "a.b", True),
    _topic("topic empty binding matches empty key", "", "", True),
    _topic("topic empty binding does not match a", "", "a", False),
    _topic("topic a# is a literal word, not a wildcard", "a#", "a.b", False),
    _topic("topic a# matches literal a#", "a#", "a#", True),
    _topic("topic a* is a literal word", "a*", "ab", False),
    RoutingCase(
        "topic several patterns, several queues",
        "topic",
        (("*.orange.*", "q1"), ("*.*.rabbit", "q2"), ("lazy.#", "q2"), ("#", "q3")),
        routing_key="lazy.orange.rabbit",
        expected=frozenset({"q1", "q2", "q3"}),
    ),
    RoutingCase(
        "topic two matching patterns to one queue give one copy",
        "topic",
        (("a.*", "q1"), ("#.b", "q1"), ("x", "q2")),
        routing_key="a.b",
        expected=frozenset({"q1"}),
    ),
]

HEADERS_CASES = [
    _headers(
        "headers all: all keys match",
        {"x-match": "all", "a": "1", "b": "2"},
        {"a": "1", "b": "2"},
        True,
    ),
    _headers(
        "headers all: one key missing", {"x-match": "all", "a": "1", "b": "2"}, {"a": "1"}, False
    ),
    _headers(
        "headers all: extra message headers are fine",
        {"x-match": "all", "a": "1"},
        {"a": "1", "c": "3"},
        True,
    ),
    _headers("headers all: value differs", {"x-match": "all", "a": "1"}, {"a": "2"}, False),
    _headers(
        "headers any: one key matches",
        {"x-match": "any", "a": "1", "b": "2"},
        {"a": "1", "b": "x"},
        True,
    ),
    _headers(
        "headers any: no key matches", {"x-match": "any", "a": "1", "b": "2"}, {"c": "3"}, False
    ),
    _headers(
        "headers any: key present, value differs", {"x-match": "any", "a": "1"}, {"a": "2"}, False
    ),
    _headers(
        "headers default x-match is all (match)", {"a": "1", "b": "2"}, {"a": "1", "b": "2"}, True
    ),
    _headers("headers default x-match is all (no match)", {"a": "1", "b": "2"}, {"a": "1"}, False),
    _headers("headers all: message without headers", {"x-match": "all", "a": "1"}, None, False),
    _headers("headers all with empty pattern matches anything", {"x-match": "all"}, None, True),
    _headers("headers empty arguments match anything", {}, {"z": "1"}, True),
    _headers(
        "headers any with empty pattern matches nothing", {"x-match": "any"}, {"a": "1"}, False
    ),
    _headers("headers int 1 vs string '1' differ", {"a": 1}, {"a": "1"}, False),
    _headers("headers int 1 equals int 1", {"a": 1}, {"a": 1}, True),
    _headers("headers 32-bit int equals 64-bit long", {"a": 1}, {"a": LongInt(1)}, True),
    _headers("headers bool true vs int 1 differ", {"a": True}, {"a": 1}, False),
    _headers("headers bool equals bool", {"a": True}, {"a": True}, True),
    _headers("headers void binding value means key present", {"a": None}, {"a": "anything"}, True),
    _headers("headers void binding value, key absent", {"a": None}, {"b": "1"}, False),
    _headers("headers key names are case sensitive", {"A": "1"}, {"a": "1"}, False),
    _headers(
        "headers all: x- binding args are ignored", {"x-match": "all", "x-foo": "1"}, {}, True
    ),
    _headers(
        "headers any: x- binding args are ignored",
        {"x-match": "any", "x-foo": "1"},
        {"x-foo": "1"},
        False,
    ),
    _headers(
        "headers all: x- binding arg ignored, plain arg matches",
        {"x-match": "all", "x-foo": "1", "a": "1"},
        {"a": "1"},
        True,
    ),
    _headers(
        "headers all-with-x: x- arg must match",
        {"x-match": "all-with-x", "x-foo": "1"},
        {"x-foo": "1"},
        True,
    ),
    _headers(
        "headers all-with-x: x- arg missing",
        {"x-match": "all-with-x", "x-foo": "1"},
        {"a": "1"},
        False,
    ),
    _headers(
        "headers all-with-x: x- and plain args",
        {"x-match": "all-with-x", "x-foo": "1", "a": "1"},
        {"x-foo": "1", "a": "1"},
        True,
    ),
    _headers(
        "headers any-with-x: x- arg matches",
        {"x-match": "any-with-x", "x-foo": "1", "a": "1"},
        {"x-foo": "1"},
        True,
    ),
    _headers(
        "headers any-with-x: nothing matches",
        {"x-match": "any-with-x", "x-foo": "1"},
        {"x-foo": "2"},
        False,
    ),
    _headers(
        "headers any-with-x does not compare x-match itself",
        {"x-match": "any-with-x"},
        {"x-match": "any-with-x"},
        False,
    ),
    RoutingCase(
        "headers ignores routing key, routes to every matching binding",
        "headers",
        (
            ({"x-match": "any", "a": "1"}, "q1"),
            ({"x-match": "all", "b": "2"}, "q2"),
            ({"c": "3"}, "q3"),
        ),
        routing_key="q3",
        headers={"a": "1", "b": "2"},
        expected=frozenset({"q1", "q2"}),
    ),
]

ROUTING_CASES: list[RoutingCase] = [*DIRECT_CASES, *FANOUT_CASES, *TOPIC_CASES, *HEADERS_CASES]

_names = [case.name for case in ROUTING_CASES]
assert len(_names) == len(set(_names)), "routing case names must be unique"
