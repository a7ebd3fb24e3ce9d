"""The sync's state: watermarks, last written values, tier history, task keys, run log.

:class:`StateStore` is what the engine, the CLI and the reports rely on; :class:`State` keeps it in
one SQLite file (the default), ``connector.sync.state_postgres`` in a PostgreSQL database that
several machines share. :func:`open_state` picks one from the settings.

Every write commits at once, so a run killed at any point leaves a state that the next run can
trust: a watermark moves only after the writes it covers, and a task key is recorded as ``pending``
before its task is sent, so a crash between the two re-sends (an idempotent upsert) instead of
forgetting or duplicating it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.sync.tasks import WantedTask

SCHEMA_VERSION = 2
"""2: tasks gained ``group_key``, ``owner_id``, ``defer_until`` and ``sent_on`` (added in place)."""

TASK_ADDED_COLUMNS = ("group_key", "owner_id", "defer_until", "sent_on")
"""Task columns newer than the first schema; ``migrate`` adds each one a store lacks (all TEXT, NULL
for rows written before them)."""
_ORG_KEY = "org_id:"
"""``meta`` key prefix of a connection's bound org (``org_id:<connection>``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (
    connection TEXT NOT NULL, scope TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (connection, scope));
CREATE TABLE IF NOT EXISTS written (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, values_json TEXT NOT NULL, written_at TEXT NOT NULL,
    PRIMARY KEY (connection, account_id));
CREATE TABLE IF NOT EXISTS tier_history (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, tier TEXT NOT NULL, computed_tier TEXT NOT NULL,
    previous_tier TEXT, changed_at TEXT NOT NULL, run_id INTEGER);
CREATE INDEX IF NOT EXISTS tier_history_account ON tier_history (connection, account_id);
CREATE TABLE IF NOT EXISTS tasks (
    connection TEXT NOT NULL, key TEXT NOT NULL, account_id TEXT NOT NULL, action TEXT NOT NULL,
    period_start TEXT NOT NULL, period_end TEXT NOT NULL, due TEXT, crm_id TEXT, status TEXT NOT NULL,
    created_at TEXT NOT NULL, closed_at TEXT, renewed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connection, key));
