"""The canonical model as columns: one polars schema per record type, derived from ``model.py``.

The classifier works on columns so that a million accounts with ten million invoices classify in
seconds; adapters and tests speak in records. This module converts between the two and is the only
place that knows how a record type maps to a column type.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import operator
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import polars as pl

from connector import model
from connector.model import CHILD_KINDS, Account, Roster

_SCALARS: dict[type, pl.DataType] = {
    str: pl.String(),
    int: pl.Int64(),
    float: pl.Float64(),
    bool: pl.Boolean(),
    dt.date: pl.Date(),
}


def _column_type(annotation: Any) -> pl.DataType | None:
    """``str | None`` → String; ``dict[...]`` (free attributes) → None (not a column)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if isinstance(annotation, types.UnionType) and args else annotation
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return pl.String()
    return _SCALARS.get(base) if isinstance(base, type) else None


def schema_of(record_type: type) -> pl.Schema:
    hints = typing.get_type_hints(record_type, vars(model))
    columns: dict[str, pl.DataType] = {}
    for f in fields(record_type):
        column = _column_type(hints[f.name])
        if column is not None:
            columns[f.name] = column
    return pl.Schema(columns)


ACCOUNT_SCHEMA = schema_of(Account)
CHILD_SCHEMAS: dict[str, pl.Schema] = {kind: schema_of(cls) for kind, cls in CHILD_KINDS.items()}


@dataclass
class RosterFrames:
    """A roster as columns. A child frame that is ``None`` means the source was not available."""

    accounts: pl.DataFrame
    invoices: pl.DataFrame | None = None
    tickets: pl.DataFrame | None = None
    referrals: pl.DataFrame | None = None
    surveys: pl.DataFrame | None = None
    meetings: pl.DataFrame | None = None
    goals: pl.DataFrame | None = None
    renegotiations: pl.DataFrame | None = None

    def child(self, kind: str) -> pl.DataFrame | None:
        frame: pl.DataFrame | None = getattr(self, kind)
        return frame


def _cell(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def records_to_frame(records: list[Any], schema: pl.Schema) -> pl.DataFrame:
    """Columns read with ``attrgetter`` (a sync turns some twenty values per account into columns), and
    only the string columns, where enum members may sit, looked at value by value."""
    columns = {}
    for name, dtype in schema.items():
        values = list(map(operator.attrgetter(name), records))
        columns[name] = [_cell(v) for v in values] if dtype == pl.String() else values
    return pl.DataFrame(columns, schema=schema)


def accounts_frame(accounts: list[Account]) -> pl.DataFrame:
    """Accounts with their free attributes as extra text columns (``attr_<name>``)."""
    frame = records_to_frame(accounts, ACCOUNT_SCHEMA)
    keys = sorted({key for a in accounts for key in a.attributes})
    if keys:
        frame = frame.with_columns(
            pl.Series(f"attr_{key}", [a.attributes.get(key) for a in accounts], dtype=pl.String())
            for key in keys
        )
    return frame


def to_frames(roster: Roster) -> RosterFrames:
    children: dict[str, pl.DataFrame | None] = {}
    for kind in CHILD_KINDS:
        records = getattr(roster, kind)
        children[kind] = None if records is None else records_to_frame(records, CHILD_SCHEMAS[kind])
    return RosterFrames(accounts=accounts_frame(roster.accounts), **children)


@functools.cache
def _enum_fields(record_type: type) -> tuple[tuple[str, type[enum.Enum] | None], ...]:
    """Each field of ``record_type`` and the enum its values convert to (None: kept as is); once per
    type, since resolving type hints per row made seeding a 50k-account sandbox take minutes."""
    hints = typing.get_type_hints(record_type, vars(model))
    found: list[tuple[str, type[enum.Enum] | None]] = []
    for f in dataclasses.fields(record_type):
        args = [a for a in typing.get_args(hints[f.name]) if a is not type(None)]
        found.append(
            (f.name, next((a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)), None))
        )
    return tuple(found)


def _record(record_type: type, row: dict[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for name, enum_type in _enum_fields(record_type):
        if name not in row:
            continue
        value = row[name]
        values[name] = enum_type(value) if enum_type is not None and value is not None else value
    return record_type(**values)


def _accounts_of(frame: pl.DataFrame) -> Iterator[Account]:
    attr_columns = [c for c in frame.columns if c.startswith("attr_")]
    for row in frame.iter_rows(named=True):
        attributes = {c.removeprefix("attr_"): row[c] for c in attr_columns if row[c] is not None}
        base = {k: v for k, v in row.items() if k in ACCOUNT_SCHEMA}
        yield dataclasses.replace(_record(Account, base), attributes=attributes)


def _records_of(frame: pl.DataFrame, record_type: type) -> Iterator[Any]:
    return (_record(record_type, row) for row in frame.iter_rows(named=True))


def to_roster(frames: RosterFrames) -> Roster:
    """The inverse of :func:`to_frames`, for feeding generated data to a sandbox CRM record by record."""
    children: dict[str, Any] = {}
    for kind, cls in CHILD_KINDS.items():
        frame = frames.child(kind)
        children[kind] = None if frame is None else list(_records_of(frame, cls))
    return Roster(accounts=list(_accounts_of(frames.accounts)), **children)


class _Rows(Iterable[Any]):
    """The records of one frame, made afresh on each pass (``iter_rows`` reads it a buffer at a time).
    With ``once``, the frame is let go when its one pass ends, and a second pass is an error."""

    def __init__(
        self, frame: pl.DataFrame, make: Callable[[pl.DataFrame], Iterator[Any]], *, once: bool
    ) -> None:
        self._frame: pl.DataFrame | None = frame
        self._make = make
        self._once = once

    def __iter__(self) -> Iterator[Any]:
        frame = self._frame
        if frame is None:
            raise RuntimeError("these records were already read (a one-pass roster view)")
        if self._once:
            self._frame = None
        yield from self._make(frame)


class RosterView:
    """A roster read from its frames record by record: what :func:`to_roster` gives, without holding
    every record at once (a million accounts' ten million invoices are frames of a few gigabytes, and
    several times that as Python records). Accounts can be read any number of times; with ``once``, each
    evidence kind is read once and its frame let go after (the caller keeps no other reference to the
    frames), so a sandbox seeding a million accounts does not hold the invoices' frame while it stores
    the meetings."""

    def __init__(self, frames: RosterFrames, *, once: bool = False) -> None:
        self.accounts: Iterable[Account] = _Rows(frames.accounts, _accounts_of, once=False)
        for kind, cls in CHILD_KINDS.items():
            frame = frames.child(kind)
            make = functools.partial(_records_of, record_type=cls)
            setattr(self, kind, None if frame is None else _Rows(frame, make, once=once))

    invoices: Iterable[model.Invoice] | None
    tickets: Iterable[model.Ticket] | None
    referrals: Iterable[model.Referral] | None
    surveys: Iterable[model.Survey] | None
    meetings: Iterable[model.Meeting] | None
    goals: Iterable[model.GoalAgreement] | None
    renegotiations: Iterable[model.Renegotiation] | None
