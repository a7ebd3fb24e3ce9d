"""Running a parsed SOQL query against an org: name resolution, typed filters, ordering, projection.

Resolution follows the API: unknown objects are ``INVALID_TYPE``, unknown or unreadable fields and
type-mismatched filter values are ``INVALID_FIELD`` (a date field compared with a quoted string fails
instead of comparing text). Text compares case-insensitively, as SOQL does, and ``!=`` / ``NOT IN``
match null values, as SOQL does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from . import ids, soql
from .errors import ApiError
from .schema import ID_TYPES, NUMBER_TYPES, TEXT_TYPES, FieldDef, FieldType, ObjectDef
from .store import Bound, Row
from .values import format_datetime

Predicate = Callable[[Row], bool]
Getter = Callable[[Row], Any]


class Catalog(Protocol):
    """What a query needs from a namespace (org data or Tooling tables)."""

    url_prefix: str
    """``sobjects`` or ``tooling/sobjects``: where a record's ``attributes.url`` points."""
    single_row_fields: frozenset[str]

    def object(self, name: str) -> ObjectDef | None: ...

    def field(self, obj: ObjectDef, name: str) -> FieldDef | None: ...

    def rows(self, obj: ObjectDef) -> Iterable[Row]: ...

    def lookup(self, obj: ObjectDef, record_id: str) -> Row | None: ...

    def today(self) -> dt.date: ...


def _error(source: str, pos: int, code: str, message: str) -> ApiError:
    return ApiError(400, code, f"\n{source}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{message}")


@dataclass(frozen=True)
class Column:
    ref: soql.FieldRef
    hops: tuple[tuple[FieldDef, ObjectDef], ...]
    """Each reference field followed and the object it leads to."""
    field: FieldDef
    get: Getter

    @property
    def header(self) -> str:
        """``Owner.Name``-style name in canonical spelling (Bulk CSV header)."""
        return ".".join([*(str(ref.relationship_name) for ref, _ in self.hops), self.field.name])


@dataclass(frozen=True)
class Seek:
    """What the WHERE requires of one Id or reference field at its top level (an ``AND`` of terms):
    the rows to look at come from that field's index instead of a scan. Every term of the WHERE is
    still checked on each row, so a seek decides what is looked at, never what matches."""

    field: str
    values: frozenset[Any] | None = None
    """``IN (...)`` / ``=``: the field holds one of these."""
    low: Bound | None = None
    """``>`` / ``>=`` (when no ``IN``/``=`` applies): ``(value, inclusive)``."""
    high: Bound | None = None
    """``<`` / ``<=``: ``(value, inclusive)``."""


@dataclass(frozen=True)
class CompiledQuery:
    obj: ObjectDef
    columns: tuple[Column, ...]
    count: bool
    predicate: Predicate | None
    order: tuple[tuple[Getter, bool, bool], ...]
    limit: int | None
    offset: int | None
    source: str
    seek: Seek | None = None
    """The index path the WHERE allows, if any."""
    id_order: bool | None = None
    """Descending or not when the only sort is ``ORDER BY Id`` (None otherwise): rows walk the Id index."""


def compile_query(query: soql.Query, catalog: Catalog) -> CompiledQuery:
    obj = catalog.object(query.sobject)
    if obj is None:
        raise _error(
            query.source,
            query.sobject_pos,
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, "
            "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
            "call for the appropriate names.",
        )
    compiler = _Compiler(query, catalog, obj)
    columns = tuple(compiler.column(ref) for ref in query.fields)
    seen: set[str] = set()
    for column in columns:
        key = column.header.lower()
        if key in seen:
            raise _error(
                query.source, column.ref.pos, "MALFORMED_QUERY", f"duplicate field selected: {column.header}"
            )
        seen.add(key)
    predicate = compiler.condition(query.where) if query.where is not None else None
    order = tuple(compiler.order_key(key) for key in query.order_by)
    seek = compiler.seek(query.where) if query.where is not None else None
    id_order = None
    if len(query.order_by) == 1:
        sort = compiler.column(query.order_by[0].field)
        if not sort.hops and sort.field.name == "Id":
            id_order = query.order_by[0].descending
    return CompiledQuery(
        obj,
        columns,
        query.count,
        predicate,
        order,
        query.limit,
        query.offset,
        query.source,
        seek,
        id_order,
    )


