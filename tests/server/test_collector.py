"""``IdleCollector`` (``amqpmock serve``'s garbage collection): what a full collection
leaves is frozen, so the next one scans only what came since; a reference cycle that
died after it was frozen is collected once the server is quiet, and not while it is
busy."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from amqpmock.wire.collector import IdleCollector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def dead_cycle() -> weakref.ref[Node]:
    """A two-object cycle nothing else refers to (only the collector frees it)."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.collect()
    yield
    gc.unfreeze()


async def test_full_collections_freeze_and_a_quiet_server_collects_all(thawed: None) -> None:
    octets = [0]
    collector = IdleCollector(lambda: octets[0], quiet_after=0.2, check_every=0.05)
    collector.start()
    try:
        assert gc.get_freeze_count() > 0  # what start-up made
        frozen = gc.get_freeze_count()
        keep = [Node() for _ in range(1000)]
        gone = dead_cycle()
        gc.collect()  # as an automatic full collection: it frees the cycle, then freezes
        assert gone() is None
        assert gc.get_freeze_count() >= frozen + len(keep)

        # a cycle frozen while alive, then dropped: full collections no longer see it
        survivor = dead_cycle()
        holder = [survivor()]
        gc.collect()
        holder.clear()
        gc.collect()
        assert survivor() is not None

        # busy: input keeps coming, so no thawed collection
        for _ in range(8):
            octets[0] += 1 << 20
            await asyncio.sleep(0.05)
        assert survivor() is not None and collector.full_collections == 0

        # quiet: thawed, collected in full, frozen again
        for _ in range(40):
            if collector.full_collections:
                break
            await asyncio.sleep(0.05)
        assert collector.full_collections == 1
        assert survivor() is None
        assert gc.get_freeze_count() > 0
    finally:
        collector.stop()
    assert gc.get_freeze_count() == 0 and collector._on_gc not in gc.callbacks
