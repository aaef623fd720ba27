"""Handing the heap's free pages back to the system, so a daemon's RSS follows what it holds.

A daemon opens the DuckDB file for every batch, from the worker threads of `asyncio.to_thread`,
and closes it again: megabytes allocated and freed per pass, natively, in whichever of glibc's
per-thread arenas that thread was given. glibc returns memory to the system only from the top of
the main heap; pages freed elsewhere stay resident until reused, so RSS creeps up with the
largest batches each arena has seen even though nothing is held (the Python heap stays flat
under tracemalloc, see docs/hardening.md). `malloc_trim(0)` releases the free pages of every
arena. `usage` gives glibc's own account (`mallinfo2`): what is in use and what is free but still
held, so a soak can tell memory the process holds from pages it merely has not returned. Where
the C library has neither (musl, macOS) both give None.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from collections.abc import Callable
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


@cache
def _mallinfo2() -> Callable[[], _Mallinfo2] | None:
    libc = _libc()
    info = getattr(libc, "mallinfo2", None)  # glibc 2.33 and later
    if info is not None:
        info.restype = _Mallinfo2
    return info


def usage() -> dict[str, float] | None:
    """The C heap in MB: in use (arenas and large blocks) and free but held; None unsupported."""
    info = _mallinfo2()
    if info is None:
        return None
    now = info()
    return {
        "in_use_mb": round((now.uordblks + now.hblkhd) / 1e6, 2),
        "free_held_mb": round(now.fordblks / 1e6, 2),
    }


def trim() -> float | None:
    """Release the heap's free pages to the system; seconds it took, None where unsupported."""
    release = _malloc_trim()
    if release is None:
        return None
    started = time.perf_counter()
    release(0)
    return time.perf_counter() - started
