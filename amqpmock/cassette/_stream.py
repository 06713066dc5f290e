"""Writing a cassette one interaction at a time, in bounded memory.

Rules this module keeps:
- Interactions arrive in the order they were seen across connections (a recording's
  journal order); the file lists them connection by connection. Each one is redacted,
  scrubbed of known passwords and turned into YAML as it arrives, then kept in a
  spool file beside the cassette; the cassette is put together from the spool at the
  end. Memory holds 16 bytes per written interaction and 8 per redacted-away one's
  renumbering, never a body.
- The result is the document ``Cassette.to_data`` would give for the same cassette
  (the same redactor chain, the same password handling as ``write_cassette``), and it
  is written atomically: the previous cassette stays until the new one is whole.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from amqpmock.cassette._errors import CassetteError, CassetteFormatError
from amqpmock.cassette._model import Cassette, CassetteConnection, CassetteHeader, Interaction
from amqpmock.cassette._redact import is_strong, scrub_secrets
from amqpmock.cassette._yaml import atomic_file, dumps, warn_findings
from amqpmock.hookspecs import Redactor

_KEEP_FINDINGS = 10  # places named in the warning; the rest are counted


@dataclass(frozen=True)
class Written:
    """What a streamed write produced."""

    path: Path
    connections: int
    interactions: int
    complete: bool


def _indent(text: str) -> str:
    # Two more spaces on every line with text: block scalars keep their content, and
    # folded or quoted scalars drop a continuation line's leading spaces anyway.
    return "".join(
        "  " + line if line.strip() else line for line in text.splitlines(keepends=True)
    )


class CassetteStreamWriter:
    """``add`` every interaction in journal order, then ``finish``; or ``abort``.

    ``connections`` carry everything but their interactions (id, upstream, ending, error,
    heartbeats); ``add`` takes interactions with ``source`` in recorded numbering.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: CassetteHeader,
        connections: list[CassetteConnection],
        redactors: Iterable[Redactor],
        secrets: Iterable[str] = (),
    ) -> None:
        self.path = Path(path)
        self._header = header
        self._connections = connections
        self._position = {c.id: n for n, c in enumerate(connections)}
        self._chain = list(redactors)
        self._secrets = [s for s in secrets if s]
        self._strong = [s for s in self._secrets if is_strong(s)]
        self._found: list[str] = []
        self._found_more = 0
        # per connection: where each kept interaction's YAML is in the spool, and the
        # new number of every recorded one (-1: a redactor dropped it)
        self._offsets: dict[int, array[int]] = {c.id: array("Q") for c in connections}
        self._sizes: dict[int, array[int]] = {c.id: array("Q") for c in connections}
        self._renumbered: dict[int, array[int]] = {c.id: array("q") for c in connections}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # closed by abort(), which finish() and the context manager call
        self._spool: IO[bytes] | None = tempfile.TemporaryFile(  # noqa: SIM115
            prefix=f".{self.path.name}.", suffix=".spool", dir=self.path.parent
        )

    def __enter__(self) -> CassetteStreamWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    def abort(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def add(self, conn_id: int, interaction: Interaction) -> None:
        assert self._spool is not None, "the writer is finished"
        renumbered = self._renumbered[conn_id]
        index = len(renumbered)
        record: dict[str, Any] | None = interaction.to_record()
        for redactor in self._chain:
            assert record is not None
            record = redactor(record)
            if record is None:
                renumbered.append(-1)
                return
        where = f"connection {conn_id}, interaction {index} (after redaction)"
        try:
            new = Interaction.from_record(record, where)
        except CassetteFormatError as exc:
            raise CassetteFormatError(f"a redactor broke a record: {exc.problem}") from None
        if new.source is not None:
            new.source = self._moved(new.source)
        number = len(self._offsets[conn_id])
        renumbered.append(number)
        place = f"connections[{self._position[conn_id]}].interactions[{number}]"
        text = _indent(self._yaml([self._scrubbed(new.to_record(), place)]))
        data = text.encode("utf-8")
        self._offsets[conn_id].append(self._spool.tell())
        self._sizes[conn_id].append(len(data))
        self._spool.write(data)

    def finish(self) -> Written:
        """Put the cassette together from the spool and write it atomically."""
        spool = self._spool
        assert spool is not None, "the writer is finished"
        complete = all(c.complete for c in self._connections)
        head = Cassette(header=self._header, connections=[]).to_data()
        head["complete"] = complete
        del head["connections"]
        try:
            with atomic_file(self.path) as out:
                out.write(self._yaml(self._scrubbed(head, "")))
                out.write("connections:\n" if self._connections else "connections: []\n")
                for conn in self._connections:
                    self._write_connection(out, spool, conn)
        except OSError as exc:
            raise CassetteError(f"cannot write: {exc.strerror or exc}", self.path) from None
        finally:
            self.abort()
        found, self._found = self._found, []
        warn_findings(found, stacklevel=2, more=self._found_more)
        return Written(
            path=self.path,
            connections=len(self._connections),
            interactions=sum(len(sizes) for sizes in self._sizes.values()),
            complete=complete,
        )

    def _write_connection(self, out: IO[str], spool: IO[bytes], conn: CassetteConnection) -> None:
        place = f"connections[{self._position[conn.id]}]"
        offsets, sizes = self._offsets[conn.id], self._sizes[conn.id]
        head = self._yaml([self._scrubbed(conn.to_data(records=[]), place)])
        if not sizes:
            out.write(head)
            return
        # the placeholder keeps the mapping in block style; the records replace it
        empty = "  interactions: []\n"
        assert head.endswith(empty), head
        out.write(head[: -len(empty)] + "  interactions:\n")
        for offset, size in zip(offsets, sizes, strict=True):
            spool.seek(offset)
            out.write(spool.read(size).decode("utf-8"))
        spool.seek(0, os.SEEK_END)

    def _moved(self, source: tuple[int, int]) -> tuple[int, int] | None:
        renumbered = self._renumbered.get(source[0])
        if renumbered is None or not 0 <= source[1] < len(renumbered):
            return None
        number = renumbered[source[1]]
        return (source[0], number) if number >= 0 else None

    # known passwords are handled as ``write_cassette`` does: in the data, then in the text

    def _scrubbed(self, data: dict[str, Any], place: str) -> Any:
        if not self._secrets:
            return data
        data, found = scrub_secrets(data, self._secrets, where=place)
        self._note(found)
        return data

    def _yaml(self, data: Any) -> str:
        text = dumps(data)
        if self._strong:
            scrubbed, late = scrub_secrets({"text": text}, self._strong)
            if late:
                text = scrubbed["text"]
                self._note(late)
        return text

    def _note(self, found: list[str]) -> None:
        room = _KEEP_FINDINGS - len(self._found)
        self._found.extend(found[: max(room, 0)])
        self._found_more += max(len(found) - max(room, 0), 0)
