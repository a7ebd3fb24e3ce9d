"""Running one CRM connection end to end: its adapter, the state, its lock and the sync engine.

Every way a connection can fail becomes a one-line reason and a stable exit code instead of an
exception, so that ``sync --all`` (or a scheduler using this Python API) runs each connection in turn
and one broken connection never stops the others.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from connector.config import Settings
from connector.crm.base import AuthError, CrmError, MappingError, SettingError, UnreachableError
from connector.crm.factory import make_adapter
from connector.crm.mapping import MappingFileError
from connector.exit_codes import ExitCode
from connector.sync.engine import Mode, RunSummary, SyncEngine, utc_now
from connector.sync.lock import LockedError, run_lock_for
from connector.sync.plan import Plan
from connector.sync.state import StateError, open_state


def failure_of(exc: BaseException) -> tuple[ExitCode, list[str]] | None:
    """The exit code and the lines (one per problem) of an error a user can act on; None for others."""
    if isinstance(exc, MappingFileError | MappingError):
        return ExitCode.USAGE, list(exc.problems)
    if isinstance(exc, SettingError):
        return ExitCode.USAGE, [str(exc)]
    if isinstance(exc, UnreachableError):
        return ExitCode.UNREACHABLE, [str(exc)]
    if isinstance(exc, AuthError):
        return ExitCode.USAGE, [f"cannot sign in to the CRM: {exc}"]
    if isinstance(exc, StateError):
        return ExitCode.USAGE, [str(exc)]
    if isinstance(exc, LockedError):
        return ExitCode.LOCKED, [str(exc)]
    return None


def failure_or_partial(exc: BaseException, crm: str) -> tuple[ExitCode, list[str]]:
    """:func:`failure_of`, or for any other error (a CRM outage, the state failing mid-run) exit 1 with
    one line naming the CRM or the error's kind."""
    failure = failure_of(exc)
    if failure is None:
        prefix = crm if isinstance(exc, CrmError) else type(exc).__name__
        failure = ExitCode.PARTIAL, [f"{prefix}: {exc}"]
    return failure


@dataclass
class ConnectionRun:
    """How one connection's run ended. ``summary`` and ``plan`` are None when it never started."""

    connection: str
    crm: str
    mode: str
    dry_run: bool
    exit_code: ExitCode
    summary: RunSummary | None = None
    plan: Plan | None = None
    problems: list[str] = field(default_factory=list)
    """Why the run did not start or stopped early (config, credentials, lock, CRM), one line each."""

    @property
    def status(self) -> str:
        """The summary's status, or, for a run that never started, one named from its exit code."""
        if self.summary is not None:
            return self.summary.status
        return {
            ExitCode.USAGE: "config_error",
            ExitCode.LOCKED: "locked",
            ExitCode.UNREACHABLE: "unreachable",
        }.get(self.exit_code, "failed")

    def line(self) -> str:
        """One line for people: the connection, how it ended and why."""
        head = f"{self.connection} ({self.crm}): {self.status}, exit {int(self.exit_code)}"
        if self.problems:
            return f"{head}: {'; '.join(self.problems)}"
        s = self.summary
        assert s is not None
        done = (
            f"{s.accounts_read} accounts read, {s.accounts_updated} updated, {s.tasks_created} tasks created"
        )
        failed = f", {len(s.failures)} records failed" if s.failures else ""
        return f"{head}: {done}{failed}" + (f"; {s.message}" if s.message else "")

    def json_line(self) -> str:
        """The run's JSON line for log collectors; the same shape whether or not the run started."""
        if self.summary is not None:
            return self.summary.json_line()
        return json.dumps(
            {
                "event": "tiersync.sync",
                "connection": self.connection,
                "crm": self.crm,
                "mode": self.mode,
                "dry_run": self.dry_run,
                "status": self.status,
                "message": "; ".join(self.problems),
                "exit_code": int(self.exit_code),
            }
        )


def run_connection(
    connection: str,
    settings: Settings,
    mode: Mode = "incremental",
    *,
    dry_run: bool = False,
    clock: Callable[[], dt.datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int], None] | None = None,
    keep_plan: bool = True,
    on_total: Callable[[int], None] | None = None,
    rebind: bool = False,
) -> ConnectionRun:
    """Sync (or plan, with ``dry_run``) one connection under its own lock; never raises.

    ``connection`` names the connection in the state and the lock; ``settings`` are its complete
    settings (``Settings.connection_settings()[connection]``). ``rebind``: the state belongs to another
    org than the CRM's (a refreshed sandbox); start the connection's state over instead of stopping."""
    ended = ConnectionRun(connection, settings.crm, mode, dry_run, ExitCode.OK)
    fresh = _new_state_files(settings, connection)
    try:
        adapter = make_adapter(settings)
        state = open_state(settings)
        try:
            engine = SyncEngine(
                adapter,
                settings,
                state,
                connection,
                clock=clock,
                sleep=sleep,
                progress=progress,
                keep_plan=keep_plan,
                on_total=on_total,
            )
            if dry_run:
                ended.summary, ended.plan = engine.run(mode, dry_run=True, rebind=rebind)
            else:
                with run_lock_for(settings, connection):
                    ended.summary, ended.plan = engine.run(mode, rebind=rebind)
        finally:
            state.close()
    except Exception as exc:
        ended.exit_code, ended.problems = failure_or_partial(exc, settings.crm)
        ended.summary = ended.plan = None
        never_reached = isinstance(exc, SettingError | UnreachableError | MappingFileError)
    else:
        assert ended.summary is not None
        ended.exit_code = ended.summary.exit_code
        never_reached = ended.exit_code == ExitCode.UNREACHABLE
    if never_reached:  # a run that never got to the CRM leaves no state or lock file behind
        for path in fresh:
            path.unlink(missing_ok=True)
    return ended


def _new_state_files(settings: Settings, connection: str) -> list[Path]:
    """The SQLite state and lock files this run would create (those that do not exist yet)."""
    if settings.state_url is not None or settings.state_path is None:
        return []
    state = settings.state_path
    lock = state.with_name(f"{state.name}.{connection}.lock")
    if state.exists():  # an existing database keeps its journal files: they may hold committed pages
        return [] if lock.exists() else [lock]
    names = [state.name + suffix for suffix in ("", "-wal", "-shm", "-journal")]
    return [state.with_name(name) for name in names] + ([] if lock.exists() else [lock])
