"""The sync's local state in SQLite: watermarks, last written values, tier history, task keys, run log.

Every write commits at once (WAL mode), so a run killed at any point leaves a state that the next run
can trust: a watermark moves only after the writes it covers, and a task key is recorded as
``pending`` before its task is sent, so a crash between the two re-sends (an idempotent upsert)
instead of forgetting or duplicating it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.sync.tasks import WantedTask

SCHEMA_VERSION = 1

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


@dataclass(frozen=True)
class TaskRow:
    key: str
    account_id: str
    action: str
    period_start: dt.date
    period_end: dt.date
    crm_id: str | None
    status: str


def _iso(value: dt.datetime | dt.date) -> str:
    return value.isoformat()


class State:
    """One SQLite file, shared by all connections of a config; every method commits."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    # -- watermarks ----------------------------------------------------------------------------
    def watermark(self, connection: str, scope: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM watermarks WHERE connection = ? AND scope = ?", (connection, scope)
        ).fetchone()
        return None if row is None else str(row[0])

    def set_watermark(self, connection: str, scope: str, value: str, now: dt.datetime) -> None:
        self._db.execute(
            "INSERT INTO watermarks VALUES (?, ?, ?, ?) ON CONFLICT (connection, scope) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (connection, scope, value, _iso(now)),
        )

    def clear_watermark(self, connection: str, scope: str) -> None:
        self._db.execute("DELETE FROM watermarks WHERE connection = ? AND scope = ?", (connection, scope))

    # -- written values and tier history -------------------------------------------------------
    def record_written(
        self, connection: str, account_id: str, values: dict[str, Any], now: dt.datetime
    ) -> None:
        self._db.execute(
            "INSERT INTO written VALUES (?, ?, ?, ?) ON CONFLICT (connection, account_id) "
            "DO UPDATE SET values_json = excluded.values_json, written_at = excluded.written_at",
            (connection, account_id, json.dumps(values, default=str, sort_keys=True), _iso(now)),
        )

    def written(self, connection: str, account_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT values_json FROM written WHERE connection = ? AND account_id = ?",
            (connection, account_id),
        ).fetchone()
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
        self._db.execute(
            "INSERT INTO tier_history VALUES (?, ?, ?, ?, ?, ?, ?)",
            (connection, account_id, tier, computed_tier, previous_tier, _iso(now), run_id),
        )

    def tier_history(self, connection: str, account_id: str) -> list[tuple[str, str | None, str]]:
        """(tier, previous tier, changed at) oldest first."""
        rows = self._db.execute(
            "SELECT tier, previous_tier, changed_at FROM tier_history WHERE connection = ? AND account_id = ? "
            "ORDER BY rowid",
            (connection, account_id),
        ).fetchall()
        return [(str(r[0]), r[1], str(r[2])) for r in rows]

    # -- tasks ---------------------------------------------------------------------------------
    def tasks_for(self, connection: str, account_ids: Iterable[str]) -> list[TaskRow]:
        ids = list(account_ids)
        rows: list[TaskRow] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += [
                self._task(r)
                for r in self._db.execute(
                    "SELECT key, account_id, action, period_start, period_end, crm_id, status FROM tasks "
                    f"WHERE connection = ? AND account_id IN ({marks})",
                    (connection, *chunk),
                )
            ]
        return rows

    def task(self, connection: str, key: str) -> TaskRow | None:
        row = self._db.execute(
            "SELECT key, account_id, action, period_start, period_end, crm_id, status FROM tasks "
            "WHERE connection = ? AND key = ?",
            (connection, key),
        ).fetchone()
        return None if row is None else self._task(row)

    @staticmethod
    def _task(row: Any) -> TaskRow:
        return TaskRow(
            key=row[0],
            account_id=row[1],
            action=row[2],
            period_start=dt.date.fromisoformat(row[3]),
            period_end=dt.date.fromisoformat(row[4]),
            crm_id=row[5],
            status=row[6],
        )

    def tasks_pending(self, connection: str, tasks: Iterable[WantedTask], now: dt.datetime) -> None:
        """Record task keys before the tasks are sent (write-ahead), in one transaction."""
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
            )
            for t in tasks
        ]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO tasks (connection, key, account_id, action, period_start, period_end, due, crm_id, "
                "status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (connection, key) DO NOTHING",
                rows,
            )

    def task_confirmed(self, connection: str, key: str, crm_id: str | None) -> None:
        self._db.execute(
            "UPDATE tasks SET status = ?, crm_id = ? WHERE connection = ? AND key = ?",
            (TaskState.OPEN, crm_id, connection, key),
        )

    def task_forgotten(self, connection: str, key: str) -> None:
        """The CRM refused the task: forget the key so that a later run tries again."""
        self._db.execute(
            "DELETE FROM tasks WHERE connection = ? AND key = ? AND status = ?",
            (connection, key, TaskState.PENDING),
        )

    def task_finished(self, connection: str, key: str, status: str, now: dt.datetime) -> None:
        self._db.execute(
            "UPDATE tasks SET status = ?, closed_at = ? WHERE connection = ? AND key = ?",
            (status, _iso(now), connection, key),
        )

    def accounts_due_for_new_period(self, connection: str, today: dt.date) -> set[str]:
        """Accounts with a task whose period has ended: the next period's task may be due."""
        rows = self._db.execute(
            "SELECT DISTINCT account_id FROM tasks WHERE connection = ? AND renewed = 0 AND period_end <= ?",
            (connection, _iso(today)),
        ).fetchall()
        return {str(r[0]) for r in rows}

    def mark_renewed(self, connection: str, account_ids: Iterable[str], today: dt.date) -> None:
        ids = list(account_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            self._db.execute(
                f"UPDATE tasks SET renewed = 1 WHERE connection = ? AND period_end <= ? AND account_id IN ({marks})",
                (connection, _iso(today), *chunk),
            )

    def all_tasks(self, connection: str) -> list[dict[str, Any]]:
        """Every task tiersync created for a connection, for the playbook part of the report."""
        cursor = self._db.execute(
            "SELECT key, account_id, action, period_start, period_end, due, crm_id, status, created_at, closed_at "
            "FROM tasks WHERE connection = ? ORDER BY key",
            (connection,),
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def task_counts(self, connection: str) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM tasks WHERE connection = ? GROUP BY status", (connection,)
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    # -- latest classification per account (what reports and look-alike profiles read) ----------
    def save_results(
        self, connection: str, rows: list[dict[str, Any]], run_id: int | None, now: dt.datetime
    ) -> None:
        """Each row is one account's latest result (``account_id`` plus anything JSON can hold)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection, account_id) DO UPDATE SET "
                "run_id = excluded.run_id, classified_at = excluded.classified_at, payload_json = excluded.payload_json",
                [
                    (
                        connection,
                        row["account_id"],
                        run_id,
                        _iso(now),
                        json.dumps(row, default=str, sort_keys=True),
                    )
                    for row in rows
                ],
            )

    def results(self, connection: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT payload_json FROM results WHERE connection = ? ORDER BY account_id", (connection,)
        ).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def connections(self) -> list[str]:
        rows = self._db.execute("SELECT DISTINCT connection FROM results ORDER BY connection").fetchall()
        return [str(r[0]) for r in rows]

    # -- run log -------------------------------------------------------------------------------
    def run_started(self, connection: str, mode: str, now: dt.datetime) -> int:
        cursor = self._db.execute(
            "INSERT INTO runs (connection, mode, started_at, status) VALUES (?, ?, ?, 'running')",
            (connection, mode, _iso(now)),
        )
        return int(cursor.lastrowid or 0)

    def run_ended(self, run_id: int, status: str, summary: dict[str, Any], now: dt.datetime) -> None:
        self._db.execute(
            "UPDATE runs SET ended_at = ?, status = ?, summary_json = ? WHERE id = ?",
            (_iso(now), status, json.dumps(summary, default=str, sort_keys=True), run_id),
        )

    def runs(self, connection: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT id, mode, started_at, ended_at, status, summary_json FROM runs WHERE connection = ? ORDER BY id",
            (connection,),
        ).fetchall()
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
