"""The cassette model: what the replay engine reads, and its plain-data (YAML) form.

Rules this module keeps:
- The typed model (``Cassette`` > ``CassetteConnection`` > ``Interaction``) holds wire
  values: bodies are ``bytes``, args and properties are what pamqp decodes.
- A *record* is the plain-data form of one interaction, exactly what the YAML file
  holds (bodies in their readable form). Redactors see and return records.
- ``from_data`` validates everything it reads and raises ``CassetteFormatError`` with
  the location of the problem (``connections[0].interactions[3].method: missing``).
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from pamqp import commands as _pamqp_commands

from amqpmock.cassette._body import decode_body, encode_body
from amqpmock.cassette._errors import CassetteFormatError, CassetteVersionError

CASSETTE_FORMAT_VERSION = 1

Direction = Literal["c2s", "s2c"]
"""Who sent a frame: ``c2s`` the client (to the server), ``s2c`` the server."""
Origin = Literal["recorded", "outside"]
"""For a message reaching a client: published by a recorded connection, or not."""
Outcome = Literal["routed", "returned", "nacked", "unknown"]
"""For a publish: routed by the broker, returned (Basic.Return), nacked by a confirm,
or unknown (not mandatory, not delivered to a recorded client: RabbitMQ does not say)."""
Ending = Literal[
    "clean", "client-gone", "upstream-gone", "upstream-unreachable", "proxy-stopped", "open"
]
"""How a connection ended: ``clean`` (Connection.Close/CloseOk), the client or the
upstream dropped the socket, the upstream could not be reached, the proxy was stopped,
or still open when the cassette was built."""

DIRECTIONS: tuple[str, ...] = get_args(Direction)
ORIGINS: tuple[str, ...] = get_args(Origin)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
ENDINGS: tuple[str, ...] = get_args(Ending)
INCOMPLETE_ENDINGS = frozenset({"upstream-gone", "upstream-unreachable", "proxy-stopped", "open"})

# Every AMQP 0-9-1 method name (``Class.Method``), as pamqp knows them.
METHOD_NAMES = frozenset(str(cast(Any, c).name) for c in _pamqp_commands.INDEX_MAPPING.values())
# The keys each level of a cassette may have; anything else is a typo or another format.
CASSETTE_KEYS = (
    "version",
    "amqpmock",
    "recorded_at",
    "test",
    "upstream",
    "complete",
    "connections",
)
UPSTREAM_KEYS = ("product", "version", "url")
CONNECTION_KEYS = (
    "id",
    "upstream",
    "complete",
    "ending",
    "error",
    "heartbeats",
    "interactions",
)
INTERACTION_KEYS = (
    "dir",
    "channel",
    "method",
    "args",
    "properties",
    "body",
    "outcome",
    "origin",
    "source",
    "at",
)

PUBLISH_METHODS = frozenset({"Basic.Publish"})
DELIVERY_METHODS = frozenset({"Basic.Deliver", "Basic.GetOk"})
CONTENT_METHODS = frozenset({"Basic.Publish", "Basic.Deliver", "Basic.GetOk", "Basic.Return"})


@dataclass(slots=True)
class Interaction:
    """One decoded AMQP method, with its content (header and body frames merged).

    ``origin`` is set on deliveries (``Basic.Deliver``, ``Basic.GetOk``) and
    ``source`` then points at the publish as ``(connection id, interaction index)``;
    ``outcome`` is set on publishes (and ``source`` on a ``Basic.Return``).
    """

    dir: Direction
    channel: int
    method: str
    args: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] | None = None
    body: bytes | None = None
    origin: Origin | None = None
    source: tuple[int, int] | None = None
    outcome: Outcome | None = None
    at: float | None = None  # seconds after the recording started, when it was seen

    @property
    def has_content(self) -> bool:
        return self.body is not None

    @property
    def is_publish(self) -> bool:
        return self.method in PUBLISH_METHODS

    @property
    def is_delivery(self) -> bool:
        return self.method in DELIVERY_METHODS

    def to_record(self) -> dict[str, Any]:
        """The plain-data form written to YAML (and given to redactors)."""
        record: dict[str, Any] = {
            "dir": self.dir,
            "channel": self.channel,
            "method": self.method,
        }
        if self.args:
            record["args"] = self.args
        if self.properties is not None:
            record["properties"] = self.properties
        if self.body is not None:
            record["body"] = encode_body(self.body)
        if self.outcome is not None:
            record["outcome"] = self.outcome
        if self.origin is not None:
            record["origin"] = self.origin
        if self.source is not None:
            record["source"] = {"connection": self.source[0], "interaction": self.source[1]}
        if self.at is not None:
            record["at"] = self.at
        return record

    @classmethod
    def from_record(cls, record: object, where: str = "interaction") -> Interaction:
        """Build from a record; ``where`` prefixes error messages."""
        rec = _mapping(record, where)
        _known_keys(rec, INTERACTION_KEYS, where)
        direction = _choice(rec, "dir", DIRECTIONS, where, required=True)
        channel = _int(rec, "channel", where, required=True)
        method = rec.get("method")
        if not isinstance(method, str) or "." not in method:
            raise CassetteFormatError(
                f"{where}.method: expected 'Class.Method', got {method!r}"
                if "method" in rec
                else f"{where}.method: missing"
            )
        if method not in METHOD_NAMES:
            raise CassetteFormatError(
                f"{where}.method: unknown AMQP method {method!r}"
                + _did_you_mean(method, METHOD_NAMES)
            )
        args = rec.get("args", {})
        if not isinstance(args, dict):
            raise CassetteFormatError(f"{where}.args: expected a mapping")
        properties = rec.get("properties")
        if properties is not None and not isinstance(properties, dict):
            raise CassetteFormatError(f"{where}.properties: expected a mapping")
        body: bytes | None = None
        if "body" in rec:
            try:
                body = decode_body(rec["body"])
            except ValueError as exc:
                raise CassetteFormatError(f"{where}.body: {exc}") from None
        source: tuple[int, int] | None = None
        if rec.get("source") is not None:
            src = _mapping(rec["source"], f"{where}.source")
            source = (
                _int(src, "connection", f"{where}.source", required=True),
                _int(src, "interaction", f"{where}.source", required=True),
            )
        return cls(
            dir=cast(Direction, direction),
            channel=channel,
            method=method,
            args=dict(args),
            properties=dict(properties) if properties is not None else None,
            body=body,
            origin=cast("Origin | None", _choice(rec, "origin", ORIGINS, where)),
            source=source,
            outcome=cast("Outcome | None", _choice(rec, "outcome", OUTCOMES, where)),
            at=_seconds(rec, "at", where),
        )


@dataclass
class Heartbeats:
    """Heartbeat frames seen in each direction (counted, never listed)."""

    c2s: int = 0
    s2c: int = 0


@dataclass
class CassetteConnection:
    """One client connection through the proxy, in the order connections were opened."""

    id: int
    interactions: list[Interaction] = field(default_factory=list)
    heartbeats: Heartbeats = field(default_factory=Heartbeats)
    upstream: str | None = None
    ending: Ending = "clean"
    error: str | None = None

    @property
    def complete(self) -> bool:
        """False when the recording of this connection stops before its real end."""
        return self.ending not in INCOMPLETE_ENDINGS and self.error is None

    def __iter__(self) -> Iterator[Interaction]:
        return iter(self.interactions)

    def methods(self, dir: Direction | None = None) -> list[str]:
        """Method names in order, optionally of one direction (handy in tests)."""
        return [i.method for i in self.interactions if dir is None or i.dir == dir]

    def to_data(self, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        if self.upstream is not None:
            data["upstream"] = self.upstream
        data["complete"] = self.complete
        data["ending"] = self.ending
        if self.error is not None:
            data["error"] = self.error
        data["heartbeats"] = {"c2s": self.heartbeats.c2s, "s2c": self.heartbeats.s2c}
        data["interactions"] = (
            records if records is not None else [i.to_record() for i in self.interactions]
        )
        return data

    @classmethod
    def from_data(cls, data: object, where: str) -> CassetteConnection:
        rec = _mapping(data, where)
        _known_keys(rec, CONNECTION_KEYS, where)
        conn_id = _int(rec, "id", where, required=True)
        upstream = rec.get("upstream")
        if upstream is not None and not isinstance(upstream, str):
            raise CassetteFormatError(f"{where}.upstream: expected a string")
        ending = _choice(rec, "ending", ENDINGS, where) or "clean"
        error = rec.get("error")
        if error is not None and not isinstance(error, str):
            raise CassetteFormatError(f"{where}.error: expected a string")
        hb = _mapping(rec.get("heartbeats", {}), f"{where}.heartbeats")
        heartbeats = Heartbeats(
            c2s=_int(hb, "c2s", f"{where}.heartbeats") or 0,
            s2c=_int(hb, "s2c", f"{where}.heartbeats") or 0,
        )
        raw = rec.get("interactions", [])
        if not isinstance(raw, list):
            raise CassetteFormatError(f"{where}.interactions: expected a list")
        interactions = [
            Interaction.from_record(item, f"{where}.interactions[{n}]")
            for n, item in enumerate(raw)
        ]
        return cls(
            id=conn_id,
            interactions=interactions,
            heartbeats=heartbeats,
            upstream=upstream,
            ending=cast(Ending, ending),
            error=error,
        )


@dataclass
class CassetteHeader:
    """What was recorded, with what, from which broker."""

    version: int = CASSETTE_FORMAT_VERSION
    amqpmock: str = ""
    upstream_product: str | None = None
    upstream_version: str | None = None
    upstream_url: str | None = None
    recorded_at: datetime.datetime | None = None
    test: str | None = None  # the test that recorded it (its pytest node id)


@dataclass
class Cassette:
    """A recorded session: a header and the connections in the order they opened."""

    header: CassetteHeader = field(default_factory=CassetteHeader)
    connections: list[CassetteConnection] = field(default_factory=list)
    path: Path | None = None

    @property
    def complete(self) -> bool:
        """False when any connection's recording stops before its real end."""
        return all(c.complete for c in self.connections)

    def __iter__(self) -> Iterator[CassetteConnection]:
        return iter(self.connections)

    def interactions(self) -> Iterator[tuple[CassetteConnection, int, Interaction]]:
        """Every interaction with its connection and index, connection by connection."""
        for conn in self.connections:
            for index, interaction in enumerate(conn.interactions):
                yield conn, index, interaction

    def connection(self, conn_id: int) -> CassetteConnection:
        for conn in self.connections:
            if conn.id == conn_id:
                return conn
        raise KeyError(conn_id)

    def to_data(self) -> dict[str, Any]:
        """The plain-data document (the YAML file's content)."""
        upstream: dict[str, Any] = {}
        header = self.header
        if header.upstream_product is not None:
            upstream["product"] = header.upstream_product
        if header.upstream_version is not None:
            upstream["version"] = header.upstream_version
        if header.upstream_url is not None:
            upstream["url"] = header.upstream_url
        data: dict[str, Any] = {"version": header.version, "amqpmock": header.amqpmock}
        if header.recorded_at is not None:
            data["recorded_at"] = header.recorded_at
        if header.test is not None:
            data["test"] = header.test
        data["upstream"] = upstream
        data["complete"] = self.complete
        data["connections"] = [c.to_data() for c in self.connections]
        return data

    @classmethod
    def from_data(cls, data: object, path: Path | None = None) -> Cassette:
        """Validate and build. Errors carry ``path`` and the location of the problem."""
        try:
            return cls._from_data(data, path)
        except CassetteFormatError as exc:
            if exc.path is None and path is not None:
                raise CassetteFormatError(exc.problem, path) from None
            raise

    @classmethod
    def _from_data(cls, data: object, path: Path | None) -> Cassette:
        if not isinstance(data, dict):
            kind = "an empty file" if data is None else f"a {type(data).__name__}"
            raise CassetteFormatError(f"expected a cassette mapping, got {kind}", path)
        if "version" not in data:
            raise CassetteFormatError("missing 'version' (cassette format version)", path)
        version = data["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise CassetteFormatError(f"version: expected a positive integer, got {version!r}")
        if version > CASSETTE_FORMAT_VERSION:
            raise CassetteVersionError(version, CASSETTE_FORMAT_VERSION, path)
        _known_keys(data, CASSETTE_KEYS, "")
        if "connections" not in data:
            raise CassetteFormatError("connections: missing (the list of recorded connections)")
        tool = data.get("amqpmock", "")
        upstream = _mapping(data.get("upstream", {}), "upstream")
        _known_keys(upstream, UPSTREAM_KEYS, "upstream")
        recorded_at = data.get("recorded_at")
        if recorded_at is not None and not isinstance(recorded_at, datetime.datetime):
            raise CassetteFormatError("recorded_at: expected a timestamp")
        header = CassetteHeader(
            version=version,
            amqpmock=str(tool),
            upstream_product=_opt_str(upstream, "product", "upstream"),
            upstream_version=_opt_str(upstream, "version", "upstream"),
            upstream_url=_opt_str(upstream, "url", "upstream"),
            recorded_at=recorded_at,
            test=_opt_str(data, "test", ""),
        )
        raw = data.get("connections", [])
        if not isinstance(raw, list):
            raise CassetteFormatError("connections: expected a list")
        connections = [
            CassetteConnection.from_data(item, f"connections[{n}]") for n, item in enumerate(raw)
        ]
        return cls(header=header, connections=connections, path=path)


def _seconds(rec: Mapping[str, Any], key: str, where: str) -> float | None:
    value = rec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CassetteFormatError(
            f"{where}.{key}: expected seconds (a number >= 0), got {value!r}"
        )
    return float(value)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_keys(rec: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in rec:
        if key not in known:
            at = f"{where}.{key}" if where else str(key)
            raise CassetteFormatError(
                f"{at}: unknown key{_did_you_mean(str(key), known)}; "
                f"known here: {', '.join(known)}"
            )


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise CassetteFormatError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _int(rec: Mapping[str, Any], key: str, where: str, required: bool = False) -> int:
    if key not in rec:
        if required:
            raise CassetteFormatError(f"{where}.{key}: missing")
        return 0
    value = rec[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CassetteFormatError(f"{where}.{key}: expected a non-negative integer, got {value!r}")
    return value


def _choice(
    rec: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str, required: bool = False
) -> str | None:
    if key not in rec or rec[key] is None:
        if required:
            raise CassetteFormatError(f"{where}.{key}: missing")
        return None
    value = rec[key]
    if value not in allowed:
        raise CassetteFormatError(
            f"{where}.{key}: expected one of {', '.join(allowed)}, got {value!r}"
        )
    return cast(str, value)


def _opt_str(rec: Mapping[str, Any], key: str, where: str) -> str | None:
    value = rec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        at = f"{where}.{key}" if where else key
        raise CassetteFormatError(f"{at}: expected a string, got {value!r}")
    return value


# Endings after which the recording lost part of the session: the broker went away (or
# never answered) while the client still talked. A connection still ``open``, or ended
# ``proxy-stopped``, when the recording stopped is the normal end of a recording of a
# long-lived client (a pooled oslo.messaging connection outlives its test) and loses
# nothing the test did.
LOSSY_ENDINGS = frozenset({"upstream-gone", "upstream-unreachable"})


def incomplete_problem(cassette: Cassette) -> str | None:
    """Why a cassette is missing part of its session (a connection ended with one of
    ``LOSSY_ENDINGS`` or an error), or None when replay can trust it."""
    for conn in cassette.connections:
        proxy_failed = conn.error is not None and conn.error.startswith(
            ("proxy error", "recovered from")
        )
        if conn.ending in LOSSY_ENDINGS or proxy_failed:
            why = f" ({conn.error})" if conn.error else ""
            return (
                f"the cassette is incomplete: connection {conn.id} ended "
                f"'{conn.ending}'{why} before the session did"
            )
    return None
