"""A roster from files in bounded memory: staged on disk once, then read back a chunk of accounts at a time.

``load_roster`` holds every record in memory, and a million accounts with ten million invoices do not fit
in 2 GB. Here a CSV file is read a slice of rows at a time (``SLICE_ROWS``) and checked exactly as
``load_roster`` checks it (each row on its own, then repeated ids across the whole file, then records of
unknown accounts). Good records go to Parquet files on disk, partitioned by the chunk of accounts they
belong to. The accounts stay in memory (one typed row each) sorted by id, so a chunk is a contiguous range
of ids and the chunks' results, one after the other, are the same rows in the same order as one
classification of the whole roster. Memory is bounded by the slice and the chunk, never by the file.

A JSON export is one document: it is parsed whole (``load_roster``), then chunked the same way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from connector.classify.gaps import OPTIONAL_FIELDS
from connector.frames import CHILD_SCHEMAS, RosterFrames
from connector.roster_files import (
    LINE_COLUMN,
    RosterFileError,
    check_rows,
    load_roster,
    mark_repeats,
    read_csv_file,
    report_repeats,
)

DEFAULT_CHUNK_ACCOUNTS = 50_000
"""Accounts classified at a time: with ten records each, a chunk's frames and results stay near 100 MB."""
MAX_CHUNK_ACCOUNTS = 100_000
"""The most accounts a chunk may hold, whatever is asked: the bound on memory stays a bound."""
SLICE_ROWS = 500_000
"""CSV rows parsed and checked at a time."""
WHOLE_FILE_BYTES = 32 * 1024 * 1024
"""A file up to this size is read whole, exactly as ``load_roster`` reads it (same messages)."""
_BAD = "__bad__"
_CHUNK = "__chunk__"


@dataclass
class StagedRoster:
    """A checked roster on disk; :meth:`chunks` yields it a chunk of accounts (with their records) at a time."""

    accounts: pl.DataFrame
    """The good accounts, sorted by id."""
    dropped: list[str]
    """Lenient mode: the problems whose rows were left out (strict mode fails instead)."""
    fields_missing: list[tuple[str, str]]
    """Optional fields no record of the whole roster holds: the same data gap in every chunk."""
    chunk_accounts: int
    directory: Path
    sources: set[str] = field(default_factory=set)
    """The record kinds that have a file."""
    repeats: dict[str, pl.Series] = field(default_factory=dict)
    """Per kind, the lines of repeated ids (left out when a chunk is read)."""

    @property
    def chunk_count(self) -> int:
        return -(-self.accounts.height // self.chunk_accounts)

    def chunks(self) -> Iterator[RosterFrames]:
        for chunk in range(self.chunk_count):
            accounts = self.accounts.slice(chunk * self.chunk_accounts, self.chunk_accounts)
            children = {kind: self._records(kind, chunk) for kind in CHILD_SCHEMAS}
            yield RosterFrames(accounts=accounts, **children)

    def records(self, kind: str) -> pl.LazyFrame | None:
        """Every good record of ``kind`` as a plan (None: no such file), for a roster-wide question."""
        if kind not in self.sources:
            return None
        files = sorted((self.directory / kind).glob("c*.parquet"))
        if not files:
            return pl.DataFrame(schema=CHILD_SCHEMAS[kind]).lazy()
        return self._without_repeats(kind, pl.scan_parquet(files)).drop(LINE_COLUMN)

    def _without_repeats(self, kind: str, records: pl.LazyFrame) -> pl.LazyFrame:
        repeats = self.repeats.get(kind)
        if repeats is not None and repeats.len():
            return records.filter(~pl.col(LINE_COLUMN).is_in(repeats.implode()))
        return records

    def _records(self, kind: str, chunk: int) -> pl.DataFrame | None:
        if kind not in self.sources:
            return None
        files = sorted((self.directory / kind).glob(f"c{chunk:06d}-*.parquet"))
        if not files:
            return pl.DataFrame(schema=CHILD_SCHEMAS[kind])
        return self._without_repeats(kind, pl.scan_parquet(files)).drop(LINE_COLUMN).collect()


def _slices(path: Path, kind: str) -> Iterator[pl.DataFrame]:
    """The file's rows as text, a slice at a time (a small file whole, as ``load_roster`` reads it)."""
    if path.stat().st_size <= WHOLE_FILE_BYTES:
        yield read_csv_file(path, kind)
        return
    try:
        for part in pl.scan_csv(path, infer_schema=False).collect_batches(chunk_size=SLICE_ROWS):
            yield part.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in part.columns)
    except pl.exceptions.ComputeError as exc:
        first = str(exc).splitlines()[0]
        if "utf-8" in first.lower():
            raise RosterFileError([f"{path.name}: not UTF-8 text; save it as UTF-8"]) from None
        raise RosterFileError([f"{path.name}: not readable as CSV: {first}"]) from None


