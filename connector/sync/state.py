"""The sync's state: watermarks, tier history, task keys, results, run log.

:class:`StateStore` is what the engine, the CLI and the reports rely on; :class:`State` keeps it in
one SQLite file (the default), ``connector.sync.state_postgres`` in a PostgreSQL database that
several machines share. :func:`open_state` picks one from the settings; the tables and their
migrations are in ``connector.sync.state_schema``.

A run killed at any point leaves a state that the next run can trust. Outside a page every write
commits at once; inside :meth:`StateStore.page` a page's writes commit together when the page ends
(one transaction instead of one per row). A watermark moves only after the writes it covers, and a
task key is recorded as ``pending`` and committed before its task is sent, even inside a page, so a
crash between the two re-sends (an idempotent upsert) instead of forgetting or duplicating it. A
page's accounts are marked for redo the same way before it writes to the CRM, and unmarked with the
page's commit: a crash in between leaves accounts that look written by tiersync, which the change
query leaves out, so the mark is what makes the next run read them again. Cleanup marks a page's
CRM tasks with the status it will record in the same way, so that tasks it finished in the CRM before a
crash are recorded as tiersync's closes or deletes, not as users' work; a sync marks the tasks it
closes in a page the same way (committed at once, in :meth:`StateStore.write_ahead`).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from connector.sync.state_schema import (
    META_TABLE,
    MIGRATIONS,
    SCHEMA_VERSION,
    SQLITE,
    VERSION_KEY,
    AddColumn,
    Dialect,
)

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.sync.tasks import WantedTask

_ORG_KEY = "org_id:"
"""``meta`` key prefix of a connection's bound org (``org_id:<connection>``)."""


class TaskState:
    """Where a task key stands. Every status but ``pending`` and ``deferred`` records what the CRM holds
    (or held), and the row outlives its task: the key is what stops a period's action being sent twice."""

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


class MarkedBy:
    """Which run marked a task's end (:meth:`StateStore.mark_task_ends`)."""

    CLEANUP = "cleanup"
    """Counted and settled by the next cleanup, which reports what the interrupted one did."""
    SYNC = "sync"
    """Settled by the sync that reads the task back; a cleanup counts none of them."""


@dataclass(frozen=True)
class TaskRow:
    """One task key as the state holds it: what the task planner weighs the wanted tasks against."""

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
        """The key the CRM task is stored under: the group's when this action rides on a shared task."""
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


RESULTS_PAGE = 10_000
"""Saved results decoded at a time by :meth:`StateStore.results_pages`."""
TASKS_PAGE = 10_000
"""Task rows read at a time by :meth:`StateStore.iter_tasks`."""


