"""The backtest: outcome rates per tier, and a flag where neighbouring tiers do not separate."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from connector.config import Settings
from connector.insights.backtest import backtest, build_history, history_between
from tests.insights.history import two_year_roster

T = dt.date(2025, 11, 1)


@pytest.fixture(scope="module")
def planted() -> tuple[pl.DataFrame, set[str], set[str], pl.DataFrame]:
    history = two_year_roster(1200, seed=3, as_of=T)
    return build_history(history.frames, Settings(), T, 365), history.churned, history.expanded, history.tiers


def test_history_has_each_accounts_tier_at_t_and_its_planted_outcomes(
    planted: tuple[pl.DataFrame, set[str], set[str], pl.DataFrame],
) -> None:
    history, churned, expanded, tiers = planted
    assert history.select("account_id", "tier").equals(tiers.sort("account_id"))
    assert set(history.filter(pl.col("churn"))["account_id"]) == churned
    assert set(history.filter(pl.col("expansion"))["account_id"]) >= expanded


def test_poor_clients_churn_and_the_lines_above_poor_are_flagged_for_churn(
    planted: tuple[pl.DataFrame, set[str], set[str], pl.DataFrame],
) -> None:
    history, churned, _, tiers = planted
    result = backtest(history, Settings())
    rates = {row.tier: row.rates for row in result.by_tier}
    poor = tiers.filter(pl.col("tier") == "poor").height
    assert rates["poor"]["churn"] == pytest.approx(len(churned) / poor)
    assert rates["amazing"]["churn"] == rates["good"]["churn"] == rates["okay"]["churn"] == 0
    assert rates["amazing"]["expansion"] == 1.0
    churn_flags = {(f.better, f.worse) for f in result.flags if f.outcome == "churn"}
    assert churn_flags == {("amazing", "good"), ("good", "okay")}
    assert ("amazing", "good") not in {(f.better, f.worse) for f in result.flags if f.outcome == "expansion"}
    flag = next(f for f in result.flags if f.outcome == "churn" and f.worse == "okay")
    assert flag.sentence == (
        "Okay clients churned at 0.0% and good clients at 0.0%: the line between good and okay does not "
        "separate churn (expected okay higher by at least 2 points)."
    )


def test_a_wider_margin_flags_more_and_thin_tiers_are_not_judged(
    planted: tuple[pl.DataFrame, set[str], set[str], pl.DataFrame],
) -> None:
    history = planted[0]
    strict = backtest(history, Settings.model_validate({"insights": {"backtest_margin": 0.99}}))
    assert len(strict.flags) == 3 * 3
    thin = backtest(history, Settings.model_validate({"insights": {"backtest_min_accounts": 100_000}}))
    assert thin.flags == []
    assert len(thin.notes) == 3 * 4
    assert thin.notes[0].startswith("churn: amazing has ")


def test_outcomes_follow_their_definitions_on_hand_made_runs() -> None:
    before = pl.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "tier": ["good", "poor", "okay", "good", "amazing"],
            "invoices": [4, 3, 0, 5, 2],
            "revenue": [100.0, 50.0, 0.0, 100.0, 10.0],
            "created": [
                dt.date(2020, 1, 1),
                None,
                dt.date(2020, 1, 1),
                dt.date(2020, 1, 1),
                dt.date(2026, 1, 1),
            ],
        }
    )
    after = pl.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "invoices": [4, 2, 1, 0, 3],
            "invoices_considered": [4, 2, 1, 0, 3],
            "invoices_late": [0, 1, 0, 0, 0],
            "revenue": [121.0, 40.0, 9.0, 0.0, 30.0],
            "status": ["customer", "churned", "customer", None, "customer"],
        }
    )
    history = history_between(before, after, Settings().insights, T)
    rows = {r["account_id"]: r for r in history.iter_rows(named=True)}
    assert set(rows) == {"a", "b", "c", "d"}  # e was created after t
    assert (rows["a"]["churn"], rows["a"]["late_payment"], rows["a"]["expansion"]) == (False, False, True)
    assert (rows["b"]["churn"], rows["b"]["late_payment"], rows["b"]["expansion"]) == (True, True, False)
    assert (rows["c"]["churn"], rows["c"]["expansion"]) == (None, None)  # not active before t
    assert (rows["d"]["churn"], rows["d"]["late_payment"], rows["d"]["expansion"]) == (True, None, False)
