"""Stored rows in compact form: one tuple of values per row, the field names kept once per table.

A million-account org holds some 24 million rows. As dicts they take ~650 bytes each before their
values (a hash table per row); here a row is a tuple whose first cell points at its table's
:class:`Layout` (name -> place, shared by every row of the table) and whose other cells are the
values, so it costs 8 bytes a field. :class:`Record` reads like the dict it replaces (``get``,
``[]``, ``in``, ``keys``/``items``, ``dict(record)``, ``{**record}``) and, like the dicts before it,
is never changed once stored: a write builds a new record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class _Absent:
    """A cell of a field the row does not hold (a layout lists every field any row of the table holds)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()

_cell = tuple.__getitem__
_width = tuple.__len__
_cells = tuple.__iter__


class Layout:
    """The field names the rows of one table hold, each at a fixed place (1, 2, ...; 0 is the layout)."""

    __slots__ = ("names", "places")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.places: dict[str, int] = {}

    def place(self, name: str) -> int:
        at = self.places.get(name)
        if at is None:
            self.names.append(name)
            at = self.places[name] = len(self.names)
        return at


class Record(tuple[Any, ...]):
    """One stored row: ``(layout, value, value, ...)``, read as a mapping of field name -> value."""

    __slots__ = ()

    @classmethod
    def build(cls, layout: Layout, values: Mapping[str, Any]) -> Record:
        """A record of ``values`` (a dict or a record) in ``layout``, which learns any new field name."""
        places = layout.places
        cells: list[Any] = [layout]
        for name, value in values.items():
            at = places.get(name)
            if at is None:
                at = layout.place(name)
            if at >= len(cells):
                cells.extend([ABSENT] * (at - len(cells)))
                cells.append(value)
            else:
                cells[at] = value
        return tuple.__new__(cls, cells)

    def get(self, key: str, default: Any = None) -> Any:
        at = _cell(self, 0).places.get(key)
        if at is None or at >= _width(self):
            return default
        value = _cell(self, at)
        return default if value is ABSENT else value

    def __getitem__(self, key: str) -> Any:  # type: ignore[override]
        value = self.get(key, ABSENT)
        if value is ABSENT:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, ABSENT) is not ABSENT

    def items(self) -> Iterator[tuple[str, Any]]:
        names = _cell(self, 0).names
        cells = _cells(self)
        next(cells)
        return ((name, value) for name, value in zip(names, cells, strict=False) if value is not ABSENT)

    def keys(self) -> list[str]:
        return [name for name, _ in self.items()]

    def values(self) -> list[Any]:
        return [value for _, value in self.items()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return sum(1 for _ in self.items())

    def to_dict(self) -> dict[str, Any]:
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record | dict):
            return self.to_dict() == dict(other.items())
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Record({self.to_dict()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.to_dict(),))


def _rebuild(values: dict[str, Any]) -> Record:
    """A copied or unpickled record: its own layout (a copy shares nothing with the store)."""
    return Record.build(Layout(), values)