def execute(compiled: CompiledQuery, catalog: Catalog, *, include_deleted: bool = False) -> list[Row]:
    """Matching rows, ordered and sliced; rows are the stored records (a snapshot: stores never mutate rows)."""
    index = getattr(catalog, "seek", None)
    by_id = getattr(catalog, "by_id", None)
    seek = compiled.seek
    id_range = seek is not None and seek.field == "Id" and seek.values is None
    walk = compiled.id_order is not None and by_id is not None and (seek is None or id_range)
    rows: Iterable[Row]
    if walk:
        assert by_id is not None
        # already in the order asked: no sort, and a LIMIT (or the range's end) stops the walk
        low, high = (seek.low, seek.high) if seek is not None else (None, None)
        rows = by_id(compiled.obj, bool(compiled.id_order), low, high)
    elif seek is not None and index is not None:
        # the same rows in the same order as the scan, without it
        rows = index(
            compiled.obj,
            seek.field,
            values=seek.values,
            low=seek.low,
            high=seek.high,
            include_deleted=include_deleted,
        )
    else:
        rows = catalog.rows(compiled.obj)
    if not include_deleted:
        # query hides deleted rows and archived activities; queryAll returns both
        rows = (r for r in rows if not r.get("IsDeleted") and not r.get("IsArchived"))
    if compiled.predicate is not None:
        predicate = compiled.predicate
        rows = (r for r in rows if predicate(r))
    start = compiled.offset or 0
    end = start + compiled.limit if compiled.limit is not None else None
    if walk:
        return _single_row_check(compiled, catalog, list(itertools.islice(rows, start, end)))
    result = list(rows)
    for get, descending, nulls_first in reversed(compiled.order):
        null_rank = 0 if nulls_first != descending else 2

        def sort_key(row: Row, get: Getter = get, null_rank: int = null_rank) -> tuple[int, Any]:
            value = get(row)
            return (null_rank, 0) if value is None else (1, value)

        result.sort(key=sort_key, reverse=descending)
    return _single_row_check(compiled, catalog, result[start:end])


def _single_row_check(compiled: CompiledQuery, catalog: Catalog, result: list[Row]) -> list[Row]:
    single = [c for c in compiled.columns if not c.hops and c.field.name in catalog.single_row_fields]
    if single and len(result) > 1:
        raise ApiError(
            400,
            "MALFORMED_QUERY",
            "When retrieving results with Metadata or FullName fields, the query qualifications must specify "
            f"no more than one row for retrieval. Result size: {len(result)}",
        )
    return result


def attributes(obj: ObjectDef, row: Row, catalog: Catalog, version: str) -> dict[str, str]:
    return {"type": obj.name, "url": f"/services/data/v{version}/{catalog.url_prefix}/{obj.name}/{row['Id']}"}


def project(compiled: CompiledQuery, row: Row, catalog: Catalog, version: str) -> dict[str, Any]:
    """One record as the REST API returns it: ``attributes`` first, parents nested under relationship names."""
    out: dict[str, Any] = {"attributes": attributes(compiled.obj, row, catalog, version)}
    for column in compiled.columns:
        node = out
        current: Row | None = row
        for ref, target in column.hops:
            key = str(ref.relationship_name)
            record_id = current.get(ref.name) if current is not None else None
            parent = catalog.lookup(target, record_id) if record_id else None
            if parent is None:
                node.setdefault(key, None)
                current = None
                break
            child = node.get(key)
            if child is None:
                child = node[key] = {"attributes": attributes(target, parent, catalog, version)}
            node = child
            current = parent
        else:
            assert current is not None
            node[column.field.name] = current.get(column.field.name, column.field.missing)
    return out


def _required(node: soql.Condition) -> Iterator[soql.Comparison]:
    """The one-field comparisons every matching row must meet: ``node`` itself, or the operands of its
    top-level ``AND`` (none under an ``OR`` or a ``NOT``), in order."""
    if isinstance(node, soql.Junction):
        if node.op == "AND":
            for operand in node.operands:
                yield from _required(operand)
    elif isinstance(node, soql.Comparison) and len(node.field.path) == 1:
        yield node


def _kind(fd: FieldDef) -> str:
    if fd.type in TEXT_TYPES:
        return "text"
    if fd.type in ID_TYPES:
        return "id"
    if fd.type in NUMBER_TYPES:
        return "number"
    return fd.type.value


