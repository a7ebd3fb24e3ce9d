"""Bulk API 2.0 CSV <-> the values the REST path uses.

CSV has only strings: an empty cell is null (Bulk cannot tell an empty text from null, and neither
does Salesforce, which stores empty text as null), checkboxes are ``true``/``false``, numbers are
text, datetimes end in ``Z``, and a parent field is one column named by its path (``Owner.Name``).
:class:`RowShape` turns a result row back into the dict a REST query returns — typed by the field's
describe type, parents nested — so the same record builders read both.

Going in (ingest), an empty cell means "leave the field as it is", so a value to clear is sent as
``#N/A``, as the Bulk API documents.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.values import format_datetime

NULL_CELL = "#N/A"
FIELD_SIZE = 1 << 24
"""Largest cell read (long text areas hold up to 131,072 characters; csv's default limit is that)."""

Convert = Callable[[str], Any]


def _boolean(cell: str) -> bool | None:
    lowered = cell.strip().lower()
    return True if lowered == "true" else False if lowered == "false" else None


def _number(cast: Callable[[float], Any]) -> Convert:
    def convert(cell: str) -> Any:
        try:
            number = float(cell)
        except ValueError:
            return cell
        return cast(number) if math.isfinite(number) else cell

    return convert


def _datetime(cell: str) -> str:
    """``2026-11-26T06:50:00.000Z`` -> ``2026-11-26T06:50:00.000+0000``, the REST shape."""
    return cell[:-1] + "+0000" if cell.endswith("Z") else cell


_BY_TYPE: dict[str, Convert] = {
    "boolean": _boolean,
    "int": _number(int),
    "long": _number(int),
    "double": _number(float),
    "currency": _number(float),
    "percent": _number(float),
    "datetime": _datetime,
}


class RowShape:
    """Turns the cells of one query job's rows into REST-shaped row dicts."""

    def __init__(self, header: Sequence[str], schema: Schema, sobject: str) -> None:
        self._columns: list[tuple[list[str], Convert | None]] = []
        for name in header:
            info = schema.field(sobject, name)
            self._columns.append((name.split("."), _BY_TYPE.get(info.type) if info is not None else None))
        self._flat = _flat_index(header)

    def cell_reader(self, path: str) -> Callable[[Sequence[str]], Any] | None:
        """A reader of ``value_at(self.row(cells), path)`` straight from the cells, without building the
        row dict (a full read builds one record per evidence row: millions of them). None when the
        header cannot be read so (one name spelt in two cases, a name that is also a parent path);
        :meth:`row` reads those."""
        if self._flat is None:
            return None
        lowered = path.lower()
        index = self._flat.get(lowered)
        if index is None:
            if any(name.startswith(lowered + ".") for name in self._flat):
                return None  # a parent path: its value is a dict of the columns under it
            return _none
        convert = self._columns[index][1]

        def read(cells: Sequence[str]) -> Any:
            cell = cells[index] if index < len(cells) else ""
            return None if cell == "" else convert(cell) if convert is not None else cell

        return read

    def row(self, cells: Sequence[str]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for (path, convert), cell in zip(self._columns, cells, strict=False):
            value: Any = None if cell == "" else convert(cell) if convert is not None else cell
            node = row
            for part in path[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
            node[path[-1]] = value
        return row


def _none(cells: Sequence[str]) -> None:
    return None


def _flat_index(header: Sequence[str]) -> dict[str, int] | None:
    """Each column by its lower-case name, when reading a path by that name gives what walking the nested
    row gives: every name and parent path spelt one way only, and no name that is also a parent."""
    spelt: dict[str, str] = {}
    leaves: set[str] = set()
    parents: set[str] = set()
    for name in header:
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if spelt.setdefault(prefix.lower(), prefix) != prefix:
                return None
            (leaves if depth == len(parts) else parents).add(prefix.lower())
    if leaves & parents or len(leaves) != len(header):
        return None
    return {name.lower(): index for index, name in enumerate(header)}


def read_csv(path: Path) -> Iterator[list[str]]:
    """The rows of a Bulk CSV file, header first, read as a stream."""
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE))
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.reader(handle)


def cell(value: Any) -> str:
    """A value already in Salesforce JSON form (see ``values.to_salesforce``) as an ingest CSV cell."""
    if value is None or value == "":
        return NULL_CELL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        text = repr(value)
        return f"{value:.12f}".rstrip("0") if "e" in text else text
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def parse_error(text: str) -> tuple[str, str, list[str]]:
    """``sf__Error`` as ``(code, message, fields)``: Salesforce writes ``CODE:message:Field1,Field2 --``
    (the message may itself hold colons, the field list never holds spaces)."""
    body = text.strip().removesuffix("--").rstrip()
    code, _, rest = body.partition(":")
    message, fields = rest, ""
    head, colon, tail = rest.rpartition(":")
    if colon and all(part.replace("_", "").replace(".", "").isalnum() for part in tail.split(",") if part):
        message, fields = head, tail
    return code.strip() or "UNKNOWN", message.strip(), [f.strip() for f in fields.split(",") if f.strip()]
