"""The records of a sandbox portal: objects by type, owners, and the indexes that keep reads cheap.

Ids come from one portal-wide counter, so they are numeric strings that grow with creation order, as
HubSpot's do; list paging walks them in that order with a sorted id list (bisect, not a scan) so that
paging a million companies costs the same per page as paging a hundred. The store knows nothing about
HTTP or validation: callers hand it properties that are already HubSpot-shaped strings.

Search finds its candidates through property indexes (:class:`PropertyIndex`: value -> ids for
``EQ``/``IN``, a sorted list for ranges such as ``hs_lastmodifieddate >=``), made on a property's first
search and kept current by every add, update and archive, so that a search costs what it matches, not
the portal's size. Archived records are in no index (search never returns them).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Iterator
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


class PropertyIndex:
    """One property's live records by ``normalize(value)``: a hash for equality, a sorted list for ranges."""

    def __init__(self, normalize: Callable[[str], Any]) -> None:
        self.normalize = normalize
        self.by_value: dict[Hashable, set[int]] = {}
        self.ordered: list[tuple[Any, int]] = []
        """``(key, numeric id)`` ascending: a range is two bisects."""

    def add(self, value: str | None, numeric: int) -> None:
        if not value:
            return
        key = self.normalize(value)
        self.by_value.setdefault(key, set()).add(numeric)
        bisect.insort(self.ordered, (key, numeric))

    def discard(self, value: str | None, numeric: int) -> None:
        if not value:
            return
        key = self.normalize(value)
        ids = self.by_value.get(key)
        if ids is not None:
            ids.discard(numeric)
            if not ids:
                del self.by_value[key]
        at = bisect.bisect_left(self.ordered, (key, numeric))
        if at < len(self.ordered) and self.ordered[at] == (key, numeric):
            del self.ordered[at]

    def equal(self, keys: Iterable[Any]) -> set[int]:
        return set().union(*(self.by_value.get(k, ()) for k in keys))

    def count_equal(self, keys: Iterable[Any]) -> int:
        """How many ids :meth:`equal` returns for distinct ``keys``, without gathering them."""
        return sum(len(self.by_value.get(k, ())) for k in keys)

    def span(self, low: Any, high: Any, *, low_open: bool, high_open: bool) -> tuple[int, int]:
        """``[first, last)`` of the entries within the bounds (None: unbounded on that side): its
        length is a range filter's size, known without copying it."""
        first = 0
        if low is not None:
            first = (bisect.bisect_right if low_open else bisect.bisect_left)(self.ordered, low, key=_first)
        last = len(self.ordered)
        if high is not None:
            last = (bisect.bisect_left if high_open else bisect.bisect_right)(self.ordered, high, key=_first)
        return first, max(first, last)

    def between(self, low: Any, high: Any, *, low_open: bool, high_open: bool) -> list[int]:
        """Ids whose key is within the bounds (None: unbounded on that side)."""
        first, last = self.span(low, high, low_open=low_open, high_open=high_open)
        return [numeric for _, numeric in self.ordered[first:last]]


def _first(entry: tuple[Any, int]) -> Any:
    return entry[0]


class ObjectStore:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every record, owner and index (loading a snapshot starts from here)."""
        self._records: dict[str, dict[str, Record]] = {name: {} for name in OBJECT_TYPES}
        self._order: dict[str, list[int]] = {name: [] for name in OBJECT_TYPES}
        self._next_id = 1000
        self._unique: dict[tuple[str, str], dict[str, str]] = {}
        self._indexes: dict[str, dict[tuple[str, Hashable], PropertyIndex]] = {
            name: {} for name in OBJECT_TYPES
        }
        """Per type: ``(property, how its values compare)`` -> index (see :meth:`index`)."""
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
        for (name, _), index in self._indexes[object_type].items():
            index.add(props.get(name), numeric)
        self.version[object_type] += 1
        return record

    def update(self, object_type: str, record: Record, properties: dict[str, str], at: dt.datetime) -> None:
        self._unindex(object_type, record, properties)
        touched = [
            (name, index)
            for (name, _), index in self._indexes[object_type].items()
            if name in properties or name == "hs_lastmodifieddate"
        ]
        live = not record.archived
        numeric = int(record.id)
        for name, index in touched if live else ():
            index.discard(record.properties.get(name), numeric)
        for name, value in properties.items():
            if value == "":
                record.properties.pop(name, None)
            else:
                record.properties[name] = value
        record.properties["hs_lastmodifieddate"] = self._stamp(at)
        record.updated_at = at
        for name, index in touched if live else ():
            index.add(record.properties.get(name), numeric)
        self._index(object_type, record, properties)
        self.version[object_type] += 1

    def archive(self, object_type: str, record: Record, at: dt.datetime) -> None:
        self._unindex(object_type, record, record.properties)
        if not record.archived:
            for (name, _), index in self._indexes[object_type].items():
                index.discard(record.properties.get(name), int(record.id))
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

    def index(
        self, object_type: str, name: str, kind: Hashable, normalize: Callable[[str], Any]
    ) -> PropertyIndex:
        """The index of property ``name`` whose values compare as ``normalize`` makes them (``kind``
        names that way, so a property whose type changed gets a new index); made on first use."""
        key = (name, kind)
        found = self._indexes[object_type].get(key)
        if found is None:
            found = PropertyIndex(normalize)
            for record in self.live(object_type):
                found.add(record.properties.get(name), int(record.id))
            self._indexes[object_type][key] = found
        return found

    def live_by_ids(self, object_type: str, numerics: Iterable[int]) -> list[Record]:
        """The live records among ``numerics``, in id order."""
        records = self._records[object_type]
        found = (records.get(str(n)) for n in sorted(set(numerics)))
        return [r for r in found if r is not None and not r.archived]

    def id_span(
        self, object_type: str, low: Any, high: Any, *, low_open: bool, high_open: bool
    ) -> tuple[int, int]:
        """``[first, last)`` of the sorted id list within the bounds (None: unbounded)."""
        order = self._order[object_type]
        first = 0 if low is None else (bisect.bisect_right if low_open else bisect.bisect_left)(order, low)
        last = (
            len(order)
            if high is None
            else (bisect.bisect_left if high_open else bisect.bisect_right)(order, high)
        )
        return first, max(first, last)

    def id_range(
        self, object_type: str, low: Any, high: Any, *, low_open: bool, high_open: bool
    ) -> list[int]:
        """Numeric ids within the bounds (None: unbounded), from the sorted id list."""
        first, last = self.id_span(object_type, low, high, low_open=low_open, high_open=high_open)
        return self._order[object_type][first:last]

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
