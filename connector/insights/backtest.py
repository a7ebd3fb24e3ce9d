"""Are the tiers right? Tiers given at one date, checked against what the clients did next.

A tier is a prediction: a poor client should churn and pay late more often than an okay one, an
amazing one should expand more often than a good one. Given each account's tier at ``t`` and its
outcomes over the next window, this module computes the outcome rate per tier and flags every
pair of neighbouring tiers whose rates do not separate by ``insights.backtest_margin``: that
threshold between them is not earning its keep.

History comes from two classifier runs over one roster (:func:`build_history`): one as of ``t``,
one as of ``t + horizon`` whose evidence window is the horizon, so that the second run's evidence
*is* the next window's outcomes:

* **churn**: an account that had invoices in the window before ``t`` has a status among
  ``insights.churned_statuses``, or none in the next window. Accounts with no invoice before ``t``
  were not active (a client that had left already), so their churn is unknown;
* **late payment**: any invoice of the next window paid late or unpaid past due (unknown when the
  next window has no invoice that could be late);
* **expansion**: next window's revenue above ``insights.expansion_ratio`` × this window's
  (unknown without revenue before ``t``).

Accounts created after ``t`` are left out. Each rate's denominator is the tier's accounts whose
outcome is known (``DENOMINATORS``), never all the tier's accounts.

The decision at ``t`` is backtested too (:func:`backtest_decisions`): clients to let go should churn
or cost more than clients to fix, and clients to fix should improve (a better tier one horizon
later) more often than clients to let go.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import polars as pl

from connector.classify.classifier import classify_frames
from connector.config import InsightSettings, Settings
from connector.frames import RosterFrames
from connector.model import Decision, Tier

OUTCOMES: dict[str, bool] = {"churn": True, "late_payment": True, "expansion": False}
"""Each outcome and whether it is bad (a worse tier should have a higher rate)."""
OUTCOME_VERBS = {"churn": "churned", "late_payment": "paid late", "expansion": "expanded"}
OUTCOME_LABELS = {"churn": "churn", "late_payment": "late payment", "expansion": "expansion"}
DENOMINATORS = {
    "churn": "clients with invoices in the window before t",
    "late_payment": "clients with an invoice due (and judgeable) in the horizon",
    "expansion": "clients with revenue in the window before t",
}
"""What each outcome rate is a share of: the clients whose outcome is known."""
TIER_RANK = {t.value: rank for rank, t in enumerate(Tier)}


def history_between(
    before: pl.DataFrame, after: pl.DataFrame, settings: InsightSettings, as_of: dt.date
) -> pl.DataFrame:
    """``account_id``, ``tier`` (at ``t``) and one nullable boolean per outcome.

    ``before`` and ``after`` are ``classify_frames`` results as of ``t`` and as of ``t + horizon``
    (with the horizon as evidence window) over the same roster.
    """
    first = before
    if "created" in first.columns:
        first = first.filter(pl.col("created").is_null() | (pl.col("created") <= as_of))
    status = (
        pl.col("status").is_in(settings.churned_statuses).fill_null(False)
        if "status" in after.columns
        else pl.lit(False)
    )
    nxt = after.select(
        "account_id",
        status.alias("left"),
        pl.col("invoices").alias("next_invoices"),
        pl.col("invoices_considered").alias("next_considered"),
        pl.col("invoices_late").alias("next_late"),
        pl.col("revenue").alias("next_revenue"),
    )
    kept = [c for c in ("decision",) if c in first.columns]
    later = [c for c in ("tier", "cost_ratio") if c in after.columns]
    nxt = nxt.join(
        after.select("account_id", *(pl.col(c).alias(f"next_{c}") for c in later)), on="account_id"
    )
    joined = first.select("account_id", "tier", *kept, "invoices", "revenue").join(
        nxt, on="account_id", how="left"
    )
    active = pl.col("invoices").fill_null(0) > 0
    churn = (
        pl.when(active & pl.col("left"))
        .then(True)
        .when(active & pl.col("next_invoices").is_not_null())
        .then(pl.col("next_invoices") == 0)
        .otherwise(None)
    )
    late = pl.when(pl.col("next_considered").fill_null(0) > 0).then(pl.col("next_late") > 0).otherwise(None)
    expansion = (
        pl.when((pl.col("revenue").fill_null(0) > 0) & pl.col("next_revenue").is_not_null())
        .then(pl.col("next_revenue") > pl.col("revenue") * settings.expansion_ratio)
        .otherwise(None)
    )
    extra: list[pl.Expr] = [pl.col(c) for c in kept]
    if "next_tier" in joined.columns:
        rank = pl.col("tier").replace_strict(TIER_RANK, default=None)
        next_rank = pl.col("next_tier").replace_strict(TIER_RANK, default=None)
        extra.append(
            pl.when(churn.fill_null(False))
            .then(False)
            .when(active)
            .then(next_rank < rank)
            .otherwise(None)
            .alias("improved")
        )
    if "next_cost_ratio" in joined.columns:
        extra.append(
            pl.when(churn.fill_null(False))
            .then(None)
            .otherwise(pl.col("next_cost_ratio"))
            .alias("next_cost_ratio")
        )
    return joined.select(
        "account_id",
        "tier",
        churn.alias("churn"),
        late.alias("late_payment"),
        expansion.alias("expansion"),
        *extra,
    ).sort("account_id")


def build_history(
    frames: RosterFrames,
    settings: Settings,
    as_of: dt.date,
    horizon_days: int,
    fields_missing: list[tuple[str, str]] | None = None,
) -> pl.DataFrame:
    """Tiers as of ``as_of`` and outcomes over the ``horizon_days`` after it, from one roster (or one
    chunk of accounts of it: each account's history is its own; ``fields_missing`` as in
    ``classify_frames``)."""
    after_settings = settings.model_copy(
        update={"evidence": settings.evidence.model_copy(update={"window_days": horizon_days})}
    )
    before = classify_frames(frames, settings, as_of, fields_missing)
    after = classify_frames(frames, after_settings, as_of + dt.timedelta(days=horizon_days), fields_missing)
    return history_between(before, after, settings.insights, as_of)


@dataclass(frozen=True)
class TierOutcomes:
    tier: str
    accounts: int
    known: dict[str, int]
    """Per outcome: accounts whose outcome is known."""
    rates: dict[str, float | None]
    """Per outcome: the share of known outcomes that happened (None when none is known)."""


@dataclass(frozen=True)
class BacktestFlag:
    outcome: str
    better: str
    worse: str
    better_rate: float
    worse_rate: float
    sentence: str


@dataclass(frozen=True)
class Backtest:
    by_tier: list[TierOutcomes]
    """Best tier first."""
    flags: list[BacktestFlag]
    notes: list[str]
    """Tiers left out of a comparison for having too few known outcomes."""
    margin: float
    min_accounts: int


def backtest(history: pl.DataFrame, settings: Settings) -> Backtest:
    """Outcome rates per tier and a flag for each neighbouring pair that does not separate."""
    cfg = settings.insights
    stats = {
        row["tier"]: row
        for row in history.group_by("tier")
        .agg(
            pl.len().alias("accounts"),
            *(pl.col(o).is_not_null().sum().alias(f"{o}_known") for o in OUTCOMES),
            *(pl.col(o).cast(pl.Float64).mean().alias(f"{o}_rate") for o in OUTCOMES),
        )
        .to_dicts()
    }
    by_tier = [
        TierOutcomes(
            tier=t.value,
            accounts=int(stats.get(t.value, {}).get("accounts", 0)),
            known={o: int(stats.get(t.value, {}).get(f"{o}_known", 0)) for o in OUTCOMES},
            rates={o: stats.get(t.value, {}).get(f"{o}_rate") for o in OUTCOMES},
        )
        for t in Tier
    ]
    flags: list[BacktestFlag] = []
    notes: list[str] = []
    for outcome, bad in OUTCOMES.items():
        judged = []
        for row in by_tier:
            if row.known[outcome] >= cfg.backtest_min_accounts:
                judged.append(row)
            elif row.accounts:
                notes.append(
                    f"{OUTCOME_LABELS[outcome]}: {row.tier} has {row.known[outcome]} accounts with a known "
                    f"outcome (fewer than {cfg.backtest_min_accounts}), so it is not judged"
                )
        for better, worse in itertools.pairwise(judged):
            b, w = better.rates[outcome], worse.rates[outcome]
            assert b is not None and w is not None
            gap = (w - b) if bad else (b - w)
            if gap < cfg.backtest_margin:
                flags.append(_flag(outcome, bad, better.tier, worse.tier, b, w, cfg.backtest_margin))
    return Backtest(
        by_tier=by_tier,
        flags=flags,
        notes=notes,
        margin=cfg.backtest_margin,
        min_accounts=cfg.backtest_min_accounts,
    )


def _flag(
    outcome: str, bad: bool, better: str, worse: str, b: float, w: float, margin: float
) -> BacktestFlag:
    verb = OUTCOME_VERBS[outcome]
    expected = f"{worse} higher" if bad else f"{better} higher"
    sentence = (
        f"{worse.capitalize()} clients {verb} at {w:.1%} and {better} clients at {b:.1%}: the line between "
        f"{better} and {worse} does not separate {OUTCOME_LABELS[outcome]} "
        f"(expected {expected} by at least {margin * 100:g} points)."
    )
    return BacktestFlag(outcome, better, worse, b, w, sentence)


@dataclass(frozen=True)
class DecisionOutcomes:
    decision: str
    accounts: int
    churn: float | None
    """Share of the decision's active clients that churned."""
    improved: float | None
    """Share of its active clients whose tier one horizon later is better."""
    cost_ratio: float | None
    """Median cost to serve / revenue over the horizon, among those that stayed (None: no revenue)."""
    known: int
    """Clients active at ``t``: the denominator of ``churn`` and ``improved``."""


