"""tracker.app.live.heap: the C heap's free pages go back to the system, and glibc's account of
it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.app.live import heap


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(heap.usage() is None, reason="the C library has no mallinfo2/malloc_trim")
def test_trim_hands_back_the_pages_of_freed_holes():
    # 64 KiB blocks come from the arena (below the mmap threshold); freeing every other one
    # leaves 20 MB of holes that the automatic trim of the heap's top never returns.
    blocks = [bytearray(64 * 1024) for _ in range(640)]
    before = heap.usage()
    del blocks[::2]
    holes = heap.usage()
    assert holes is not None and before is not None
    assert holes["free_held_mb"] - before["free_held_mb"] >= 18
    assert holes["in_use_mb"] <= before["in_use_mb"] - 18
    resident = rss_mb()
    took = heap.trim()
    assert took is not None and took >= 0
    assert rss_mb() <= resident - 15  # the holes' pages left the process
    assert len(blocks) == 320 and all(b[0] == 0 for b in blocks)  # what is held is intact
