"""The run lock: two overlapping scheduled runs of one connection must never both write.

Beside a SQLite state it is an OS file lock (``flock``); with a PostgreSQL state, shared by
several machines, it is a session advisory lock in that database. Either way the holder's death
releases it (the kernel closes the file; the server ends the session), even after ``kill -9``, so
a crashed run never leaves a stale lock behind. :func:`run_lock_for` picks the one that matches
the state store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from connector.sync.state import StateError

if TYPE_CHECKING:
    import psycopg

    from connector.config import Settings


class LockedError(Exception):
    """Another run holds the lock; the message says which process and since when."""


def _locked(connection: str, holder: str, where: str) -> LockedError:
    return LockedError(f"another tiersync run holds the lock for '{connection}' ({holder}); {where}")


@contextlib.contextmanager
def run_lock(state_path: Path, connection: str) -> Iterator[None]:
    """One run per connection on this machine: an exclusive ``flock`` on a file beside the state
    (:class:`LockedError` when another run holds it); the kernel releases it when the process dies."""
    path = state_path.with_name(f"{state_path.name}.{connection}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise _locked(connection, handle.read().strip() or "another process", str(path)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
        handle.flush()
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def advisory_lock(url: str, connection: str) -> Iterator[None]:
    """``pg_try_advisory_lock`` on a session of its own, held for the run.

    The lock belongs to that session, not to the state's connection, so the state may reconnect or
    commit freely; the session's ``application_name`` tells a refused run who holds the lock."""
    import psycopg

    from connector.sync.postgres import advisory_key, connect, redacted

    key = advisory_key(f"run:{connection}")
    session = connect(
        url, application_name=f"tiersync pid {os.getpid()} on {socket.gethostname()}", keepalive=True
    )
    try:
        row = session.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if row is None or not row[0]:
            raise _locked(connection, _holder(session, key), redacted(url))
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):  # a lost session has released it already
                session.execute("SELECT pg_advisory_unlock(%s)", (key,))
    finally:
        session.close()


def _holder(session: psycopg.Connection, key: int) -> str:
    """Who holds the advisory lock ``key``: its application name (pid and host) and since when."""
    row = session.execute(
        "SELECT a.application_name, a.backend_start, l.pid FROM pg_locks l "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid::bigint = %s AND l.objid::bigint = %s",
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    ).fetchone()
    if row is None:
        return "another process"
    name, since, pid = row
    who = str(name).removeprefix("tiersync ") if name else f"database session {pid}"
    return f"{who} since {since.astimezone(dt.UTC).isoformat(timespec='seconds')}" if since else who


def run_lock_for(settings: Settings, connection: str) -> AbstractContextManager[None]:
    """The lock that guards ``connection`` where its state lives: an advisory lock in the
    PostgreSQL state database, else a file lock beside the SQLite file."""
    if settings.state_url is not None:
        return advisory_lock(settings.state_url.get_secret_value(), connection)
    if settings.state_path is None:
        raise StateError("state_path is not set (load the settings with load_settings)")
    return run_lock(settings.state_path, connection)
