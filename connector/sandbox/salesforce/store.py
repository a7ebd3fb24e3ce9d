"""Rows of one namespace (the org's data, or the Tooling API's tables), with field indexes and undo.

Callers hold the sandbox lock. Rows are stored as compact records (``rows.py``), replaced, never
mutated in place, so a query cursor holding row references keeps the snapshot it was opened on. A
journal makes ``allOrNone`` rollbacks exact. Each table also keeps its Ids sorted (a ``SortedList``:
O(log n) to add or drop one), so that ``ORDER BY Id`` walks them instead of sorting the table, and a
``LIMIT`` or an ``Id`` range stops or starts the walk.

A field index (external Ids and unique fields from the start, a reference or datetime field on its
first query) maps each value to its rows, deleted ones too (``queryAll`` seeks them; ``lookup`` leaves
them out), and keeps its values sorted, so that ``AccountId IN (...)``, ``AccountId >= a AND
AccountId <= b`` and the change query's ``SystemModstamp >= t`` cost the rows they return, not the
table's size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sortedcontainers import SortedList

from .ids import IdFactory
from .rows import Record, Shapes
from .schema import ID_TYPES, NUMBER_TYPES, TEXT_TYPES, FieldDef, FieldType, ObjectDef

Row = Record
Bound = tuple[Any, bool]
"""``(value, inclusive)``: one end of a range."""
RANGE_TYPES = frozenset({*ID_TYPES, FieldType.DATETIME})
"""Fields whose stored text sorts as the query compares them (Ids; datetimes in one fixed UTC
format), so an index of theirs keeps its values sorted and answers ranges."""


def index_key(fd: FieldDef, value: Any) -> Any:
    """External Ids match case-insensitively for text and by value for numbers, like the API."""
    if fd.type in TEXT_TYPES and isinstance(value, str):
        return value.casefold()
    if fd.type in NUMBER_TYPES and isinstance(value, int | float):
        return float(value)
    return value


def _span(ordered: SortedList[Any], low: Bound | None, high: Bound | None) -> tuple[int, int]:
    """``[start, end)`` of the entries of ``ordered`` within the bounds (None: open on that side)."""
    start, end = 0, len(ordered)
    if low is not None:
        start = (ordered.bisect_left if low[1] else ordered.bisect_right)(low[0])
    if high is not None:
        end = (ordered.bisect_right if high[1] else ordered.bisect_left)(high[0])
    return start, max(start, end)


def _few_valued(obj: ObjectDef) -> list[str]:
    """Fields of ``obj`` whose values a row shape holds: checkboxes, picklists, and the ``User`` a row was
    created by, last modified by or is owned by (an org has few users; most rows name the API user)."""
    return [fd.name for fd in obj.fields.values() if fd.type in _FEW_VALUED or fd.reference_to == ("User",)]


_FEW_VALUED = frozenset({FieldType.BOOLEAN, FieldType.PICKLIST})


class Store:
    def __init__(self, objects: dict[str, ObjectDef], id_factory: IdFactory) -> None:
        self.objects = objects
        self.ids = id_factory
        self.tables: dict[str, dict[str, Row]] = {name: {} for name in objects}
        self.versions: dict[str, int] = dict.fromkeys(objects, 0)
        self._shapes: dict[str, Shapes] = {name: Shapes(_few_valued(obj)) for name, obj in objects.items()}
        """Per table, the shapes of its rows (each row stores only its values)."""
        self._indexes: dict[tuple[str, str], dict[Any, set[str]]] = {}
        self._indexed: set[str] = set()
        """The tables with at least one index (a write to another has none to keep current)."""
        self._keys: dict[tuple[str, str], SortedList[Any]] = {}
        """Per index of a ``RANGE_TYPES`` field, its values in ascending order (a range is two bisects;
        adding or dropping a value costs O(log n), not a move of the whole list)."""
        self._journal: list[tuple[str, str, Row | None]] | None = None
        self._position: dict[str, dict[str, int]] = {}
        """Per table whose scan order (the order rows were first stored in) is no longer its Id order,
        each Id's place in it, so a seek returns rows in scan order. A table whose rows were all stored
        in ascending Id order (every Id the factory hands out is above the last) needs none: its Id order
        is its scan order, and a million-row table is spared a million-entry map."""
        self._sorted: dict[str, SortedList[str]] = {name: SortedList() for name in objects}
        """Per table, its Ids in ascending order (how ``ORDER BY Id`` compares them)."""
        self._inserted = 0
        for obj in objects.values():
            for fd in obj.fields.values():
                if fd.unique or fd.external_id:
                    self.ensure_index(obj, fd)

    # -- catalog -------------------------------------------------------------------------------
    def object(self, name: str) -> ObjectDef | None:
        lowered = name.lower()
        for obj in self.objects.values():
            if obj.name.lower() == lowered:
                return obj
        return None

    def object_for_id(self, record_id: str) -> ObjectDef | None:
        prefix = record_id[:3]
        for obj in self.objects.values():
            if obj.key_prefix == prefix:
                return obj
        return None

    def new_id(self, obj: ObjectDef) -> str:
        return self.ids.new(obj.key_prefix)

    # -- rows ----------------------------------------------------------------------------------
    def get(self, obj: str, record_id: str) -> Row | None:
        return self.tables[obj].get(record_id)

    def rows(self, obj: str) -> Iterator[Row]:
        return iter(self.tables[obj].values())

    def put(self, obj: str, values: Mapping[str, Any]) -> None:
        """Store ``values`` (a dict, or a stored record) as the row of its ``Id``, replacing the old one."""
        table = self.tables[obj]
        shapes = self._shapes.get(obj)
        if shapes is None:
            shapes = self._shapes[obj] = Shapes(_few_valued(self.objects[obj]))
        row = shapes.record(values)
        record_id = values["Id"]
        old = table.get(record_id)
        if self._journal is not None:
            self._journal.append((obj, record_id, old))
        if obj in self._indexed:
            self._reindex(obj, record_id, old, row)
        if old is None:
            self._place(obj, record_id)
        table[record_id] = row
        self.versions[obj] += 1

    def remove(self, obj: str, record_id: str) -> None:
        old = self.tables[obj].pop(record_id, None)
        if old is not None:
            if self._journal is not None:
                self._journal.append((obj, record_id, old))
            self._reindex(obj, record_id, old, None)
            self._unplace(obj, record_id)
            self.versions[obj] += 1

    def _place(self, obj: str, record_id: str) -> None:
        """Enter a new Id (before its row is stored) in the Id order and, if kept, the scan order."""
        ids = self._sorted.setdefault(obj, SortedList())
        position = self._position.get(obj)
        if position is None and ids and record_id < ids[-1]:
            # stored out of Id order from here on: the scan order needs its own record
            position = self._position[obj] = {}
            for record in self.tables[obj]:
                self._inserted += 1
                position[record] = self._inserted
        if position is not None:
            self._inserted += 1
            position[record_id] = self._inserted
        ids.add(record_id)

    def _unplace(self, obj: str, record_id: str) -> None:
        position = self._position.get(obj)
        if position is not None:
            position.pop(record_id, None)
        self._sorted.setdefault(obj, SortedList()).discard(record_id)

    def by_id(
        self,
        obj: str,
        *,
        descending: bool = False,
        low: Bound | None = None,
        high: Bound | None = None,
    ) -> Iterator[Row]:
        """Every row (deleted ones too, as ``rows``) in Id order, within ``low``/``high`` when given
        (``(Id, inclusive)``: the query's ``Id >``/``>=`` and ``Id <``/``<=``), so the walk starts and
        stops at the bounds."""
        table = self.tables[obj]
        ids = self._sorted.setdefault(obj, SortedList())
        start, end = _span(ids, low, high)
        return (table[i] for i in ids.islice(start, end, reverse=descending))

    def seek(
        self,
        obj: str,
        field: str,
        *,
        values: frozenset[Any] | None = None,
        low: Bound | None = None,
        high: Bound | None = None,
        include_deleted: bool = False,
    ) -> list[Row]:
        """Rows whose ``field`` (``Id``, a reference, or for a range a datetime) is one of ``values``,
        or else within ``low`` / ``high`` (``(value, inclusive)``), in scan order, deleted ones only
        with ``include_deleted``: the query engine's index path for ``Id IN (...)``, ``AccountId =
        ...``, an ``AccountId`` range and ``SystemModstamp >= t``, so a call costs what it returns,
        not the table's size."""
        table = self.tables[obj]
        found: set[str]
        if field == "Id":
            if values is not None:
                found = {v for v in values if v in table}
            else:
                ids = self._sorted.setdefault(obj, SortedList())
                start, end = _span(ids, low, high)
                found = set(ids.islice(start, end))
        else:
            fd = self.objects[obj].fields.get(field)
            if fd is None:
                return []
            self.ensure_index(self.objects[obj], fd)  # once per field, kept current by put/remove
            key = (self.objects[obj].name, fd.name)
            index = self._indexes[key]
            if values is not None:
                found = set().union(*(index.get(index_key(fd, v), ()) for v in values))
            else:
                keys = self._keys.get(key)
                if keys is None:
                    raise ValueError(f"{obj}.{field} has no range path (not one of RANGE_TYPES)")
                start, end = _span(keys, low, high)
                found = set().union(*(index[k] for k in keys.islice(start, end)))
        position = self._position.get(obj)
        ordered = sorted(found) if position is None else sorted(found, key=position.__getitem__)
        rows = [table[i] for i in ordered]
        return rows if include_deleted else [r for r in rows if not r.get("IsDeleted")]

    # -- external Id / unique indexes -----------------------------------------------------------
    def ensure_index(self, obj: ObjectDef, fd: FieldDef) -> None:
        key = (obj.name, fd.name)
        if key in self._indexes:
            return
        index: dict[Any, set[str]] = {}
        for row in self.tables.get(obj.name, {}).values():
            value = row.get(fd.name)
            if value is not None:
                index.setdefault(index_key(fd, value), set()).add(row["Id"])
        self._indexes[key] = index
        self._indexed.add(obj.name)
        if fd.type in RANGE_TYPES:
            self._keys[key] = SortedList(index)

    def drop_index(self, obj: str, field: str) -> None:
        self._indexes.pop((obj, field), None)
        self._indexed = {table for table, _ in self._indexes}
        self._keys.pop((obj, field), None)

    def lookup(self, obj: ObjectDef, fd: FieldDef, value: Any) -> set[str]:
        """Ids of the live rows holding ``value`` in ``fd`` (an external Id or unique field)."""
        table = self.tables[obj.name]
        index = self._indexes.get((obj.name, fd.name))
        if index is None:
            wanted = index_key(fd, value)
            return {
                r["Id"]
                for r in table.values()
                if not r.get("IsDeleted") and index_key(fd, r.get(fd.name)) == wanted
            }
        return {i for i in index.get(index_key(fd, value), ()) if not table[i].get("IsDeleted")}

    def _reindex(self, obj: str, record_id: str, old: Row | None, new: Row | None) -> None:
        definition = self.objects[obj]
        for (table, field), index in self._indexes.items():
            if table != obj:
                continue
            fd = definition.fields.get(field)
            if fd is None:
                continue
            before = None if old is None or old.get(field) is None else index_key(fd, old[field])
            after = None if new is None or new.get(field) is None else index_key(fd, new[field])
            if before == after:
                continue
            keys = self._keys.get((table, field))
            if before is not None:
                ids = index.get(before)
                if ids is not None:
                    ids.discard(record_id)
                    if not ids:
                        del index[before]
                        if keys is not None:
                            keys.remove(before)
            if after is not None:
                if after not in index:
                    index[after] = set()
                    if keys is not None:
                        keys.add(after)
                index[after].add(record_id)

    # -- all-or-none ----------------------------------------------------------------------------
    def begin(self) -> None:
        self._journal = []

    def commit(self) -> None:
        self._journal = None

    def rollback(self) -> None:
        journal, self._journal = self._journal or [], None
        for obj, record_id, old in reversed(journal):
            current = self.tables[obj].get(record_id)
            self._reindex(obj, record_id, current, old)
            if old is None:
                if self.tables[obj].pop(record_id, None) is not None:
                    self._unplace(obj, record_id)
            else:
                if current is None:
                    self._place(obj, record_id)
                self.tables[obj][record_id] = old
            self.versions[obj] += 1
