"""Stored rows in compact form: one tuple of values per row, the field names kept once per row shape.

A million-account org holds some 24 million rows. As dicts they take ~650 bytes each before their
values (a hash table per row). Here a row is a tuple whose first cell is its :class:`Shape` (the
row's field names in order, shared by every row with the same ones) and whose other cells are its
values, 8 bytes a field. A shape also holds the values of a table's few-valued fields (checkboxes,
the ``User`` a row was created by, modified by or owned by): rows that agree on them share one shape
and spend no cell on them. :class:`Record` reads like the dict it replaces (``get``, ``[]``, ``in``,
``keys``/``items``, ``dict(record)``, ``{**record}``, in the dict's key order) and, like the dicts
before it, is never changed once stored: a write builds a new record.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

MAX_SHAPES = 4096
"""Shapes per table at most: past it, new combinations keep every value in a cell (memory stays
bounded if a few-valued field turns out to have many values)."""


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


_ABSENT = _Marker("absent")
_IN_CELL = _Marker("in a cell")
"""In a shape's key: this field's value is in the row's cell, not in the shape."""

_cell = tuple.__getitem__


class Shape:
    """The field names of a kind of row, in the row's order: each in a cell (1, 2, ...) or held here."""

    __slots__ = ("order", "places", "shared")

    def __init__(self, names: tuple[str, ...], held: tuple[Any, ...]) -> None:
        self.places: dict[str, int] = {}
        self.shared: dict[str, Any] = {}
        order: list[tuple[str, int]] = []
        for name, value in zip(names, held, strict=True):
            if value is _IN_CELL:
                self.places[name] = at = len(self.places) + 1
            else:
                self.shared[name], at = value, 0
            order.append((name, at))
        self.order = tuple(order)


_HELD_TYPES = frozenset({bool, str})
"""The types of value a shape holds (hashable, and never equal to one another: ``1`` is not ``True``)."""
Picker = Callable[[tuple[Any, ...]], tuple[Any, ...]]


def _picker(indices: list[int]) -> Picker:
    """The values at ``indices``, as a tuple (``itemgetter`` in C for two or more)."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)
    if indices:
        only = indices[0]
        return lambda values: (values[only],)
    return lambda values: ()


class _Plan:
    """For rows with one list of field names: which values a shape may hold, which go in cells."""

    __slots__ = ("cells", "held", "positions", "width")

    def __init__(self, names: tuple[str, ...], few_valued: frozenset[str]) -> None:
        self.positions = [at for at, name in enumerate(names) if name in few_valued]
        self.width = len(names)
        self.held = _picker(self.positions)
        self.cells = _picker([at for at, name in enumerate(names) if name not in few_valued])

    def marks(self, held: tuple[Any, ...]) -> tuple[Any, ...]:
        marks: list[Any] = [_IN_CELL] * self.width
        for at, value in zip(self.positions, held, strict=True):
            marks[at] = value
        return tuple(marks)


class Shapes:
    """The shapes of one table's rows, and the fields whose values a shape may hold."""

    __slots__ = ("few_valued", "known", "plans")

    def __init__(self, few_valued: Collection[str]) -> None:
        self.few_valued = frozenset(few_valued)
        self.known: dict[tuple[tuple[str, ...], tuple[Any, ...]], Shape] = {}
        self.plans: dict[tuple[str, ...], _Plan] = {}

    def record(self, values: Mapping[str, Any]) -> Record:
        """``values`` (a dict or a record) as a record."""
        names = tuple(values)
        plan = self.plans.get(names)
        if plan is None:
            plan = self.plans[names] = _Plan(names, self.few_valued)
        ordered = tuple(values.values())
        held = plan.held(ordered)
        if not _HELD_TYPES.issuperset(map(type, held)):
            return self._record_each(values)
        key = (names, held)
        shape = self.known.get(key)
        if shape is None:
            if len(self.known) >= MAX_SHAPES:
                return self.record_plain(values)
            shape = self.known[key] = Shape(names, plan.marks(held))
        return tuple.__new__(Record, (shape, *plan.cells(ordered)))

    def _record_each(self, values: Mapping[str, Any]) -> Record:
        """A record whose few-valued fields hold other types too: those values go in cells."""
        few = self.few_valued
        cells: list[Any] = [None]
        marks: list[Any] = []
        for name, value in values.items():
            if name in few and type(value) in _HELD_TYPES:
                marks.append(value)
            else:
                marks.append(_IN_CELL)
                cells.append(value)
        key = (tuple(values), tuple(marks))
        shape = self.known.get(key)
        if shape is None:
            if len(self.known) >= MAX_SHAPES:
                return self.record_plain(values)
            shape = self.known[key] = Shape(*key)
        cells[0] = shape
        return tuple.__new__(Record, cells)

    def record_plain(self, values: Mapping[str, Any]) -> Record:
        names = tuple(values)
        key = (names, (_IN_CELL,) * len(names))
        shape = self.known.get(key)
        if shape is None:
            shape = self.known[key] = Shape(*key)
        return tuple.__new__(Record, [shape, *values.values()])


class Record(tuple[Any, ...]):
    """One stored row: ``(shape, value, value, ...)``, read as a mapping of field name -> value."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:
        shape = _cell(self, 0)
        at = shape.places.get(key)
        if at is not None:
            return _cell(self, at)
        return shape.shared.get(key, default)

    def __getitem__(self, key: str) -> Any:  # type: ignore[override]
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        shape = _cell(self, 0)
        return key in shape.places or key in shape.shared

    def items(self) -> Iterator[tuple[str, Any]]:
        shape = _cell(self, 0)
        shared = shape.shared
        return ((name, _cell(self, at) if at else shared[name]) for name, at in shape.order)

    def keys(self) -> list[str]:
        return [name for name, _ in _cell(self, 0).order]

    def values(self) -> list[Any]:
        return [value for _, value in self.items()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(_cell(self, 0).order)

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
    """A copied or unpickled record: its own shape (a copy shares nothing with the store)."""
    return Shapes(()).record(values)
