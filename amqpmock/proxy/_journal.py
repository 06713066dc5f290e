"""The recording's journal: everything the proxy forwards, appended to a file as it
passes, so that a recorder that dies (SIGKILL, a crash, a power cut of the test run)
loses at most the chunk it was writing.

Rules this module keeps:
- Append-only and self-delimiting: a magic line, then records of a fixed head (kind,
  connection, direction, seconds since the start, payload length) and the payload. The
  reader stops at a truncated tail, as mitmproxy's ``FlowReader`` does: it is the end,
  not an error.
- One unbuffered write per record: what the proxy forwarded is in the OS's hands before
  the client sees it.
- The file holds raw traffic, passwords included, so it is created ``0600`` and is
  removed once the cassette (redacted) is written. It is never a cassette.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAGIC = b"amqpmock-journal 1\n"
_HEAD = struct.Struct(">BIBdI")  # kind, connection, direction, seconds, payload length

OPEN, UPSTREAM, DATA, CLOSE = 1, 2, 3, 4
DIRECTIONS = ("c2s", "s2c")


class JournalError(ValueError):
    """Not a journal file (wrong magic line)."""


@dataclass(frozen=True)
class Entry:
    kind: int
    connection: int
    direction: str
    at: float
    payload: bytes

    def close_reason(self) -> tuple[str, str | None]:
        data = json.loads(self.payload)
        return str(data["ending"]), data.get("error")


class Journal:
    """An open journal being written."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self._file: BinaryIO | None = os.fdopen(fd, "wb", buffering=0)
        self._file.write(MAGIC)

    def write(
        self, kind: int, connection: int, at: float, payload: bytes = b"", direction: int = 0
    ) -> None:
        if self._file is not None:
            self._file.write(_HEAD.pack(kind, connection, direction, at, len(payload)) + payload)

    def close_connection(self, connection: int, at: float, ending: str, error: str | None) -> None:
        self.write(CLOSE, connection, at, json.dumps({"ending": ending, "error": error}).encode())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def read_journal(path: str | os.PathLike[str]) -> Iterator[Entry]:
    """The records of a journal, in order; a truncated last record is left out."""
    with open(path, "rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise JournalError(f"{path}: not an amqpmock recording journal")
        while True:
            head = handle.read(_HEAD.size)
            if len(head) < _HEAD.size:
                return
            kind, connection, direction, at, size = _HEAD.unpack(head)
            payload = handle.read(size)
            if len(payload) < size:
                return
            yield Entry(kind, connection, DIRECTIONS[direction & 1], at, payload)
