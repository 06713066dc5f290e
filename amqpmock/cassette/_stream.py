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

import bisect
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from amqpmock.cassette._errors import CassetteError
from amqpmock.cassette._model import Cassette, CassetteConnection, CassetteHeader, Interaction
from amqpmock.cassette._redact import redact_interaction
from amqpmock.cassette._yaml import atomic_file, secret_free_yaml, warn_findings
from amqpmock.hookspecs import Redactor

_KEEP_FINDINGS = 10  # places named in the warning; the rest are counted
_OPEN_SPOOLS = 32  # spool files kept open at once


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
        self._found: list[str] = []
        self._found_more = 0
        # per connection: interactions seen, written, and the (recorded) numbers of
        # those a redactor dropped, in order
        self._seen: dict[int, int] = {c.id: 0 for c in connections}
        self._written: dict[int, int] = {c.id: 0 for c in connections}
        self._dropped: dict[int, list[int]] = {c.id: [] for c in connections}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._folder: tempfile.TemporaryDirectory[str] | None = tempfile.TemporaryDirectory(
            prefix=f".{self.path.name}.", suffix=".spool", dir=self.path.parent
        )
        self._open: OrderedDict[int, IO[bytes]] = OrderedDict()

    def __enter__(self) -> CassetteStreamWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    def abort(self) -> None:
        """Remove the spools (``finish`` does too)."""
        for handle in self._open.values():
            handle.close()
        self._open.clear()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _spool_path(self, conn_id: int) -> Path:
        assert self._folder is not None, "the writer is finished"
        return Path(self._folder.name) / f"{conn_id}.yaml"

    def _spool(self, conn_id: int) -> IO[bytes]:
        handle = self._open.get(conn_id)
        if handle is not None:
            self._open.move_to_end(conn_id)
            return handle
        if len(self._open) >= _OPEN_SPOOLS:
            _, oldest = self._open.popitem(last=False)
            oldest.close()
        handle = self._open[conn_id] = self._spool_path(conn_id).open("ab")
        return handle

    def add(self, conn_id: int, interaction: Interaction) -> None:
        index = self._seen[conn_id]
        self._seen[conn_id] = index + 1
        new = redact_interaction(
            interaction, self._chain, f"connection {conn_id}, interaction {index}"
        )
        if new is None:
            self._dropped[conn_id].append(index)
            return
        if new.source is not None:
            new.source = self._moved(new.source)
        number = self._written[conn_id]
        self._written[conn_id] = number + 1
        place = f"connections[{self._position[conn_id]}].interactions[{number}]"
        text = _indent(self._yaml(new.to_record(), place, as_item=True))
        self._spool(conn_id).write(text.encode("utf-8"))

    def finish(self) -> Written:
        """Put the cassette together from the spools and write it atomically."""
        complete = all(c.complete for c in self._connections)
        head = Cassette(header=self._header, connections=[]).to_data()
        head["complete"] = complete
        del head["connections"]
        try:
            for handle in self._open.values():
                handle.close()
            self._open.clear()
            with atomic_file(self.path) as out:
                out.write(self._yaml(head, ""))
                out.write("connections:\n" if self._connections else "connections: []\n")
                out.flush()
                for conn in self._connections:
                    self._write_connection(out, conn)
        except OSError as exc:
            raise CassetteError(f"cannot write: {exc.strerror or exc}", self.path) from None
        finally:
            self.abort()
        found, self._found = self._found, []
        warn_findings(found, stacklevel=2, more=self._found_more)
        return Written(
            path=self.path,
            connections=len(self._connections),
            interactions=sum(self._written.values()),
            complete=complete,
        )

    def _write_connection(self, out: TextIO, conn: CassetteConnection) -> None:
        place = f"connections[{self._position[conn.id]}]"
        head = self._yaml(conn.to_data(records=[]), place, as_item=True)
        if not self._written[conn.id]:
            out.write(head)
            return
        # the placeholder keeps the mapping in block style; the records replace it
        empty = "  interactions: []\n"
        assert head.endswith(empty), head
        out.write(head[: -len(empty)] + "  interactions:\n")
        out.flush()
        spool = self._spool_path(conn.id)
        with spool.open("rb") as records:
            shutil.copyfileobj(records, out.buffer)
        out.buffer.flush()
        spool.unlink()

    def _moved(self, source: tuple[int, int]) -> tuple[int, int] | None:
        conn_id, index = source
        if not 0 <= index < self._seen.get(conn_id, 0):
            return None
        dropped = self._dropped[conn_id]
        before = bisect.bisect_left(dropped, index)
        if before < len(dropped) and dropped[before] == index:
            return None
        return conn_id, index - before

    def _yaml(self, data: Any, place: str, as_item: bool = False) -> str:
        """Known passwords handled as ``write_cassette`` does (``secret_free_yaml``)."""
        text, found = secret_free_yaml(data, self._secrets, place, as_item)
        self._note(found)
        return text

    def _note(self, found: list[str]) -> None:
        room = _KEEP_FINDINGS - len(self._found)
        self._found.extend(found[: max(room, 0)])
        self._found_more += max(len(found) - max(room, 0), 0)
