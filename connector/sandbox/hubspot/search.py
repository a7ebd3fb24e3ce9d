"""``POST /crm/v3/objects/{type}/search``: filters, one sort, offset paging, and HubSpot's limits.

Limits follow HubSpot's search guide and its August 2024 changelog: up to 5 filter groups (OR), up to 10
filters per group and 25 in all (AND inside a group), one sort, ``limit`` up to 200, and no paging past
the 10,000th result (a 400), while ``total`` still counts every match. Values compare by the property's
type: numbers (``hs_object_id`` too) numerically, dates and datetimes as instants given as epoch
milliseconds or ISO text, everything else case-insensitively. Sorted matches are cached per store
version so that paging through a large result costs one scan, not one per page. A filter group with an
``EQ``/``IN`` or a range filter (``hs_object_id`` windows, ``hs_lastmodifieddate >=``) takes its
candidates from the store's indexes instead of a scan; every filter is still checked on each candidate,
so the index only decides what is looked at, never what matches.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.sandbox.hubspot.errors import ApiError, validation
from connector.sandbox.hubspot.properties import PropertyDef, PropertyRegistry, parse_datetime
from connector.sandbox.hubspot.store import ObjectStore, PropertyIndex, Record

MAX_LIMIT = 200
RESULT_CAP = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
MAX_QUERY_CHARS = 3000
OBJECT_ID = "hs_object_id"
_TOKEN = re.compile(r"[^\w@.*-]+")

Key = tuple[int, Any]
"""Comparable form of a value: (0, None) when missing so that missing sorts first."""


class Search:
    def __init__(self, store: ObjectStore, registry: PropertyRegistry) -> None:
        self._store = store
        self._registry = registry
        self._cache: OrderedDict[tuple[str, str, int], list[Record]] = OrderedDict()

    def run(self, object_type: str, body: dict[str, Any]) -> tuple[list[Record], int, str | None]:
        """The page of matches, the total match count and the next ``after`` cursor."""
        limit = int(body.get("limit") or 10)
        if limit < 1 or limit > MAX_LIMIT:
            raise validation(f"limit must be between 1 and {MAX_LIMIT}; got {limit}.")
        after_raw = body.get("after") or "0"
        try:
            offset = int(after_raw)
        except ValueError as exc:
            raise validation(f"after must be a number; got {after_raw!r}.") from exc
        if offset >= RESULT_CAP:
            raise validation(
                f"Search results are capped at {RESULT_CAP} per query; after={offset} pages past the cap. "
                "Narrow the query (for example a window on hs_object_id) instead of paging further."
            )
        matches = self._matches(object_type, body)
        end = min(offset + limit, len(matches), RESULT_CAP)
        page = matches[offset:end]
        next_after = str(end) if end < len(matches) else None
        return page, len(matches), next_after

    def _matches(self, object_type: str, body: dict[str, Any]) -> list[Record]:
        criteria = {k: body.get(k) for k in ("filterGroups", "sorts", "query")}
        key = (object_type, json.dumps(criteria, sort_keys=True), self._store.version[object_type])
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        groups = body.get("filterGroups") or []
        predicate = self._predicate(object_type, groups, body.get("query"))
        candidates = self._candidates(object_type, groups)
        pool = self._store.live(object_type) if candidates is None else candidates
        found = [record for record in pool if predicate(record)]
        sort_name, descending = _sort(body.get("sorts") or [])
        if sort_name is not None:
            definition = self._definition(object_type, sort_name)
            found.sort(
                key=lambda r: (_key(definition, r.properties.get(sort_name)), int(r.id)), reverse=descending
            )
        self._cache[key] = found
        if len(self._cache) > 32:
            self._cache.popitem(last=False)
        return found

    def _candidates(self, object_type: str, groups: list[dict[str, Any]]) -> list[Record] | None:
        """The live records that may match, from the indexes (None: some group needs a scan). Each
        group takes its smallest indexed filter; the groups' candidates are joined (they are ORed)."""
        if not groups:
            return None
        numerics: set[int] = set()
        for group in groups:
            options = [found for f in group.get("filters") or [] if (found := self._indexed(object_type, f))]
            if not options:
                return None
            _, ids = min(options, key=lambda option: option[0])
            numerics.update(ids())
        return self._store.live_by_ids(object_type, numerics)

    def _indexed(
        self, object_type: str, spec: dict[str, Any]
    ) -> tuple[int, Callable[[], Iterable[int]]] | None:
        """``(how many, the ids)`` a filter allows, from an index; None when no index can serve it.
        The count comes without gathering the ids: a group gathers only its smallest filter's, so an
        ``hs_object_id > 0`` beside a narrow filter costs nothing, not a copy of every id."""
        name, operator = str(spec.get("propertyName")), str(spec.get("operator"))
        definition = self._registry.get(object_type, name)
        if definition is None:
            return None
        if operator in ("EQ", "IN"):
            raw = spec.get("values") if operator == "IN" else [spec.get("value")]
            if not raw or any(v is None for v in raw):
                return None
            keys = {_filter_key(definition, str(v)) for v in raw}
            if name == OBJECT_ID:
                numerics = [int(k[1]) for k in keys if k[1] == int(k[1])]
                return len(numerics), lambda: numerics
            index = self._index(object_type, definition)
            return index.count_equal(keys), lambda: index.equal(keys)
        bounds = _range(definition, operator, spec)
        if bounds is None:
            return None
        low, high, low_open, high_open = bounds
        if name == OBJECT_ID:
            ends = (None if low is None else low[1], None if high is None else high[1])
            first, last = self._store.id_span(object_type, *ends, low_open=low_open, high_open=high_open)
            return last - first, lambda: self._store.id_range(
                object_type, *ends, low_open=low_open, high_open=high_open
            )
        index = self._index(object_type, definition)
        first, last = index.span(low, high, low_open=low_open, high_open=high_open)
        return last - first, lambda: index.between(low, high, low_open=low_open, high_open=high_open)

    def _index(self, object_type: str, definition: PropertyDef) -> PropertyIndex:
        return self._store.index(
            object_type, definition.name, definition.type, lambda value: _key(definition, value)
        )

    def _definition(self, object_type: str, name: str) -> PropertyDef:
        definition = self._registry.get(object_type, name)
        if definition is None:
            raise validation(
                f"Property {name} does not exist on {object_type}; it cannot be searched or sorted."
            )
        return definition

    def _predicate(
        self, object_type: str, groups: list[dict[str, Any]], query: str | None
    ) -> Callable[[Record], bool]:
        if len(groups) > MAX_GROUPS:
            raise validation(f"Too many filter groups: {len(groups)} (maximum {MAX_GROUPS}).")
        total = sum(len(g.get("filters") or []) for g in groups)
        if total > MAX_FILTERS:
            raise validation(f"Too many filters: {total} (maximum {MAX_FILTERS} in all).")
        compiled: list[list[Callable[[Record], bool]]] = []
        for group in groups:
            filters = group.get("filters") or []
            if len(filters) > MAX_FILTERS_PER_GROUP:
                raise validation(
                    f"Too many filters in a group: {len(filters)} (maximum {MAX_FILTERS_PER_GROUP})."
                )
            compiled.append([self._filter(object_type, f) for f in filters])
        text = (query or "").strip().lower()
        if len(text) > MAX_QUERY_CHARS:
            raise validation(f"query is longer than {MAX_QUERY_CHARS} characters.")

        def matches(record: Record) -> bool:
            if text and not any(text in value.lower() for value in record.properties.values()):
                return False
            return not compiled or any(all(f(record) for f in group) for group in compiled)

        return matches

    def _filter(self, object_type: str, spec: dict[str, Any]) -> Callable[[Record], bool]:
        name = str(spec["propertyName"])
        operator = str(spec["operator"])
        definition = self._definition(object_type, name)

        def stored(record: Record) -> str | None:
            return record.properties.get(name) or None

        if operator == "HAS_PROPERTY":
            return lambda r: stored(r) is not None
        if operator == "NOT_HAS_PROPERTY":
            return lambda r: stored(r) is None
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = str(spec.get("value") or "").lower()
            wanted = operator == "CONTAINS_TOKEN"
            return lambda r: _has_token(stored(r), pattern) == wanted
        if operator in ("IN", "NOT_IN"):
            values = spec.get("values")
            if not values:
                raise validation(f"Operator {operator} on {name} needs a non-empty 'values' list.")
            keys = {_filter_key(definition, str(v)) for v in values}
            inside = operator == "IN"
            return lambda r: (stored(r) is not None and _key(definition, stored(r)) in keys) == inside
        if "value" not in spec or spec["value"] is None:
            raise validation(f"Operator {operator} on {name} needs a 'value'.")
        low = _filter_key(definition, str(spec["value"]))
        if operator == "BETWEEN":
            if spec.get("highValue") is None:
                raise validation(f"Operator BETWEEN on {name} needs a 'highValue'.")
            high = _filter_key(definition, str(spec["highValue"]))
            return lambda r: stored(r) is not None and low <= _key(definition, stored(r)) <= high
        compare: dict[str, Callable[[Key], bool]] = {
            "EQ": lambda k: k == low,
            "NEQ": lambda k: k != low,
            "LT": lambda k: k < low,
            "LTE": lambda k: k <= low,
            "GT": lambda k: k > low,
            "GTE": lambda k: k >= low,
        }
        if operator not in compare:
            raise validation(f"Unknown filter operator {operator}.")
        test = compare[operator]
        if operator == "NEQ":
            return lambda r: stored(r) is None or test(_key(definition, stored(r)))
        return lambda r: stored(r) is not None and test(_key(definition, stored(r)))


