"""`tiersync backtest` through Typer's runner, on a two-year roster written as CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.sample_data import write_csv
from tests.insights.history import two_year_roster
from tests.insights.test_backtest import T

runner = CliRunner()


@pytest.fixture(scope="module")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    write_csv(two_year_roster(600, seed=3, as_of=T).frames, folder)
    return folder


def test_backtest_prints_rates_per_tier_and_the_flags(history_dir: Path) -> None:
    result = runner.invoke(app, ["backtest", "--input", str(history_dir), "--as-of", T.isoformat()])
    assert result.exit_code == 0, result.stderr
    assert "Tiers as of 2025-11-01, outcomes to 2026-11-01" in result.stdout
    assert "flag: Okay clients churned at 0.0% and good clients at 0.0%" in result.stdout


def test_backtest_as_json(history_dir: Path) -> None:
    result = runner.invoke(
        app, ["backtest", "--input", str(history_dir), "--as-of", T.isoformat(), "--format", "json"]
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["as_of"] == "2025-11-01" and document["horizon_days"] == 365
    poor = next(row for row in document["by_tier"] if row["tier"] == "poor")
    assert 0.4 < poor["rates"]["churn"] < 0.6
    assert {(f["better"], f["worse"]) for f in document["flags"] if f["outcome"] == "churn"} == {
        ("amazing", "good"),
        ("good", "okay"),
    }


def test_backtest_says_when_the_history_is_too_short(history_dir: Path) -> None:
    first = pl.read_csv(history_dir / "invoices.csv", try_parse_dates=True)["issued"].min()
    result = runner.invoke(app, ["backtest", "--input", str(history_dir), "--as-of", "2020-01-01"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {history_dir}: history too short for --as-of 2020-01-01: the first invoice is of {first}; "
        "pass a later --as-of"
    ]


def test_backtest_reports_a_bad_roster_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("id\nA1\n", encoding="utf-8")
    result = runner.invoke(app, ["backtest", "--input", str(tmp_path)])
    assert result.exit_code == 2
    assert "accounts.csv: missing required column name" in result.stderr
