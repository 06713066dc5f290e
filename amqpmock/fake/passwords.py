"""RabbitMQ's password hashes (``rabbit_password_hashing_sha256`` and friends), so that
users from a definitions export log in with their passwords, and an export shows a
hash RabbitMQ can import: base64 of a 4-byte salt followed by hash(salt + password)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random

ALGORITHMS = {
    "rabbit_password_hashing_sha256": "sha256",
    "rabbit_password_hashing_sha512": "sha512",
    "rabbit_password_hashing_md5": "md5",
}
DEFAULT = "rabbit_password_hashing_sha256"
# how a hashed password is kept in Broker.users: this prefix, the algorithm, the hash
PREFIX = "\x00hash:"


def make_hash(password: str, rng: random.Random, algorithm: str = DEFAULT) -> str:
    salt = bytes(rng.randrange(256) for _ in range(4))
    digest = hashlib.new(ALGORITHMS[algorithm], salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def stored(password_hash: str, algorithm: str = DEFAULT) -> str:
    """What Broker.users keeps for a user known by its hash only."""
    return f"{PREFIX}{algorithm}:{password_hash}"


def split_stored(value: str) -> tuple[str, str] | None:
    """(algorithm, hash) of a kept hash, or None for a plain password."""
    if not value.startswith(PREFIX):
        return None
    algorithm, _, password_hash = value[len(PREFIX) :].partition(":")
    return algorithm, password_hash


def matches(value: str, password: str) -> bool:
    """Does ``password`` log in a user whose kept password is ``value``?"""
    kept = split_stored(value)
    if kept is None:
        return hmac.compare_digest(value.encode(), password.encode())
    algorithm, password_hash = kept
    try:
        raw = base64.b64decode(password_hash, validate=True)
    except ValueError:
        return False
    name = ALGORITHMS.get(algorithm)
    if name is None or len(raw) < 5:
        return False
    salt, digest = raw[:4], raw[4:]
    return hmac.compare_digest(hashlib.new(name, salt + password.encode()).digest(), digest)