def _range(
    definition: PropertyDef, operator: str, spec: dict[str, Any]
) -> tuple[Key | None, Key | None, bool, bool] | None:
    """``(low, high, low open, high open)`` of a range filter, None for any other (or a malformed one:
    the predicate then raises the error)."""
    try:
        value = _filter_key(definition, str(spec["value"]))
        if operator == "BETWEEN":
            return value, _filter_key(definition, str(spec["highValue"])), False, False
    except (KeyError, ApiError):
        return None
    return {
        "GT": (value, None, True, False),
        "GTE": (value, None, False, False),
        "LT": (None, value, False, True),
        "LTE": (None, value, False, False),
    }.get(operator)


def _sort(sorts: list[Any]) -> tuple[str | None, bool]:
    """One sort, as ``{"propertyName", "direction"}`` (the docs) or a property name, ``-`` for descending."""
    if not sorts:
        return "hs_object_id", False
    if len(sorts) > 1:
        raise validation("Only one sort is allowed in a search request.")
    only = sorts[0]
    if isinstance(only, dict):
        return str(only.get("propertyName")), str(only.get("direction", "ASCENDING")).upper() == "DESCENDING"
    text = str(only)
    return (text[1:], True) if text.startswith("-") else (text, False)


def _key(definition: PropertyDef, value: str | None) -> Key:
    if value is None:
        return (0, None)
    if definition.type == "number":
        try:
            return (1, Decimal(value))
        except InvalidOperation:
            return (1, Decimal(0))
    if definition.type in ("date", "datetime"):
        moment = parse_datetime(value)
        return (1, moment.timestamp() if moment else 0.0)
    return (1, value.lower())


def _filter_key(definition: PropertyDef, value: str) -> Key:
    if definition.type == "number":
        try:
            return (1, Decimal(value))
        except InvalidOperation as exc:
            raise validation(f"{value} is not a valid number for {definition.name}.") from exc
    if definition.type in ("date", "datetime"):
        moment = parse_datetime(value)
        if moment is None:
            raise validation(f"{value} is not a valid date for {definition.name}: use epoch milliseconds.")
        if definition.type == "date":
            moment = dt.datetime.combine(moment.date(), dt.time(0), tzinfo=dt.UTC)
        return (1, moment.timestamp())
    return (1, value.lower())


def _has_token(value: str | None, pattern: str) -> bool:
    if value is None:
        return False
    return any(fnmatch.fnmatchcase(token, pattern) for token in _TOKEN.split(value.lower()) if token)
