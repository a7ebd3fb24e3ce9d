"""The records of a sandbox portal: objects by type, owners, and the indexes that keep reads cheap.

Ids come from one portal-wide counter, so they are numeric strings that grow with creation order, as
HubSpot's do; list paging walks them in that order with a sorted id list (bisect, not a scan) so that
paging a million companies costs the same per page as paging a hundred. The store knows nothing about
HTTP or validation: callers hand it properties that are already HubSpot-shaped strings.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from connector.sandbox.hubspot.catalog import OBJECT_TYPES


def iso(moment: dt.datetime) -> str:
    """HubSpot's timestamp format: UTC, millisecond precision, ``Z`` suffix."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def created_property(object_type: str) -> str:
    """CRM objects carry ``createdate``; engagements and commerce objects carry ``hs_createdate``."""
    return "createdate" if object_type in ("companies", "contacts", "deals", "tickets") else "hs_createdate"


@dataclass(slots=True)
class Record:
    id: str
    properties: dict[str, str]
    created_at: dt.datetime
    updated_at: dt.datetime
    archived: bool = False
    archived_at: dt.datetime | None = None

    def to_json(self, names: Iterable[str]) -> dict[str, Any]:
        """``SimplePublicObject``: requested properties without a value come back as ``null``, like HubSpot."""
        body: dict[str, Any] = {
            "id": self.id,
            "properties": {name: self.properties.get(name) or None for name in names},
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": self.archived,
        }
        if self.archived_at is not None:
            body["archivedAt"] = iso(self.archived_at)
        return body

    def inspect(self) -> dict[str, Any]:
        body = self.to_json(sorted(self.properties))
        body["properties"] = dict(self.properties)
        return body


@dataclass(slots=True)
class Owner:
    id: str
    email: str
    first_name: str
    last_name: str
    created_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": int(self.id),
            "type": "PERSON",
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.created_at),
            "archived": False,
            "teams": [],
        }


class ObjectStore:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every record, owner and index (loading a snapshot starts from here)."""
        self._records: dict[str, dict[str, Record]] = {name: {} for name in OBJECT_TYPES}
        self._order: dict[str, list[int]] = {name: [] for name in OBJECT_TYPES}
        self._next_id = 1000
        self._unique: dict[tuple[str, str], dict[str, str]] = {}
        self.version: dict[str, int] = dict.fromkeys(OBJECT_TYPES, 0)
        """Bumped on every write to a type; search caches its sorted results per version."""
        self.owners: dict[str, Owner] = {}
        self._last_stamp: tuple[dt.datetime | None, str] = (None, "")

    def _stamp(self, moment: dt.datetime) -> str:
        """``iso`` memoised on the last instant: bulk seeding stamps thousands of records alike."""
        if self._last_stamp[0] != moment:
            self._last_stamp = (moment, iso(moment))
        return self._last_stamp[1]

    # -- ids and writes -------------------------------------------------------------------------
    def allocate_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def add(
        self,
        object_type: str,
        properties: dict[str, str],
        at: dt.datetime,
        *,
        created: dt.datetime | None = None,
        record_id: str | None = None,
    ) -> Record:
        """Store a new record; ``created`` backdates it (seeding), ``at`` is its last modification."""
        record_id = record_id or self.allocate_id()
        stamp = self._stamp(at)
        created = created or at
        props = {created_property(object_type): self._stamp(created), **properties}
        props["hs_lastmodifieddate"] = stamp
        props["hs_object_id"] = record_id
        record = Record(record_id, props, created, at)
        self._records[object_type][record_id] = record
        numeric = int(record_id)
        order = self._order[object_type]
        if order and numeric < order[-1]:
            bisect.insort(order, numeric)
        else:
            order.append(numeric)
        self._next_id = max(self._next_id, numeric)
        self._index(object_type, record, props)
        self.version[object_type] += 1
        return record

    def update(self, object_type: str, record: Record, properties: dict[str, str], at: dt.datetime) -> None:
        self._unindex(object_type, record, properties)
        for name, value in properties.items():
            if value == "":
                record.properties.pop(name, None)
            else:
                record.properties[name] = value
        record.properties["hs_lastmodifieddate"] = self._stamp(at)
        record.updated_at = at
        self._index(object_type, record, properties)
        self.version[object_type] += 1

    def archive(self, object_type: str, record: Record, at: dt.datetime) -> None:
        self._unindex(object_type, record, record.properties)
        record.archived = True
        record.archived_at = at
        record.updated_at = at
        self.version[object_type] += 1

    # -- reads ----------------------------------------------------------------------------------
    def get(self, object_type: str, record_id: str, *, archived: bool = False) -> Record | None:
        record = self._records[object_type].get(record_id)
        if record is None or record.archived != archived:
            return None
        return record

    def page(
        self, object_type: str, after: int, limit: int, *, archived: bool = False
    ) -> tuple[list[Record], str | None]:
        """Up to ``limit`` records with id >= ``after`` in id order, and the cursor of the next page."""
        order = self._order[object_type]
        records = self._records[object_type]
        found: list[Record] = []
        for position in range(bisect.bisect_left(order, after), len(order)):
            record = records[str(order[position])]
            if record.archived != archived:
                continue
            if len(found) == limit:
                return found, record.id
            found.append(record)
        return found, None

    def live(self, object_type: str) -> Iterator[Record]:
        records = self._records[object_type]
        for numeric in self._order[object_type]:
            record = records[str(numeric)]
            if not record.archived:
                yield record

    def all_records(self, object_type: str) -> Iterator[Record]:
        records = self._records[object_type]
        for numeric in self._order[object_type]:
            yield records[str(numeric)]

    def count(self, object_type: str) -> int:
        return len(self._records[object_type])

    # -- unique values --------------------------------------------------------------------------
    def make_unique(self, object_type: str, name: str) -> None:
        index: dict[str, str] = {}
        for record in self.live(object_type):
            value = record.properties.get(name)
            if value:
                index.setdefault(value, record.id)
        self._unique[(object_type, name)] = index

    def unique_owner(self, object_type: str, name: str, value: str) -> str | None:
        """Id of the live record holding ``value`` in unique property ``name``, if any."""
        index = self._unique.get((object_type, name))
        return None if index is None else index.get(value)

    def is_unique(self, object_type: str, name: str) -> bool:
        return (object_type, name) in self._unique

    def _index(self, object_type: str, record: Record, changed: dict[str, str]) -> None:
        for name in changed:
            index = self._unique.get((object_type, name))
            value = record.properties.get(name)
            if index is not None and value:
                index[value] = record.id

    def _unindex(self, object_type: str, record: Record, changed: dict[str, str]) -> None:
        for name in changed:
            index = self._unique.get((object_type, name))
            value = record.properties.get(name)
            if index is not None and value and index.get(value) == record.id:
                del index[value]