CREATE INDEX IF NOT EXISTS tasks_account ON tasks (connection, account_id);
CREATE TABLE IF NOT EXISTS results (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, run_id INTEGER, classified_at TEXT NOT NULL,
    payload_json TEXT NOT NULL, PRIMARY KEY (connection, account_id));
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, connection TEXT NOT NULL, mode TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, summary_json TEXT);
"""


class TaskState:
    PENDING = "pending"
    """Recorded before the task is sent; becomes ``open`` when the CRM confirms it."""
    OPEN = "open"
    CLOSED = "closed"
    """Closed by tiersync because its cause cleared."""
    DONE = "done"
    """Completed or deleted by a user: never recreated in its period."""
    DEFERRED = "deferred"
    """Decided but held back (workload budget, a spread-out first touch, a baseline touch waiting for
    an open task): comes due on ``defer_until`` without being decided again."""
    UNSENT = (PENDING, OPEN)
    """A task the CRM holds open (or is about to)."""


@dataclass(frozen=True)
class TaskRow:
    key: str
    account_id: str
    action: str
    period_start: dt.date
    period_end: dt.date
    crm_id: str | None
    status: str
    group_key: str | None = None
    """The key of the CRM task that carries this action (one task per account holds several)."""
    defer_until: dt.date | None = None
    sent_on: dt.date | None = None
    """The classification day of the sync that sent it (``evidence.as_of`` or today)."""

    @property
    def crm_key(self) -> str:
        return self.group_key or self.key


@dataclass(frozen=True)
class TaskLoad:
    """One task as the workload budget counts it."""

    owner_id: str
    account_id: str
    crm_key: str
    crm_id: str | None
    status: str
    day: dt.date | None
    """When it was sent, or, deferred, when it comes due."""


class StateError(Exception):
    """The state store cannot be opened; the message names where it is (never a password)."""


class OrgMismatchError(StateError):
    """The state belongs to another CRM org than the one the credentials reach."""


class StateStore(Protocol):
    """What a sync needs to remember between runs, keyed by connection; every write is committed
    before the method returns, and ``tasks_pending`` and ``save_results`` are one transaction each."""

    def close(self) -> None: ...

    def watermark(self, connection: str, scope: str) -> str | None: ...

    def set_watermark(self, connection: str, scope: str, value: str, now: dt.datetime) -> None: ...

    def clear_watermark(self, connection: str, scope: str) -> None: ...

    def record_written(
        self, connection: str, account_id: str, values: dict[str, Any], now: dt.datetime
    ) -> None: ...

    def written(self, connection: str, account_id: str) -> dict[str, Any] | None: ...

    def record_tier_change(
        self,
        connection: str,
        account_id: str,
        *,
        tier: str,
        computed_tier: str,
        previous_tier: str | None,
        now: dt.datetime,
        run_id: int | None,
    ) -> None: ...

    def tier_history(self, connection: str, account_id: str) -> list[tuple[str, str | None, str]]:
        """(tier, previous tier, changed at) oldest first."""
        ...

    def tasks_for(self, connection: str, account_ids: Iterable[str]) -> list[TaskRow]: ...

    def task(self, connection: str, key: str) -> TaskRow | None: ...

    def tasks_pending(self, connection: str, tasks: Iterable[WantedTask], now: dt.datetime) -> None:
        """Record task keys before the tasks are sent (write-ahead), in one transaction; a key
        already known keeps its row."""
        ...

    def task_confirmed(self, connection: str, key: str, crm_id: str | None) -> None: ...

    def task_forgotten(self, connection: str, key: str) -> None:
        """The CRM refused the task: forget a still-pending key so that a later run tries again."""
        ...

    def task_finished(self, connection: str, key: str, status: str, now: dt.datetime) -> None: ...

    def tasks_deferred(
        self, connection: str, deferrals: Iterable[tuple[WantedTask, dt.date]], now: dt.datetime
    ) -> None:
        """Record (or move) deferred tasks with the day each comes due, in one transaction."""
        ...

    def tasks_finished_by_crm_id(
        self, connection: str, crm_ids: Iterable[str], status: str, now: dt.datetime
    ) -> None:
        """Every open action carried by these CRM tasks ends with ``status``."""
        ...

    def task_load(self, connection: str, week_start: dt.date) -> list[TaskLoad]:
        """Every pending, open or deferred task with an owner, and those sent since ``week_start``:
        what the workload budget counts."""
        ...

    def open_crm_ids(self, connection: str, owner_id: str) -> list[str]: ...

    def accounts_due_for_new_period(self, connection: str, today: dt.date) -> set[str]:
        """Accounts with a task whose period has ended and was not renewed yet."""
        ...

    def mark_renewed(self, connection: str, account_ids: Iterable[str], today: dt.date) -> None: ...

    def task_counts(self, connection: str) -> dict[str, int]: ...

    def bound_org(self, connection: str) -> str | None:
        """The CRM org (Salesforce Organization Id, HubSpot portal id) this connection's state belongs
        to, or None before its first run."""
        ...

    def bind_org(self, connection: str, org_id: str) -> None:
        """Record the org a connection's state belongs to."""
        ...

    def rebind_org(self, connection: str, org_id: str) -> None:
        """Forget everything the connection remembers of its old org (watermarks, written values, tier
        history, tasks, results) and bind it to ``org_id``, in one transaction. The run log stays."""
        ...

    def all_tasks(self, connection: str) -> list[dict[str, Any]]:
        """Every task tiersync created for a connection, ordered by key."""
        ...

    def save_results(
        self, connection: str, rows: list[dict[str, Any]], run_id: int | None, now: dt.datetime
    ) -> None:
        """Upsert each account's latest result (``account_id`` plus anything JSON can hold)."""
        ...

    def results(self, connection: str) -> list[dict[str, Any]]: ...

    def connections(self) -> list[str]:
        """The connections that have saved results, sorted."""
        ...

    def run_started(self, connection: str, mode: str, now: dt.datetime) -> int: ...

    def run_ended(self, run_id: int, status: str, summary: dict[str, Any], now: dt.datetime) -> None: ...

    def runs(self, connection: str) -> list[dict[str, Any]]: ...


