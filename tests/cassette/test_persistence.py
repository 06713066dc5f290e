"""Loading and writing cassette files: safe, versioned, atomic, with clear errors."""

from __future__ import annotations

import datetime
import decimal
import os
import time
import warnings
from pathlib import Path

import pytest

from amqpmock.cassette import (
    CASSETTE_FORMAT_VERSION,
    Cassette,
    CassetteConnection,
    CassetteError,
    CassetteFormatError,
    CassetteHeader,
    CassetteNotFound,
    CassetteVersionError,
    Interaction,
    SecretWarning,
    dumps,
    load_cassette,
    loads,
    write_cassette,
)
from amqpmock.errors import AMQPMockError


def sample() -> Cassette:
    publish = Interaction(
        dir="c2s",
        channel=1,
        method="Basic.Publish",
        args={"exchange": "", "routing_key": "q", "mandatory": False, "immediate": False},
        properties={
            "headers": {"price": decimal.Decimal("1.25"), "raw": b"\x00\x01", "n": [1, 2]},
            "timestamp": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            "content_type": "application/json",
        },
        body=b'{"x": [1, 2]}',
        outcome="routed",
    )
    deliver = Interaction(
        dir="s2c",
        channel=1,
        method="Basic.Deliver",
        args={"consumer_tag": "c", "delivery_tag": 1, "redelivered": False},
        properties={},
        body=b"multi\nline\ntext\n",
        origin="recorded",
        source=(1, 0),
    )
    return Cassette(
        header=CassetteHeader(
            amqpmock="0.1.0",
            upstream_product="RabbitMQ",
            upstream_version="3.10.8",
            recorded_at=datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC),
        ),
        connections=[CassetteConnection(id=1, interactions=[publish, deliver])],
    )


def test_write_and_load_roundtrip(tmp_path: Path) -> None:
    path = write_cassette(sample(), tmp_path / "sub" / "c.yaml")
    loaded = load_cassette(path)
    assert loaded.path == path
    assert loaded.to_data() == sample().to_data()
    assert loaded.connections[0].interactions == sample().connections[0].interactions
    text = path.read_text()
    assert "price: !decimal 1.25" in text
    assert "body: |\n      multi\n      line" in text  # block scalar
    assert "json:" in text and "version: 1" in text


def test_header_fields(tmp_path: Path) -> None:
    data = sample().to_data()
    assert list(data)[:2] == ["version", "amqpmock"]
    assert data["version"] == CASSETTE_FORMAT_VERSION
    assert data["upstream"] == {"product": "RabbitMQ", "version": "3.10.8"}
    assert data["complete"] is True


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CassetteNotFound, match="no such cassette file") as info:
        load_cassette(tmp_path / "nope.yaml")
    assert info.value.path == tmp_path / "nope.yaml"
    assert isinstance(info.value, AMQPMockError)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\nconnections: [\n", "not valid YAML at line"),
        ("", "got an empty file"),
        ("- 1\n", "expected a cassette mapping, got a list"),
        ("connections: []\n", "missing 'version'"),
        ("version: x\n", "version: expected a positive integer"),
        ("version: 1\nconnections: {}\n", "connections: expected a list"),
        ("version: 1\nconnections: [{interactions: []}]\n", r"connections\[0\].id: missing"),
        (
            "version: 1\nconnections: [{id: 1, interactions: [{dir: c2s, channel: 1}]}]\n",
            r"connections\[0\].interactions\[0\].method: missing",
        ),
        (
            "version: 1\nconnections: [{id: 1, interactions: "
            "[{dir: up, channel: 1, method: A.B}]}]\n",
            r"interactions\[0\].dir: expected one of c2s, s2c, got 'up'",
        ),
        (
            "version: 1\nconnections: [{id: 1, interactions: "
            "[{dir: c2s, channel: 1, method: Basic.Publish, body: {base64: '%%'}}]}]\n",
            r"interactions\[0\].body: body 'base64' is not valid base64",
        ),
        # strict schema: typos and unknown names are refused, with the line they are on
        (
            "version: 1\namqpmock: 0.1.0\nconections: []\n",
            r"line 3: conections: unknown key \(did you mean 'connections'\?\)",
        ),
        ("version: 1\namqpmock: 0.1.0\n", "connections: missing"),
        (
            "version: 1\nconnections:\n- id: 1\n  interactions:\n  - dir: c2s\n"
            "    channel: 1\n    method: Basic.Pubish\n",
            r"line 7: connections\[0\].interactions\[0\].method: unknown AMQP method "
            r"'Basic.Pubish' \(did you mean 'Basic.Publish'\?\)",
        ),
        (
            "version: 1\nconnections:\n- id: 1\n  interations: []\n",
            r"line 4: connections\[0\].interations: unknown key \(did you mean 'interactions'",
        ),
        (
            "version: 1\nconnections:\n- id: 1\n  interactions:\n  - dir: c2s\n"
            "    channel: 1\n    method: Basic.Publish\n    propreties: {}\n",
            r"line 8: connections\[0\].interactions\[0\].propreties: unknown key",
        ),
        ("version: 1\nconnections: []\nupstream: {prodcut: x}\n", "upstream.prodcut: unknown key"),
        (
            "version: 1\nconnections: [{id: 1, interactions: "
            "[{dir: c2s, channel: 1, method: Basic.Qos, at: -1}]}]\n",
            r"interactions\[0\].at: expected seconds",
        ),
        ("version: 1\ntest: 5\nconnections: []\n", "test: expected a string"),
        ("version: 1\nx: !!python/object:os.system {}\n", "not valid YAML"),
        ("version: 1\nx: !decimal [1]\n", "not valid YAML"),
    ],
)
def test_broken_cassettes_name_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(CassetteFormatError, match=problem) as info:
        load_cassette(path)
    assert str(path) in str(info.value)


