"""Publishes checked against an AsyncAPI document (3.0, or 2.6): is the exchange and
routing key a channel of the document, do the payload and headers validate against a
message of that channel (``jsonschema``).

Rules this module keeps:
- A violation names the rule (``unknown-channel``, ``payload``, ``headers``), the
  channel and the JSON pointer of what is wrong (``/total``, ``/headers/x-source``),
  so the test's failure says where to look.
- A channel matches a publish by its AMQP binding: ``is: routingKey`` with the
  exchange's name and the address as the routing key, ``is: queue`` for the default
  exchange; no binding means routing key = address. ``{param}`` in an address matches
  any text. A channel whose address is null (known at runtime: a reply channel) matches
  a publish on the default exchange whose routing key is the ``reply_to`` of a publish
  before it, or a direct reply-to key (``amq.rabbitmq.reply-to.*``). oslo.messaging's
  envelope is unwrapped before the payload is checked.
- Schemas are JSON Schema (draft 7; AsyncAPI's schema format too): a schema jsonschema
  cannot use, or another ``schemaFormat`` (Avro, Protobuf), is a ``ContractError``
  naming the message, not a failure of every publish. ``x-`` keys are extensions where
  a keyword may stand, and names in ``properties`` (``x-source``) are kept.
- Only local ``$ref`` (``#/...``) are followed; a document that cannot be read is a
  ``ContractError``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from amqpmock.contracts._errors import ContractError
from amqpmock.contracts._payload import read_body

__all__ = ["Contract", "Violation", "with_replies"]

DIRECT_REPLY_PREFIX = "amq.rabbitmq.reply-to."
# schemaFormat values whose schema is JSON Schema (AsyncAPI's is a superset of draft 7)
JSON_SCHEMA_FORMATS = (
    "application/schema+json",
    "application/schema+yaml",
    "application/vnd.aai.asyncapi",
)


@dataclass(frozen=True)
class Violation:
    rule: str
    channel: str
    pointer: str
    problem: str

    def __str__(self) -> str:
        return f"[{self.rule}] channel {self.channel}: {self.pointer or '/'}: {self.problem}"


@dataclass(frozen=True)
class _Message:
    id: str
    payload: dict[str, Any] | None
    headers: dict[str, Any] | None


@dataclass(frozen=True)
class _Channel:
    id: str
    exchange: str
    pattern: re.Pattern[str]
    messages: tuple[_Message, ...]
    address: str | None = None


class Contract:
    """An AsyncAPI document, ready to check publishes against."""

    def __init__(self, document: dict[str, Any], source: str = "document") -> None:
        self.source = source
        self.document = document
        version = str(document.get("asyncapi", ""))
        if not (version.startswith("3.") or version.startswith("2.")):
            raise ContractError(f"{source}: not an AsyncAPI 2.x or 3.x document")
        self.channels: list[_Channel] = []
        for channel_id, raw in (document.get("channels") or {}).items():
            channel = self._resolve(raw)
            address = (
                channel.get("address", channel_id) if version.startswith("3.") else channel_id
            )
            amqp = (channel.get("bindings") or {}).get("amqp") or {}
            exchange = ""
            if amqp.get("is", "routingKey") == "routingKey":
                exchange = str((amqp.get("exchange") or {}).get("name", ""))
            self.channels.append(
                _Channel(
                    str(channel_id),
                    exchange,
                    _address_pattern(address if isinstance(address, str) else None),
                    tuple(self._messages(channel, version)),
                    address if isinstance(address, str) else None,
                )
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Contract:
        target = Path(path)
        try:
            text = target.read_text(encoding="utf-8")
        except OSError as exc:
            raise ContractError(f"{target}: cannot read: {exc.strerror or exc}") from None
        try:
            data = json.loads(text) if target.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise ContractError(
                f"{target}: not valid {target.suffix[1:] or 'YAML'}: {_one_line(exc)}"
            ) from None
        if not isinstance(data, dict):
            raise ContractError(f"{target}: not an AsyncAPI document")
        return cls(data, str(target))

    def _resolve(self, node: Any) -> Any:
        for _ in range(32):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ContractError(f"{self.source}: only local $ref are followed, got {ref!r}")
            target: Any = self.document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise ContractError(f"{self.source}: $ref {ref!r} points nowhere")
                target = target[part]
            node = target
        raise ContractError(f"{self.source}: $ref loop")

    def _messages(self, channel: dict[str, Any], version: str) -> list[_Message]:
        raws: list[tuple[str, Any]] = []
        if version.startswith("3."):
            raws = [(str(k), v) for k, v in (channel.get("messages") or {}).items()]
        else:
            for action in ("publish", "subscribe"):
                message = (channel.get(action) or {}).get("message")
                if message is None:
                    continue
                message = self._resolve(message)
                for n, each in enumerate(message.get("oneOf", [message])):
                    raws.append((f"{action}[{n}]", each))
        out = []
        for message_id, raw in raws:
            message = self._resolve(raw)
            payload, headers = message.get("payload"), message.get("headers")
            out.append(
                _Message(
                    message_id,
                    self._schema(payload, f"message {message_id} payload"),
                    self._schema(headers, f"message {message_id} headers"),
                )
            )
        return out

    def _schema(self, schema: Any, where: str) -> dict[str, Any] | None:
        if not isinstance(schema, dict):
            return None
        schema = self._resolve(schema)
        if "schema" in schema and "schemaFormat" in schema:  # a 3.0 multi-format schema
            fmt = str(schema["schemaFormat"])
            if not fmt.startswith(JSON_SCHEMA_FORMATS):
                raise ContractError(
                    f"{self.source}: {where}: schemaFormat {fmt!r} is not JSON Schema "
                    "(amqpmock checks JSON Schema and AsyncAPI schemas only)"
                )
            schema = self._resolve(schema["schema"])
        if not isinstance(schema, dict):
            return None
        inlined: dict[str, Any] = _inline(schema, self._resolve)
        from jsonschema import Draft7Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft7Validator.check_schema(inlined)
        except SchemaError as exc:
            pointer = "".join(f"/{p}" for p in exc.absolute_path)
            raise ContractError(
                f"{self.source}: {where}: not a JSON Schema at {pointer or '/'}: "
                f"{' '.join(exc.message.split())[:200]}"
            ) from None
        return inlined

    def _on(
        self, exchange: str, routing_key: str, replies: frozenset[str] | set[str]
    ) -> list[_Channel]:
        out = []
        for c in self.channels:
            if c.exchange != exchange:
                continue
            if c.address is None:  # a reply channel: its address is given at runtime
                if exchange == "" and (
                    routing_key in replies or routing_key.startswith(DIRECT_REPLY_PREFIX)
                ):
                    out.append(c)
            elif c.pattern.fullmatch(routing_key):
                out.append(c)
        return out

    def matching(
        self, exchange: str, routing_key: str, replies: frozenset[str] | set[str] = frozenset()
    ) -> list[str]:
        """The ids of the channels a publish to exchange with routing_key is on
        (``replies``: the reply_to addresses of earlier publishes)."""
        return [c.id for c in self._on(exchange, routing_key, replies)]

    def check(
        self,
        exchange: str,
        routing_key: str,
        headers: dict[str, Any],
        body: bytes,
        replies: frozenset[str] | set[str] = frozenset(),
    ) -> list[Violation]:
        """What is wrong with one publish (nothing: an empty list). ``replies``: the
        reply_to addresses of the publishes before it (a null-address channel's)."""
        from amqpmock.contracts._payload import json_value

        where = f"exchange={exchange!r} routing_key={routing_key!r}"
        channels = self._on(exchange, routing_key, replies)
        if not channels:
            name = os.path.basename(self.source)
            return [Violation("unknown-channel", where, "", f"no channel of {name} has it")]
        value = read_body(body).value
        plain_headers = json_value(headers)
        best: list[Violation] = []
        for channel in channels:
            for message in channel.messages or (_Message("", None, None),):
                found = _validate(channel.id, message, value, plain_headers)
                if not found:
                    return []
                if not best or len(found) < len(best):
                    best = found
        return best


def with_replies(records: Iterable[Any]) -> Iterator[tuple[Any, frozenset[str]]]:
    """Each publish record with the ``reply_to`` addresses of those before it: the
    addresses a null-address (reply) channel takes."""
    replies: frozenset[str] = frozenset()
    for record in records:
        yield record, replies
        reply_to = getattr(getattr(record, "properties", None), "reply_to", None)
        if reply_to:
            replies = replies | {str(reply_to)}


def _validate(channel: str, message: _Message, value: Any, headers: Any) -> list[Violation]:
    from jsonschema import Draft7Validator

    out: list[Violation] = []
    for schema, instance, rule, prefix in (
        (message.headers, headers, "headers", "/headers"),
        (message.payload, value, "payload", ""),
    ):
        if schema is None:
            continue
        # one error per missing property of a `required`, in its order: the n-th error
        # of one `required` names its n-th missing property
        seen: dict[tuple[Any, ...], int] = {}
        for error in Draft7Validator(schema).iter_errors(instance):
            path = [str(p) for p in error.absolute_path]
            if error.validator == "required" and isinstance(error.validator_value, list):
                have = error.instance if isinstance(error.instance, dict) else {}
                missing = [str(k) for k in error.validator_value if k not in have]
                key = (*error.absolute_path, "|", *error.absolute_schema_path)
                n = seen[key] = seen.get(key, -1) + 1
                path += missing[n : n + 1]
            pointer = prefix + "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)
            out.append(Violation(rule, channel, pointer, f"{error.message} ({error.validator})"))
    return out


def _address_pattern(address: str | None) -> re.Pattern[str]:
    if address is None:
        return re.compile(r".*", re.S)
    parts = re.split(r"\{[^{}]*\}", address)
    return re.compile(".+".join(re.escape(p) for p in parts), re.S)


# keywords whose value maps names (any text, ``x-source`` too) to schemas
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "definitions", "$defs"})
# keywords whose value is data, not a schema: kept as written
_DATA = frozenset({"const", "enum", "default", "examples", "example", "required"})


def _inline(schema: Any, resolve: Any, depth: int = 0) -> Any:
    """The schema with the document's local ``$ref`` replaced by what they name and
    ``x-`` extensions left out (where a keyword may stand, not property names)."""
    if depth > 64:
        return schema
    schema = resolve(schema)
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for k, v in schema.items():
            if k.startswith("x-"):
                continue
            if k in _DATA:
                out[k] = v
            elif k in _NAMED_SCHEMAS and isinstance(v, dict):
                out[k] = {name: _inline(sub, resolve, depth + 1) for name, sub in v.items()}
            else:
                out[k] = _inline(v, resolve, depth + 1)
        return out
    if isinstance(schema, list):
        return [_inline(v, resolve, depth + 1) for v in schema]
    return schema


def _one_line(exc: Exception) -> str:
    """A parser's error in one line: PyYAML's spans several, with the text quoted."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return " ".join(str(exc).split())
