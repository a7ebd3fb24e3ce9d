"""CSV injection through the real offline commands: `classify` and `fit` CSVs quote formula cells, JSON
keeps every value as the input gave it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app

runner = CliRunner()
AS_OF = "2026-11-01"
EVIL = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    """A sample roster whose first account is renamed to a formula and whose industry is one too."""
    folder = tmp_path / "roster"
    result = runner.invoke(
        app, ["sample-data", "--out", str(folder), "--accounts", "80", "--seed", "3", "--as-of", AS_OF]
    )
    assert result.exit_code == 0, result.output
    accounts = folder / "accounts.csv"
    rows = list(csv.DictReader(accounts.open(encoding="utf-8", newline="")))
    rows[0]["name"] = EVIL
    rows[1]["name"] = "@SUM(1+1)"
    with accounts.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def _cells(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def test_classify_csv_quotes_formula_names_and_json_keeps_them(roster: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["classify", str(roster), "--as-of", AS_OF, "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {row["name"] for row in _cells(out / "classifications.csv")}
    assert "'" + EVIL in names and "'@SUM(1+1)" in names
    assert not any(name.startswith(("=", "+", "-", "@", "\t", "\r")) for name in names)
    document = json.loads((out / "classifications.json").read_text(encoding="utf-8"))
    assert {EVIL, "@SUM(1+1)"} <= {row["name"] for row in document}


def test_fit_csv_quotes_formula_prospects(roster: Path, tmp_path: Path) -> None:
    prospects = tmp_path / "prospects.csv"
    prospects.write_text(
        "id,name,industry,region,employee_count,source\n"
        f'P1,"{EVIL.replace(chr(34), chr(34) * 2)}",Software,Europe,40,Referral\n'
        "-P2,+Plus Ltd,Retail,LATAM,40,Outbound\n",
        encoding="utf-8",
    )
    out = tmp_path / "fit.csv"
    result = runner.invoke(
        app, ["fit", str(prospects), "--input", str(roster), "--as-of", AS_OF, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = {row["account_id"]: row for row in _cells(out)}
    assert set(rows) == {"P1", "'-P2"}
    assert rows["P1"]["name"] == "'" + EVIL
    assert rows["'-P2"]["name"] == "'+Plus Ltd"
    assert float(rows["P1"]["fit_score"]) >= 0  # numbers stay numbers
