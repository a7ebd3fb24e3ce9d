"""Versioned migrations: a store that an older tiersync left is brought up to date in place, keeping
its data, on the SQLite file and on PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connector.config import Settings
from connector.sync.state import MarkedBy, StateError, TaskState, open_state
from connector.sync.state_schema import MIGRATIONS, POSTGRES, SCHEMA_VERSION, SQLITE, AddColumn
from tests.postgres_server import PostgresServer
from tests.state.schema_v1 import POSTGRES_V1, ROWS, SQLITE_V1
from tests.state.test_state_store import wanted

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
NEW_TASK_COLUMNS = {"group_key", "owner_id", "defer_until", "sent_on"}


@dataclass
class Database:
    """A database opened without tiersync's code: to build an old store and to look inside it."""

    settings: Settings
    run: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]
    script: Callable[[str], None]
    tables: Callable[[], set[str]]
    columns: Callable[[str], set[str]]

    def version(self) -> str | None:
        rows = self.run("SELECT value FROM meta WHERE key = ?", ("schema_version",))
        return str(rows[0][0]) if rows else None


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite"

        def run_sqlite(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
            with closing(sqlite3.connect(path)) as db, db:
                return db.execute(sql, params).fetchall()

        def script_sqlite(sql: str) -> None:
            with closing(sqlite3.connect(path)) as db:
                db.executescript(sql)

        yield Database(
            Settings.model_validate({"state_path": path}),
            run_sqlite,
            script_sqlite,
            lambda: {r[0] for r in run_sqlite("SELECT name FROM sqlite_master WHERE type = 'table'")},
            lambda table: {r[1] for r in run_sqlite(f"PRAGMA table_info({table})")},
        )
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.url(server.create_database(), password=True)

    def run_postgres(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as db:
            cursor = db.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def script_postgres(sql: str) -> None:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(sql)

    yield Database(
        Settings.model_validate({"state_url": url}),
        run_postgres,
        script_postgres,
        lambda: {
            r[0]
            for r in run_postgres(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_type = 'BASE TABLE'"
            )
        },
        lambda table: {
            r[0]
            for r in run_postgres(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = ?",
                (table,),
            )
        },
    )


def make_v1(database: Database) -> None:
    database.script(SQLITE_V1 if database.settings.state_url is None else POSTGRES_V1)
    for sql, params in ROWS:
        database.run(sql, params)


def test_a_version_1_store_is_upgraded_in_place_and_keeps_its_data(database: Database) -> None:
    make_v1(database)
    assert database.version() == "1" and "written" in database.tables()

    store = open_state(database.settings)
    try:
        assert database.version() == str(SCHEMA_VERSION)
        assert "written" not in database.tables(), "the never-read written values are dropped"
        assert database.columns("tasks") >= NEW_TASK_COLUMNS
        assert database.columns("task_ends") == {"connection", "crm_key", "status", "marked_at", "marked_by"}
        assert store.task_ends("emea") == {}
        assert store.bound_org("emea") == "00D000000000001AAA"
        assert store.watermark("emea", "changes") == "2026-10-01T06:00:00+00:00"
        assert store.tier_history("emea", "001A") == [
            ("okay", None, "2026-09-01T06:00:00+00:00"),
            ("good", "okay", "2026-10-01T06:00:00+00:00"),
        ]
        [task] = store.tasks_for("emea", ["001A"])
        assert (task.key, task.status, task.crm_id) == (
            "001A/review_relationship/2026-07-01",
            TaskState.OPEN,
            "00T000000000001AAA",
        )
        assert (task.group_key, task.defer_until, task.sent_on) == (None, None, None)
        assert store.results("emea") == [{"account_id": "001A", "tier": "good"}]
        assert [(r["id"], r["mode"], r["status"], r["summary"]) for r in store.runs("emea")] == [
            (1, "full", "ok", {"accounts_read": 1}),
            (2, "incremental", "running", None),
        ]

        # the upgraded store takes today's writes, after what it held
        store.record_tier_change(
            "emea", "001A", tier="poor", computed_tier="poor", previous_tier="good", now=NOW, run_id=3
        )
        assert [t for t, _, _ in store.tier_history("emea", "001A")] == ["okay", "good", "poor"]
        assert store.run_started("emea", "incremental", NOW) == 3
        grouped = wanted("001A", "find_growth_point")
        store.tasks_pending("emea", [grouped], NOW)
        store.tasks_deferred("emea", [(wanted("001A", "comms:yearly_survey"), NOW.date())], NOW)
        row = store.task("emea", grouped.spec.key)
        assert row is not None and row.sent_on == NOW.date()
        assert {t.owner_id for t in store.task_load("emea", NOW.date())} == {"005A"}
        store.mark_task_ends("emea", ["001A/review_relationship/2026-07-01"], TaskState.CLOSED, NOW)
        store.tasks_finished_by_crm_id("emea", ["00T000000000001AAA"], TaskState.DONE, NOW)
        [closed] = [t for t in store.tasks_for("emea", ["001A"]) if t.crm_id == "00T000000000001AAA"]
        assert closed.status == TaskState.CLOSED, "the v1 task a cleanup marked is recorded as its close"
    finally:
        store.close()

    again = open_state(database.settings)  # a current store opens as it is
    try:
        assert database.version() == str(SCHEMA_VERSION)
        assert len(again.tasks_for("emea", ["001A"])) == 3
    finally:
        again.close()


def test_a_version_6_store_s_marks_stay_the_cleanup_s_and_a_sync_s_are_told_apart(database: Database) -> None:
    make_v1(database)
    dialect = SQLITE if database.settings.state_url is None else POSTGRES
    for migration in MIGRATIONS[1:6]:  # versions 2 to 6, as the tiersync of version 6 ran them
        for step in migration.steps:
            database.run(step.statement if isinstance(step, AddColumn) else dialect.ddl(step), ())
    key = "001A/review_relationship/2026-07-01"
    database.run(
        "INSERT INTO task_ends VALUES (?, ?, ?, ?)", ("emea", key, "closed", "2026-10-01T06:00:00+00:00")
    )
    database.run("UPDATE meta SET value = ? WHERE key = ?", ("6", "schema_version"))

    store = open_state(database.settings)
    try:
        assert database.version() == str(SCHEMA_VERSION)
        assert store.task_ends("emea") == {key: TaskState.CLOSED}, "a killed cleanup's mark, kept as one"
        assert store.task_ends("emea", MarkedBy.SYNC) == {}
        store.mark_task_ends("emea", ["001B/x/2026-07-01"], TaskState.CLOSED, NOW, MarkedBy.SYNC)
        assert store.task_ends("emea", MarkedBy.SYNC) == {"001B/x/2026-07-01": TaskState.CLOSED}
        assert store.task_ends("emea") == {key: TaskState.CLOSED}
    finally:
        store.close()


def test_a_version_1_store_stopped_half_way_to_version_2_is_finished(database: Database) -> None:
    make_v1(database)
    database.run("ALTER TABLE tasks ADD COLUMN group_key TEXT", ())
    database.run("ALTER TABLE tasks ADD COLUMN owner_id TEXT", ())

    open_state(database.settings).close()

    assert database.version() == str(SCHEMA_VERSION)
    assert database.columns("tasks") >= NEW_TASK_COLUMNS


def test_a_fresh_store_is_built_by_the_same_migrations(database: Database) -> None:
    open_state(database.settings).close()
    tables = database.tables()
    assert database.version() == str(SCHEMA_VERSION)
    assert {"meta", "watermarks", "tier_history", "tasks", "results", "runs", "redo", "task_ends"} <= tables
    assert "written" not in tables
    assert database.columns("tasks") >= NEW_TASK_COLUMNS


def test_a_migration_that_fails_half_way_leaves_the_store_as_it_was(database: Database) -> None:
    # a view where a table belongs: the first migration creates some tables, then cannot index it
    database.script("CREATE VIEW tasks AS SELECT 'k' AS key, 'a' AS account_id")
    with pytest.raises(StateError):
        open_state(database.settings)
    assert database.tables() == set(), "no table of the failed migration is left behind"


def test_a_store_from_a_newer_tiersync_is_refused_untouched(database: Database) -> None:
    make_v1(database)
    database.run("UPDATE meta SET value = ? WHERE key = ?", (str(SCHEMA_VERSION + 1), "schema_version"))
    with pytest.raises(StateError, match="newer than this tiersync"):
        open_state(database.settings)
    assert database.version() == str(SCHEMA_VERSION + 1)
    assert "written" in database.tables()