@dataclass(frozen=True)
class DecisionBacktest:
    by_decision: list[DecisionOutcomes]
    checks: list[str]
    """What held, in plain words."""
    flags: list[str]
    """What did not hold."""


def backtest_decisions(history: pl.DataFrame) -> DecisionBacktest | None:
    """Per decision at ``t``: churn, improvement and cost over the horizon; None without decisions.

    Two checks: ``let_go`` clients churn or cost more than ``fix`` clients; ``fix`` clients improve
    more often than ``let_go`` ones. Infinite cost ratios (cost without revenue) count as the highest."""
    if "decision" not in history.columns or "improved" not in history.columns:
        return None
    stats = {
        row["decision"]: row
        for row in history.group_by("decision")
        .agg(
            pl.len().alias("accounts"),
            pl.col("churn").is_not_null().sum().alias("known"),
            pl.col("churn").cast(pl.Float64).mean().alias("churn"),
            pl.col("improved").cast(pl.Float64).mean().alias("improved"),
            pl.col("next_cost_ratio").median().alias("cost_ratio"),
        )
        .to_dicts()
    }
    rows = [
        DecisionOutcomes(
            decision=d.value,
            accounts=int(stats.get(d.value, {}).get("accounts", 0)),
            churn=stats.get(d.value, {}).get("churn"),
            improved=stats.get(d.value, {}).get("improved"),
            cost_ratio=stats.get(d.value, {}).get("cost_ratio"),
            known=int(stats.get(d.value, {}).get("known", 0)),
        )
        for d in Decision
    ]
    by = {r.decision: r for r in rows}
    fix, let_go = by[Decision.FIX.value], by[Decision.LET_GO.value]
    checks: list[str] = []
    flags: list[str] = []

    def say(holds: bool, sentence: str) -> None:
        (checks if holds else flags).append(sentence)

    if fix.known and let_go.known and None not in (fix.churn, let_go.churn):
        assert fix.churn is not None and let_go.churn is not None
        worse_cost = (let_go.cost_ratio or 0.0) > (fix.cost_ratio or 0.0)
        say(
            let_go.churn > fix.churn or worse_cost,
            f"clients to let go churned at {let_go.churn:.1%} (of {let_go.known}) against {fix.churn:.1%} "
            f"(of {fix.known}) for clients to fix; median cost to serve {_ratio(let_go.cost_ratio)} against "
            f"{_ratio(fix.cost_ratio)} of revenue",
        )
        assert fix.improved is not None and let_go.improved is not None
        say(
            fix.improved > let_go.improved,
            f"clients to fix improved a tier at {fix.improved:.1%} against {let_go.improved:.1%} for clients "
            "to let go",
        )
    else:
        flags.append("too few clients to fix or to let go at t to compare them")
    return DecisionBacktest(by_decision=rows, checks=checks, flags=flags)


def _ratio(value: float | None) -> str:
    return "–" if value is None else ("no revenue" if value == float("inf") else f"{value:.1%}")
