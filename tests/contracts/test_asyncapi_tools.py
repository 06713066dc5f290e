"""Documents made from the committed cassettes validate against AsyncAPI's official
JSON Schema for 3.0 (@asyncapi/specs) and parse without errors in @asyncapi/parser,
both offline (tests/contracts/node, installed once per session)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from amqpmock.contracts import build_document, load_traffic, write_document

from .cassettes import DIRECT_REPLY_TO
from .conftest import COMMITTED, REPO, Checker, problems


def test_the_committed_cassettes_are_there() -> None:
    names = {p.name for p in COMMITTED}
    assert {"aio_pika_rpc.yaml", "oslo_messaging_rpc.yaml", "pika_publish_consume.yaml"} <= names


@pytest.mark.parametrize("cassette", COMMITTED, ids=lambda p: p.stem)
def test_each_committed_cassette(cassette: Path, tmp_path: Path, check_asyncapi: Checker) -> None:
    target = write_document(build_document(load_traffic([cassette])), tmp_path / "doc.yaml")
    (result,) = check_asyncapi(target)
    assert result["version"] == "3.0.0"
    assert problems(result) == [], result
    assert result["warnings"] == [], result


def test_all_merged_as_yaml_and_json(tmp_path: Path, check_asyncapi: Checker) -> None:
    extra = tmp_path / "direct_reply_to.yaml"
    extra.write_text(DIRECT_REPLY_TO)
    document = build_document(load_traffic([*COMMITTED, extra]))
    files = [
        write_document(document, tmp_path / "all.yaml"),
        write_document(document, tmp_path / "all.json"),
    ]
    for result in check_asyncapi(*files):
        assert problems(result) == [], result


def test_the_check_fails_a_broken_document(tmp_path: Path, check_asyncapi: Checker) -> None:
    # what the test above relies on: the tools do say no
    document = build_document(load_traffic([REPO / "cassettes" / "proxy" / "aio_pika_rpc.yaml"]))
    wrong_binding = copy.deepcopy(document)
    wrong_binding["channels"]["multiply"]["bindings"]["amqp"]["is"] = "exchange"
    dangling = copy.deepcopy(document)
    dangling["operations"]["send.multiply"]["channel"]["$ref"] = "#/channels/nowhere"
    no_server_host = copy.deepcopy(document)
    del no_server_host["servers"]["rabbitmq"]["host"]
    results = check_asyncapi(
        write_document(wrong_binding, tmp_path / "binding.yaml"),
        write_document(dangling, tmp_path / "dangling.json"),
        write_document(no_server_host, tmp_path / "server.yaml"),
    )
    assert all(problems(r) for r in results), results
    assert any(
        e["instancePath"] == "/channels/multiply/bindings/amqp/is"
        for e in results[0]["schemaErrors"]
    )
    assert results[1]["parserErrors"], results[1]
