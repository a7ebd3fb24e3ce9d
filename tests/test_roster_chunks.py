"""A roster staged on disk and classified a chunk at a time gives what one whole classification gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from connector import roster_chunks
from connector.classify.classifier import classify_frames
from connector.cli import app
from connector.config import Settings
from connector.roster_chunks import staged_roster
from connector.roster_files import RosterFileError, load_roster
from connector.sample_data import generate, write_csv

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def roster_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("roster")
    write_csv(generate(1500, seed=11, as_of=AS_OF, years=2).frames, folder)
    return folder


@pytest.fixture
def sliced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file read a few thousand rows at a time, as a big file is."""
    monkeypatch.setattr(roster_chunks, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(roster_chunks, "SLICE_ROWS", 3000)


def _chunked(folder: Path, size: int, strict: bool = True) -> tuple[pl.DataFrame, list[str], int]:
    with staged_roster(folder, strict=strict, chunk_accounts=size) as staged:
        parts = [classify_frames(c, Settings(), AS_OF, staged.fields_missing) for c in staged.chunks()]
        return pl.concat(parts), staged.dropped, len(parts)


@pytest.mark.parametrize("size", [97, 1500, 10_000])
def test_chunked_classification_equals_the_whole(roster_dir: Path, size: int) -> None:
    whole = classify_frames(load_roster(roster_dir).frames, Settings(), AS_OF)
    chunked, dropped, chunks = _chunked(roster_dir, size)
    assert chunks == -(-1500 // size)
    assert dropped == []
    assert_frame_equal(chunked, whole)


def test_files_read_in_slices_classify_the_same(roster_dir: Path, sliced: None) -> None:
    whole = classify_frames(load_roster(roster_dir).frames, Settings(), AS_OF)
    chunked, _, _ = _chunked(roster_dir, 400)
    assert_frame_equal(chunked, whole)


def _spoil(source: Path, target: Path) -> None:
    """Copies the roster with a repeated invoice id far apart, an unknown account and a bad date."""
    for path in source.glob("*.csv"):
        (target / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    invoices = (target / "invoices.csv").read_text(encoding="utf-8").splitlines()
    header = invoices[0].split(",")
    first = invoices[1].split(",")
    orphan = list(first)
    orphan[header.index("id")] = "INV-ORPHAN"
    orphan[header.index("account_id")] = "NO-SUCH-ACCOUNT"
    bad_date = invoices[2].split(",")
    bad_date[header.index("due")] = "next week"
    invoices[2] = ",".join(bad_date)
    invoices += [",".join(first), ",".join(orphan)]
    (target / "invoices.csv").write_text("\n".join(invoices) + "\n", encoding="utf-8")


@pytest.mark.parametrize("whole_files", [True, False])
def test_bad_rows_are_the_same_problems_and_left_out_the_same(
    roster_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole_files: bool
) -> None:
    _spoil(roster_dir, tmp_path)
    loaded = load_roster(tmp_path, strict=False)
    assert len(loaded.dropped) == 3
    if not whole_files:
        monkeypatch.setattr(roster_chunks, "WHOLE_FILE_BYTES", 0)
        monkeypatch.setattr(roster_chunks, "SLICE_ROWS", 2500)
    chunked, dropped, _ = _chunked(tmp_path, 300, strict=False)
    assert dropped == loaded.dropped
    assert_frame_equal(chunked, classify_frames(loaded.frames, Settings(), AS_OF))
    with pytest.raises(RosterFileError) as failure:
        _chunked(tmp_path, 300, strict=True)
    assert failure.value.problems == loaded.dropped


def test_classify_command_writes_the_same_files_whatever_the_batch(roster_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for batch in (130, 100_000):
        out = tmp_path / str(batch)
        result = runner.invoke(
            app,
            ["classify", str(roster_dir), "--out", str(out), "--as-of", "2026-11-01", "--batch", str(batch)],
        )
        assert result.exit_code == 0, result.output
        shown = result.output.split("wrote ")[0]  # the table and the tier counts
        outputs.append(
            (shown, (out / "classifications.csv").read_bytes(), (out / "classifications.json").read_bytes())
        )
    assert outputs[0] == outputs[1]
