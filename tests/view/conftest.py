"""Shared pieces of the view tests: the committed cassettes, and a small DOM reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from amqpmock.cassette import Cassette, load_cassette

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"


def committed(name: str) -> Path:
    """A cassette committed under cassettes/ (recorded against RabbitMQ by tests/proxy)."""
    found = sorted(CASSETTES.rglob(name))
    if not found:
        pytest.fail(f"no committed cassette {name} under {CASSETTES} (tests/proxy records it)")
    return found[0]


@pytest.fixture(scope="session")
def oslo_cassette() -> Cassette:
    return load_cassette(committed("oslo_messaging_rpc.yaml"))


@pytest.fixture(scope="session")
def aio_pika_cassette() -> Cassette:
    return load_cassette(committed("aio_pika_rpc.yaml"))


@pytest.fixture(scope="session")
def pika_cassette() -> Cassette:
    return load_cassette(committed("pika_publish_consume.yaml"))


def all_committed() -> list[Path]:
    paths = sorted(CASSETTES.rglob("*.yaml"))
    assert paths, f"no cassettes under {CASSETTES}"
    return paths


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.attrs.get(name, "")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in ("meta", "input", "br", "img", "link", "line", "rect", "path"):
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for n in range(len(self.stack) - 1, -1, -1):
            if self.stack[n].tag == tag:
                del self.stack[n:]
                break

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text.append(data)


class Dom:
    """Just enough of a DOM to check a diagram: elements with their attributes and the
    text inside them."""

    def __init__(self, markup: str) -> None:
        reader = _Reader()
        reader.feed(markup)
        reader.close()
        self.elements = reader.elements

    def having(self, attr: str, value: str | None = None) -> list[Element]:
        return [
            e
            for e in self.elements
            if attr in e.attrs and (value is None or e.attrs[attr] == value)
        ]

    def participants(self) -> list[str]:
        return [e.get("data-participant") for e in self.having("data-participant")]

    def arrows(self, kind: str | None = None) -> list[Element]:
        return [
            e
            for e in self.having("data-row-kind", "arrow")
            if kind in (None, e.get("data-arrow-kind"))
        ]

    def count_by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for arrow in self.arrows():
            kind = arrow.get("data-arrow-kind")
            counts[kind] = counts.get(kind, 0) + 1
        return counts
