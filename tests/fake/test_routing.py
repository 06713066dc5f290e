"""Exchange routing in the core, without sockets."""

from __future__ import annotations

import pytest
from routing_cases import ROUTING_CASES, RoutingCase

from amqpmock.fake import Broker
from amqpmock.fake.routing import TopicRouting, headers_match, split_topic

TOPIC_CASES = [
    # (binding key, routing key, matches)
    ("a.#", "a", True),
    ("#.b", "b", True),
    ("a.#.c", "a.c", True),
    ("a.#.c", "a.b.x.c", True),
    ("a.*.c", "a.b.x.c", False),
    ("a.*.c", "a.b.c", True),
    ("a.b", "aXb", False),
    ("#", "", True),
    ("*", "", False),
    ("", "", True),
    ("", "a", False),
    ("*", "a", True),
    ("*.*", "a", False),
    ("*.*", "a.b", True),
    ("#.#", "a.b.c", True),
    ("a.#.#.b", "a.b", True),
    ("a.*", "a.", True),
    ("a..b", "a..b", True),
    ("a.*.b", "a..b", True),
    ("#.a.#", "x.a.y", True),
    ("#.a.#", "x.b.y", False),
    ("*.#", "", False),
    ("#.*", "a", True),
    ("a.#", "ab", False),
]


@pytest.mark.parametrize(("binding", "key", "matches"), TOPIC_CASES)
def test_topic_trie_matches_like_rabbitmq(binding: str, key: str, matches: bool) -> None:
    trie = TopicRouting()
    trie.bind("q", binding, {})
    assert (list(trie.match(key, None)) == ["q"]) is matches


def test_split_topic_keeps_empty_words() -> None:
    assert split_topic("") == []
    assert split_topic("a..b") == ["a", "", "b"]


def test_topic_unbind_prunes_and_stops_matching() -> None:
    trie = TopicRouting()
    trie.bind("q1", "a.*.c", {})
    trie.bind("q2", "a.#", {})
    assert set(trie.match("a.b.c", None)) == {"q1", "q2"}
    trie.unbind("q1", "a.*.c", {})
    assert set(trie.match("a.b.c", None)) == {"q2"}
    trie.unbind("q2", "a.#", {})
    assert list(trie.match("a.b.c", None)) == []
    assert trie._root.children == {}


@pytest.mark.parametrize(
    ("binding", "headers", "matches"),
    [
        ({"x-match": "all", "a": 1, "b": "x"}, {"a": 1, "b": "x"}, True),
        ({"x-match": "all", "a": 1, "b": "x"}, {"a": 1}, False),
        ({"x-match": "any", "a": 1, "b": "x"}, {"a": 1}, True),
        ({"x-match": "any", "a": 1}, {"a": 2}, False),
        ({"a": 1}, {"a": 1, "c": 3}, True),  # x-match defaults to all
        ({"a": 1}, {"a": "1"}, False),  # type class matters
        ({"a": True}, {"a": 1}, False),
        ({"x-match": "all", "x-k": 1}, {}, True),  # x- keys ignored
        ({"x-match": "all-with-x", "x-k": 1}, {}, False),
        ({"x-match": "all-with-x", "x-k": 1}, {"x-k": 1}, True),
        ({"x-match": "any", "x-k": 1}, {"x-k": 1}, False),
        ({"x-match": "any-with-x", "x-k": 1}, {"x-k": 1}, True),
        ({"x-match": "all", "a": None}, {"a": "anything"}, True),  # void: presence
        ({"x-match": "any"}, {"a": 1}, False),
        ({"x-match": "all"}, None, True),
    ],
)
def test_headers_match(
    binding: dict[str, object], headers: dict[str, object] | None, matches: bool
) -> None:
    assert headers_match(binding, headers) is matches


def test_default_and_predeclared_exchanges() -> None:
    b = Broker()
    assert {"", "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match"} <= set(
        b.exchanges()
    )
    b.declare_queue("q")
    assert b.publish("", "q", "x") == ["q"]
    assert b.publish("", "nope", "x") == []


def test_exchange_to_exchange_and_alternate_exchange() -> None:
    b = Broker()
    b.declare_exchange("ae", "fanout")
    b.declare_exchange("main", "direct", arguments={"alternate-exchange": "ae"})
    b.declare_exchange("inner", "topic")
    b.declare_queue("unrouted")
    b.declare_queue("hit")
    b.declare_queue("deep")
    b.bind_queue("unrouted", "ae")
    b.bind_queue("hit", "main", "k")
    b.bind_exchange("inner", "main", "k2")
    b.bind_queue("deep", "inner", "#")
    assert b.publish("main", "k", "1") == ["hit"]
    assert b.publish("main", "k2", "2") == ["deep"]
    assert b.publish("main", "other", "3") == ["unrouted"]


def test_exchange_binding_cycles_terminate() -> None:
    b = Broker()
    b.declare_exchange("x1", "fanout")
    b.declare_exchange("x2", "fanout")
    b.bind_exchange("x2", "x1")
    b.bind_exchange("x1", "x2")
    b.declare_queue("q")
    b.bind_queue("q", "x2")
    assert b.publish("x1", "", "m") == ["q"]


def test_fanout_and_direct_multiple_bindings() -> None:
    b = Broker()
    b.declare_exchange("f", "fanout")
    for name in ("q1", "q2"):
        b.declare_queue(name)
        b.bind_queue(name, "f", "ignored")
    b.bind_queue("q1", "f", "other")  # second binding, still one copy
    assert sorted(b.publish("f", "whatever", "m")) == ["q1", "q2"]
    assert [m.body for m in b.messages("q1")] == [b"m"]
    b.unbind_queue("q1", "f", "ignored")
    assert sorted(b.publish("f", "x", "m2")) == ["q1", "q2"]
    b.unbind_queue("q1", "f", "other")
    assert b.publish("f", "x", "m3") == ["q2"]


def test_cc_and_bcc_headers_route_and_bcc_is_removed() -> None:
    b = Broker()
    for name in ("a", "b", "c"):
        b.declare_queue(name)
    routed = b.publish("", "a", "m", {"headers": {"CC": ["b"], "BCC": ["c"]}})
    assert sorted(routed) == ["a", "b", "c"]
    delivered = b.messages("c")[0]
    assert "BCC" not in delivered.headers
    assert delivered.headers["CC"] == ["b"]


def test_topic_routing_scales_with_trie() -> None:
    trie = TopicRouting()
    for i in range(10_000):
        trie.bind(f"q{i}", f"svc{i}.*.event", {})
    calls = 0
    original = trie._walk

    def counting(*args: object) -> None:
        nonlocal calls
        calls += 1
        original(*args)  # type: ignore[arg-type]

    trie._walk = counting  # type: ignore[method-assign]
    assert list(trie.match("svc42.x.event", None)) == ["q42"]
    assert calls < 10


@pytest.mark.parametrize("case", ROUTING_CASES, ids=[c.name for c in ROUTING_CASES])
def test_routing_table_on_the_core(case: RoutingCase) -> None:
    """The same table the differential suite checks against a real RabbitMQ."""
    b = Broker()
    b.declare_exchange("x", case.exchange_type)
    for queue in case.queues:
        b.declare_queue(queue)
    for key, queue in case.bindings:
        if isinstance(key, dict):
            b.bind_queue(queue, "x", "", arguments=dict(key))
        else:
            b.bind_queue(queue, "x", key)
    props = {"headers": dict(case.headers)} if case.headers is not None else None
    assert set(b.publish("x", case.routing_key, "m", props)) == set(case.expected)
