"""`tiersync report` and `tiersync fit` through Typer's runner: happy paths and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.sample_data import write_csv
from tests.report.conftest import AS_OF, Classified

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def roster_dir(classified: Classified, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("roster")
    write_csv(classified.frames, folder)
    return folder


def prospects(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prospects.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_report_from_offline_input_writes_one_html_file(roster_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    code, stdout, stderr = run(
        "report", "--input", str(roster_dir), "--as-of", AS_OF.isoformat(), "--out", str(out)
    )
    assert (code, stderr) == (0, "")
    assert f"wrote {out}" in stdout.replace("\n", "")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Ideal-client profile" in page


def test_report_from_the_state_as_json_matches_the_state(
    state_path: Path, classified: Classified, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    code, _, _ = run(
        "report", "--state", str(state_path), "--format", "json", "--out", str(out), "--as-of", "2026-11-01"
    )
    assert code == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    counts = dict(classified.results.group_by("tier").len().iter_rows())
    assert {t["tier"]: t["accounts"] for t in document["tiers"]} == counts
    assert document["movements"]["available"] and document["playbook"]["tasks_available"]
    assert document["as_of"] == "2026-11-01"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--state", "x.sqlite", "--input", "y"], "error: pass --state or --input, not both"),
        (["--state", "{tmp}/none.sqlite"], "none.sqlite: no state file; run `tiersync sync` first"),
        (["--input", "{tmp}/missing"], "missing: no such file or folder"),
    ],
)
def test_report_input_problems_are_one_line_each(args: list[str], message: str, tmp_path: Path) -> None:
    code, _, stderr = run("report", *(a.format(tmp=tmp_path) for a in args))
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr


def test_report_names_the_connections_a_state_has(state_path: Path) -> None:
    code, _, stderr = run("report", "--state", str(state_path), "--connection", "eu")
    assert code == 2
    assert "no results for connection 'eu' (has: default)" in stderr


def test_fit_scores_prospects_against_the_state_profile(state_path: Path, tmp_path: Path) -> None:
    csv = prospects(
        tmp_path,
        "id,name,industry,region,employee_count,source\n"
        "P1,Lookalike Ltd,Software,Europe,40,Referral\n"
        "P2,Unlike Inc,Retail,LATAM,40,Outbound\n"
        "P3,Mystery LLC,,,,\n",
    )
    out = tmp_path / "fit.csv"
    code, stdout, stderr = run("fit", str(csv), "--state", str(state_path), "--out", str(out))
    assert (code, stderr) == (0, "")
    assert "3 prospects against" in stdout and "Lookalike Ltd" in stdout
    scores = pl.read_csv(out)
    assert scores["account_id"].to_list() == ["P1", "P3", "P2"]
    assert scores["fit_score"].is_sorted(descending=True)
    assert "industry unknown (neutral)" in scores.filter(pl.col("account_id") == "P3")["fit_reasons"][0]


def test_fit_learns_from_an_offline_input_too(roster_dir: Path, tmp_path: Path) -> None:
    csv = prospects(tmp_path, "id,name,industry\nP1,A,Software\n")
    code, stdout, _ = run("fit", str(csv), "--input", str(roster_dir), "--as-of", AS_OF.isoformat())
    assert code == 0 and "1 prospects against" in stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,industry\nP1,Software\n", "prospects.csv: missing required column name (has: id, industry)"),
        (
            "id,name,employee_count\nP1,A,10\nP2,B,many\n",
            "prospects.csv line 3, column employee_count: expected a whole number (got 'many')",
        ),
        (
            "id,name\nP1,A\nP1,B\n",
            "prospects.csv line 3, column id: duplicate id 'P1' (first on line 2, which is kept)",
        ),
        ("", "prospects.csv: empty file; expected a header line with at least id, name"),
        ("id,name\n", "prospects.csv: no accounts (only a header)"),
    ],
)
def test_fit_rejects_a_bad_prospects_file_in_one_line(
    state_path: Path, tmp_path: Path, text: str, message: str
) -> None:
    code, _, stderr = run("fit", str(prospects(tmp_path, text)), "--state", str(state_path))
    assert code == 2
    assert stderr.strip().splitlines() == [f"error: {message}"]


def test_fit_needs_an_existing_file(state_path: Path, tmp_path: Path) -> None:
    code, _, stderr = run("fit", str(tmp_path / "nope.csv"), "--state", str(state_path))
    assert code == 2 and "nope.csv: no such file" in stderr