class StateStore(Protocol):
    """What a sync needs to remember between runs, keyed by connection. Outside a :meth:`page`
    every write is committed before the method returns, and ``tasks_pending``, ``tasks_deferred``
    and ``save_results`` are one transaction each."""

    def close(self) -> None:
        """Release the connection; outside a page nothing is left unwritten."""
        ...

    def page(self) -> AbstractContextManager[None]:
        """Hold the writes made inside it and commit them as one transaction when it ends, also when
        it ends by an exception (they record what the CRM already holds). ``tasks_pending`` commits
        at once even here: a task key must be durable before its task is sent. Reads inside a page
        do not see its held writes."""
        ...

    def write_ahead(self) -> AbstractContextManager[None]:
        """The writes made inside commit as one transaction when it ends without an error, inside a
        page too (whose held writes stay held, to commit with the page): a mark that must be durable
        before the CRM write it guards."""
        ...

    def watermark(self, connection: str, scope: str) -> str | None:
        """The scope's stored value (an ISO time, or the last account id a backfill reached); None when
        never set or cleared, which makes the caller read from the start."""
        ...

    def set_watermark(self, connection: str, scope: str, value: str, now: dt.datetime) -> None:
        """Move the scope on. Callers do so only after the writes it covers, so a crash re-reads
        rather than skips."""
        ...

    def clear_watermark(self, connection: str, scope: str) -> None:
        """Forget the scope, so the next run reads from the start (a finished backfill, a cleanup)."""
        ...

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
        """Append one tier change to the account's history; never updated in place, since the
        report reads the sequence."""
        ...

    def tier_history(self, connection: str, account_id: str) -> list[tuple[str, str | None, str]]:
        """(tier, previous tier, changed at) oldest first."""
        ...

    def tasks_for(self, connection: str, account_ids: Iterable[str]) -> list[TaskRow]:
        """Every task key of these accounts in any status: the planner's view of what already exists."""
        ...

    def task(self, connection: str, key: str) -> TaskRow | None:
        """One key's row; None when the state never recorded it (or forgot it after a refusal)."""
        ...

    def tasks_pending(self, connection: str, tasks: Iterable[WantedTask], now: dt.datetime) -> None:
        """Record task keys before the tasks are sent (write-ahead), in one transaction; a key
        already known keeps its row."""
        ...

    def task_confirmed(self, connection: str, key: str, crm_id: str | None) -> None:
        """The CRM holds the task: the pending key becomes open, with the CRM id a later read-back
        and close address it by."""
        ...

    def task_forgotten(self, connection: str, key: str) -> None:
        """The CRM refused the task: forget a still-pending key so that a later run tries again."""
        ...

    def task_finished(self, connection: str, key: str, status: str, now: dt.datetime) -> None:
        """The key's task ended with ``status``: closed by tiersync, done by a user, removed by cleanup."""
        ...

    def tasks_deferred(
        self, connection: str, deferrals: Iterable[tuple[WantedTask, dt.date]], now: dt.datetime
    ) -> None:
        """Record (or move) deferred tasks with the day each comes due, in one transaction."""
        ...

    def tasks_finished_by_crm_id(
        self, connection: str, crm_ids: Iterable[str], status: str, now: dt.datetime
    ) -> None:
        """Every open action carried by these CRM tasks ends with ``status``, or with the status a
        run marked its task with (:meth:`mark_task_ends`): tiersync finished that one. A sync's mark
        is dropped with it (recorded now); a cleanup's is left for the next cleanup to count."""
        ...

    def tasks_seen_open(self, connection: str, crm_ids: Iterable[str]) -> None:
        """The CRM holds these tasks open: a mark on one is from a run stopped before it closed or
        deleted it, which may never come back for it; dropped (with the open page), so that a user's
        later completion is recorded as the user's."""
        ...

    def tasks_finished_by_crm_key(
        self, connection: str, crm_keys: Iterable[str], status: str, now: dt.datetime
    ) -> None:
        """Every pending, open or closed action carried by the CRM tasks stored under these keys ends
        with ``status``: what cleanup records, since a CRM task carries one action under its own key or
        several under a group key."""
        ...

    def task_load(self, connection: str, week_start: dt.date) -> Iterator[TaskLoad]:
        """Every pending, open or deferred task with an owner, and those sent since ``week_start``:
        what the workload budget counts. Streamed from the cursor (a re-sync of a large org holds
        one row per account): consume it before the next call on this store."""
        ...

    def open_crm_ids(self, connection: str, owner_id: str) -> list[str]:
        """The CRM ids of an owner's open tasks, sorted: what the workload budget reads back to
        notice the ones users completed or deleted."""
        ...

    def accounts_due_for_new_period(self, connection: str, today: dt.date) -> set[str]:
        """Accounts with a task whose period has ended and was not renewed yet."""
        ...

    def mark_renewed(self, connection: str, account_ids: Iterable[str], today: dt.date) -> None:
        """These accounts' ended periods have been planned again, so
        :meth:`accounts_due_for_new_period` stops selecting them for that reason."""
        ...

    def task_counts(self, connection: str) -> dict[str, int]:
        """Keys per status: an operator's (and a test's) health figure that needs no CRM call."""
        ...

    def mark_redo(self, connection: str, account_ids: Iterable[str], now: dt.datetime) -> None:
        """Before a page writes to the CRM: these accounts are read again by the next run unless
        :meth:`clear_redo` lands with the page. Committed at once, inside a page too (like
        ``tasks_pending``): once written, an account looks like tiersync's own write to the change
        query, so only this mark brings back a page whose state a crash lost."""
        ...

    def clear_redo(self, connection: str, account_ids: Iterable[str]) -> None:
        """The accounts' page finished: no need to read them again."""
        ...

    def accounts_to_redo(self, connection: str) -> set[str]:
        """Accounts whose page wrote to the CRM but never finished (a crash, an error, a record that
        failed): the next incremental run reads them with the changed ones."""
        ...

    def mark_task_ends(
        self,
        connection: str,
        crm_keys: Iterable[str],
        status: str,
        now: dt.datetime,
        marked_by: str = MarkedBy.CLEANUP,
    ) -> None:
        """Before cleanup closes (``closed``) or deletes (``done``) the CRM tasks stored under these
        keys, or a sync closes them: the status it will record. Held in an open page like any write
        (unlike ``mark_redo``): the caller marks a page outside any page, in the transaction of the
        page before, which commits before the marked page is sent, or in :meth:`write_ahead`. A crash
        before the marked page commits leaves tasks the state holds open and the CRM finished; the
        mark tells the next cleanup, and a sync reading them back, that tiersync finished them."""
        ...

    def clear_task_ends(self, connection: str, crm_keys: Iterable[str]) -> None:
        """The CRM answered for these tasks and the page records it: unmarked with the page."""
        ...

    def task_ends(self, connection: str, marked_by: str = MarkedBy.CLEANUP) -> dict[str, str]:
        """CRM key -> status of the tasks a cleanup (or a sync) marked and never unmarked (a crash, or
        a CRM error that left it unknown whether the write landed)."""
        ...

    def bound_org(self, connection: str) -> str | None:
        """The CRM org (Salesforce Organization Id, HubSpot portal id) this connection's state belongs
        to, or None before its first run."""
        ...

    def bind_org(self, connection: str, org_id: str) -> None:
        """Record the org a connection's state belongs to."""
        ...

    def rebind_org(self, connection: str, org_id: str) -> None:
        """Forget everything the connection remembers of its old org (watermarks, tier history, tasks,
        results) and bind it to ``org_id``, in one transaction. The run log stays."""
        ...

    def all_tasks(self, connection: str) -> list[dict[str, Any]]:
        """Every task tiersync created for a connection, ordered by key."""
        ...

    def iter_tasks(self, connection: str, page_size: int = TASKS_PAGE) -> Iterator[list[dict[str, Any]]]:
        """The same rows as :meth:`all_tasks`, ``page_size`` at a time, in the same order: a reader of
        a large org's tasks (cleanup, the report) never holds them all."""
        ...

    def save_results(
        self, connection: str, rows: list[dict[str, Any]], run_id: int | None, now: dt.datetime
    ) -> None:
        """Upsert each account's latest result (``account_id`` plus anything JSON can hold)."""
        ...

    def results(self, connection: str) -> list[dict[str, Any]]:
        """Every account's latest saved result, by account id: what the report and the look-alike
        profiles read without calling the CRM."""
        ...

    def results_pages(self, connection: str, size: int = RESULTS_PAGE) -> Iterator[list[dict[str, Any]]]:
        """The same results ``size`` accounts at a time, in the same order: a report of a million
        accounts never holds them all as decoded payloads."""
        ...

    def tier_histories(
        self, connection: str, account_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str | None, str]]]:
        """:meth:`tier_history` of many accounts in a few queries (accounts without one are absent)."""
        ...

    def connections(self) -> list[str]:
        """The connections that have saved results, sorted."""
        ...

    def run_started(self, connection: str, mode: str, now: dt.datetime) -> int:
        """Open a run-log entry (status ``running``) and return its id, committed at once: an entry
        left ``running`` marks a run that was killed."""
        ...

    def run_ended(self, run_id: int, status: str, summary: dict[str, Any], now: dt.datetime) -> None:
        """Close the run's entry with how it ended and its summary (the next full run reads the
        expected roster size from it)."""
        ...

    def runs(self, connection: str) -> list[dict[str, Any]]:
        """The connection's run log, oldest first, summaries decoded."""
        ...


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
    stores cannot drift apart. Statements use ``?`` placeholders; a subclass runs them in its
    :class:`~connector.sync.state_schema.Dialect`."""

    DIALECT: ClassVar[Dialect]
    _held: list[tuple[str, Sequence[Any]]] | None = None
    """The writes of the open page, in call order (None: no page is open)."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection; outside a page nothing is left unwritten."""
        ...

    @abstractmethod
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement; it commits at once unless an :meth:`_atomic` block is open."""

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _iter_rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows one at a time, never all in memory: for reads that grow with the org."""

    @abstractmethod
    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT into a table with a generated ``id``; return that id."""

    @abstractmethod
    def _executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        """Run one statement for every row, inside the open :meth:`_atomic` block."""

    @abstractmethod
    def _atomic(self) -> AbstractContextManager[Any]:
        """One transaction: committed when the block ends, rolled back when it raises."""

    @abstractmethod
    def _columns(self, table: str) -> set[str]: ...

    def _migrate(self, where: str) -> None:
        """Apply the migrations this store lacks, in order. The caller holds one transaction and
        keeps other openers out until it ends, so a failed step leaves the store as it was."""
        self._exec(META_TABLE)
        row = self._row("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,))
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state {where} has schema version {version}, newer than this tiersync's "
                f"{SCHEMA_VERSION}: upgrade tiersync"
            )
        for migration in MIGRATIONS:
            if migration.version <= version:
                continue
            for step in migration.steps:
                if not isinstance(step, AddColumn):
                    self._exec(self.DIALECT.ddl(step))
                elif step.column not in self._columns(step.table):
                    self._exec(step.statement)
        if version != SCHEMA_VERSION:
            self._exec(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (VERSION_KEY, str(SCHEMA_VERSION)),
            )

    # -- how writes reach the database ----------------------------------------------------------
    @contextmanager
    def page(self) -> Iterator[None]:
        """Hold this page's writes and commit them as one transaction when it ends (see
        :meth:`StateStore.page`); a page opened inside a page is part of the outer one."""
        if self._held is not None:
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            self._transaction(held)

    @contextmanager
    def write_ahead(self) -> Iterator[None]:
        """The open page's held writes are set aside while the block's are collected, then put back
        (see :meth:`StateStore.write_ahead`)."""
        page, self._held = self._held, []
        try:
            yield
            ahead = self._held
        finally:
            self._held = page
        self._transaction(ahead)

    def _write(self, sql: str, params: Sequence[Any] = ()) -> None:
        """One write: held for the open page, else committed at once."""
        if self._held is not None:
            self._held.append((sql, params))
        else:
            self._exec(sql, params)

    def _write_all(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        """Writes that land together: held for the open page, else one transaction now."""
        if self._held is not None:
            self._held.extend(statements)
        else:
            self._transaction(statements)

    def _transaction(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        """Run ``statements`` as one transaction, each run of one statement as one ``executemany``."""
        if not statements:
            return
        with self._atomic():
            for sql, run in groupby(statements, key=lambda s: s[0]):
                self._executemany(sql, [params for _, params in run])

    def _keyset_pages(
        self, table: str, columns: str, connection: str, size: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """A connection's rows of ``table``, ``size`` at a time in byte order of the first of
        ``columns`` (the key after ``connection`` in the table's primary key): each page asks for
        the keys after the last one read, so no page costs more than the first."""
        column = f"{columns.split(',', 1)[0].strip()}{self.DIALECT.bytewise}"
        last = ""
        while True:
            rows = self._rows(
                f"SELECT {columns} FROM {table} WHERE connection = ? AND {column} > ? "
                f"ORDER BY {column} LIMIT ?",
                (connection, last, size),
            )
            if not rows:
                return
            yield rows
            last = str(rows[-1][0])

    def _row(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    # -- watermarks ----------------------------------------------------------------------------
    def watermark(self, connection: str, scope: str) -> str | None:
        """Reads committed rows only: a watermark held in an open page is seen when the page ends."""
        row = self._row(
            "SELECT value FROM watermarks WHERE connection = ? AND scope = ?", (connection, scope)
        )
        return None if row is None else str(row[0])

    def set_watermark(self, connection: str, scope: str, value: str, now: dt.datetime) -> None:
        """An upsert; inside a page it commits with the page, never before the writes it covers."""
        self._write(
            "INSERT INTO watermarks VALUES (?, ?, ?, ?) ON CONFLICT (connection, scope) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (connection, scope, value, _iso(now)),
        )

    def clear_watermark(self, connection: str, scope: str) -> None:
        """Deleting the row is what makes a scope read as never set."""
        self._write("DELETE FROM watermarks WHERE connection = ? AND scope = ?", (connection, scope))

    # -- tier history -------------------------------------------------------------------------
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
        """Append-only; ``run_id`` ties the change to the run log for the report."""
        self._write(
            "INSERT INTO tier_history (connection, account_id, tier, computed_tier, previous_tier, changed_at, "
            "run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (connection, account_id, tier, computed_tier, previous_tier, _iso(now), run_id),
        )

    def tier_history(self, connection: str, account_id: str) -> list[tuple[str, str | None, str]]:
        """(tier, previous tier, changed at) oldest first."""
        rows = self._rows(
            "SELECT tier, previous_tier, changed_at FROM tier_history WHERE connection = ? AND account_id = ? "
            f"ORDER BY {self.DIALECT.insertion_order}",
            (connection, account_id),
        )
        return [(str(r[0]), r[1], str(r[2])) for r in rows]

    # -- tasks ---------------------------------------------------------------------------------
    def tasks_for(self, connection: str, account_ids: Iterable[str]) -> list[TaskRow]:
        """Asked in chunks of ``_CHUNK`` ids, so a page of any size stays inside both databases'
        parameter limits."""
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
        """Looked up by the primary key (connection, key)."""
        row = self._row(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE connection = ? AND key = ?", (connection, key)
        )
        return None if row is None else _task_row(row)

    def tasks_pending(self, connection: str, tasks: Iterable[WantedTask], now: dt.datetime) -> None:
        """Record task keys before the tasks are sent (write-ahead), in one transaction committed at
        once, inside a page too; a deferred key becomes pending, any other known key keeps its row.

        The page's held writes may land after it: they never touch these keys' rows, since a page's
        task decisions give each key one fate (sent, joined, deferred or dropped)."""
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
        sql = (
            "INSERT INTO tasks (connection, key, account_id, action, period_start, period_end, due, crm_id, "
            "status, created_at, group_key, owner_id, sent_on) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?) "
            "ON CONFLICT (connection, key) DO UPDATE SET status = excluded.status, due = excluded.due, "
            "group_key = excluded.group_key, owner_id = excluded.owner_id, sent_on = excluded.sent_on, "
            f"defer_until = NULL WHERE tasks.status = '{TaskState.DEFERRED}'"
        )
        self._transaction([(sql, row) for row in rows])

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
        sql = (
            "INSERT INTO tasks (connection, key, account_id, action, period_start, period_end, crm_id, "
            "status, created_at, owner_id, defer_until) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?) "
            "ON CONFLICT (connection, key) DO UPDATE SET defer_until = excluded.defer_until, "
            f"owner_id = excluded.owner_id WHERE tasks.status = '{TaskState.DEFERRED}'"
        )
        self._write_all([(sql, row) for row in rows])

    def tasks_finished_by_crm_id(
        self, connection: str, crm_ids: Iterable[str], status: str, now: dt.datetime
    ) -> None:
        """Only pending or open rows move, so a row already finished keeps its status and closing
        time; chunked like :meth:`tasks_for`. A run killed after the CRM closed its task leaves
        the row open and the task marked: the mark's status wins over the caller's ``done``."""
        ids = list(crm_ids)
        marked = (
            "(SELECT e.status FROM task_ends e WHERE e.connection = tasks.connection "
            "AND e.crm_key = COALESCE(tasks.group_key, tasks.key))"
        )
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            self._write(
                f"UPDATE tasks SET status = COALESCE({marked}, ?), closed_at = ? WHERE connection = ? "
                f"AND status IN (?, ?) AND crm_id IN ({marks})",
                (status, _iso(now), connection, *TaskState.UNSENT, *chunk),
            )
        self._unmark_crm_ids(connection, ids, MarkedBy.SYNC)

    def tasks_seen_open(self, connection: str, crm_ids: Iterable[str]) -> None:
        """Held in the open page, like the read-back's other writes."""
        self._unmark_crm_ids(connection, list(crm_ids), None)

    def _unmark_crm_ids(self, connection: str, crm_ids: list[str], marked_by: str | None) -> None:
        """Drop the marks (``marked_by``'s, or any) on the CRM tasks with these ids. Each mark (there
        are none but after a stopped run) looks its task up by index, so no call scans the tasks."""
        which = "" if marked_by is None else "marked_by = ? AND "
        by = () if marked_by is None else (marked_by,)
        if not crm_ids or not self._rows(
            f"SELECT 1 FROM task_ends WHERE connection = ? AND {which}1 = 1 LIMIT 1", (connection, *by)
        ):
            return
        carried = (
            "SELECT 1 FROM tasks t WHERE t.connection = task_ends.connection AND (t.group_key = "
            "task_ends.crm_key OR (t.group_key IS NULL AND t.key = task_ends.crm_key)) AND t.crm_id IN "
        )
        for start in range(0, len(crm_ids), _CHUNK):
            chunk = crm_ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            self._write(
                f"DELETE FROM task_ends WHERE connection = ? AND {which}EXISTS ({carried}({marks}))",
                (connection, *by, *chunk),
            )

    def tasks_finished_by_crm_key(
        self, connection: str, crm_keys: Iterable[str], status: str, now: dt.datetime
    ) -> None:
        """A row is carried by its ``group_key``, or by its own key when it has none (stores from
        before groups): two statements, each an indexed lookup. A row a user finished (``done``) keeps
        its status and closing time."""
        keys = list(crm_keys)
        update = (
            "UPDATE tasks SET status = ?, closed_at = ? WHERE connection = ? AND status IN (?, ?, ?) AND "
        )
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            params = (status, _iso(now), connection, *TaskState.UNSENT, TaskState.CLOSED, *chunk)
            self._write_all(
                [
                    (f"{update}group_key IN ({marks})", params),
                    (f"{update}group_key IS NULL AND key IN ({marks})", params),
                ]
            )

    def task_load(self, connection: str, week_start: dt.date) -> Iterator[TaskLoad]:
        """(owner, CRM task key, status, day) for the tasks the workload budget counts: open or pending
        ones (day: sent_on) and deferred ones (day: defer_until)."""
        rows = self._iter_rows(
            "SELECT owner_id, account_id, COALESCE(group_key, key), crm_id, status, "
            "COALESCE(defer_until, sent_on) FROM tasks "
            "WHERE connection = ? AND owner_id IS NOT NULL AND (status IN (?, ?) OR status = ? "
            f"OR (sent_on IS NOT NULL AND sent_on{self.DIALECT.bytewise} >= ?))",
            (connection, *TaskState.UNSENT, TaskState.DEFERRED, _iso(week_start)),
        )
        for r in rows:
            yield TaskLoad(str(r[0]), str(r[1]), str(r[2]), r[3], str(r[4]), _date(r[5]))

    def open_crm_ids(self, connection: str, owner_id: str) -> list[str]:
        """Distinct ids: a CRM task that carries several actions is one task to read back."""
        rows = self._rows(
            "SELECT DISTINCT crm_id FROM tasks WHERE connection = ? AND owner_id = ? AND status = ? "
            "AND crm_id IS NOT NULL",
            (connection, owner_id, TaskState.OPEN),
        )
        return sorted(str(r[0]) for r in rows)

    def task_confirmed(self, connection: str, key: str, crm_id: str | None) -> None:
        """Any status moves to open: only a key this run just recorded as pending is confirmed."""
        self._write(
            "UPDATE tasks SET status = ?, crm_id = ? WHERE connection = ? AND key = ?",
            (TaskState.OPEN, crm_id, connection, key),
        )

    def task_forgotten(self, connection: str, key: str) -> None:
        """The CRM refused the task: forget the key so that a later run tries again."""
        self._write(
            "DELETE FROM tasks WHERE connection = ? AND key = ? AND status = ?",
            (connection, key, TaskState.PENDING),
        )

    def task_finished(self, connection: str, key: str, status: str, now: dt.datetime) -> None:
        """Stamps ``closed_at`` (the report shows it); any status moves, since the caller has the
        CRM's answer."""
        self._write(
            "UPDATE tasks SET status = ?, closed_at = ? WHERE connection = ? AND key = ?",
            (status, _iso(now), connection, key),
        )

    def accounts_due_for_new_period(self, connection: str, today: dt.date) -> set[str]:
        """Accounts with a task whose period has ended (the next period's task may be due) or with a
        deferred task that has come due."""
        rows = self._rows(
            "SELECT DISTINCT account_id FROM tasks WHERE connection = ? AND ((renewed = 0 "
            f"AND period_end{self.DIALECT.bytewise} <= ?) OR (status = ? AND defer_until{self.DIALECT.bytewise} <= ?))",
            (connection, _iso(today), TaskState.DEFERRED, _iso(today)),
        )
        return {str(r[0]) for r in rows}

    def mark_renewed(self, connection: str, account_ids: Iterable[str], today: dt.date) -> None:
        """Only rows whose period ended by ``today``: a task in a running period is not renewed."""
        ids = list(account_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            self._write(
                f"UPDATE tasks SET renewed = 1 WHERE connection = ? AND period_end{self.DIALECT.bytewise} <= ? "
                f"AND account_id IN ({marks})",
                (connection, _iso(today), *chunk),
            )

    def all_tasks(self, connection: str) -> list[dict[str, Any]]:
        """Every task tiersync created for a connection, for the playbook part of the report."""
        return [row for page in self.iter_tasks(connection) for row in page]

    def iter_tasks(self, connection: str, page_size: int = TASKS_PAGE) -> Iterator[list[dict[str, Any]]]:
        """Keyset pages on the primary key (keys after the last one read, byte order), so no page
        costs more than the first and the rows need not be consumed before the next call."""
        names = [name.strip() for name in _TASK_LIST_COLUMNS.split(",")]
        for rows in self._keyset_pages("tasks", _TASK_LIST_COLUMNS, connection, page_size):
            yield [dict(zip(names, row, strict=True)) for row in rows]

    def mark_redo(self, connection: str, account_ids: Iterable[str], now: dt.datetime) -> None:
        """One transaction committed at once, inside a page too (see :meth:`StateStore.mark_redo`)."""
        sql = "INSERT INTO redo VALUES (?, ?, ?) ON CONFLICT (connection, account_id) DO NOTHING"
        self._transaction([(sql, (connection, account_id, _iso(now))) for account_id in account_ids])

    def clear_redo(self, connection: str, account_ids: Iterable[str]) -> None:
        """Held in the open page, so the marks go in the same transaction as the page's writes."""
        self._unmark("redo", "account_id", connection, account_ids)

    def accounts_to_redo(self, connection: str) -> set[str]:
        """Read by the primary key's prefix."""
        return {
            str(r[0]) for r in self._rows("SELECT account_id FROM redo WHERE connection = ?", (connection,))
        }

    def mark_task_ends(
        self,
        connection: str,
        crm_keys: Iterable[str],
        status: str,
        now: dt.datetime,
        marked_by: str = MarkedBy.CLEANUP,
    ) -> None:
        """Held in an open page, else one transaction now; a key marked again takes the new status
        and marker (a delete cleanup after a killed close one)."""
        sql = (
            "INSERT INTO task_ends (connection, crm_key, status, marked_at, marked_by) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (connection, crm_key) DO UPDATE SET status = excluded.status, "
            "marked_at = excluded.marked_at, marked_by = excluded.marked_by"
        )
        self._write_all([(sql, (connection, key, status, _iso(now), marked_by)) for key in crm_keys])

    def clear_task_ends(self, connection: str, crm_keys: Iterable[str]) -> None:
        """Held in the open page, so the marks go in the same transaction as the page's statuses."""
        self._unmark("task_ends", "crm_key", connection, crm_keys)

    def _unmark(self, table: str, column: str, connection: str, values: Iterable[str]) -> None:
        """Delete a connection's marks by the second column of their primary key, ``_CHUNK`` at a time."""
        ids = list(values)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            self._write(
                f"DELETE FROM {table} WHERE connection = ? AND {column} IN ({marks})", (connection, *chunk)
            )

    def task_ends(self, connection: str, marked_by: str = MarkedBy.CLEANUP) -> dict[str, str]:
        """Read by the primary key's prefix; empty but for a run that was stopped mid-page."""
        rows = self._rows(
            "SELECT crm_key, status FROM task_ends WHERE connection = ? AND marked_by = ?",
            (connection, marked_by),
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def task_counts(self, connection: str) -> dict[str, int]:
        """One ``GROUP BY``, so it stays cheap on a large state."""
        rows = self._rows(
            "SELECT status, COUNT(*) FROM tasks WHERE connection = ? GROUP BY status", (connection,)
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # -- latest classification per account (what reports and look-alike profiles read) ----------
    def save_results(
        self, connection: str, rows: list[dict[str, Any]], run_id: int | None, now: dt.datetime
    ) -> None:
        """Each row is one account's latest result (``account_id`` plus anything JSON can hold)."""
        sql = (
            "INSERT INTO results VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection, account_id) DO UPDATE SET "
            "run_id = excluded.run_id, classified_at = excluded.classified_at, payload_json = excluded.payload_json"
        )
        self._write_all([(sql, (connection, r["account_id"], run_id, _iso(now), _dumps(r))) for r in rows])

    def results(self, connection: str) -> list[dict[str, Any]]:
        """Ordered by account id byte by byte, so both stores hand out the same order."""
        return [row for page in self.results_pages(connection) for row in page]

    def results_pages(self, connection: str, size: int = RESULTS_PAGE) -> Iterator[list[dict[str, Any]]]:
        """Keyset pages (ids after the last one read), so no page costs more than the first."""
        for rows in self._keyset_pages("results", "account_id, payload_json", connection, size):
            yield [dict(json.loads(r[1])) for r in rows]

    def tier_histories(
        self, connection: str, account_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str | None, str]]]:
        """One query per ``_CHUNK`` ids, each account's rows oldest first."""
        histories: dict[str, list[tuple[str, str | None, str]]] = {}
        for start in range(0, len(account_ids), _CHUNK):
            chunk = account_ids[start : start + _CHUNK]
            rows = self._rows(
                "SELECT account_id, tier, previous_tier, changed_at FROM tier_history WHERE connection = ? "
                f"AND account_id IN ({','.join('?' * len(chunk))}) ORDER BY {self.DIALECT.insertion_order}",
                (connection, *chunk),
            )
            for account_id, tier, previous, changed_at in rows:
                histories.setdefault(str(account_id), []).append((str(tier), previous, str(changed_at)))
        return histories

    def connections(self) -> list[str]:
        """Read from the results, so a connection whose first page never committed is not listed."""
        rows = self._rows(f"SELECT DISTINCT connection{self.DIALECT.bytewise} FROM results ORDER BY 1")
        return [str(r[0]) for r in rows]

    # -- the org the state belongs to -----------------------------------------------------------
    def bound_org(self, connection: str) -> str | None:
        """Kept in ``meta`` under ``org_id:<connection>``: one row per connection, no table of its own."""
        row = self._row("SELECT value FROM meta WHERE key = ?", (_ORG_KEY + connection,))
        return None if row is None else str(row[0])

    def bind_org(self, connection: str, org_id: str) -> None:
        """An upsert, held in an open page like any other write."""
        self._write(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_ORG_KEY + connection, org_id),
        )

    def rebind_org(self, connection: str, org_id: str) -> None:
        """One transaction (or part of the open page): a crash never leaves the old org's tasks
        bound to the new one."""
        forget: list[tuple[str, Sequence[Any]]] = [
            (f"DELETE FROM {table} WHERE connection = ?", (connection,))
            for table in ("watermarks", "tier_history", "tasks", "results", "redo", "task_ends")
        ]
        bind = (
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_ORG_KEY + connection, org_id),
        )
        self._write_all([*forget, bind])

    # -- run log -------------------------------------------------------------------------------
    def run_started(self, connection: str, mode: str, now: dt.datetime) -> int:
        """Runs at once even inside a page: it needs the generated id, and a killed run must leave
        its ``running`` entry behind."""
        return self._insert_id(
            "INSERT INTO runs (connection, mode, started_at, status) VALUES (?, ?, ?, 'running')",
            (connection, mode, _iso(now)),
        )

    def run_ended(self, run_id: int, status: str, summary: dict[str, Any], now: dt.datetime) -> None:
        """Held in an open page like any write; the engine ends a run outside its pages."""
        self._write(
            "UPDATE runs SET ended_at = ?, status = ?, summary_json = ? WHERE id = ?",
            (_iso(now), status, _dumps(summary), run_id),
        )

    def runs(self, connection: str) -> list[dict[str, Any]]:
        """By id, which both databases generate in insertion order."""
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
    """The SQLite store: one file, shared by all connections of a config."""

    DIALECT = SQLITE

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._atomic():
                self._migrate(str(path))
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the file; WAL mode keeps it consistent for the next opener even after a kill."""
        self._db.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def _iter_rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self._db.execute(sql, params)
        try:
            yield from cursor  # sqlite3 steps the statement as the rows are taken
        finally:
            cursor.close()

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(self._db.execute(sql, params).lastrowid or 0)

    def _executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front: a reader's snapshot is never upgraded mid-way,
        # which would fail at once (SQLITE_BUSY) instead of waiting the busy timeout
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield

    def _columns(self, table: str) -> set[str]:
        return {str(r[1]) for r in self._db.execute(f"PRAGMA table_info({table})")}


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