_EXPECTED = {
    "text": "string",
    "id": "id",
    "number": "double",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
}
_LITERAL_FOR_KIND = {
    "text": "string",
    "id": "string",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


class _Compiler:
    def __init__(self, query: soql.Query, catalog: Catalog, obj: ObjectDef) -> None:
        self.query = query
        self.catalog = catalog
        self.obj = obj

    def column(self, ref: soql.FieldRef) -> Column:
        obj = self.obj
        hops: list[tuple[FieldDef, ObjectDef]] = []
        for segment in ref.path[:-1]:
            fd = obj.relationship(segment)
            target = self.catalog.object(fd.reference_to[0]) if fd is not None and fd.reference_to else None
            if fd is None or target is None or self.catalog.field(obj, fd.name) is None:
                raise _error(
                    self.query.source,
                    ref.pos,
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{segment}' in field path. If you are attempting to use a "
                    "custom relationship, be sure to append the '__r' after the custom relationship name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                )
            hops.append((fd, target))
            obj = target
        fd = self.catalog.field(obj, ref.path[-1])
        if fd is None:
            raise _error(
                self.query.source,
                ref.pos,
                "INVALID_FIELD",
                f"No such column '{ref.path[-1]}' on entity '{obj.name}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name. Please reference your WSDL or "
                "the describe call for the appropriate names.",
            )
        return Column(ref, tuple(hops), fd, self._getter(tuple(hops), fd))

    def _getter(self, hops: tuple[tuple[FieldDef, ObjectDef], ...], fd: FieldDef) -> Getter:
        name, missing = fd.name, fd.missing
        if not hops:
            return lambda row: row.get(name, missing)
        lookup = self.catalog.lookup

        def get(row: Row) -> Any:
            current: Row | None = row
            for ref, target in hops:
                record_id = current.get(ref.name) if current is not None else None
                current = lookup(target, record_id) if record_id else None
                if current is None:
                    return None
            return current.get(name, missing) if current is not None else None

        return get

    def _normalized_getter(self, column: Column) -> Getter:
        get = column.get
        kind = _kind(column.field)
        if kind == "text":
            return lambda row: v.casefold() if isinstance(v := get(row), str) else v
        if kind == "number":
            return lambda row: float(v) if (v := get(row)) is not None else None
        return get

    def order_key(self, key: soql.OrderKey) -> tuple[Getter, bool, bool]:
        column = self.column(key.field)
        if column.field.type is FieldType.COMPLEX or (
            column.field.type is FieldType.TEXTAREA and column.field.length > 255
        ):
            raise _error(
                self.query.source,
                key.field.pos,
                "INVALID_FIELD",
                f"field '{column.field.name}' can not be sorted in a query call",
            )
        return self._normalized_getter(column), key.descending, key.nulls_first

    def seek(self, node: soql.Condition) -> Seek | None:
        """The index path ``node`` allows (call after :meth:`condition`, which raises the errors): the
        first ``IN``/``=`` on an Id or reference field, else the range on one such field or on a
        datetime (the change query's ``SystemModstamp >= t``), one bounded on both sides first (a
        page of accounts' evidence: ``AccountId >= a AND AccountId <= b``)."""
        ranges: dict[str, dict[str, Bound]] = {}
        for term in _required(node):
            literals = term.value if isinstance(term.value, tuple) else (term.value,)
            column = self.column(term.field)
            kind = _kind(column.field)
            if kind not in ("id", "datetime") or not all(
                lit.kind == _LITERAL_FOR_KIND[kind] for lit in literals
            ):
                continue
            name = column.field.name
            if term.op in ("IN", "=") and kind == "id":
                return Seek(name, values=frozenset(self._literal(column, lit) for lit in literals))
            if term.op in (">", ">=", "<", "<="):
                side = "low" if term.op.startswith(">") else "high"
                bounds = ranges.setdefault(name, {})
                bounds.setdefault(side, (self._literal(column, literals[0]), term.op.endswith("=")))
        if not ranges:
            return None
        name, bounds = max(ranges.items(), key=lambda item: len(item[1]))  # max keeps the first of equals
        return Seek(name, low=bounds.get("low"), high=bounds.get("high"))

    def condition(self, node: soql.Condition) -> Predicate:
        if isinstance(node, soql.Junction):
            parts = [self.condition(op) for op in node.operands]
            if node.op == "AND":
                return lambda row: all(p(row) for p in parts)
            return lambda row: any(p(row) for p in parts)
        if isinstance(node, soql.Not):
            inner = self.condition(node.operand)
            return lambda row: not inner(row)
        return self.comparison(node)

    def _literal(self, column: Column, literal: soql.Literal) -> Any:
        kind = _kind(column.field)
        if literal.kind == "null":
            return None
        if literal.kind != _LITERAL_FOR_KIND[kind]:
            quoted = "be enclosed in quotes" if kind in ("text", "id") else "not be enclosed in quotes"
            raise _error(
                self.query.source,
                literal.pos,
                "INVALID_FIELD",
                f"value of filter criterion for field '{column.field.name}' must be of type {_EXPECTED[kind]} "
                f"and should {quoted}",
            )
        value = literal.value
        if kind == "text":
            return str(value).casefold()
        if kind == "id":
            normalized = ids.normalize(str(value))
            if normalized is None:
                raise ApiError(400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}")
            return normalized
        if kind == "number":
            return float(value)  # type: ignore[arg-type]
        if kind == "date":
            return value.isoformat()  # type: ignore[attr-defined]
        if kind == "datetime":
            return format_datetime(value)  # type: ignore[arg-type]
        return value

    def comparison(self, node: soql.Comparison) -> Predicate:
        column = self.column(node.field)
        fd = column.field
        if fd.type is FieldType.COMPLEX or (fd.type is FieldType.TEXTAREA and fd.length > 255):
            raise _error(
                self.query.source,
                node.field.pos,
                "INVALID_FIELD",
                f"field '{fd.name}' can not be filtered in a query call",
            )
        get = self._normalized_getter(column)
        op = node.op
        if op in ("IN", "NOT IN"):
            assert isinstance(node.value, tuple)
            members = {self._literal(column, lit) for lit in node.value}
            if op == "IN":
                return lambda row: get(row) in members
            return lambda row: (v := get(row)) is None or v not in members
        assert isinstance(node.value, soql.Literal)
        literal = node.value
        if op == "LIKE":
            return self._like(column, literal, get)
        if literal.kind == "date_literal":
            return self._date_range(column, literal, op, get)
        value = self._literal(column, literal)
        if (value is None or _kind(fd) == "boolean") and op not in ("=", "!="):
            raise ApiError(
                400,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"operator {op} is not valid for field '{fd.name}' with value {literal.text}",
            )
        return _operator(op, value, get)

    def _like(self, column: Column, literal: soql.Literal, get: Getter) -> Predicate:
        if _kind(column.field) != "text" or literal.kind != "string":
            raise ApiError(
                400,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on field '{column.field.name}': LIKE works on text fields with a quoted pattern",
            )
        text = str(literal.value)
        parts = []
        for index, char in enumerate(text):
            if char == "%" and index not in literal.escaped_wildcards:
                parts.append(".*")
            elif char == "_" and index not in literal.escaped_wildcards:
                parts.append(".")
            else:
                parts.append(re.escape(char))
        pattern = re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
        return lambda row: isinstance(v := get(row), str) and pattern.fullmatch(v) is not None

    def _date_range(self, column: Column, literal: soql.Literal, op: str, get: Getter) -> Predicate:
        kind = _kind(column.field)
        if kind not in ("date", "datetime"):
            raise _error(
                self.query.source,
                literal.pos,
                "INVALID_FIELD",
                f"value of filter criterion for field '{column.field.name}' must be of type {_EXPECTED[kind]}",
            )
        today = self.catalog.today()
        n = literal.n
        one = dt.timedelta(days=1)
        first, last = {
            "TODAY": (today, today),
            "YESTERDAY": (today - one, today - one),
            "TOMORROW": (today + one, today + one),
            "LAST_N_DAYS": (today - n * one, today),
            "NEXT_N_DAYS": (today + one, today + n * one),
            "N_DAYS_AGO": (today - n * one, today - n * one),
        }[str(literal.value)]
        if kind == "date":
            low, high = first.isoformat(), last.isoformat()
        else:
            low, high = f"{first.isoformat()}T00:00:00.000+0000", f"{last.isoformat()}T23:59:59.999+0000"
        tests: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: v is not None and low <= v <= high,
            "!=": lambda v: v is None or not low <= v <= high,
            "<": lambda v: v is not None and v < low,
            "<=": lambda v: v is not None and v <= high,
            ">": lambda v: v is not None and v > high,
            ">=": lambda v: v is not None and v >= low,
        }
        test = tests[op]
        return lambda row: test(get(row))


def _operator(op: str, value: Any, get: Getter) -> Predicate:
    if op == "=":
        return lambda row: get(row) == value
    if op == "!=":
        return lambda row: get(row) != value
    if op == "<":
        return lambda row: (v := get(row)) is not None and v < value
    if op == "<=":
        return lambda row: (v := get(row)) is not None and v <= value
    if op == ">":
        return lambda row: (v := get(row)) is not None and v > value
    return lambda row: (v := get(row)) is not None and v >= value
