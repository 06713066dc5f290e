"""Observations compared: what a differential test observed against what RabbitMQ gave."""

from __future__ import annotations


def differences(expected: object, observed: object, path: str = "") -> list[str]:
    """Readable list of differences between two JSON-like values."""
    if isinstance(expected, dict) and isinstance(observed, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(observed), key=str):
            if key not in observed:
                out.append(f"{path}/{key}: missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{path}/{key}: unexpected {observed[key]!r}")
            else:
                out.extend(differences(expected[key], observed[key], f"{path}/{key}"))
        return out
    if expected != observed:
        where = path or "/"
        return [f"{where}: expected {expected!r}\n{' ' * len(where)}  observed {observed!r}"]
    return []


def assert_equal(expected: object, observed: object, name: str = "") -> None:
    """Fail with every difference, one per line (after ``name differs:``, if given)."""
    problems = differences(expected, observed)
    head = [f"{name} differs:"] if name else []
    assert not problems, "\n".join(head + problems)
