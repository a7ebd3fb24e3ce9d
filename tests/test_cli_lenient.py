"""`classify --lenient` loses nothing it could keep, through the real command: a duplicate id keeps
its first row, a run with no client left never exits 0, and coded values match however they are
spelled (case, spaces, hyphens) or are refused naming the allowed values."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from connector.cli import app
from connector.exit_codes import ExitCode

AS_OF = "2026-11-01"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _roster(tmp_path: Path, accounts: str, meetings: str | None = None) -> Path:
    folder = tmp_path / "roster"
    folder.mkdir()
    (folder / "accounts.csv").write_text(accounts, encoding="utf-8")
    if meetings is not None:
        (folder / "meetings.csv").write_text(meetings, encoding="utf-8")
    return folder


def test_lenient_duplicate_keeps_the_first_row_and_reports_each_later_one(tmp_path: Path) -> None:
    folder = _roster(tmp_path, "id,name\nA1,First Ltd\nA1,Second Ltd\nA1,Third Ltd\n")
    out = tmp_path / "out"
    code, stdout, stderr = run("classify", str(folder), "--lenient", "--as-of", AS_OF, "--out", str(out))
    assert code == 0, stderr
    assert "1 clients as of" in stdout
    assert "skipped: accounts.csv line 3, column id: duplicate id 'A1' (first on line 2" in stderr
    assert "skipped: accounts.csv line 4, column id: duplicate id 'A1' (first on line 2" in stderr
    rows = json.loads((out / "classifications.json").read_text(encoding="utf-8"))
    assert [(r["account_id"], r["name"]) for r in rows] == [("A1", "First Ltd")]


def test_lenient_with_no_client_left_does_not_exit_0(tmp_path: Path) -> None:
    folder = _roster(tmp_path, "id,name,employee_count\nA1,One,-3\nA2,Two,many\n")
    code, _, stderr = run("classify", str(folder), "--lenient", "--as-of", AS_OF)
    assert code == ExitCode.USAGE
    assert "no client left to classify" in stderr


def test_meeting_codes_match_regardless_of_case_spaces_and_hyphens(tmp_path: Path) -> None:
    accounts = "id,name\nA1,Spelled Ltd\nA2,Canonical Ltd\n"
    spelled = ["Check-up", "CHECKUP", "check up"]
    canonical = ["checkup"] * 3
    outcomes_spelled = ["Declined", "no-show", "DECLINED"]
    outcomes_canonical = ["declined", "no_show", "declined"]
    lines = ["id,account_id,type,scheduled,outcome"]
    for i, (kind, outcome) in enumerate(zip(spelled, outcomes_spelled, strict=True)):
        lines.append(f"M{i},A1,{kind},2026-10-0{i + 1},{outcome}")
    for i, (kind, outcome) in enumerate(zip(canonical, outcomes_canonical, strict=True)):
        lines.append(f"N{i},A2,{kind},2026-10-0{i + 1},{outcome}")
    folder = _roster(tmp_path, accounts, "\n".join(lines) + "\n")
    out = tmp_path / "out"
    code, _, stderr = run("classify", str(folder), "--as-of", AS_OF, "--out", str(out), "--format", "csv")
    assert code == 0, stderr
    results = pl.read_csv(out / "classifications.csv", infer_schema=False)
    spelled_row, canonical_row = (
        results.filter(pl.col("account_id") == a).row(0, named=True) for a in ("A1", "A2")
    )
    assert spelled_row["traits"] == canonical_row["traits"] != ""
    assert "goalpost_mover" in spelled_row["trait_codes"], "2 declined check-ups count as check-ups"


def test_an_unknown_meeting_type_is_refused_naming_the_allowed_values(tmp_path: Path) -> None:
    folder = _roster(
        tmp_path, "id,name\nA1,One\n", "id,account_id,type,scheduled,outcome\nM1,A1,chekup,2026-10-01,held\n"
    )
    code, _, stderr = run("classify", str(folder), "--as-of", AS_OF)
    assert code == ExitCode.USAGE
    assert (
        "error: meetings.csv line 2, column type: expected one of checkup, working_session (got 'chekup')"
        in stderr
    )
