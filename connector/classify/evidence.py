"""Evidence: per-account facts computed from the records of a look-back window.

One row per account. A count is 0 only when the source exists and holds no matching record; a rate
or a latest value is null when there is nothing to compute it from, and a missing source makes its
columns null for everyone. The classifier turns nulls into data gaps, never into good news.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from connector.classify.evidence_settings import EvidenceSettings
from connector.frames import CHILD_SCHEMAS, RosterFrames
from connector.model import CHECKUP_MEETING_TYPE, GoalStatus, InvoiceStatus, MeetingOutcome

COUNT_COLUMNS: dict[str, list[str]] = {
    "invoices": ["invoices", "invoices_considered", "invoices_on_time", "invoices_late", "unpaid_overdue"],
    "tickets": [
        "tickets",
        "complaints",
        "escalations",
        "abusive_incidents",
        "discount_requests",
        "rush_requests",
        "deadline_requests",
    ],
    "referrals": ["referrals"],
    "surveys": ["surveys", "public_complaints"],
    "meetings": ["checkups_held", "checkups_missed", "checkups_declined", "no_shows", "sessions_declined"],
    "goals": ["goals_refused"],
    "renegotiations": ["renegotiations"],
}
"""Count columns by source: 0 when the source exists but holds nothing for the account."""

AMOUNT_COLUMNS: dict[str, list[str]] = {
    "invoices": ["revenue", "overdue_amount", "invoices_missing_dates"],
    "referrals": ["referral_value"],
}
"""Sums: 0 when the source exists but holds nothing for the account. Rates and latest values
(``on_time_rate``, ``latest_nps``, ``latest_csat``, ``latest_goal_status``) stay null instead, and so do
the sums of optional invoice fields (``discount_total``, ``cost_total``): no invoice that holds one is
"unknown", not zero."""


def _known_sum(column: str, weight: str = "") -> pl.Expr:
    """The sum of ``column`` (or of ``weight`` where ``column`` is known), null when no row knows it."""
    known = pl.col(column).is_not_null()
    total = pl.col(weight).filter(known).sum() if weight else pl.col(column).sum()
    return pl.when(known.any()).then(total)


def _within(column: str, start: dt.date, end: dt.date) -> pl.Expr:
    return pl.col(column).is_between(pl.lit(start), pl.lit(end))


def _flag(column: str) -> pl.Expr:
    return pl.col(column).fill_null(False).cast(pl.Int64).sum()


def _invoices(frame: pl.LazyFrame, as_of: dt.date, start: dt.date, grace: int) -> pl.LazyFrame:
    late_after = pl.col("due") + pl.duration(days=grace)
    in_window = pl.coalesce("issued", "due").is_between(pl.lit(start), pl.lit(as_of))
    void = pl.col("status").fill_null("") == InvoiceStatus.VOID.value
    paid_without_date = (pl.col("status").fill_null("") == InvoiceStatus.PAID.value) & pl.col(
        "paid"
    ).is_null()
    on_time = pl.col("paid").is_not_null() & (pl.col("paid") <= late_after)
    paid_late = pl.col("paid").is_not_null() & (pl.col("paid") > late_after)
    overdue = pl.col("paid").is_null() & ~paid_without_date & (late_after < pl.lit(as_of))
    considered = pl.col("due").is_not_null() & (on_time | paid_late | overdue)
    return (
        frame.filter(in_window & ~void)
        .group_by("account_id")
        .agg(
            pl.len().alias("invoices"),
            considered.sum().alias("invoices_considered"),
            (considered & on_time).sum().alias("invoices_on_time"),
            (considered & (paid_late | overdue)).sum().alias("invoices_late"),
            (considered & overdue).sum().alias("unpaid_overdue"),
            pl.col("amount").sum().alias("revenue"),
            pl.col("amount").filter(considered & overdue).sum().alias("overdue_amount"),
            (pl.col("due").is_null() | paid_without_date).sum().alias("invoices_missing_dates"),
            _known_sum("discount").alias("discount_total"),
            _known_sum("cost").alias("cost_total"),
            _known_sum("cost", weight="amount").alias("costed_revenue"),
        )
    )


def _tickets(frame: pl.LazyFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    return (
        frame.filter(_within("opened", start, as_of))
        .group_by("account_id")
        .agg(
            pl.len().alias("tickets"),
            _flag("complaint").alias("complaints"),
            _flag("escalated").alias("escalations"),
            _flag("abusive").alias("abusive_incidents"),
            _flag("discount_request").alias("discount_requests"),
            _flag("rush_request").alias("rush_requests"),
            _flag("deadline_request").alias("deadline_requests"),
        )
    )


def _referrals(frame: pl.LazyFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    return (
        frame.filter(_within("date", start, as_of))
        .group_by("account_id")
        .agg(pl.len().alias("referrals"), pl.col("value").sum().alias("referral_value"))
    )


def _surveys(frame: pl.LazyFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    # latest by date, ties broken by id, so that the answer never depends on row order
    return (
        frame.filter(_within("date", start, as_of))
        .sort("account_id", "date", "id")
        .group_by("account_id")
        .agg(
            pl.len().alias("surveys"),
            _flag("public_complaint").alias("public_complaints"),
            pl.col("nps").drop_nulls().last().alias("latest_nps"),
            pl.col("csat").drop_nulls().last().alias("latest_csat"),
        )
    )


def _meetings(frame: pl.LazyFrame, as_of: dt.date, start: dt.date, checkup_start: dt.date) -> pl.LazyFrame:
    checkup = pl.col("type").fill_null("") == CHECKUP_MEETING_TYPE
    recent_checkup = checkup & _within("scheduled", checkup_start, as_of)
    outcome = pl.col("outcome").fill_null("")
    return (
        frame.filter(_within("scheduled", start, as_of))
        .group_by("account_id")
        .agg(
            (recent_checkup & (outcome == MeetingOutcome.HELD.value)).sum().alias("checkups_held"),
            (recent_checkup & (outcome == MeetingOutcome.NO_SHOW.value)).sum().alias("checkups_missed"),
            (recent_checkup & (outcome == MeetingOutcome.DECLINED.value)).sum().alias("checkups_declined"),
            (outcome == MeetingOutcome.NO_SHOW.value).sum().alias("no_shows"),
            (~checkup & (outcome == MeetingOutcome.DECLINED.value)).sum().alias("sessions_declined"),
        )
    )


def _goals(frame: pl.LazyFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    return (
        frame.filter(_within("date", start, as_of))
        .sort("account_id", "date", "id")
        .group_by("account_id")
        .agg(
            (pl.col("status").fill_null("") == GoalStatus.REFUSED.value).sum().alias("goals_refused"),
            pl.col("status").drop_nulls().last().alias("latest_goal_status"),
        )
    )


def _renegotiations(frame: pl.LazyFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    return (
        frame.filter(_within("date", start, as_of))
        .group_by("account_id")
        .agg(pl.len().alias("renegotiations"))
    )


def compute_evidence(
    frames: RosterFrames,
    settings: EvidenceSettings,
    as_of: dt.date,
    kinds: tuple[str, ...] = tuple(COUNT_COLUMNS),
) -> pl.DataFrame:
    """One row per account with every evidence column (see ``COUNT_COLUMNS`` / ``VALUE_COLUMNS``)
    of the sources in ``kinds`` (invoices and tickets always: the cost columns read them)."""
    start = as_of - dt.timedelta(days=settings.window_days)
    checkup_start = as_of - dt.timedelta(days=settings.checkup_window_days)
    builders: dict[str, Callable[[pl.LazyFrame], pl.LazyFrame]] = {
        "invoices": lambda f: _invoices(f, as_of, start, settings.grace_days),
        "tickets": lambda f: _tickets(f, as_of, start),
        "referrals": lambda f: _referrals(f, as_of, start),
        "surveys": lambda f: _surveys(f, as_of, start),
        "meetings": lambda f: _meetings(f, as_of, start, checkup_start),
        "goals": lambda f: _goals(f, as_of, start),
        "renegotiations": lambda f: _renegotiations(f, as_of, start),
    }
    result = frames.accounts.lazy()
    for kind, build in builders.items():
        if kind not in kinds and kind not in ("invoices", "tickets"):
            continue
        frame = frames.child(kind)
        source = frame if frame is not None else pl.DataFrame(schema=CHILD_SCHEMAS[kind])
        result = result.join(build(source.lazy()), left_on="id", right_on="account_id", how="left")
        counts, amounts = COUNT_COLUMNS[kind], AMOUNT_COLUMNS.get(kind, [])
        if frame is None:  # unknown, not zero
            result = result.with_columns(pl.lit(None, dtype=pl.Int64).alias(c) for c in counts)
        else:
            # sums rounded to cents: a parallel float sum differs in the last bit between runs
            result = result.with_columns(
                *(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts),
                *(pl.col(c).fill_null(0).round(2) for c in amounts),
            )
    cost = (
        pl.col("tickets").cast(pl.Float64) * settings.cost_per_ticket
        + pl.col("escalations").cast(pl.Float64) * settings.cost_per_escalation
    )
    revenue = pl.col("revenue").fill_null(0.0)
    return (
        result.with_columns(
            pl.when(pl.col("invoices_considered") > 0)
            .then(pl.col("invoices_on_time") / pl.col("invoices_considered"))
            .alias("on_time_rate"),
            cost.alias("cost_to_serve"),
            pl.when(pl.col("invoices") > 0)
            .then(pl.col("revenue") / pl.col("invoices"))
            .alias("average_order"),
            pl.when(pl.col("discount_total").is_not_null() & ((revenue + pl.col("discount_total")) > 0))
            .then(pl.col("discount_total") / (revenue + pl.col("discount_total")))
            .alias("discount_share"),
            pl.when(pl.col("costed_revenue") > 0)
            .then(1 - pl.col("cost_total") / pl.col("costed_revenue"))
            .alias("margin"),
        )
        .with_columns(
            pl.when(pl.col("cost_to_serve").is_null() | pl.col("invoices").is_null())
            .then(None)
            .when(pl.col("cost_to_serve") == 0)
            .then(0.0)
            .otherwise(pl.col("cost_to_serve") / revenue)
            .alias("cost_ratio"),
        )
        .collect()
    )
