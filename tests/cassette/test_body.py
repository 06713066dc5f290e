"""Bodies: readable in the cassette, byte-exact back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amqpmock.cassette import decode_body, dumps, encode_body, loads


def roundtrip(raw: bytes) -> bytes:
    """Through the readable form and YAML text, back to bytes."""
    text = dumps({"body": encode_body(raw)})
    return decode_body(loads(text)["body"])


def test_text_stays_text() -> None:
    assert encode_body(b"hello") == "hello"
    assert encode_body("h\u00e9llo\nworld\n".encode()) == "h\u00e9llo\nworld\n"


@pytest.mark.parametrize(
    ("raw", "form"),
    [
        (b'{"a": 1, "b": [true, null]}', {"json": {"a": 1, "b": [True, None]}}),
        (b'{"a":1}', {"json": {"a": 1}, "style": "compact"}),
        ('{"a": "\u00e9"}'.encode(), {"json": {"a": "\u00e9"}, "style": "utf8"}),
        (b'[1,"x"]', {"json": [1, "x"], "style": "compact"}),
    ],
)
def test_json_objects_are_structures(raw: bytes, form: object) -> None:
    assert encode_body(raw) == form
    assert roundtrip(raw) == raw


def test_json_that_would_not_come_back_exactly_stays_text() -> None:
    raw = b'{"a":  1}'
    assert encode_body(raw) == '{"a":  1}'
    assert encode_body(b"1e5") == "1e5"  # scalars are text


def test_binary_is_base64() -> None:
    assert encode_body(b"\xff\x00") == {"base64": "/wA="}
    assert encode_body(b"a\rb") == {"base64": "YQ1i"}  # YAML would turn \r into \n


@pytest.mark.parametrize(
    "raw",
    [b"", b"  leading", b"trailing \n", b"a\n\nb", b"- item", b"key: value", b"\x00", b"\t"],
)
def test_awkward_text_roundtrips(raw: bytes) -> None:
    assert roundtrip(raw) == raw


@given(st.binary(max_size=200))
def test_any_bytes_roundtrip(raw: bytes) -> None:
    assert roundtrip(raw) == raw


@given(st.text(max_size=200))
def test_any_text_roundtrips(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    assert roundtrip(raw) == raw


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_any_json_roundtrips(value: object) -> None:
    for raw in (json.dumps(value).encode(), json.dumps(value, separators=(",", ":")).encode()):
        assert roundtrip(raw) == raw


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (3, "string or a mapping"),
        ({"x": 1}, "'json' or 'base64'"),
        ({"base64": "!!"}, "not valid base64"),
        ({"base64": 1}, "must be a string"),
        ({"json": 1, "style": "fancy"}, "unknown JSON body style"),
    ],
)
def test_bad_bodies(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        decode_body(value)
