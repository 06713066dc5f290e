"""Cassettes and pictures are ordinary files (meant to be committed): 0644 under umask
022, as any new file; the journal of raw traffic (passwords included) stays 0600."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from amqpmock.cassette import load_cassette, write_cassette, write_text_atomic
from amqpmock.cassette._stream import CassetteStreamWriter
from amqpmock.cli import main
from amqpmock.proxy._journal import Journal

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "cassettes" / "proxy" / "pika_publish_consume.yaml"


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_cassettes_and_pictures_are_group_and_other_readable(tmp_path: Path) -> None:
    cassette = load_cassette(RECORDED)
    with umask(0o022):
        written = write_cassette(cassette, tmp_path / "written.yaml")
        with CassetteStreamWriter(tmp_path / "streamed.yaml", cassette.header, [], []) as w:
            w.finish()
        write_text_atomic(tmp_path / "picture.svg", "<svg/>")
        assert main(["diagram", str(RECORDED), "-o", str(tmp_path / "flow.html")]) == 0
        journal = Journal(tmp_path / "written.yaml.journal")
        journal.close()
    for name in ("written.yaml", "streamed.yaml", "picture.svg", "flow.html"):
        assert mode(tmp_path / name) == 0o644, name
    assert written == tmp_path / "written.yaml"
    assert load_cassette(tmp_path / "streamed.yaml").header == cassette.header
    assert mode(journal.path) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left beside them


def test_the_umask_still_decides(tmp_path: Path) -> None:
    with umask(0o077):
        write_cassette(load_cassette(RECORDED), tmp_path / "private.yaml")
    with umask(0o002):
        write_text_atomic(tmp_path / "shared.html", "<html/>")
    assert mode(tmp_path / "private.yaml") == 0o600
    assert mode(tmp_path / "shared.html") == 0o664


def test_rewriting_replaces_an_old_0600_cassette_with_an_ordinary_file(tmp_path: Path) -> None:
    target = tmp_path / "old.yaml"
    target.write_text("old")
    target.chmod(0o600)  # as the writer used to leave it
    with umask(0o022):
        write_cassette(load_cassette(RECORDED), target)
    assert mode(target) == 0o644
