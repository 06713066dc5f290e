"""Cassette errors. Every message names the file (when there is one) and the problem.

AMQPMockError                  (amqpmock.errors)
└── CassetteError              anything wrong with a cassette
    ├── CassetteNotFound       the file does not exist
    ├── CassetteFormatError    not YAML, or not the shape of a cassette
    ├── CassetteVersionError   written by a newer amqpmock (format version too high)
    └── SecretLeakError        refusing to write: a password would be in the file
"""

from __future__ import annotations

from pathlib import Path

from amqpmock.errors import AMQPMockError


class CassetteError(AMQPMockError):
    """A cassette could not be read or written. ``path`` is the file, when known."""

    path: Path | None
    problem: str

    def __init__(self, problem: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class CassetteNotFound(CassetteError):
    """The cassette file does not exist."""


class CassetteFormatError(CassetteError):
    """The file is not valid YAML or not shaped like a cassette; ``problem`` says where."""


class CassetteVersionError(CassetteError):
    """The cassette's format version is newer than this amqpmock understands."""

    def __init__(self, version: object, supported: int, path: str | Path | None = None) -> None:
        self.version = version
        self.supported = supported
        super().__init__(
            f"cassette format version {version!r} is newer than this amqpmock supports "
            f"({supported}); upgrade amqpmock to read it",
            path,
        )


class SecretLeakError(CassetteError):
    """Refusing to write: an upstream password appears in the cassette at ``where``."""

    def __init__(self, where: str, path: str | Path | None = None) -> None:
        self.where = where
        super().__init__(
            f"refusing to write the cassette: the upstream password appears at {where}; "
            "add a redactor (amqpmock_redactors hook) for that field",
            path,
        )
