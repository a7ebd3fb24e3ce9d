"""The places deferred tasks from earlier runs hold in the weeks ahead, kept on disk for a large org.

A re-sync of a large org loads about one deferred task per account into the workload budget
(``TaskBudget``), which needs each one's account only when that account's page comes (to move or
settle its place) and until then only the count per owner and week. Held as Python strings in the
budget they cost some 330 bytes per account (a third of a GB at a million accounts); here they wait in
a private temporary SQLite file (deleted when closed) and leave the budget's memory to the page's
accounts.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence

CHUNK = 500
"""Accounts per ``IN (...)`` lookup (SQLite's default variable limit is far above)."""


class DeferredPlaces:
    """``(owner, week, account)`` places, counted per owner and week, taken out by account."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "": a private temporary database on disk, removed on close
        self._db.execute(
            "CREATE TABLE places (owner TEXT NOT NULL, week INTEGER NOT NULL, account TEXT NOT NULL)"
        )

    def add(self, places: Iterable[tuple[str, dt.date, str]]) -> None:
        """``(owner, week, account)`` places, in one ``executemany`` (no index until :meth:`counts`)."""
        self._db.executemany(
            "INSERT INTO places VALUES (?, ?, ?)", ((o, w.toordinal(), a) for o, w, a in places)
        )

    def counts(self) -> Iterator[tuple[str, dt.date, int]]:
        """Per owner and week, how many accounts hold a place (an account once per week, as the
        budget's sets count it); indexes the places by account for :meth:`take`."""
        self._db.execute("CREATE INDEX places_by_account ON places (account)")
        for owner, week, count in self._db.execute(
            "SELECT owner, week, COUNT(DISTINCT account) FROM places GROUP BY owner, week"
        ):
            yield owner, dt.date.fromordinal(week), count

    def take(self, accounts: Sequence[str]) -> list[tuple[str, dt.date, str]]:
        """The places of these accounts (each once), removed from the file."""
        taken: set[tuple[str, int, str]] = set()
        for start in range(0, len(accounts), CHUNK):
            chunk = list(accounts[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            found = self._db.execute(
                f"SELECT owner, week, account FROM places WHERE account IN ({marks})", chunk
            ).fetchall()
            if found:
                taken.update(found)
                self._db.execute(f"DELETE FROM places WHERE account IN ({marks})", chunk)
        return [(owner, dt.date.fromordinal(week), account) for owner, week, account in taken]

    def close(self) -> None:
        """Removes the temporary file with the places still in it."""
        self._db.close()
