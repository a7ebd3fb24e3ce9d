"""A full read through Bulk API 2.0: one query job per object for the whole org, every result page streamed
into a temporary SQLite file keyed by account id, then pages of accounts with their evidence.

Memory stays bounded whatever the org's size: a results page goes to a file, its rows go to SQLite in
batches, and what the caller holds at a time is one page of accounts and their evidence rows. The
directory (under ``TMPDIR``; about 150 bytes per record) is removed when the extract is closed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
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
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE accounts (id TEXT PRIMARY KEY, cells TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE evidence (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, account_id TEXT NOT NULL,
                                   cells TEXT NOT NULL);
            """
        )
        self._shapes: dict[str, RowShape] = {}
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
        self._db.execute("CREATE INDEX evidence_by_account ON evidence (kind, account_id, seq)")

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
            while batch := list(islice(rows, INSERT_BATCH)):
                values = [(cells[link], json.dumps(cells)) for cells in batch if cells[link]]
                if extraction.kind == ACCOUNTS:
                    self._db.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?)", values)
                else:
                    self._db.executemany(
                        "INSERT INTO evidence (kind, account_id, cells) VALUES (?, ?, ?)",
                        [(extraction.kind, *value) for value in values],
                    )
                count += len(values)
        self.counts[extraction.kind] = self.counts.get(extraction.kind, 0) + count

    def pages(self, size: int) -> Iterator[tuple[list[Record], dict[str, Iterator[Record]]]]:
        """Accounts in id order, ``size`` at a time, each page with its evidence rows by kind, read lazily
        (one row at a time, kind after kind) so that a page never holds its evidence as row dicts. Rows of
        accounts in the page's id range but not in the page (filtered-out prospects) are dropped."""
        last = ""
        while (
            ACCOUNTS in self._shapes
            and self._db.execute("SELECT 1 FROM accounts WHERE id > ? LIMIT 1", (last,)).fetchone()
        ):
            yield self._page(last, size)  # not kept in a local: the page is the caller's alone
            last = self._last

    def _page(self, after: str, size: int) -> tuple[list[Record], dict[str, Iterator[Record]]]:
        page = self._db.execute(
            "SELECT id, cells FROM accounts WHERE id > ? ORDER BY id LIMIT ?", (after, size)
        ).fetchall()
        first, self._last = page[0][0], page[-1][0]
        wanted = {account_id for account_id, _ in page}
        shape = self._shapes[ACCOUNTS]
        rows = [shape.row(json.loads(cells)) for _, cells in page]
        evidence = {
            kind: self._evidence(kind, first, self._last, wanted) for kind in self._shapes if kind != ACCOUNTS
        }
        return rows, evidence

    def _evidence(self, kind: str, first: str, last: str, wanted: set[str]) -> Iterator[Record]:
        shape = self._shapes[kind]
        for account_id, cells in self._db.execute(
            "SELECT account_id, cells FROM evidence WHERE kind = ? AND account_id >= ? AND account_id <= ? "
            "ORDER BY account_id, seq",
            (kind, first, last),
        ):
            if account_id in wanted:
                yield shape.row(json.loads(cells))
