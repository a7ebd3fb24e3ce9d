"""The Pareto of headaches: each tier's share of complaints, late payments, escalations and cost."""

from __future__ import annotations

import polars as pl
import pytest

from connector.insights.pareto import pareto


def frame(rows: list[tuple[str, int | None, int, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "tier": pl.String,
            "complaints": pl.Int64,
            "invoices_late": pl.Int64,
            "escalations": pl.Int64,
            "cost_to_serve": pl.Float64,
        },
        orient="row",
    )


def test_shares_per_tier_on_a_hand_made_roster() -> None:
    rows = [("good", 1, 0, 0, 100.0)] * 6 + [("okay", 2, 1, 0, 200.0)] * 2 + [("poor", 8, 4, 3, 900.0)] * 2
    result = pareto(frame(rows))
    poor = result.by_tier[-1]
    assert [t.tier for t in result.by_tier] == ["amazing", "good", "okay", "poor"]
    assert result.by_tier[0].accounts == 0 and result.by_tier[0].shares["complaints"] == 0
    assert result.totals == {"complaints": 26, "late_payments": 10, "escalations": 6, "cost_to_serve": 2800}
    assert poor.account_share == 0.2
    assert poor.shares == pytest.approx(
        {"complaints": 16 / 26, "late_payments": 8 / 10, "escalations": 1.0, "cost_to_serve": 1800 / 2800}
    )
    assert result.worst_cause["complaints"] == pytest.approx(16 / 26)  # the worst 2 of 10 are the poor two
    assert result.headline == (
        "Poor clients are 20% of clients and cause 62% of complaints, 80% of late payments, "
        "100% of escalations and 64% of cost to serve."
    )


def test_missing_evidence_adds_nothing_and_an_empty_headache_has_no_share() -> None:
    result = pareto(frame([("good", None, 0, 0, 0.0), ("poor", 3, 0, 0, 0.0)]))
    assert result.totals["complaints"] == 3
    assert result.by_tier[-1].shares["complaints"] == 1.0
    assert result.by_tier[-1].shares["escalations"] == 0.0


def test_a_roster_without_poor_clients_says_so() -> None:
    assert pareto(frame([("good", 1, 0, 0, 10.0)])).headline == "No client is poor."
