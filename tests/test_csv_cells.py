"""The one CSV writer: every formula-looking cell is quoted (OWASP), everything else round-trips."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from connector.csv_cells import SafeDictWriter, neutralise, write_csv, write_dicts, write_frame


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+33 1 23", "-2+3", "@SUM(A1)", "\tX", "\rX", '=HYPERLINK("http://x","y")'],
)
def test_formula_starts_get_a_leading_quote(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Acme", "a=b", "", " =1", "'=1", "100", "x-y"])
def test_plain_text_is_unchanged(cell: str) -> None:
    assert neutralise(cell) == cell


def test_numbers_and_none_are_written_as_they_are() -> None:
    assert neutralise(-3) == "-3"
    assert neutralise(-2.5) == "-2.5"
    assert neutralise(Decimal("-1.10")) == "-1.10"
    assert neutralise(None) == ""
    assert neutralise(True) == "True"


def test_write_csv_neutralises_every_cell_and_header(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "sub" / "out.csv", ["id", "=name"], [["001", "=cmd|' /C calc'!A0"], [-4, "ok"]]
    )
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    assert rows == [["id", "'=name"], ["001", "'=cmd|' /C calc'!A0"], ["-4", "ok"]]


def test_write_dicts_fills_missing_keys_with_empty_cells(tmp_path: Path) -> None:
    path = write_dicts(tmp_path / "out.csv", ["a", "b"], [{"a": "@x"}, {"a": "y", "b": "+1"}])
    assert path.read_text(encoding="utf-8").splitlines() == ["a,b", "'@x,", "y,'+1"]


def test_dict_writer_on_an_open_handle() -> None:
    handle = io.StringIO()
    writer = SafeDictWriter(handle, fieldnames=["name"], lineterminator="\n")
    writer.writeheader()
    writer.writerows([{"name": "-danger"}, {"name": "safe"}])
    assert handle.getvalue() == "name\n'-danger\nsafe\n"


def test_write_frame_neutralises_text_columns_only(tmp_path: Path) -> None:
    frame = pl.DataFrame({"name": ["=evil", "fine", None, "\tx"], "revenue": [-5.0, 1.0, 2.0, 3.0]})
    path = write_frame(frame, tmp_path / "f.csv")
    back = pl.read_csv(path, infer_schema=False)
    assert back["name"].to_list() == ["'=evil", "fine", None, "'\tx"]
    assert back["revenue"].to_list() == ["-5.0", "1.0", "2.0", "3.0"]