def test_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.yaml"
    path.write_text("version: 2\nconnections: []\n")
    with pytest.raises(CassetteVersionError, match="newer than this amqpmock supports") as info:
        load_cassette(path)
    assert str(path) in str(info.value) and info.value.version == 2


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CassetteFormatError, match="not UTF-8"):
        load_cassette(path)


def test_a_strong_password_is_redacted_wherever_it_shows_and_the_cassette_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    leaky = sample()
    leaky.connections[0].interactions[0].args["routing_key"] = "q-Hunter2-xyz!"
    leaky.connections[0].interactions[1].body = b"\xff\xfe password=Hunter2-xyz!"
    with pytest.warns(SecretWarning, match=r"connections\[0\].interactions\[0\].args"):
        write_cassette(leaky, path, secrets=["Hunter2-xyz!"])
    text = path.read_text()
    assert "Hunter2-xyz!" not in text
    cassette = load_cassette(path)
    assert cassette.connections[0].interactions[0].args["routing_key"] == "q-<redacted>"
    assert cassette.connections[0].interactions[1].body == b"\xff\xfe password=<redacted>"
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]  # no temp file left


def test_url_quoted_forms_are_redacted_too(tmp_path: Path) -> None:
    leaky = sample()
    leaky.connections[0].interactions[1].body = b"see amqp-pass p%40ss-w0rd%21"
    with pytest.warns(SecretWarning):
        write_cassette(leaky, tmp_path / "c.yaml", secrets=["p@ss-w0rd!"])
    assert "p%40ss-w0rd%21" not in (tmp_path / "c.yaml").read_text()


def test_an_ordinary_word_password_is_reported_and_costs_nothing(tmp_path: Path) -> None:
    # guest:guest upstream, and a body {"role": "guest"}: the recording must be written
    leaky = sample()
    leaky.connections[0].interactions[1].body = b'{"role": "guest"}'
    with pytest.warns(SecretWarning, match=r"interactions\[1\].body.*left as it is"):
        write_cassette(leaky, tmp_path / "c.yaml", secrets=["guest"])
    cassette = load_cassette(tmp_path / "c.yaml")
    assert cassette.connections[0].interactions[1].body == b'{"role": "guest"}'


def test_failed_write_removes_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("previous")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(CassetteError, match="cannot write: No space left"):
        write_cassette(sample(), path)
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


def test_model_helpers() -> None:
    cassette = sample()
    conn = cassette.connection(1)
    assert conn.methods() == ["Basic.Publish", "Basic.Deliver"]
    assert conn.methods("s2c") == ["Basic.Deliver"]
    publish, deliver = conn
    assert publish.is_publish and publish.has_content and not publish.is_delivery
    assert deliver.is_delivery
    assert [(c.id, i) for c, i, _ in cassette.interactions()] == [(1, 0), (1, 1)]
    with pytest.raises(KeyError):
        cassette.connection(9)


