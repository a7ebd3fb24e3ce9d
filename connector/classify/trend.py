"""The trend: this window against the last, for the fix-or-let-go decision.

The last window is classified with the same rules from the client's own records, as of one window
earlier, so its tier is the tier the client held then (what the tier history holds for a client that
was synced then) and needs no state: the classifier stays a pure function of records and thresholds.
The trend is the tier move first; with the same tier, the change in complaints and in the on-time rate.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.evidence import evidence_plan
from connector.classify.rules import number, percent
from connector.classify.tiers import tier_column
from connector.frames import RosterFrames
from connector.model import Tier

PREVIOUS_COLUMNS = (
    "revenue",
    "complaints",
    "on_time_rate",
    "abusive_incidents",
    "public_complaints",
    "unpaid_overdue",
)
"""Evidence of the last window kept beside this window's, as ``<column>_previous``."""

PREVIOUS_SOURCES = ("invoices", "tickets", "referrals", "surveys")
"""The sources the tier rules and ``PREVIOUS_COLUMNS`` read."""

TIER_RANK: dict[str, int] = {t.value: rank for rank, t in enumerate(Tier)}
"""Best first: amazing 0 … poor 3."""


class Trend:
    IMPROVING = "improving"
    WORSENING = "worsening"
    STEADY = "steady"
    UNKNOWN = "unknown"


def previous_window(frames: RosterFrames, settings: ClassifierSettings, as_of: dt.date) -> pl.LazyFrame:
    """``id``, ``previous_tier`` and ``<column>_previous``, all null for a client with no record then."""
    before = as_of - dt.timedelta(days=settings.evidence.window_days)
    # only the sources the tier and the kept columns read: the last window's meetings, goals and
    # renegotiations would be computed for nothing
    evidence = evidence_plan(frames, settings.evidence, before, PREVIOUS_SOURCES)
    active = pl.any_horizontal(pl.col(c).fill_null(0) > 0 for c in ("invoices", "tickets", "surveys"))
    return evidence.with_columns(tier_column(settings)).select(
        "id",
        pl.when(active).then(pl.col("tier")).alias("previous_tier"),
        *(pl.when(active).then(pl.col(c)).alias(f"{c}_previous") for c in PREVIOUS_COLUMNS),
    )


def _rank(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(TIER_RANK, default=None, return_dtype=pl.Int8)


def _changes(settings: ClassifierSettings) -> tuple[pl.Expr, pl.Expr]:
    """(better, worse) on the evidence alone: complaints and the on-time rate against the last window."""
    t = settings.decision.trend
    complaints = pl.col("complaints") - pl.col("complaints_previous")
    on_time = pl.col("on_time_rate") - pl.col("on_time_rate_previous")
    better = (complaints <= -t.complaints_change_at_least) | (on_time >= t.on_time_change_at_least)
    worse = (complaints >= t.complaints_change_at_least) | (on_time <= -t.on_time_change_at_least)
    return better.fill_null(False), worse.fill_null(False)


def trend_column(settings: ClassifierSettings) -> pl.Expr:
    better, worse = _changes(settings)
    now, then = _rank("tier"), _rank("previous_tier")
    return (
        pl.when(pl.col("previous_tier").is_null())
        .then(pl.lit(Trend.UNKNOWN))
        .when(now < then)
        .then(pl.lit(Trend.IMPROVING))
        .when(now > then)
        .then(pl.lit(Trend.WORSENING))
        .when(better & ~worse)
        .then(pl.lit(Trend.IMPROVING))
        .when(worse & ~better)
        .then(pl.lit(Trend.WORSENING))
        .otherwise(pl.lit(Trend.STEADY))
        .alias("trend")
    )


def trend_words() -> pl.Expr:
    """The trend in plain words: ``tier poor a window ago, okay now; complaints 8 → 3``."""
    parts = [
        pl.when(pl.col("previous_tier").is_null()).then(pl.lit("no record from the last window")),
        pl.when(pl.col("previous_tier").is_not_null() & (pl.col("previous_tier") != pl.col("tier"))).then(
            pl.lit("tier ")
            + pl.col("previous_tier")
            + pl.lit(" a window ago, ")
            + pl.col("tier")
            + pl.lit(" now")
        ),
        pl.when(pl.col("complaints_previous") != pl.col("complaints")).then(
            pl.lit("complaints ") + number("complaints_previous") + pl.lit(" → ") + number("complaints")
        ),
        pl.when((pl.col("on_time_rate_previous") - pl.col("on_time_rate")).abs() >= 0.005).then(
            pl.lit("on time ") + percent("on_time_rate_previous") + pl.lit(" → ") + percent("on_time_rate")
        ),
    ]
    words = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(words == "").then(pl.lit("the same as the last window")).otherwise(words)
