"""Salesforce rows -> canonical records and current write-back values, driven only by the mapping.

Each canonical field's Python type (from ``model.py``) picks its conversion; the mapping's
``values`` tables translate CRM values first. A picklist value the mapping does not know becomes
None for an enum field (with one warning per value), never a guessed status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import types
import typing
from collections.abc import Callable
from typing import Any

from connector import model
from connector.crm import base
from connector.crm.base import CurrentValues
from connector.crm.mapping import Condition, FieldSource, SourceMapping, WritebackMapping
from connector.crm.salesforce.values import (
    to_bool,
    to_codes,
    to_date,
    to_datetime,
    to_float,
    to_int,
    to_text,
    value_at,
)
from connector.model import Account

log = logging.getLogger(__name__)

Row = dict[str, Any]
Extract = Callable[[Any], Any]
Lookup = Callable[[str], Extract]
"""A field path -> a reader of that field's value from one row (a REST row dict, or Bulk cells)."""


def in_row(path: str) -> Extract:
    """The field at ``path`` of a REST-shaped row dict."""
    return lambda row: value_at(row, path)


_PLAIN: dict[Any, Callable[[Any], Any]] = {
    str: to_text,
    int: to_int,
    float: to_float,
    bool: to_bool,
    dt.date: to_date,
    dt.datetime: to_datetime,
}


def _target_type(annotation: Any) -> Any:
    """``X`` of ``X | None``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _converter(annotation: Any) -> Callable[[Any], Any]:
    target = _target_type(annotation)
    if typing.get_origin(target) is tuple:
        return to_codes
    if target in _PLAIN:
        return _PLAIN[target]
    if isinstance(target, type) and issubclass(target, enum.Enum):
        return _EnumValue(target)
    raise TypeError(f"no Salesforce conversion for canonical type {annotation!r}")


class _EnumValue:
    """Reads an enum member by value, then by the value's snake_case (``No Show`` -> ``no_show``)."""

    def __init__(self, enum_type: type[enum.Enum]) -> None:
        self._type = enum_type
        self._warned: set[str] = set()

    def __call__(self, value: Any) -> Any:
        text = to_text(value)
        if text is None:
            return None
        for candidate in (text, text.strip().lower().replace(" ", "_").replace("-", "_")):
            try:
                return self._type(candidate)
            except ValueError:
                continue
        if text not in self._warned:
            self._warned.add(text)
            log.warning(
                "%s: unknown value %r read as missing (add it to the mapping's values)",
                self._type.__name__,
                text,
            )
        return None


def _translate(table: dict[str, str]) -> Callable[[Any], Any]:
    folded = {k.casefold(): v for k, v in table.items()}

    def translate(value: Any) -> Any:
        if value is None:
            return None
        text = to_text(value) or ""
        if text in table:
            return table[text]
        return folded.get(text.casefold(), value)

    return translate


MEMO_SIZE = 4096
"""Distinct texts remembered per field by :func:`_memo` (picklist values, days: a few hundred)."""


def _memo(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` remembering its answer for up to ``MEMO_SIZE`` texts: a full read converts the
    same few picklist values and days millions of times. Only for pure conversions to immutable
    values (dates, enum members, code tuples, flags)."""
    cache: dict[str, Any] = {}

    def cached(value: Any) -> Any:
        if type(value) is not str:
            return convert(value)
        if value in cache:
            return cache[value]
        result = convert(value)
        if len(cache) < MEMO_SIZE:
            cache[value] = result
        return result

    return cached


def _condition(condition: Condition, lookup: Lookup, memo: bool) -> Extract:
    wanted = {v.casefold() for v in condition.in_}
    field = lookup(condition.field)

    def holds(value: Any) -> bool:
        # A null field holds none of the values (as in SOQL ``IN``): the record is known, the flag false.
        return any(code.casefold() in wanted for code in to_codes(value))

    held = _memo(holds) if memo else holds
    return lambda row: held(field(row))


def _extractor(
    source: FieldSource, annotation: Any, table: dict[str, str] | None, lookup: Lookup, memo: bool
) -> Extract:
    if isinstance(source, Condition):
        return _condition(source, lookup, memo)
    convert = _converter(annotation)
    translate = _translate(table) if table else None
    field = lookup(source)
    if translate is not None:
        plain = convert
        convert = lambda value: plain(translate(value))  # noqa: E731
    if memo and _target_type(annotation) not in (str, int, float):  # amounts and names rarely repeat
        convert = _memo(convert)
    return lambda row: convert(field(row))


class RecordBuilder:
    """Builds one canonical record type from rows of one mapped source."""

    def __init__(
        self, source: SourceMapping, record_type: type, lookup: Lookup = in_row, *, memo: bool = False
    ) -> None:
        """``lookup`` reads a field of a row: REST row dicts by default (see :meth:`reading`). ``memo``:
        remember conversions (:func:`_memo`), for a builder that lives as long as one read."""
        self.source = source
        self.record_type = record_type
        self._lookup = lookup
        hints = typing.get_type_hints(record_type, vars(model))
        self._fields: list[tuple[str, Extract]] = [
            (name, _extractor(field_source, hints[name], source.values.get(name), lookup, memo))
            for name, field_source in source.fields.items()
        ]
        self._id = lookup(source.id)
        self._account = lookup(source.account)
        self._attributes = [(name, lookup(path)) for name, path in source.attributes.items()]

    def reading(self, lookup: Lookup) -> RecordBuilder:
        """The same builder over rows that ``lookup`` reads (Bulk result cells, read without a dict),
        remembering its conversions for as long as it lives (one Bulk read)."""
        return RecordBuilder(self.source, self.record_type, lookup, memo=True)

    def values(self, row: Any) -> dict[str, Any]:
        return {name: extract(row) for name, extract in self._fields}

    def child(self, row: Any, *, skip_empty: bool = False) -> Any | None:
        """The record for ``row``; None without an id or account (or, with ``skip_empty``, without any
        mapped value: a goals field left blank on the account is no goal agreement)."""
        record_id = to_text(self._id(row))
        account_id = to_text(self._account(row))
        if not record_id or not account_id:
            return None
        values = self.values(row)
        if skip_empty and all(v is None for v in values.values()):
            return None
        return self.record_type(id=record_id, account_id=account_id, **values)

    def account(self, row: Any) -> Account:
        values = self.values(row)
        attributes = {
            name: text for name, field in self._attributes if (text := to_text(field(row))) is not None
        }
        return Account(
            id=to_text(self._id(row)) or "",
            **{**values, "name": values.get("name") or ""},
            attributes=attributes,
        )


class CurrentValuesReader:
    """Reads :class:`CurrentValues` from account rows, for the write-back fields the query selected."""

    def __init__(self, writeback: WritebackMapping, selected: set[str]) -> None:
        hints = typing.get_type_hints(CurrentValues, vars(base))
        self._fields = [
            (f.name, writeback.field(f.name), _converter(hints[f.name]))
            for f in dataclasses.fields(CurrentValues)
            if writeback.field(f.name).lower() in selected
        ]

    def read(self, row: Row) -> CurrentValues:
        return CurrentValues(**{name: convert(value_at(row, path)) for name, path, convert in self._fields})
