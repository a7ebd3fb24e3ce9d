"""The project's one way to write CSV: every cell is neutralised against CSV (formula) injection.

CRM data is untrusted. A name such as ``=HYPERLINK("http://evil", "click")`` opens as a live formula in
Excel, LibreOffice or Google Sheets. OWASP's rule ("CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection): a cell that begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return gets a leading single quote, so the spreadsheet shows it as text. JSON outputs
keep values unchanged; only CSV goes through here.
"""

from __future__ import annotations

import csv
import decimal
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters a spreadsheet may read as the start of a formula (OWASP)."""

_FORMULA_PATTERN = "^[=+\\-@\t\r]"


def neutralise(cell: object) -> str:
    """``cell`` as CSV text, quoted with a leading ``'`` when a spreadsheet would run it as a formula.

    Numbers are written as they are (``-3`` stays a number: a numeric cell cannot hold a formula); ``None``
    is an empty cell; everything else is its ``str``.
    """
    if cell is None:
        return ""
    if isinstance(cell, int | float | decimal.Decimal) and not isinstance(cell, bool):
        return str(cell)
    text = str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """A ``csv.writer`` whose every cell passes through :func:`neutralise`."""

    def __init__(self, handle: IO[str], **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """A ``csv.DictWriter`` equivalent: rows are mappings, columns are ``fieldnames``; a missing key is empty."""

    def __init__(self, handle: IO[str], fieldnames: Sequence[str], **options: Any) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = SafeWriter(handle, **options)

    def writeheader(self) -> None:
        self._writer.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, object]) -> None:
        self._writer.writerow([row.get(name) for name in self.fieldnames])

    def writerows(self, rows: Iterable[Mapping[str, object]]) -> None:
        for row in rows:
            self.writerow(row)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Iterable[object]]) -> Path:
    """Write ``header`` and ``rows`` to ``path`` (UTF-8, parent folders made), every cell neutralised."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = SafeWriter(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_dicts(path: Path, fieldnames: Sequence[str], rows: Iterable[Mapping[str, object]]) -> Path:
    """Write mapping ``rows`` under ``fieldnames`` to ``path``, every cell neutralised."""
    return write_csv(path, fieldnames, ([row.get(name) for name in fieldnames] for row in rows))


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text column neutralised (vectorised: a million rows stay seconds)."""
    text = [name for name, dtype in frame.schema.items() if dtype in (pl.String, pl.Categorical, pl.Enum)]
    return frame.with_columns(
        pl.when(pl.col(name).cast(pl.String).str.contains(_FORMULA_PATTERN))
        .then(pl.lit("'") + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name in text
    )


def _cells(frame: pl.DataFrame, list_separator: str) -> pl.DataFrame:
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    joined = frame.with_columns(pl.col(lists).list.join(list_separator)) if lists else frame
    return neutralise_frame(joined)


def write_frame(frame: pl.DataFrame, path: Path, list_separator: str = ";") -> Path:
    """Write a polars ``frame`` to ``path`` as CSV, every text cell neutralised.

    A cell is text, so a list column (codes, reasons) is written joined with ``list_separator``; the
    frame itself keeps its lists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _cells(frame, list_separator).write_csv(path)
    return path


class FrameAppender:
    """One CSV file written a frame at a time (the header once): the same file as one
    :func:`write_frame` of all the frames, in bounded memory."""

    def __init__(self, path: Path, list_separator: str = ";") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._separator = list_separator
        self._handle: IO[bytes] = path.open("wb")
        self._header = True

    def append(self, frame: pl.DataFrame) -> None:
        _cells(frame, self._separator).write_csv(self._handle, include_header=self._header)
        self._header = False

    def close(self) -> Path:
        self._handle.close()
        return self.path
