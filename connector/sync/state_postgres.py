"""The sync's state in PostgreSQL, for runs on several machines (or pods) that share one state.

The tables, statements and semantics are the SQLite store's (``SqlStore``, ``state_schema``): outside
a page every write is committed when its method returns (autocommit), upserts use ``ON CONFLICT``.
Dates and times stay ISO text and text compares byte by byte, as in SQLite, so both stores order
periods and keys alike and hand the reports the same strings. Give tiersync its own database, or
its own schema with ``?options=-csearch_path%3Dtiersync`` in the URL: the table names are plain.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from connector.sync.postgres import advisory_key, connect, redacted
from connector.sync.state import SqlStore, StateError
from connector.sync.state_schema import POSTGRES


class PostgresState(SqlStore):
    """One PostgreSQL database, shared by all connections and machines."""

    DIALECT = POSTGRES

    def __init__(self, url: str) -> None:
        self._db = connect(url)
        try:
            # two first runs at once would race on CREATE TABLE IF NOT EXISTS (it is not atomic in
            # PostgreSQL), two upgrades on ALTER TABLE: serialise the migrations on a
            # transaction-scoped advisory lock
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("schema"),))
                self._migrate(redacted(url))
        except psycopg.Error as exc:
            self._db.close()
            reason = " ".join(str(exc).split())
            raise StateError(
                f"cannot bring the state database {redacted(url)} up to date: {reason}"
            ) from None
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the connection; it is autocommit, so outside a page no transaction is left open."""
        self._db.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(self.DIALECT.sql(sql), params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(self.DIALECT.sql(sql), params).fetchall()

    def _iter_rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        # single-row mode: a client-side cursor would hold the whole result in libpq first
        with self._db.cursor() as cursor:
            yield from cursor.stream(self.DIALECT.sql(sql), params)

    def _insert_id(self, sql: str, params: Sequence[Any]) -> int:
        row = self._db.execute(self.DIALECT.sql(sql) + " RETURNING id", params).fetchone()
        assert row is not None
        return int(row[0])

    def _executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(self.DIALECT.sql(sql), rows)

    def _atomic(self) -> AbstractContextManager[psycopg.Transaction]:
        return self._db.transaction()

    def _columns(self, table: str) -> set[str]:
        rows = self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ?",
            (table,),
        )
        return {str(r[0]) for r in rows}