def _accounts(path: Path, problems: list[str]) -> pl.DataFrame:
    """Every account row, typed and checked (all of them: a million rows are a few hundred MB)."""
    parts, line = [], 2
    for part in _slices(path, "accounts"):
        parts.append(check_rows("accounts", path.name, part, problems, line))
        line += part.height
    typed = mark_repeats(path.name, pl.concat(parts, how="vertical_relaxed"), problems)
    if typed.height == 0:
        raise RosterFileError([f"{path.name}: no accounts (only a header)"])
    return typed


def _repeated_lines(directory: Path, name: str, problems: list[str]) -> pl.Series:
    """Repeated ids across all slices of a file: reported in line order, their lines returned.

    Ten million ids would take a gigabyte to group as text: they are grouped by a 64-bit hash first
    (streaming), and only the ids whose hash repeats are compared as text."""
    ids = pl.scan_parquet(sorted(directory.glob("ids-*.parquet"))).filter(pl.col("id").is_not_null())
    hashed = ids.select(pl.col("id").hash(seed=7).alias("h"))
    repeated = hashed.group_by("h").agg(pl.len().alias("n")).filter(pl.col("n") > 1).select("h")
    candidates = (
        ids.with_columns(pl.col("id").hash(seed=7).alias("h"))
        .join(repeated, on="h", how="semi")
        .drop("h")
        .collect(engine="streaming")
    )
    first = candidates.group_by("id").agg(pl.col(LINE_COLUMN).min().alias("first"))
    repeats = (
        candidates.join(first, on="id", how="inner")
        .filter(pl.col(LINE_COLUMN) != pl.col("first"))
        .sort(LINE_COLUMN)
    )
    report_repeats(name, repeats.select(LINE_COLUMN, "id", "first"), problems)
    return repeats[LINE_COLUMN]


def _stage_kind(
    staged: StagedRoster,
    kind: str,
    name: str,
    slices: Iterator[pl.DataFrame],
    boundaries: pl.Series,
    known: pl.Series,
    problems: list[str],
    orphans: list[str],
) -> None:
    """Check a record file slice by slice and write its good rows, partitioned by chunk of accounts."""
    directory = staged.directory / kind
    directory.mkdir()
    line = 2
    for number, part in enumerate(slices):
        typed = check_rows(kind, name, part, problems, line)
        line += part.height
        orphan = pl.col("account_id").is_not_null() & ~pl.col("account_id").is_in(known.implode())
        for row_line, account in typed.filter(orphan).select(LINE_COLUMN, "account_id").iter_rows():
            orphans.append(
                f"{name} line {row_line}, column account_id: unknown account {account!r} (not in accounts)"
            )
        typed.select("id", LINE_COLUMN).write_parquet(directory / f"ids-{number:06d}.parquet")
        good = typed.filter(~(pl.col(_BAD) | orphan)).drop(_BAD)
        # a chunk is a range of sorted ids: the last chunk start at or before the account's id
        chunk = boundaries.search_sorted(good["account_id"], side="right") - 1
        good = good.with_columns(chunk.alias(_CHUNK))
        for (index,), rows in good.partition_by(_CHUNK, as_dict=True).items():
            rows.drop(_CHUNK).write_parquet(directory / f"c{index:06d}-s{number:06d}.parquet")
    staged.repeats[kind] = _repeated_lines(directory, name, problems)
    staged.sources.add(kind)


