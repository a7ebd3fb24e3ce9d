"""`tiersync sample-data` writes a roster that evolves over three years; `tiersync backtest` on it shows
tiers that separate churn, late payment and expansion, says what each rate is a share of, and checks
the decision (let go churns or costs more than fix; fix improves more often than let go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app

runner = CliRunner()
TODAY = "2026-11-01"
A_YEAR_AGO = "2025-11-01"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    made = runner.invoke(app, ["sample-data", "--out", str(folder), "--accounts", "2000", "--as-of", TODAY])
    assert made.exit_code == 0, made.output
    return folder


def test_backtest_on_sample_data_separates_every_outcome_and_the_decision(sample_dir: Path) -> None:
    result = runner.invoke(app, ["backtest", "--input", str(sample_dir), "--as-of", A_YEAR_AGO])
    assert result.exit_code == 0, result.output
    assert "does not separate" not in result.stdout
    assert "every pair of neighbouring tiers separates by at least 2 points" in result.stdout
    assert "A rate is a share of the tier's clients whose outcome is known" in result.stdout
    assert "ok clients to let go churned at" in result.stdout
    assert "ok clients to fix improved a tier at" in result.stdout
    assert "flag:" not in result.stdout


def test_backtest_json_rates_follow_the_tiers_with_their_denominators(sample_dir: Path) -> None:
    result = runner.invoke(
        app, ["backtest", "--input", str(sample_dir), "--as-of", A_YEAR_AGO, "--format", "json"]
    )
    document = json.loads(result.stdout)
    tiers = {row["tier"]: row for row in document["by_tier"]}
    assert tiers["amazing"]["accounts"] > 100  # the tiers a year earlier are real, not empty
    churn = [tiers[t]["rates"]["churn"] for t in ("amazing", "good", "okay", "poor")]
    late = [tiers[t]["rates"]["late_payment"] for t in ("amazing", "good", "okay", "poor")]
    expansion = [tiers[t]["rates"]["expansion"] for t in ("amazing", "good", "okay", "poor")]
    assert churn == sorted(churn) and late == sorted(late) and expansion == sorted(expansion, reverse=True)
    for row in tiers.values():  # each rate is over the clients whose outcome is known, never more
        assert all(0 < known <= row["accounts"] for known in row["known"].values())
    assert set(document["denominators"]) == {"churn", "late_payment", "expansion"}
    decisions = {row["decision"]: row for row in document["decisions"]["by_decision"]}
    assert decisions["let_go"]["churn"] > decisions["fix"]["churn"]
    assert decisions["fix"]["improved"] > decisions["let_go"]["improved"]
    assert document["decisions"]["flags"] == []
