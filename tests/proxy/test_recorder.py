"""The Recorder, sans-IO: bytes as a proxy forwards them in, a marked cassette out."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from typing import Any

import pytest
from pamqp import commands

from amqpmock.cassette import (
    REDACTED,
    Cassette,
    SecretWarning,
    load_cassette,
)
from amqpmock.proxy import Recorder

from .wire import beat, client_hello, close_c2s, close_ok, content, method, server_hello

PASSWORD = "s3cret-pw"
NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def recorder() -> Recorder:
    return Recorder(upstream_url="amqp://guest:<redacted>@h:5672/%2F", now=lambda: NOW)


def open_conn(rec: Recorder, password: str = PASSWORD) -> int:
    conn = rec.open_connection()
    rec.upstream_connected(conn, "h:5672")
    rec.data(conn, "s2c", server_hello())
    rec.data(conn, "c2s", client_hello(password=password))
    rec.data(conn, "s2c", method(0, commands.Connection.OpenOk()))
    rec.data(conn, "c2s", method(1, commands.Channel.Open()))
    rec.data(conn, "s2c", method(1, commands.Channel.OpenOk()))
    return conn


def close_conn(rec: Recorder, conn: int) -> None:
    rec.data(conn, "c2s", close_c2s())
    rec.data(conn, "s2c", close_ok())
    rec.close_connection(conn, "clean")


def publish(rec: Recorder, conn: int, body: bytes, rk: str = "q", **kw: Any) -> None:
    rec.data(conn, "c2s", content(1, commands.Basic.Publish(routing_key=rk, **kw), body))


def deliver(rec: Recorder, conn: int, body: bytes, rk: str = "q", tag: int = 1) -> None:
    value = commands.Basic.Deliver(
        consumer_tag="ctag", delivery_tag=tag, exchange="", routing_key=rk
    )
    rec.data(conn, "s2c", content(1, value, body))


def find(cassette: Cassette, conn_id: int, method_name: str) -> list[Any]:
    return [i for i in cassette.connection(conn_id) if i.method == method_name]


def test_header_connections_and_heartbeats() -> None:
    rec = recorder()
    a = open_conn(rec)
    b = open_conn(rec)
    rec.data(a, "c2s", beat() + beat())
    rec.data(a, "s2c", beat())
    close_conn(rec, b)
    close_conn(rec, a)
    cassette = rec.build()
    assert cassette.header.upstream_product == "RabbitMQ"
    assert cassette.header.upstream_version == "3.10.8"
    assert cassette.header.recorded_at == NOW
    assert [c.id for c in cassette] == [1, 2]
    first = cassette.connection(1)
    assert (first.heartbeats.c2s, first.heartbeats.s2c) == (2, 1)
    assert "Heartbeat" not in " ".join(first.methods())
    assert first.methods("c2s")[:3] == [
        "Connection.StartOk",
        "Connection.TuneOk",
        "Connection.Open",
    ]
    assert first.upstream == "h:5672"
    assert cassette.complete


def test_delivery_origin_recorded_or_outside() -> None:
    rec = recorder()
    producer = open_conn(rec)
    consumer = open_conn(rec)
    publish(rec, producer, b"from-us")
    deliver(rec, consumer, b"from-us")
    deliver(rec, consumer, b"from-elsewhere", tag=2)
    close_conn(rec, producer)
    close_conn(rec, consumer)
    cassette = rec.build()
    ours, theirs = find(cassette, consumer, "Basic.Deliver")
    (published,) = find(cassette, producer, "Basic.Publish")
    assert ours.origin == "recorded"
    assert ours.source == (producer, cassette.connection(producer).interactions.index(published))
    assert theirs.origin == "outside" and theirs.source is None
    assert published.outcome == "routed"  # a recorded client got it


def test_delivery_after_dead_lettering_matches_by_body() -> None:
    rec = recorder()
    conn = open_conn(rec)
    publish(rec, conn, b"dies", rk="work")
    deliver(rec, conn, b"dies", rk="dead")
    close_conn(rec, conn)
    (delivery,) = find(rec.build(), conn, "Basic.Deliver")
    assert delivery.origin == "recorded"


def test_publish_outcomes_with_confirms() -> None:
    rec = recorder()
    conn = open_conn(rec)
    rec.data(conn, "c2s", method(1, commands.Confirm.Select()))
    rec.data(conn, "s2c", method(1, commands.Confirm.SelectOk()))
    publish(rec, conn, b"one", mandatory=True)
    publish(rec, conn, b"two", rk="nowhere", mandatory=True)
    publish(rec, conn, b"three", rk="nowhere")
    publish(rec, conn, b"four", mandatory=True)
    returned = commands.Basic.Return(
        reply_code=312, reply_text="NO_ROUTE", exchange="", routing_key="nowhere"
    )
    rec.data(conn, "s2c", content(1, returned, b"two"))
    rec.data(conn, "s2c", method(1, commands.Basic.Ack(delivery_tag=3, multiple=True)))
    rec.data(conn, "s2c", method(1, commands.Basic.Nack(delivery_tag=4)))
    rec.close_connection(conn, "upstream-gone", "gone")
    cassette = rec.build()
    outcomes = [i.outcome for i in find(cassette, conn, "Basic.Publish")]
    assert outcomes == ["routed", "returned", "unknown", "nacked"]
    (ret,) = find(cassette, conn, "Basic.Return")
    assert ret.origin == "recorded"
    assert cassette.connection(conn).interactions[ret.source[1]].body == b"two"
    assert not cassette.complete


def test_mandatory_without_confirms_settles_at_clean_close() -> None:
    rec = recorder()
    conn = open_conn(rec)
    publish(rec, conn, b"m", mandatory=True)
    publish(rec, conn, b"n")
    close_conn(rec, conn)
    assert [i.outcome for i in find(rec.build(), conn, "Basic.Publish")] == ["routed", "unknown"]


def test_mandatory_settles_at_channel_close_ok() -> None:
    rec = recorder()
    conn = open_conn(rec)
    publish(rec, conn, b"m", mandatory=True)
    rec.data(conn, "c2s", method(1, commands.Channel.Close(200, "", 0, 0)))
    rec.data(conn, "s2c", method(1, commands.Channel.CloseOk()))
    rec.close_connection(conn, "upstream-gone")
    assert [i.outcome for i in find(rec.build(), conn, "Basic.Publish")] == ["routed"]


def test_mandatory_unsettled_when_the_upstream_went_away() -> None:
    rec = recorder()
    conn = open_conn(rec)
    publish(rec, conn, b"m", mandatory=True)
    rec.close_connection(conn, "upstream-gone", "the upstream closed the connection")
    cassette = rec.build()
    assert [i.outcome for i in find(cassette, conn, "Basic.Publish")] == ["unknown"]
    assert cassette.connection(conn).ending == "upstream-gone"
    assert not cassette.connection(conn).complete


def test_undecodable_stream_keeps_what_came_before() -> None:
    rec = recorder()
    conn = open_conn(rec)
    rec.data(conn, "c2s", b"\x01\x00\x01\x00\x00\x00\x04\xff\xff\xff\xff\xce")
    rec.data(conn, "c2s", method(1, commands.Channel.Close(200, "", 0, 0)))
    rec.close_connection(conn, "clean")
    connection = rec.build().connection(conn)
    assert connection.error is not None and "could not decode client->server" in connection.error
    assert not connection.complete
    assert "Channel.Close" not in connection.methods()
    assert "Channel.OpenOk" in connection.methods()


def test_cut_off_content_is_reported() -> None:
    rec = recorder()
    conn = open_conn(rec)
    rec.data(conn, "c2s", method(1, commands.Basic.Publish(routing_key="q")))
    rec.close_connection(conn, "upstream-gone")
    connection = rec.build().connection(conn)
    assert connection.error == "client->server content cut off: Basic.Publish"


def test_build_is_repeatable() -> None:
    rec = recorder()
    conn = open_conn(rec)
    publish(rec, conn, b"x")
    assert rec.build().to_data() == rec.build().to_data()


def test_still_open_connections_are_incomplete() -> None:
    rec = recorder()
    open_conn(rec)
    cassette = rec.build()
    assert cassette.connection(1).ending == "open"
    assert not cassette.complete


def test_written_cassette_is_redacted_and_loads(tmp_path: Path) -> None:
    rec = recorder()
    conn = open_conn(rec)
    publish(rec, conn, b'{"url": "rabbit://u:hunter2@h:5672/"}')
    close_conn(rec, conn)
    path = rec.write(tmp_path / "c.yaml")
    text = path.read_text()
    assert PASSWORD not in text and "hunter2" not in text
    loaded = load_cassette(path)
    start_ok = find(loaded, conn, "Connection.StartOk")[0]
    assert start_ok.args["response"] == f"\0guest\0{REDACTED}"
    (pub,) = find(loaded, conn, "Basic.Publish")
    assert pub.body == b'{"url": "rabbit://u:<redacted>@h:5672/"}'
    assert PASSWORD in rec.secrets


def test_a_password_hidden_in_a_binary_body_is_redacted_not_a_lost_recording(
    tmp_path: Path,
) -> None:
    rec = recorder()
    conn = open_conn(rec)
    publish(rec, conn, b"\xff\xfe" + PASSWORD.encode())
    close_conn(rec, conn)
    target = tmp_path / "c.yaml"
    target.write_text("previous")
    with pytest.warns(SecretWarning, match=r"interactions.*base64 \(decoded\): redacted"):
        rec.write(target)
    assert PASSWORD not in target.read_text()
    (pub,) = [i for i in load_cassette(target).connections[0].interactions if i.is_publish]
    assert pub.body == b"\xff\xfe<redacted>"


def test_upstream_url_password_is_a_secret(tmp_path: Path) -> None:
    rec = Recorder(upstream_url="amqp://u:<redacted>@h/", passwords=["url-pass-9"])
    conn = open_conn(rec)
    publish(rec, conn, base64.b64encode(b"x") + b" url-pass-9")
    close_conn(rec, conn)
    with pytest.warns(SecretWarning):
        rec.write(tmp_path / "c.yaml")
    assert "url-pass-9" not in (tmp_path / "c.yaml").read_text()


def test_credentials_are_redacted_by_default(tmp_path: Path) -> None:
    rec = recorder()
    conn = open_conn(rec)
    headers = {"Authorization": "Bearer eyJhbGciOi", "X-Api-Key": "k-123", "trace": "t1"}
    body = b"\x00\x01 see amqp://svc:db-Pa55word@db.internal:5672/ \xff"
    rec.data(
        conn, "c2s", content(1, commands.Basic.Publish(routing_key="q"), body, headers=headers)
    )
    close_conn(rec, conn)
    target = rec.write(tmp_path / "c.yaml")
    text = target.read_text()
    assert "eyJhbGciOi" not in text and "k-123" not in text and "db-Pa55word" not in text
    (pub,) = [i for i in load_cassette(target).connections[0].interactions if i.is_publish]
    assert pub.properties is not None
    assert pub.properties["headers"] == {
        "Authorization": "<redacted>",
        "X-Api-Key": "<redacted>",
        "trace": "t1",
    }
    assert b"amqp://svc:<redacted>@db.internal:5672/" in (pub.body or b"")


def test_hook_redactors_change_and_drop_records(tmp_path: Path) -> None:
    rec = recorder()
    conn = open_conn(rec)
    publish(rec, conn, b'{"token": "abc", "n": 1}')
    deliver(rec, conn, b'{"token": "abc", "n": 1}')
    close_conn(rec, conn)

    def drop_channel_open(record: dict[str, Any]) -> dict[str, Any] | None:
        return None if record["method"].startswith("Channel.Open") else record

    def hide_token(record: dict[str, Any]) -> dict[str, Any]:
        body = record.get("body")
        if isinstance(body, dict) and "json" in body:
            body["json"]["token"] = "<hidden>"
        return record

    cassette = rec.cassette([drop_channel_open, hide_token])
    connection = cassette.connection(conn)
    assert "Channel.Open" not in connection.methods()
    (pub,) = find(cassette, conn, "Basic.Publish")
    (dlv,) = find(cassette, conn, "Basic.Deliver")
    assert pub.body == b'{"token": "<hidden>", "n": 1}'
    # the delivery's source still points at the publish after the renumbering
    assert dlv.source is not None and connection.interactions[dlv.source[1]] is pub
