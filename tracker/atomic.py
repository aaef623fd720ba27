"""The one atomic file writer: write beside the target, then rename over it.

A reader (a browser on a chart, `tracker status` on the status file, an editor on a watchlist)
sees the old file or the new one, never half of either. `replacing` gives the temporary path for
writers that are not ours (DuckDB's COPY); `write_atomic` writes bytes through it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A fresh path beside target; on a clean exit it replaces target at once, else it goes."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(target: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace target with data, flushed to disk first; mode, when given, is the new file's.

    Raises OSError as the file system reports it; callers turn it into their own error.
    """
    with replacing(target) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
