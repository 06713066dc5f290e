"""Built-in redactors (registered through the hook) and the hook itself."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from pamqp import encode

from amqpmock.cassette import (
    REDACTED,
    BuiltinRedactors,
    default_redactors,
    redact_start_ok,
    redact_url,
    redact_url_passwords,
    start_ok_credentials,
)
from amqpmock.hookspecs import PluginManager, hookimpl


def start_ok(mechanism: str, response: Any) -> dict[str, Any]:
    return {
        "dir": "c2s",
        "channel": 0,
        "method": "Connection.StartOk",
        "args": {"mechanism": mechanism, "response": response},
    }


def amqplain(login: str, password: str) -> str:
    raw = encode.field_table({"LOGIN": login, "PASSWORD": password})
    return raw[4:].decode("utf-8")  # AMQPLAIN is a table without its length prefix


def test_plain_keeps_the_user() -> None:
    record = redact_start_ok(start_ok("PLAIN", "\0alice\0pw"))
    assert record["args"]["response"] == f"\0alice\0{REDACTED}"


def test_plain_hides_a_user_equal_to_the_password() -> None:
    record = redact_start_ok(start_ok("PLAIN", "\0guest\0guest"))
    assert record["args"]["response"] == f"\0{REDACTED}\0{REDACTED}"


def test_amqplain_becomes_readable() -> None:
    response = amqplain("bob", "pw")
    assert start_ok_credentials({"mechanism": "AMQPLAIN", "response": response}) == ("bob", "pw")
    record = redact_start_ok(start_ok("AMQPLAIN", response))
    assert record["args"]["response"] == {"LOGIN": "bob", "PASSWORD": REDACTED}


def test_other_mechanisms() -> None:
    assert redact_start_ok(start_ok("EXTERNAL", ""))["args"]["response"] == ""
    assert redact_start_ok(start_ok("RABBIT-CR-DEMO", "x"))["args"]["response"] == REDACTED
    other = {"dir": "c2s", "channel": 0, "method": "Connection.Open", "args": {}}
    assert redact_start_ok(dict(other)) == other


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amqp://u:p@h:5672/v", f"amqp://u:{REDACTED}@h:5672/v"),
        (
            "see rabbit://a:x@h1:5672,b:y@h2:5672/ and https://u:z@web/p?q=1",
            f"see rabbit://a:{REDACTED}@h1:5672,b:{REDACTED}@h2:5672/ "
            f"and https://u:{REDACTED}@web/p?q=1",
        ),
        ("amqp://user@h/", "amqp://user@h/"),
        ("no url: a:b@c", "no url: a:b@c"),
        ("amqp://h/path:x@y", "amqp://h/path:x@y"),
    ],
)
def test_redact_url(text: str, expected: str) -> None:
    assert redact_url(text) == expected


def test_url_passwords_everywhere_but_base64() -> None:
    record = {
        "method": "Basic.Publish",
        "args": {"routing_key": "amqp://u:p@h/"},
        "properties": {"headers": {"l": ["amqp://u:p@h/"]}},
        "body": {"json": {"transport_url": "rabbit://u:p@h/"}},
    }
    out = redact_url_passwords(record)
    assert out["args"]["routing_key"] == f"amqp://u:{REDACTED}@h/"
    assert out["properties"]["headers"]["l"] == [f"amqp://u:{REDACTED}@h/"]
    assert out["body"]["json"]["transport_url"] == f"rabbit://u:{REDACTED}@h/"
    b64 = {"method": "Basic.Publish", "body": {"base64": "AAAA"}}
    assert redact_url_passwords(dict(b64)) == b64


def test_builtins_come_through_the_hook_first() -> None:
    calls: list[str] = []

    class Mine:
        @hookimpl
        def amqpmock_redactors(self) -> list[Any]:
            def mine(record: dict[str, Any]) -> dict[str, Any]:
                calls.append(record["method"])
                return record

            return [mine]

    pm = PluginManager(load_entrypoints=False)
    pm.register(Mine())
    chain = default_redactors(pm)
    builtins = list(BuiltinRedactors().amqpmock_redactors())
    assert chain[: len(builtins)] == builtins
    assert len(chain) == len(builtins) + 1
    chain[-1]({"method": "X.Y"})
    assert calls == ["X.Y"]


def test_amqplain_with_bad_table_is_redacted_whole() -> None:
    bad = struct.pack(">B", 200) + b"\xff"
    record = redact_start_ok(start_ok("AMQPLAIN", bad))
    assert record["args"]["response"] == REDACTED


def test_redact_headers() -> None:
    from amqpmock.cassette import redact_headers

    record = {"method": "Basic.Publish", "properties": {"headers": {"X-Token": "t", "a": 1}}}
    out = redact_headers("x-token")(record)
    assert out["properties"]["headers"] == {"X-Token": REDACTED, "a": 1}
    assert redact_headers("x")({"method": "Basic.Ack"}) == {"method": "Basic.Ack"}


def test_redact_body_fields_reaches_into_oslo_envelopes() -> None:
    import json

    from amqpmock.cassette import redact_body_fields

    inner = json.dumps({"method": "m", "args": {"auth_token": "s", "n": 1}})
    record = {
        "method": "Basic.Publish",
        "body": {"json": {"oslo.version": "2.0", "oslo.message": inner, "auth_token": "s"}},
    }
    out = redact_body_fields("auth_token")(record)["body"]["json"]
    assert out["auth_token"] == REDACTED
    assert json.loads(out["oslo.message"])["args"] == {"auth_token": REDACTED, "n": 1}
    text_body = {"method": "Basic.Publish", "body": "auth_token=s"}
    assert redact_body_fields("auth_token")(dict(text_body)) == text_body