def _fields_missing(staged: StagedRoster) -> list[tuple[str, str]]:
    """Optional fields that no good record of an available source holds, over the whole roster."""
    missing = []
    for kind, column in OPTIONAL_FIELDS:
        records = staged.records(kind)
        if records is None:
            continue
        held = records.select(pl.len().alias("n"), pl.col(column).is_not_null().any().alias("held")).collect()
        if held["n"].item() and not held["held"].item():
            missing.append((kind, column))
    return missing


@contextmanager
def staged_roster(
    source: Path, *, strict: bool = True, chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS
) -> Iterator[StagedRoster]:
    """Check ``source`` (a folder of CSVs or a JSON export) and stage it in a temporary folder.

    Raises ``RosterFileError`` as ``load_roster`` does, before any chunk is read."""
    if chunk_accounts < 1:
        raise ValueError("chunk_accounts must be at least 1")
    chunk_accounts = min(chunk_accounts, MAX_CHUNK_ACCOUNTS)
    if not source.is_dir():
        loaded = load_roster(source, strict=strict)
        with _staged_frames(loaded.frames, loaded.dropped, chunk_accounts) as staged:
            yield staged
        return
    path = source / "accounts.csv"
    if not path.is_file():
        raise RosterFileError(["accounts.csv: missing; it is the client list every other file refers to"])
    problems: list[str] = []
    orphans: list[str] = []
    typed = _accounts(path, problems)
    good = typed.filter(~pl.col(_BAD)).drop(LINE_COLUMN, _BAD).sort("id")
    del typed  # only the good accounts are kept: a million rows are held once, not twice
    known = good["id"]
    with tempfile.TemporaryDirectory(prefix="tiersync-roster-") as tmp:
        staged = StagedRoster(good, [], [], chunk_accounts, Path(tmp))
        boundaries = good["id"].gather_every(chunk_accounts)
        for kind in CHILD_SCHEMAS:
            file = source / f"{kind}.csv"
            if file.is_file():
                _stage_kind(
                    staged, kind, file.name, _slices(file, kind), boundaries, known, problems, orphans
                )
        problems += orphans
        if problems and strict:
            raise RosterFileError(problems)
        staged.dropped = problems
        staged.fields_missing = _fields_missing(staged)
        yield staged


@contextmanager
def _staged_frames(frames: RosterFrames, dropped: list[str], chunk_accounts: int) -> Iterator[StagedRoster]:
    """Frames already loaded and checked (a JSON export), chunked the same way."""
    good = frames.accounts.sort("id")
    with tempfile.TemporaryDirectory(prefix="tiersync-roster-") as tmp:
        staged = StagedRoster(good, dropped, [], chunk_accounts, Path(tmp))
        boundaries = good["id"].gather_every(chunk_accounts)
        for kind in CHILD_SCHEMAS:
            frame = frames.child(kind)
            if frame is None:
                continue
            directory = staged.directory / kind
            directory.mkdir()
            lines = frame.with_row_index(LINE_COLUMN)
            chunk = boundaries.search_sorted(lines["account_id"], side="right") - 1
            parts = lines.with_columns(chunk.alias(_CHUNK)).partition_by(_CHUNK, as_dict=True)
            for (index,), rows in parts.items():
                rows.drop(_CHUNK).write_parquet(directory / f"c{index:06d}-s000000.parquet")
            staged.sources.add(kind)
        staged.fields_missing = _fields_missing(staged)
        yield staged
