"""The recording side of the proxy: bytes seen in, a cassette out. Sans-IO.

Rules this module keeps:
- ``data()`` is on the forwarding path, so it only appends the bytes to one log shared
  by all connections; the log's order is the order the proxy saw things happen, across
  connections and directions. Decoding waits for ``build()`` or ``write()``.
- Both decode and mark the log in that order (``_marks``: outcomes of publishes,
  origins of deliveries). ``build()`` keeps every interaction in memory; ``write()``
  reads the log twice, marking first and writing second, so that a long session's
  cassette is written in memory that grows with its number of messages, not their size.
- Redaction and the secret check run on what was decoded, never on the log.
- With a ``journal`` the log lives on disk, not in memory (``_journal``): appended as
  it passes, it survives the recorder's death, and ``Recorder.recover`` turns it into a
  cassette afterwards, marked incomplete, reading it where it lies.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import amqpmock
from amqpmock.cassette._errors import CassetteError
from amqpmock.cassette._model import (
    Cassette,
    CassetteConnection,
    CassetteHeader,
    Direction,
    Ending,
)
from amqpmock.cassette._redact import default_redactors, redact_cassette
from amqpmock.cassette._stream import CassetteStreamWriter, Written
from amqpmock.hookspecs import Redactor
from amqpmock.proxy._journal import CLOSE, DATA, OPEN, UPSTREAM, Journal, read_journal
from amqpmock.proxy._marks import C2S, Decoding, Marker


@dataclass
class _ConnectionLog:
    id: int
    upstream: str | None = None
    ending: Ending = "open"
    error: str | None = None


class Recorder:
    """Collects what a proxy forwards and turns it into a cassette.

    ``open_connection`` numbers connections in open order; ``data`` records bytes as
    forwarded (``c2s`` or ``s2c``); ``close_connection`` says how it ended.
    """

    def __init__(
        self,
        upstream_url: str | None = None,
        passwords: Iterable[str] = (),
        now: Callable[[], datetime.datetime] | None = None,
        elapsed: Callable[[], float] = time.monotonic,
        journal: str | os.PathLike[str] | None = None,
    ) -> None:
        self.upstream_url = upstream_url
        self._passwords = {p for p in passwords if p}
        self._now = now or (lambda: datetime.datetime.now(datetime.UTC).replace(microsecond=0))
        self._started = self._now()
        self._elapsed = elapsed
        self._t0 = elapsed()
        self._connections: list[_ConnectionLog] = []
        # (connection, direction, bytes, seconds after the start when they passed): in
        # memory, or appended to the journal file when there is one
        self._log: list[tuple[int, Direction, bytes, float]] = []
        self._journal = Journal(journal) if journal is not None else None
        self._recovered: Path | None = None  # the journal of a recorder that died
        self._bytes = 0

    # -- the forwarding path -------------------------------------------------------

    def _seconds(self) -> float:
        return round(self._elapsed() - self._t0, 3)

    def open_connection(self, upstream: str | None = None) -> int:
        conn = _ConnectionLog(id=len(self._connections) + 1, upstream=upstream)
        self._connections.append(conn)
        if self._journal is not None:
            self._journal.write(OPEN, conn.id, self._seconds(), (upstream or "").encode())
        return conn.id

    def upstream_connected(self, conn_id: int, address: str) -> None:
        self._connections[conn_id - 1].upstream = address
        if self._journal is not None:
            self._journal.write(UPSTREAM, conn_id, self._seconds(), address.encode())

    def data(self, conn_id: int, direction: Direction, data: bytes) -> None:
        if data:
            self._bytes += len(data)
            if self._journal is not None:
                way = 0 if direction == C2S else 1
                self._journal.write(DATA, conn_id, self._seconds(), data, way)
            else:
                self._log.append((conn_id, direction, data, self._seconds()))

    def close_connection(self, conn_id: int, ending: Ending, error: str | None = None) -> None:
        conn = self._connections[conn_id - 1]
        if conn.ending == "open":
            conn.ending = ending
            conn.error = error
            if self._journal is not None:
                self._journal.close_connection(conn_id, self._seconds(), ending, error)

    @property
    def journal_path(self) -> Path | None:
        return self._journal.path if self._journal is not None else None

    def remove_journal(self) -> None:
        """Once the cassette is written (or deliberately not), the raw traffic goes."""
        if self._journal is not None:
            self._journal.remove()

    @classmethod
    def recover(cls, journal: str | os.PathLike[str]) -> Recorder:
        """A recorder holding what a journal kept of a recorder that died: connections
        it never saw end are marked ``proxy-stopped`` with the reason, so the cassette
        says it is incomplete."""
        rec = cls()
        rec._recovered = Path(journal)
        for entry in read_journal(journal):
            if entry.kind == OPEN:
                rec._connections.append(
                    _ConnectionLog(id=entry.connection, upstream=entry.payload.decode() or None)
                )
            elif entry.kind == UPSTREAM:
                rec._connections[entry.connection - 1].upstream = entry.payload.decode()
            elif entry.kind == DATA:
                rec._bytes += len(entry.payload)
            elif entry.kind == CLOSE:
                ending, error = entry.close_reason()
                rec.close_connection(entry.connection, cast(Ending, ending), error)
        for conn in rec._connections:
            if conn.ending == "open":
                conn.ending = "proxy-stopped"
                conn.error = (
                    f"recovered from {journal}: the recorder stopped before it wrote the cassette"
                )
        return rec

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    @property
    def bytes_recorded(self) -> int:
        return self._bytes

    # -- building ------------------------------------------------------------------

    def _cassette_connections(self) -> list[CassetteConnection]:
        return [
            CassetteConnection(id=c.id, upstream=c.upstream, ending=c.ending, error=c.error)
            for c in self._connections
        ]

    def _header(self, marker: Marker) -> CassetteHeader:
        return CassetteHeader(
            amqpmock=amqpmock.__version__,
            upstream_product=marker.product,
            upstream_version=marker.version,
            upstream_url=self.upstream_url,
            recorded_at=self._started,
        )

    def _mark(
        self,
        connections: list[CassetteConnection],
        keep: bool,
        index_dir: str | os.PathLike[str] | None = None,
    ) -> Marker:
        """One pass over the log: decoded into ``connections`` (their interactions too
        with ``keep``), and marked (the message index on disk in ``index_dir``)."""
        decoding = Decoding(connections, keep=keep)
        marker = Marker(index_dir)
        try:
            for conn_id, direction, chunk, at in self._chunks():
                for ref, interaction in decoding.feed(conn_id, direction, chunk, at):
                    marker.see(ref, interaction)
            decoding.finish()
            marker.finish(connections)
        finally:
            marker.close()
        self._passwords |= marker.passwords
        return marker

    def build(self) -> Cassette:
        """The cassette of everything so far, unredacted. Can be called repeatedly."""
        connections = self._cassette_connections()
        marker = self._mark(connections, keep=True)
        for conn in connections:
            for index, interaction in enumerate(conn.interactions):
                marker.apply((conn.id, index), interaction)
        return Cassette(header=self._header(marker), connections=connections)

    def _chunks(self) -> Iterable[tuple[int, Direction, bytes, float]]:
        source = self._journal.path if self._journal is not None else self._recovered
        if source is None:
            yield from self._log
            return
        for entry in read_journal(source):
            if entry.kind == DATA:
                yield entry.connection, cast(Direction, entry.direction), entry.payload, entry.at

    @property
    def secrets(self) -> set[str]:
        """Passwords that must never be written: the upstream URL's and every one a
        client sent in Connection.StartOk (known after ``build``)."""
        return set(self._passwords)

    def cassette(self, redactors: Iterable[Redactor] | None = None) -> Cassette:
        """Built and redacted (by default with every ``amqpmock_redactors`` hook)."""
        chain = default_redactors() if redactors is None else list(redactors)
        return redact_cassette(self.build(), chain)

    def write(
        self, path: str | os.PathLike[str], redactors: Iterable[Redactor] | None = None
    ) -> Path:
        """Build, redact, check for passwords and write atomically."""
        return self.write_streaming(path, redactors).path

    def write_streaming(
        self, path: str | os.PathLike[str], redactors: Iterable[Redactor] | None = None
    ) -> Written:
        """What ``write`` does, in memory that does not grow with the traffic's size:
        one pass over the log marks publishes and deliveries, a second decodes it again
        and writes each interaction as it comes (``CassetteStreamWriter``)."""
        chain = default_redactors() if redactors is None else list(redactors)
        connections = self._cassette_connections()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        marker = self._mark(connections, keep=False, index_dir=target.parent)
        decoding = Decoding(self._cassette_connections())
        try:
            with CassetteStreamWriter(
                path, self._header(marker), connections, chain, self.secrets
            ) as writer:
                for conn_id, direction, chunk, at in self._chunks():
                    for ref, interaction in decoding.feed(conn_id, direction, chunk, at):
                        marker.apply(ref, interaction)
                        writer.add(conn_id, interaction)
                return writer.finish()
        except CassetteError as exc:
            if exc.path is None:
                exc.path = Path(path)
                exc.args = (f"{exc.path}: {exc.problem}",)
            raise
