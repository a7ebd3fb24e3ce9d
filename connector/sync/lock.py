"""The run lock: two overlapping scheduled runs must never both write.

An OS file lock (``flock``) beside the state file: the kernel releases it when the process dies,
even by ``kill -9``, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class LockedError(Exception):
    """Another run holds the lock; the message says which process and since when."""


@contextlib.contextmanager
def run_lock(state_path: Path, connection: str) -> Iterator[None]:
    path = state_path.with_name(f"{state_path.name}.{connection}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LockedError(
                f"another tiersync run holds the lock for '{connection}' ({holder}); {path}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
        handle.flush()
        yield
    finally:
        handle.close()
