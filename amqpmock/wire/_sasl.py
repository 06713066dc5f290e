"""Authentication for the connection handshake: the SASL mechanisms RabbitMQ offers
(PLAIN and AMQPLAIN), parsed as RabbitMQ parses them, and what they yield.

Private to ``amqpmock.wire``: ``protocol`` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pamqp import decode


@dataclass(frozen=True, slots=True)
class Credentials:
    user: str
    password: str


@dataclass(frozen=True, slots=True)
class Challenge:
    """Send Connection.Secure with this challenge and wait for SecureOk."""

    challenge: str


class SaslSession(Protocol):
    """One authentication exchange. ``step`` raises ValueError on a malformed response."""

    def step(self, response: bytes) -> Credentials | Challenge: ...


class PlainSession:
    """SASL PLAIN as RabbitMQ parses it: ``\\0user\\0password`` (no authorization id)."""

    def step(self, response: bytes) -> Credentials | Challenge:
        if not response.startswith(b"\x00"):
            raise ValueError("PLAIN response does not start with NUL")
        parts = response[1:].split(b"\x00")
        if len(parts) != 2:
            raise ValueError("PLAIN response is not \\0user\\0password")
        return Credentials(_text(parts[0]), _text(parts[1]))


class AMQPlainSession:
    """RabbitMQ's AMQPLAIN: a field table (without its length) with LOGIN and PASSWORD."""

    def step(self, response: bytes) -> Credentials | Challenge:
        consumed, table = decode.field_table(len(response).to_bytes(4, "big") + response)
        if consumed != len(response) + 4:
            raise ValueError("AMQPLAIN response has trailing data")
        login, password = table.get("LOGIN"), table.get("PASSWORD")
        if not isinstance(login, str | bytes) or not isinstance(password, str | bytes):
            raise ValueError("AMQPLAIN response lacks LOGIN or PASSWORD")
        return Credentials(_text(login), _text(password))


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


MECHANISMS: dict[str, Callable[[], SaslSession]] = {
    "PLAIN": PlainSession,
    "AMQPLAIN": AMQPlainSession,
}
