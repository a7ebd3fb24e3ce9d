"""A full read through Bulk API 2.0: one query job per object for the whole org, every result page streamed
into a temporary SQLite file keyed by account id, then pages of accounts with their evidence.

Memory stays bounded whatever the org's size: a results page goes to a file, its rows go to SQLite in
batches, and what the caller holds at a time is one page of accounts and their evidence rows. The
directory (under ``TMPDIR``; about 150 bytes per record) is removed when the extract is closed.

Each kind's rows are kept as their CSV cells, one SQLite column per result column, and handed back as
cells: a million-account org has some twenty million evidence rows, and encoding each to JSON and back
(or building a dict per row) was most of a full read's CPU.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from connector.crm.salesforce.bulk import BulkJobs
from connector.crm.salesforce.bulk_csv import RowShape, read_csv
from connector.crm.salesforce.describe import Schema

ACCOUNTS = "accounts"
INSERT_BATCH = 10_000

Record = dict[str, Any]
Cells = Sequence[str]
"""One result row's cells in its job's column order (``shape(kind)`` reads them); evidence rows end
with one cell more, their account id."""


@dataclass(frozen=True)
class Extraction:
    """One query job: ``link`` is the column holding the account id (the account's own id for accounts)."""

    kind: str
    sobject: str
    soql: str
    link: str
    every_row: bool = False
    """A ``queryAll`` job (deleted and archived rows too), for evidence on archived activities."""


class BulkExtract:
    """The extract of one full read. Use as a context manager: leaving it removes the temporary files."""

    def __init__(self, jobs: BulkJobs, schema: Schema) -> None:
        self._jobs = jobs
        self._schema = schema
        self._dir = Path(tempfile.mkdtemp(prefix="tiersync-bulk-"))
        self._db = sqlite3.connect(self._dir / "extract.sqlite")
        self._db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        self._shapes: dict[str, RowShape] = {}
        self._tables: dict[str, tuple[str, int]] = {}
        """Per kind: its table and its number of cell columns (``c0`` ...)."""
        self._last = ""
        self.counts: dict[str, int] = {}
        """Rows stored per kind (evidence without an account link is not stored)."""

    def __enter__(self) -> BulkExtract:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def run(self, extractions: list[Extraction]) -> None:
        """Start every job first (Salesforce runs them side by side), then load each one's results."""
        started = [
            (extraction, self._jobs.start_query(extraction.soql, every_row=extraction.every_row))
            for extraction in extractions
        ]
        for extraction, job_id in started:
            self._load(extraction, job_id)
        for kind, (table, _) in self._tables.items():
            if kind != ACCOUNTS:
                self._db.execute(f"CREATE INDEX {table}_by_account ON {table} (account_id, seq)")

    def shape(self, kind: str) -> RowShape:
        """How the cells of ``kind``'s rows read (the kinds of a page's evidence all have one)."""
        return self._shapes[kind]

    def _table(self, kind: str, width: int) -> tuple[str, int]:
        """``kind``'s table, created with ``width`` cell columns at its first results file."""
        if kind not in self._tables:
            table = f"rows_{len(self._tables)}"
            cells = ", ".join(f"c{i} TEXT" for i in range(width))
            self._db.execute(
                f"CREATE TABLE {table} (id TEXT PRIMARY KEY, {cells}) WITHOUT ROWID"
                if kind == ACCOUNTS
                else f"CREATE TABLE {table} (seq INTEGER PRIMARY KEY, account_id TEXT NOT NULL, {cells})"
            )
            self._tables[kind] = (table, width)
        return self._tables[kind]

    def _load(self, extraction: Extraction, job_id: str) -> None:
        count = 0
        for path in self._jobs.query_result_files(job_id, extraction.sobject, self._dir):
            rows = read_csv(path)
            header = next(rows, None)
            if header is None:
                continue
            self._shapes.setdefault(extraction.kind, RowShape(header, self._schema, extraction.sobject))
            lowered = [name.lower() for name in header]
            link = lowered.index(extraction.link.lower())
            table, width = self._table(extraction.kind, len(header))
            marks = ", ".join("?" * (width + 1))
            insert = (
                f"INSERT OR REPLACE INTO {table} VALUES ({marks})"
                if extraction.kind == ACCOUNTS
                else f"INSERT INTO {table} (account_id, {_cells(width)}) VALUES ({marks})"
            )
            while batch := list(islice(rows, INSERT_BATCH)):
                values = [(cells[link], *_fit(cells, width)) for cells in batch if cells[link]]
                self._db.executemany(insert, values)
                count += len(values)
        self.counts[extraction.kind] = self.counts.get(extraction.kind, 0) + count

    def pages(self, size: int) -> Iterator[tuple[list[Record], dict[str, Iterator[Cells]]]]:
        """Accounts in id order, ``size`` at a time, each page with its evidence rows' cells by kind, read
        lazily (one row at a time, kind after kind) so that a page never holds its evidence rows at once.
        Rows of accounts in the page's id range but not in the page (filtered-out prospects) are dropped."""
        if ACCOUNTS not in self._tables:
            return
        table, _ = self._tables[ACCOUNTS]
        last = ""
        while self._db.execute(f"SELECT 1 FROM {table} WHERE id > ? LIMIT 1", (last,)).fetchone():
            yield self._page(last, size)  # not kept in a local: the page is the caller's alone
            last = self._last

    def _page(self, after: str, size: int) -> tuple[list[Record], dict[str, Iterator[Cells]]]:
        table, width = self._tables[ACCOUNTS]
        page = self._db.execute(
            f"SELECT id, {_cells(width)} FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (after, size)
        ).fetchall()
        first, self._last = page[0][0], page[-1][0]
        wanted = {row[0] for row in page}
        shape = self._shapes[ACCOUNTS]
        rows = [shape.row(row[1:]) for row in page]
        evidence = {
            kind: self._evidence(kind, first, self._last, wanted) for kind in self._tables if kind != ACCOUNTS
        }
        return rows, evidence

    def _evidence(self, kind: str, first: str, last: str, wanted: set[str]) -> Iterator[Cells]:
        table, width = self._tables[kind]
        for row in self._db.execute(
            f"SELECT {_cells(width)}, account_id FROM {table} WHERE account_id >= ? AND account_id <= ? "
            "ORDER BY account_id, seq",
            (first, last),
        ):
            if row[-1] in wanted:
                yield row


def _cells(width: int) -> str:
    return ", ".join(f"c{i}" for i in range(width))


def _fit(cells: Sequence[str], width: int) -> Sequence[str]:
    """A row's cells as the table's ``width`` columns (a short row's missing cells are empty, a long
    row's extra ones dropped, as :meth:`RowShape.row` reads them)."""
    return cells if len(cells) == width else [*cells[:width], *[""] * (width - len(cells))]
