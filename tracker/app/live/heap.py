"""The C heap of a daemon: few malloc arenas, free pages handed back, glibc's own account of it.

A daemon opens the DuckDB file for every batch, from the worker threads of `asyncio.to_thread`
(and DuckDB's own threads), and closes it again: megabytes allocated and freed per pass,
natively. glibc gives threads their own arenas, up to eight per core, and memory freed in one
arena serves only that arena; with many, the resident set creeps up with the largest batches
each has seen, while the Python heap stays flat under tracemalloc (docs/hardening.md: an
accelerated 11-minute live soak grew its RSS floor at 84 MB/h with glibc's default arenas, 5.5
MB/h in its second half with two; trimming every 20 s alone left it at 80 MB/h). So `tracker
run` calls `limit_arenas` before any other thread allocates, unless the user chose with
MALLOC_ARENA_MAX or GLIBC_TUNABLES (before DuckDB is first opened: its threads allocate, and glibc
then no longer applies a limit set later; a 120-minute soak found 13 arenas that way), and
`pin_mmap_threshold`, which keeps large temporaries out of
the arenas (a 105-minute soak with two arenas and a trim every minute still grew by 20 MB/h, all
of it free memory glibc held). `trim` (`malloc_trim(0)`) releases the free pages of every
arena, and `usage` (`mallinfo2`) tells memory in use from memory free but still held. Where the
C library has none of these (musl, macOS) they do nothing and return None or False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",  # bytes taken from the system by brk (main arena) and arena heaps
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",  # bytes in chunks mmapped on their own (large allocations)
            "usmblks",
            "fsmblks",
            "uordblks",  # bytes in use in the arenas
            "fordblks",  # bytes free in the arenas, still held
            "keepcost",
        )
    ]


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:
        return None


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    libc = _libc()
    release: Callable[[int], int] | None = getattr(libc, "malloc_trim", None)
    return release


M_ARENA_MAX = -8  # mallopt's parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
DAEMON_ARENAS = 2
# glibc serves requests from this size up with their own mmap, returned whole on free. Its default
# (128 KiB) is dynamic: freeing such a block raises it to that block's size, up to 32 MiB, so
# temporaries that grow with the store (query results, batches) then come from the arenas and
# leave holes the next, larger one cannot use. Setting it pins it (docs/hardening.md).
DAEMON_MMAP_THRESHOLD = 128 * 1024


def limit_arenas(count: int = DAEMON_ARENAS) -> bool:
    """Let at most count malloc arenas serve every thread; call before other threads allocate.

    False where unsupported or when the user set the limit (MALLOC_ARENA_MAX, GLIBC_TUNABLES).
    """
    if "MALLOC_ARENA_MAX" in os.environ or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    mallopt = getattr(_libc(), "mallopt", None)
    return bool(mallopt is not None and mallopt(M_ARENA_MAX, count) == 1)


def pin_mmap_threshold(size: int = DAEMON_MMAP_THRESHOLD) -> bool:
    """Serve every request of size bytes or more with its own mmap, for the process's life.

    False where unsupported or when the user set it (MALLOC_MMAP_THRESHOLD_, GLIBC_TUNABLES).
    """
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "mmap_threshold" in tunables:
        return False
    mallopt = getattr(_libc(), "mallopt", None)
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, size) == 1)


@cache
def _mallinfo2() -> Callable[[], _Mallinfo2] | None:
    libc = _libc()
    info = getattr(libc, "mallinfo2", None)  # glibc 2.33 and later
    if info is not None:
        info.restype = _Mallinfo2
    return info


def arenas() -> int | None:
    """How many malloc arenas the process has (from glibc's `malloc_info`); None unsupported."""
    libc = _libc()
    if libc is None or not all(hasattr(libc, f) for f in ("open_memstream", "malloc_info")):
        return None
    buf, size = ctypes.c_char_p(), ctypes.c_size_t()
    libc.open_memstream.restype = ctypes.c_void_p
    libc.open_memstream.argtypes = [
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.free.argtypes = [ctypes.c_void_p]
    stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    if not stream:
        return None
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    text = ctypes.string_at(buf, size.value)
    libc.free(buf)
    return text.count(b"<heap nr=")


def usage() -> dict[str, float] | None:
    """The C heap in MB: in use (arenas and large blocks) and free but held, and the arena count;
    None unsupported."""
    info = _mallinfo2()
    if info is None:
        return None
    now = info()
    count = arenas()
    return {
        "in_use_mb": round((now.uordblks + now.hblkhd) / 1e6, 2),
        "free_held_mb": round(now.fordblks / 1e6, 2),
        **({"arenas": count} if count is not None else {}),
    }


def trim() -> float | None:
    """Release the heap's free pages to the system; seconds it took, None where unsupported."""
    release = _malloc_trim()
    if release is None:
        return None
    started = time.perf_counter()
    release(0)
    return time.perf_counter() - started


# Young collections at most every this many allocations while the engine runs (Python's default
# is 700): a busy tape allocates a few records per trade, all short-lived.
YOUNG_THRESHOLD = 50_000


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """While the engine runs: the heap built so far (the warmed book of up to 50,000 accounts,
    millions of objects) moved out of the collector's sight with `gc.freeze`, and young
    collections made rarer. Otherwise every full collection walks the whole book, and the tape
    allocates fast enough to trigger them often: applying trades at 10,000 accounts cost 30 %
    more per trade (bench/tape_apply.py). Frozen objects are still freed by reference counting
    when the book replaces them; only cycles among them wait for `unfreeze` on the way out.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
