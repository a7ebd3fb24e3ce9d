"""The Pareto of headaches: which tier causes the complaints, late payments, escalations and cost.

docs/rules.md, Tiers says the poor ~20% cause ~80% of the headaches; this module measures it on the
classified roster so that the claim is a number in the report, not a slogan. Evidence that is
missing (null) adds nothing to a total; shares are of the roster's known totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from connector.model import Tier

HEADACHES: dict[str, str] = {
    "complaints": "complaints",
    "late_payments": "invoices_late",
    "escalations": "escalations",
    "cost_to_serve": "cost_to_serve",
}
"""Each headache and the evidence column it sums."""
HEADACHE_LABELS: dict[str, str] = {
    "complaints": "complaints",
    "late_payments": "late payments",
    "escalations": "escalations",
    "cost_to_serve": "cost to serve",
}


@dataclass(frozen=True)
class TierHeadaches:
    tier: str
    accounts: int
    account_share: float
    totals: dict[str, float]
    """Per headache: the tier's sum."""
    shares: dict[str, float]
    """Per headache: the tier's share of the roster's total (0 when the roster has none)."""


@dataclass(frozen=True)
class Pareto:
    by_tier: list[TierHeadaches]
    """Best tier first; every tier is present, with zeros when it has no accounts."""
    totals: dict[str, float]
    worst_share: float
    """The share of accounts the ``worst_cause`` figures are about (0.2 for "the worst 20%")."""
    worst_cause: dict[str, float]
    """Per headache: the share of it caused by the ``worst_share`` of accounts with most of it."""
    headline: str


def pareto(results: pl.DataFrame, worst_share: float = 0.2) -> Pareto:
    """The headaches per tier of a classified roster (needs ``tier`` and the evidence columns)."""
    sums = [
        pl.col(column).fill_null(0).sum().cast(pl.Float64).alias(name) for name, column in HEADACHES.items()
    ]
    # grouped on the columns it sums: an eager group_by runs without projection pushdown, and on the
    # whole results frame it carried every column (+470 MB at 1.15M accounts)
    narrow = results.select("tier", *HEADACHES.values())
    grouped = {
        row["tier"]: row for row in narrow.group_by("tier").agg(pl.len().alias("accounts"), *sums).to_dicts()
    }
    totals = {name: float(results[column].fill_null(0).sum()) for name, column in HEADACHES.items()}
    n = results.height
    by_tier = []
    for tier in Tier:
        row = grouped.get(tier.value, {})
        accounts = int(row.get("accounts", 0))
        tier_totals = {name: float(row.get(name, 0.0)) for name in HEADACHES}
        by_tier.append(
            TierHeadaches(
                tier=tier.value,
                accounts=accounts,
                account_share=accounts / n if n else 0.0,
                totals=tier_totals,
                shares={
                    name: tier_totals[name] / totals[name] if totals[name] else 0.0 for name in HEADACHES
                },
            )
        )
    worst_n = round(n * worst_share)
    worst_cause = {}
    for name, column in HEADACHES.items():
        top = results[column].fill_null(0).sort(descending=True).head(worst_n).sum()
        worst_cause[name] = float(top) / totals[name] if totals[name] else 0.0
    return Pareto(
        by_tier=by_tier,
        totals=totals,
        worst_share=worst_share,
        worst_cause=worst_cause,
        headline=_headline(by_tier[-1]),
    )


def _headline(poor: TierHeadaches) -> str:
    """'poor clients are 20% of clients and cause 78% of complaints, …' (or that there are none)."""
    if not poor.accounts:
        return "No client is poor."
    parts = [f"{poor.shares[name]:.0%} of {HEADACHE_LABELS[name]}" for name in HEADACHES]
    return (
        f"Poor clients are {poor.account_share:.0%} of clients and cause "
        f"{', '.join(parts[:-1])} and {parts[-1]}."
    )
