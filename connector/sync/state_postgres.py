"""The sync's state in PostgreSQL, for runs on several machines (or pods) that share one state.

The statements and their semantics are the SQLite store's (``SqlStore``): every write is committed
when its method returns (autocommit), ``tasks_pending`` and ``save_results`` are one transaction
each, upserts use ``ON CONFLICT``. Dates and times stay ISO text and text compares byte by byte,
as in SQLite, so both stores order periods and keys alike and hand the reports the same strings.
Give tiersync its own database, or its own schema with ``?options=-csearch_path%3Dtiersync`` in the
URL: the table names are plain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connector.sync.postgres import advisory_key, connect
from connector.sync.state import SCHEMA_VERSION, SqlStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (
    connection TEXT NOT NULL, scope TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (connection, scope));
CREATE TABLE IF NOT EXISTS written (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, values_json TEXT NOT NULL, written_at TEXT NOT NULL,
    PRIMARY KEY (connection, account_id));
CREATE TABLE IF NOT EXISTS tier_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection TEXT NOT NULL, account_id TEXT NOT NULL, tier TEXT NOT NULL, computed_tier TEXT NOT NULL,
    previous_tier TEXT, changed_at TEXT NOT NULL, run_id BIGINT);
CREATE INDEX IF NOT EXISTS tier_history_account ON tier_history (connection, account_id);
CREATE TABLE IF NOT EXISTS tasks (
    connection TEXT NOT NULL, key TEXT NOT NULL, account_id TEXT NOT NULL, action TEXT NOT NULL,
    period_start TEXT NOT NULL, period_end TEXT NOT NULL, due TEXT, crm_id TEXT, status TEXT NOT NULL,
    created_at TEXT NOT NULL, closed_at TEXT, renewed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connection, key));
CREATE INDEX IF NOT EXISTS tasks_account ON tasks (connection, account_id);
CREATE TABLE IF NOT EXISTS results (
    connection TEXT NOT NULL, account_id TEXT NOT NULL, run_id BIGINT, classified_at TEXT NOT NULL,
    payload_json TEXT NOT NULL, PRIMARY KEY (connection, account_id));
CREATE TABLE IF NOT EXISTS runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, connection TEXT NOT NULL, mode TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, summary_json TEXT);
"""


def _sql(statement: str) -> str:
    """psycopg's placeholder for the shared statements' ``?`` (none of them holds a literal ? or %)."""
    return statement.replace("?", "%s")


class PostgresState(SqlStore):
    """One PostgreSQL database, shared by all connections and machines; every method commits."""

    INSERTION_ORDER = "id"
    BYTEWISE = ' COLLATE "C"'

    def __init__(self, url: str) -> None:
        self._db = connect(url)
        # two first runs at once would race on CREATE TABLE IF NOT EXISTS (it is not atomic in
        # PostgreSQL): serialise the schema set-up on a transaction-scoped advisory lock
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("schema"),))
            self._db.execute(_SCHEMA)
            self._db.execute(
                "INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) DO NOTHING",
                (str(SCHEMA_VERSION),),
            )
            self.migrate()

    def close(self) -> None:
        self._db.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(_sql(sql), params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(_sql(sql), params).fetchall()

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        row = self._db.execute(_sql(sql) + " RETURNING id", params).fetchone()
        assert row is not None
        return int(row[0])

    def _batch(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.executemany(_sql(sql), rows)

    def _columns(self, table: str) -> set[str]:
        rows = self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ?",
            (table,),
        )
        return {str(r[0]) for r in rows}

    def _transaction(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        with self._db.transaction():
            for sql, params in statements:
                self._db.execute(_sql(sql), params)