def _iso(value: dt.datetime | dt.date) -> str:
    """Dates and times as every store keeps them: ISO text, which sorts in time order."""
    return value.isoformat()


def _dumps(value: Any) -> str:
    """JSON as every store keeps it: stable key order, dates as ISO text."""
    return json.dumps(value, default=str, sort_keys=True)


_TASK_COLUMNS = (
    "key, account_id, action, period_start, period_end, crm_id, status, group_key, defer_until, sent_on"
)
_TASK_LIST_COLUMNS = (
    "key, account_id, action, period_start, period_end, due, crm_id, status, created_at, closed_at, "
    "group_key, defer_until"
)
_CHUNK = 500
"""Ids per ``IN (…)`` list: far below either database's limit on parameters."""


def _task_row(row: Sequence[Any]) -> TaskRow:
    return TaskRow(
        key=row[0],
        account_id=row[1],
        action=row[2],
        period_start=dt.date.fromisoformat(row[3]),
        period_end=dt.date.fromisoformat(row[4]),
        crm_id=row[5],
        status=row[6],
        group_key=row[7],
        defer_until=_date(row[8]),
        sent_on=_date(row[9]),
    )


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value[:10])


class SqlStore(ABC):
    """The state in the SQL that SQLite and PostgreSQL both speak, written once so that the two
    stores cannot drift apart. Statements use ``?`` placeholders; a subclass runs them and says how
    its database orders rows by insertion and compares text byte by byte."""

    INSERTION_ORDER = "rowid"
    BYTEWISE = ""
    """Appended to a text column to compare it as bytes (SQLite's default already does)."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement and commit it."""

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT into a table with a generated ``id``; return that id."""

    @abstractmethod
    def _batch(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run one statement for every row, in one transaction."""

    @abstractmethod
    def _columns(self, table: str) -> set[str]: ...

    def migrate(self) -> None:
        """Bring an older store up to ``SCHEMA_VERSION`` in place: add what is missing, never drop."""
        present = self._columns("tasks")
        for column in TASK_ADDED_COLUMNS:
            if column not in present:
                self._exec(f"ALTER TABLE tasks ADD COLUMN {column} TEXT")
        self._exec(
            "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )

    def _row(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    # -- watermarks ----------------------------------------------------------------------------
    def watermark(self, connection: str, scope: str) -> str | None:
        row = self._row(
            "SELECT value FROM watermarks WHERE connection = ? AND scope = ?", (connection, scope)
        )
        return None if row is None else str(row[0])

    def set_watermark(self, connection: str, scope: str, value: str, now: dt.datetime) -> None:
        self._exec(
            "INSERT INTO watermarks VALUES (?, ?, ?, ?) ON CONFLICT (connection, scope) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (connection, scope, value, _iso(now)),
        )

    def clear_watermark(self, connection: str, scope: str) -> None:
        self._exec("DELETE FROM watermarks WHERE connection = ? AND scope = ?", (connection, scope))

    # -- written values and tier history -------------------------------------------------------
    def record_written(
        self, connection: str, account_id: str, values: dict[str, Any], now: dt.datetime
    ) -> None:
        self._exec(
            "INSERT INTO written VALUES (?, ?, ?, ?) ON CONFLICT (connection, account_id) "
            "DO UPDATE SET values_json = excluded.values_json, written_at = excluded.written_at",
            (connection, account_id, _dumps(values), _iso(now)),
        )

    def written(self, connection: str, account_id: str) -> dict[str, Any] | None:
        row = self._row(
            "SELECT values_json FROM written WHERE connection = ? AND account_id = ?",
            (connection, account_id),
        )
        return None if row is None else dict(json.loads(row[0]))

    def record_tier_change(
        self,
        connection: str,
        account_id: str,
        *,
        tier: str,
        computed_tier: str,
        previous_tier: str | None,
        now: dt.datetime,
        run_id: int | None,
    ) -> None:
        self._exec(
            "INSERT INTO tier_history (connection, account_id, tier, computed_tier, previous_tier, changed_at, "
            "run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (connection, account_id, tier, computed_tier, previous_tier, _iso(now), run_id),
        )

    def tier_history(self, connection: str, account_id: str) -> list[tuple[str, str | None, str]]:
        """(tier, previous tier, changed at) oldest first."""
        rows = self._rows(
            "SELECT tier, previous_tier, changed_at FROM tier_history WHERE connection = ? AND account_id = ? "
            f"ORDER BY {self.INSERTION_ORDER}",
            (connection, account_id),
        )
        return [(str(r[0]), r[1], str(r[2])) for r in rows]

    # -- tasks ---------------------------------------------------------------------------------
    def tasks_for(self, connection: str, account_ids: Iterable[str]) -> list[TaskRow]:
        ids = list(account_ids)
        rows: list[TaskRow] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows += [
                _task_row(r)
                for r in self._rows(
                    f"SELECT {_TASK_COLUMNS} FROM tasks WHERE connection = ? AND account_id IN ({marks})",
                    (connection, *chunk),
                )
            ]
        return rows

    def task(self, connection: str, key: str) -> TaskRow | None:
        row = self._row(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE connection = ? AND key = ?", (connection, key)
        )
        return None if row is None else _task_row(row)

    def tasks_pending(self, connection: str, tasks: Iterable[WantedTask], now: dt.datetime) -> None:
        """Record task keys before the tasks are sent (write-ahead), in one transaction; a deferred
        key becomes pending, any other known key keeps its row."""
        rows = [
            (
                connection,
                t.spec.key,
                t.spec.account_id,
                t.action,
                _iso(t.period.start),
                _iso(t.period.end),
                _iso(t.spec.due),
                TaskState.PENDING,
                _iso(now),
                t.group_key,
                t.spec.owner_id,
                _iso(t.sent_on or now.date()),
            )
            for t in tasks
        ]
        self._batch(
            "INSERT INTO tasks (connection, key, account_id, action, period_start, period_end, due, crm_id, "
            "status, created_at, group_key, owner_id, sent_on) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?) "
            "ON CONFLICT (connection, key) DO UPDATE SET status = excluded.status, due = excluded.due, "
            "group_key = excluded.group_key, owner_id = excluded.owner_id, sent_on = excluded.sent_on, "
            f"defer_until = NULL WHERE tasks.status = '{TaskState.DEFERRED}'",
            rows,
        )

    def tasks_deferred(
        self, connection: str, deferrals: Iterable[tuple[WantedTask, dt.date]], now: dt.datetime
    ) -> None:
        """Record deferred tasks with the day each comes due, in one transaction; a deferred key moves
        to its new day, any other known key keeps its row."""
        rows = [
            (
                connection,
                t.spec.key,
                t.spec.account_id,
                t.action,
                _iso(t.period.start),
                _iso(t.period.end),
                TaskState.DEFERRED,
                _iso(now),
                t.spec.owner_id,
                _iso(until),
            )
            for t, until in deferrals
        ]
        self._batch(
            "INSERT INTO tasks (connection, key, account_id, action, period_start, period_end, crm_id, "
            "status, created_at, owner_id, defer_until) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?) "
            "ON CONFLICT (connection, key) DO UPDATE SET defer_until = excluded.defer_until, "
            f"owner_id = excluded.owner_id WHERE tasks.status = '{TaskState.DEFERRED}'",
            rows,
        )

    def tasks_finished_by_crm_id(
        self, connection: str, crm_ids: Iterable[str], status: str, now: dt.datetime
    ) -> None:
        ids = list(crm_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            self._exec(
                "UPDATE tasks SET status = ?, closed_at = ? WHERE connection = ? AND status IN (?, ?) "
                f"AND crm_id IN ({marks})",
                (status, _iso(now), connection, *TaskState.UNSENT, *chunk),
            )

    def task_load(self, connection: str, week_start: dt.date) -> list[TaskLoad]:
        """(owner, CRM task key, status, day) for the tasks the workload budget counts: open or pending
        ones (day: sent_on) and deferred ones (day: defer_until)."""
        rows = self._rows(
            "SELECT owner_id, account_id, COALESCE(group_key, key), crm_id, status, "
            "COALESCE(defer_until, sent_on) FROM tasks "
            "WHERE connection = ? AND owner_id IS NOT NULL AND (status IN (?, ?) OR status = ? "
            f"OR (sent_on IS NOT NULL AND sent_on{self.BYTEWISE} >= ?))",
            (connection, *TaskState.UNSENT, TaskState.DEFERRED, _iso(week_start)),
        )
        return [TaskLoad(str(r[0]), str(r[1]), str(r[2]), r[3], str(r[4]), _date(r[5])) for r in rows]

    def open_crm_ids(self, connection: str, owner_id: str) -> list[str]:
        rows = self._rows(
            "SELECT DISTINCT crm_id FROM tasks WHERE connection = ? AND owner_id = ? AND status = ? "
            "AND crm_id IS NOT NULL",
            (connection, owner_id, TaskState.OPEN),
        )
        return sorted(str(r[0]) for r in rows)

    def task_confirmed(self, connection: str, key: str, crm_id: str | None) -> None:
        self._exec(
            "UPDATE tasks SET status = ?, crm_id = ? WHERE connection = ? AND key = ?",
            (TaskState.OPEN, crm_id, connection, key),
        )

    def task_forgotten(self, connection: str, key: str) -> None:
        """The CRM refused the task: forget the key so that a later run tries again."""
        self._exec(
            "DELETE FROM tasks WHERE connection = ? AND key = ? AND status = ?",
            (connection, key, TaskState.PENDING),
        )

    def task_finished(self, connection: str, key: str, status: str, now: dt.datetime) -> None:
        self._exec(
            "UPDATE tasks SET status = ?, closed_at = ? WHERE connection = ? AND key = ?",
            (status, _iso(now), connection, key),
        )

    def accounts_due_for_new_period(self, connection: str, today: dt.date) -> set[str]:
        """Accounts with a task whose period has ended (the next period's task may be due) or with a
        deferred task that has come due."""
        rows = self._rows(
            "SELECT DISTINCT account_id FROM tasks WHERE connection = ? AND ((renewed = 0 "
            f"AND period_end{self.BYTEWISE} <= ?) OR (status = ? AND defer_until{self.BYTEWISE} <= ?))",
            (connection, _iso(today), TaskState.DEFERRED, _iso(today)),
        )
        return {str(r[0]) for r in rows}

    def mark_renewed(self, connection: str, account_ids: Iterable[str], today: dt.date) -> None:
        ids = list(account_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            self._exec(
                f"UPDATE tasks SET renewed = 1 WHERE connection = ? AND period_end{self.BYTEWISE} <= ? "
                f"AND account_id IN ({marks})",
                (connection, _iso(today), *chunk),
            )

    def all_tasks(self, connection: str) -> list[dict[str, Any]]:
        """Every task tiersync created for a connection, for the playbook part of the report."""
        names = [name.strip() for name in _TASK_LIST_COLUMNS.split(",")]
        rows = self._rows(
            f"SELECT {_TASK_LIST_COLUMNS} FROM tasks WHERE connection = ? ORDER BY key{self.BYTEWISE}",
            (connection,),
        )
        return [dict(zip(names, row, strict=True)) for row in rows]

    def task_counts(self, connection: str) -> dict[str, int]:
        rows = self._rows(
            "SELECT status, COUNT(*) FROM tasks WHERE connection = ? GROUP BY status", (connection,)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # -- latest classification per account (what reports and look-alike profiles read) ----------
    def save_results(
        self, connection: str, rows: list[dict[str, Any]], run_id: int | None, now: dt.datetime
    ) -> None:
        """Each row is one account's latest result (``account_id`` plus anything JSON can hold)."""
        self._batch(
            "INSERT INTO results VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection, account_id) DO UPDATE SET "
            "run_id = excluded.run_id, classified_at = excluded.classified_at, payload_json = excluded.payload_json",
            [(connection, row["account_id"], run_id, _iso(now), _dumps(row)) for row in rows],
        )

    def results(self, connection: str) -> list[dict[str, Any]]:
        rows = self._rows(
            f"SELECT payload_json FROM results WHERE connection = ? ORDER BY account_id{self.BYTEWISE}",
            (connection,),
        )
        return [dict(json.loads(r[0])) for r in rows]

    def connections(self) -> list[str]:
        rows = self._rows(f"SELECT DISTINCT connection{self.BYTEWISE} FROM results ORDER BY 1")
        return [str(r[0]) for r in rows]

    # -- the org the state belongs to -----------------------------------------------------------
    def bound_org(self, connection: str) -> str | None:
        row = self._row("SELECT value FROM meta WHERE key = ?", (_ORG_KEY + connection,))
        return None if row is None else str(row[0])

    def bind_org(self, connection: str, org_id: str) -> None:
        self._exec(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_ORG_KEY + connection, org_id),
        )

    def rebind_org(self, connection: str, org_id: str) -> None:
        forget: list[tuple[str, Sequence[Any]]] = [
            (f"DELETE FROM {table} WHERE connection = ?", (connection,))
            for table in ("watermarks", "written", "tier_history", "tasks", "results")
        ]
        bind = (
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_ORG_KEY + connection, org_id),
        )
        self._transaction([*forget, bind])

    @abstractmethod
    def _transaction(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        """Run ``statements`` (``?`` placeholders) as one transaction."""

    # -- run log -------------------------------------------------------------------------------
    def run_started(self, connection: str, mode: str, now: dt.datetime) -> int:
        return self._insert_id(
            "INSERT INTO runs (connection, mode, started_at, status) VALUES (?, ?, ?, 'running')",
            (connection, mode, _iso(now)),
        )

    def run_ended(self, run_id: int, status: str, summary: dict[str, Any], now: dt.datetime) -> None:
        self._exec(
            "UPDATE runs SET ended_at = ?, status = ?, summary_json = ? WHERE id = ?",
            (_iso(now), status, _dumps(summary), run_id),
        )

    def runs(self, connection: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT id, mode, started_at, ended_at, status, summary_json FROM runs WHERE connection = ? ORDER BY id",
            (connection,),
        )
        return [
            {
                "id": r[0],
                "mode": r[1],
                "started_at": r[2],
                "ended_at": r[3],
                "status": r[4],
                "summary": json.loads(r[5]) if r[5] else None,
            }
            for r in rows
        ]


class State(SqlStore):
    """The SQLite store: one file, shared by all connections of a config; every method commits."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self.migrate()

    def close(self) -> None:
        self._db.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(self._db.execute(sql, params).lastrowid or 0)

    def _batch(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(sql, rows)

    def _columns(self, table: str) -> set[str]:
        return {str(r[1]) for r in self._db.execute(f"PRAGMA table_info({table})")}

    def _transaction(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            for sql, params in statements:
                self._db.execute(sql, params)


def open_state(settings: Settings) -> StateStore:
    """The store the settings name: PostgreSQL when ``state_url`` is set, else the SQLite file at
    ``state_path``. Raises :class:`StateError` (one line, no password) when it cannot be opened."""
    if settings.state_url is not None:
        from connector.sync.state_postgres import PostgresState

        return PostgresState(settings.state_url.get_secret_value())
    if settings.state_path is None:
        raise StateError("state_path is not set (load the settings with load_settings)")
    try:
        return State(settings.state_path)
    except (sqlite3.Error, OSError) as exc:
        raise StateError(f"cannot open the state file {settings.state_path}: {exc}") from None
