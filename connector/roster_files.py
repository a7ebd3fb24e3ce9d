"""Reading a roster from files for the offline ``classify``: a folder of CSVs or one JSON export.

Files are untrusted: every problem is reported with file, line and column, and nothing is guessed.
``strict`` fails on any bad row; lenient mode drops bad rows (reporting each) and goes on. Problems
that leave nothing usable (missing file or column, empty file, not UTF-8) always fail.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from connector.frames import ACCOUNT_SCHEMA, CHILD_SCHEMAS, RosterFrames
from connector.model import CHECKUP_MEETING_TYPE, GoalStatus, InvoiceStatus, MeetingOutcome

KINDS = ("accounts", *CHILD_SCHEMAS)
MEETING_TYPES = (CHECKUP_MEETING_TYPE, "working_session")
"""``checkup`` is the regular check-up; a ``working_session`` is any joint working meeting."""
REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("id", "name"),
    **dict.fromkeys(CHILD_SCHEMAS, ("id", "account_id")),
}
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("invoices", "status"): tuple(s.value for s in InvoiceStatus),
    ("meetings", "outcome"): tuple(s.value for s in MeetingOutcome),
    ("meetings", "type"): MEETING_TYPES,
    ("goals", "status"): tuple(s.value for s in GoalStatus),
}
"""Coded columns: a value matches regardless of case, spaces, hyphens and underscores (``Check-up``,
``checkup``, ``No Show``), and anything else is refused with the allowed values, never guessed."""
NON_NEGATIVE = {
    ("invoices", "amount"),
    ("invoices", "discount"),
    ("invoices", "cost"),
    ("referrals", "value"),
    ("accounts", "employee_count"),
}
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("surveys", "nps"): (0, 10),
    ("surveys", "csat"): (1, 5),
}
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_LINE = "__line__"
LINE_COLUMN = _LINE
"""Each typed row's line in its file, while it is checked."""