def test_header_field_types_survive(tmp_path: Path) -> None:
    from amqpmock.wire import codec

    cassette = sample()
    headers = {"i": codec.Int32(5), "f": codec.Float32(0.5), "u": codec.UInt8(7), "l": 9}
    cassette.connections[0].interactions[0].properties = {"headers": headers}
    path = write_cassette(cassette, tmp_path / "typed.yaml")
    assert "i: !int32 5" in path.read_text()
    loaded = load_cassette(path).connections[0].interactions[0].properties
    assert loaded is not None
    got = loaded["headers"]
    assert got == headers
    assert [type(v) for v in got.values()] == [codec.Int32, codec.Float32, codec.UInt8, int]


def test_bad_typed_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nx: !int32 abc\n")
    with pytest.raises(CassetteFormatError, match="not a number"):
        load_cassette(path)


def _alias_bomb() -> str:
    text = "version: 1\nconnections:\n- id: 1\n  interactions:\n  - dir: s2c\n    channel: 1\n"
    text += "    method: Basic.Deliver\n    properties:\n      headers:\n"
    text += "        a: &a [x, x, x, x, x, x, x, x, x]\n"
    for name, prev in zip("bcdefghij", "abcdefghi", strict=True):
        text += f"        {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    return text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (_alias_bomb(), r"line 10, column \d+: anchors and aliases are not allowed"),
        ("version: 1\nconnections:\n- id: " + "9" * 100_000 + "\n", "an integer of 100000"),
        ("version: 1\nconnections: " + "[" * 200 + "]" * 200 + "\n", "nest"),
    ],
    ids=["alias-bomb", "huge-integer", "deep-nesting"],
)
def test_hostile_yaml_is_refused_quickly_with_its_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(CassetteFormatError, match=problem) as info:
        load_cassette(path)
    assert str(path) in str(info.value)
    assert time.monotonic() - started < 5


def test_the_writer_never_emits_anchors(tmp_path: Path) -> None:
    shared = {"x-death": [{"count": 1, "queue": "q"}]}
    text = dumps({"a": shared, "b": shared, "c": [shared, shared]})
    assert "&" not in text and "*" not in text
    assert loads(text) == {"a": shared, "b": shared, "c": [shared, shared]}


def test_the_warning_comes_after_the_write_so_w_error_loses_nothing(tmp_path: Path) -> None:
    leaky = sample()
    leaky.connections[0].interactions[1].body = b'{"role": "guest"}'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SecretWarning):
            write_cassette(leaky, tmp_path / "c.yaml", secrets=["guest"])
    assert load_cassette(tmp_path / "c.yaml").connections[0].interactions[1].body == (
        b'{"role": "guest"}'
    )


def test_the_recording_test_and_interaction_times_round_trip(tmp_path: Path) -> None:
    cassette = sample()
    cassette.header.test = "tests/test_shop.py::TestCheckout::test_flow"
    cassette.connections[0].interactions[0].at = 0.125
    path = write_cassette(cassette, tmp_path / "c.yaml")
    again = load_cassette(path)
    assert again.header.test == "tests/test_shop.py::TestCheckout::test_flow"
    assert [i.at for i in again.connections[0].interactions] == [0.125, None]


def test_loading_keeps_no_node_tree_of_the_whole_file() -> None:
    # issue #13 item 8: yaml.load composed a node for every value before building
    # anything (about 14 KB a publish at its peak here, 10 KB in the 200 MB
    # cassette); built from events, the peak is the objects kept, plus little
    import tracemalloc

    publishes = [
        Interaction(
            dir="c2s",
            channel=1,
            method="Basic.Publish",
            args={"exchange": "orders", "routing_key": f"order.{n}"},
            properties={"content_type": "application/json", "headers": {"n": n}},
            body=b'{"id": %d, "note": "hello world"}' % n,
            outcome="routed",
        )
        for n in range(3000)
    ]
    text = dumps(
        Cassette(connections=[CassetteConnection(id=1, interactions=publishes)]).to_data()
    )
    tracemalloc.start()
    try:
        data = loads(text)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(data["connections"][0]["interactions"]) == 3000
    assert peak < 1.5 * kept, (peak, kept)