class RosterFileError(Exception):
    """Input files cannot be used; ``problems`` holds one line each, naming file, line and column."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            problems[0] if len(problems) == 1 else f"{len(problems)} problems, first: {problems[0]}"
        )
        self.problems = problems


@dataclass
class LoadedRoster:
    frames: RosterFrames
    dropped: list[str]
    """Lenient mode: the problems whose rows were left out."""


def _schema(kind: str) -> pl.Schema:
    return ACCOUNT_SCHEMA if kind == "accounts" else CHILD_SCHEMAS[kind]


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError(
            [f"{path.name}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"]
        ) from None


def read_csv_file(path: Path, kind: str | None = None) -> pl.DataFrame:
    text = _decode(path)
    if not text.strip():
        raise RosterFileError(
            [
                f"{path.name}: empty file; expected a header line with at least "
                f"{', '.join(REQUIRED[kind or path.stem])}"
            ]
        )
    try:
        frame = pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).splitlines()[0]
        raise RosterFileError([f"{path.name}: not readable as CSV: {first}"]) from None
    return frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in frame.columns)


def _json_frame(name: str, rows: Any) -> pl.DataFrame:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise RosterFileError([f"{name}: expected a list of objects"])
    columns = sorted({key for row in rows for key in row})
    data = {
        c: [
            None
            if row.get(c) is None
            else (json.dumps(row[c]) if isinstance(row[c], dict | list) else str(row[c]))
            for row in rows
        ]
        for c in columns
    }
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String()))


def _parse_column(kind: str, column: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr, str]:
    """(parsed value, bad-row condition, what was expected)."""
    raw = pl.col(column)
    if dtype == pl.Date():
        parsed = raw.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        return parsed, raw.is_not_null() & parsed.is_null(), "a date as YYYY-MM-DD"
    if dtype == pl.Int64():
        parsed = raw.str.to_integer(strict=False)
        return parsed, raw.is_not_null() & parsed.is_null(), "a whole number"
    if dtype == pl.Float64():
        parsed = raw.cast(pl.Float64, strict=False)
        return parsed, raw.is_not_null() & (parsed.is_null() | parsed.is_nan()), "a number"
    if dtype == pl.Boolean():
        lowered = raw.str.to_lowercase()
        parsed = pl.when(lowered.is_in(list(_TRUE))).then(True).when(lowered.is_in(list(_FALSE))).then(False)
        return parsed, raw.is_not_null() & parsed.is_null(), "true or false"
    choices = CHOICES.get((kind, column))
    if choices:
        spelled = {_code_key(choice): choice for choice in choices}
        key = raw.str.to_lowercase().str.replace_all(r"[\s_\-]", "")
        parsed = key.replace_strict(spelled, default=None, return_dtype=pl.String)
        return parsed, raw.is_not_null() & parsed.is_null(), "one of " + ", ".join(choices)
    return raw, pl.lit(False), ""


def _code_key(value: str) -> str:
    """How a coded value is compared: lower case without spaces, hyphens or underscores."""
    return "".join(ch for ch in value.lower() if ch not in " -_\t")


def _validate(kind: str, name: str, frame: pl.DataFrame, problems: list[str]) -> pl.DataFrame:
    """Typed frame of ``kind``; adds one problem per bad cell and marks its row in ``__bad__``."""
    return mark_repeats(name, check_rows(kind, name, frame, problems), problems)


def check_rows(
    kind: str, name: str, frame: pl.DataFrame, problems: list[str], first_line: int = 2
) -> pl.DataFrame:
    """Each row checked on its own (types, required values, ranges, codes): the typed frame with
    its file line (``__line__``, the first row being ``first_line``) and ``__bad__``. A file read a
    slice at a time (``roster_chunks``) checks each slice here and repeats across the whole file."""
    missing = [c for c in REQUIRED[kind] if c not in frame.columns]
    if missing:
        raise RosterFileError(
            [f"{name}: missing required column {', '.join(missing)} (has: {', '.join(frame.columns)})"]
        )
    schema = _schema(kind)
    frame = frame.with_row_index(_LINE, offset=first_line)
    checks: list[tuple[str, pl.Expr, str]] = []
    typed: list[pl.Expr] = []
    for column, dtype in schema.items():
        if column not in frame.columns:
            typed.append(pl.lit(None, dtype=dtype).alias(column))
            continue
        parsed, bad, expected = _parse_column(kind, column, dtype)
        typed.append(parsed.cast(dtype).alias(column))
        checks.append((column, bad, f"expected {expected}"))
        if column in REQUIRED[kind]:
            checks.append((column, pl.col(column).is_null(), "required value is empty"))
        if (kind, column) in NON_NEGATIVE:
            checks.append((column, parsed.fill_null(0) < 0, "must not be negative"))
        if (kind, column) in RANGES:
            low, high = RANGES[(kind, column)]
            checks.append(
                (
                    column,
                    ~parsed.is_between(low, high).fill_null(True),
                    f"must be between {low:g} and {high:g}",
                )
            )
    flags = frame.select(
        _LINE, *(cond.fill_null(False).alias(f"__check{i}") for i, (_, cond, _) in enumerate(checks))
    )
    for i, (column, _, message) in enumerate(checks):
        for line, value in frame.filter(flags[f"__check{i}"]).select(_LINE, column).iter_rows():
            shown = "" if value is None else f" (got {value!r})"
            problems.append(f"{name} line {line}, column {column}: {message}{shown}")
    bad_row = pl.any_horizontal(flags[f"__check{i}"] for i in range(len(checks))) if checks else pl.lit(False)
    extras = [c for c in frame.columns if c not in schema and c != _LINE]
    attrs = [pl.col(c).alias(f"attr_{c}") for c in extras] if kind == "accounts" else []
    return frame.select(_LINE, *typed, *attrs).with_columns(
        bad_row.alias("__bad__") if checks else pl.lit(False).alias("__bad__")
    )


def report_repeats(name: str, repeats: pl.DataFrame, problems: list[str]) -> None:
    """One problem per repeated row: ``repeats`` holds its line, its id and the line kept."""
    for line, ident, kept in repeats.iter_rows():
        problems.append(
            f"{name} line {line}, column id: duplicate id {ident!r} (first on line {kept}, which is kept)"
        )


def mark_repeats(name: str, result: pl.DataFrame, problems: list[str]) -> pl.DataFrame:
    """A repeated id keeps its first row; each later one is reported and marked ``__bad__``."""
    first = pl.col(_LINE).min().over("id")
    repeat = pl.col("id").is_not_null() & (pl.col(_LINE) != first)
    repeats = result.with_columns(first.alias("__first__")).filter(repeat)
    report_repeats(name, repeats.select(_LINE, "id", "__first__"), problems)
    return result.with_columns((pl.col("__bad__") | repeat).alias("__bad__"))


def _finish(parts: dict[str, tuple[str, pl.DataFrame] | None], strict: bool) -> LoadedRoster:
    problems: list[str] = []
    if parts.get("accounts") is None:
        raise RosterFileError(["accounts.csv: missing; it is the client list every other file refers to"])
    typed: dict[str, pl.DataFrame | None] = {}
    for kind in KINDS:
        part = parts.get(kind)
        typed[kind] = None if part is None else _validate(kind, part[0], part[1], problems)
    accounts = typed["accounts"]
    assert accounts is not None
    if accounts.height == 0:
        raise RosterFileError(
            [f"{parts['accounts'][0] if parts['accounts'] else 'accounts'}: no accounts (only a header)"]
        )
    known = accounts.filter(~pl.col("__bad__"))["id"].unique()
    for kind in CHILD_SCHEMAS:
        frame = typed[kind]
        part = parts.get(kind)
        if frame is None or part is None:
            continue
        orphan = pl.col("account_id").is_not_null() & ~pl.col("account_id").is_in(known.implode())
        for line, account in frame.filter(orphan).select(_LINE, "account_id").iter_rows():
            problems.append(
                f"{part[0]} line {line}, column account_id: unknown account {account!r} (not in accounts)"
            )
        typed[kind] = frame.with_columns((pl.col("__bad__") | orphan).alias("__bad__"))
    if problems and strict:
        raise RosterFileError(problems)
    clean = {
        k: None if f is None else f.filter(~pl.col("__bad__")).drop(_LINE, "__bad__")
        for k, f in typed.items()
    }
    frames = RosterFrames(accounts=clean.pop("accounts"), **clean)  # type: ignore[arg-type]
    return LoadedRoster(frames=frames, dropped=problems)


def load_roster(source: Path, *, strict: bool = True) -> LoadedRoster:
    """Load ``source``: a folder of ``<kind>.csv`` files or a ``.json`` export ``{"accounts": [...], ...}``."""
    if not source.exists():
        raise RosterFileError([f"{source}: no such file or folder"])
    parts: dict[str, tuple[str, pl.DataFrame] | None] = {}
    if source.is_dir():
        for kind in KINDS:
            path = source / f"{kind}.csv"
            parts[kind] = (path.name, read_csv_file(path)) if path.is_file() else None
    else:
        try:
            document = json.loads(_decode(source) or "null")
        except json.JSONDecodeError as exc:
            raise RosterFileError(
                [f"{source.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"]
            ) from None
        if not isinstance(document, dict):
            raise RosterFileError([f"{source.name}: expected an object with an 'accounts' list"])
        unknown = sorted(set(document) - set(KINDS))
        if unknown:
            raise RosterFileError(
                [f"{source.name}: unknown section {', '.join(unknown)} (known: {', '.join(KINDS)})"]
            )
        for kind in KINDS:
            name = f"{source.name} [{kind}]"
            parts[kind] = (name, _json_frame(name, document[kind])) if kind in document else None
    return _finish(parts, strict)


def load_accounts(path: Path, *, strict: bool = True) -> LoadedRoster:
    """One CSV shaped like ``accounts.csv`` under any name (prospects to score), checked the same way.

    Problems name ``path``'s own file name; the result has accounts only (no evidence sources).
    """
    if not path.is_file():
        raise RosterFileError([f"{path}: no such file"])
    problems: list[str] = []
    frame = _validate("accounts", path.name, read_csv_file(path, "accounts"), problems)
    if frame.height == 0:
        raise RosterFileError([f"{path.name}: no accounts (only a header)"])
    if problems and strict:
        raise RosterFileError(problems)
    accounts = frame.filter(~pl.col("__bad__")).drop(_LINE, "__bad__")
    return LoadedRoster(frames=RosterFrames(accounts=accounts), dropped=problems)
