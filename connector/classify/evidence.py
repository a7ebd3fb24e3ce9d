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

EPOCH = dt.date(1970, 1, 1)
"""Day 0 of a polars date."""

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


def _sum_known(
    rows: dict[str, pl.Expr], counts: dict[str, pl.Expr], column: str, weight: str = ""
) -> tuple[pl.Expr, str]:
    """The group's sum of ``column`` (or of ``weight`` where ``column`` is known) and the name of the
    count of rows that know ``column`` (added to ``counts``): the sum is null when no row knows it.
    The parts are computed on the rows (added to ``rows``), so the group only sums plain columns."""
    name = f"{column}_{weight}" if weight else column
    rows[f"_{name}_value"] = (
        pl.when(pl.col(column).is_not_null()).then(pl.col(weight)) if weight else pl.col(column)
    )
    counts[f"_{column}_known"] = pl.col(column).is_not_null()
    return pl.col(f"_{name}_value").sum(), f"_{column}_known"


def _known(total: pl.Expr, known: pl.Expr) -> pl.Expr:
    return pl.when(known > 0).then(total)


def _within(column: str, start: dt.date, end: dt.date) -> pl.Expr:
    return pl.col(column).is_between(pl.lit(start), pl.lit(end))


def _flag(column: str) -> pl.Expr:
    return pl.col(column).fill_null(False).cast(pl.Int64).sum()


def _grouped(
    frame: pl.LazyFrame,
    rows: dict[str, pl.Expr],
    sums: dict[str, pl.Expr],
    counts: dict[str, pl.Expr] | None = None,
    records: int = 0,
) -> pl.LazyFrame:
    """Per account: ``rows`` computed on the records first, then ``sums`` of plain columns, and
    ``counts``: how many of its ``records`` rows each flag holds on (as the index type, like a
    boolean sum).

    A group-by pays per group and per aggregation (about 100 ns each, whatever the rows), so the
    flags are counted a few at a time in one integer: each flag owns a field of bits wide enough
    for every record of the frame, so no count can carry into the next field, and the fields are
    taken apart after the group-by."""
    counts = counts or {}
    width = max(records, 1).bit_length()
    per_word = max(1, 63 // width)
    names = list(counts)
    words = [names[i : i + per_word] for i in range(0, len(names), per_word)]
    packed = {
        f"_word_{w}": pl.sum_horizontal(
            counts[n].fill_null(False).cast(pl.Int64) * (1 << (width * k)) for k, n in enumerate(word)
        )
        for w, word in enumerate(words)
    }
    unpacked = [
        (pl.col(f"_word_{w}") // (1 << (width * k)) % (1 << width)).cast(pl.get_index_type()).alias(n)
        for w, word in enumerate(words)
        for k, n in enumerate(word)
    ]
    return (
        frame.select("account_id", *(e.alias(n) for n, e in {**rows, **packed}.items()))
        .group_by("account_id")
        .agg(*(e.alias(n) for n, e in sums.items()), *(pl.col(w).sum() for w in packed))
        .select("account_id", *sums, *unpacked)
    )


def _day(column: str) -> pl.Expr:
    """A date as its day number: polars adds a duration to a date ten times slower than a number to
    a number, and these comparisons run on every invoice."""
    return pl.col(column).cast(pl.Date).to_physical()


def _invoices(frame: pl.DataFrame, as_of: dt.date, start: dt.date, grace: int) -> pl.LazyFrame:
    late_after = _day("due") + grace
    in_window = pl.coalesce("issued", "due").is_between(pl.lit(start), pl.lit(as_of))
    void = pl.col("status").fill_null("") == InvoiceStatus.VOID.value
    paid_without_date = (pl.col("status").fill_null("") == InvoiceStatus.PAID.value) & pl.col(
        "paid"
    ).is_null()
    on_time = pl.col("paid").is_not_null() & (_day("paid") <= late_after)
    paid_late = pl.col("paid").is_not_null() & (_day("paid") > late_after)
    overdue = pl.col("paid").is_null() & ~paid_without_date & (late_after < (as_of - EPOCH).days)
    considered = pl.col("due").is_not_null() & (on_time | paid_late | overdue)
    rows: dict[str, pl.Expr] = {
        "amount": pl.col("amount"),
        "_overdue_amount": pl.when(considered & overdue).then(pl.col("amount")).otherwise(0.0),
    }
    # on time, paid late and overdue exclude one another: the considered are the on-time plus the late
    counts: dict[str, pl.Expr] = {
        "invoices_on_time": considered & on_time,
        "invoices_late": considered & (paid_late | overdue),
        "unpaid_overdue": considered & overdue,
        "invoices_missing_dates": pl.col("due").is_null() | paid_without_date,
    }
    discount, discount_known = _sum_known(rows, counts, "discount")
    cost, cost_known = _sum_known(rows, counts, "cost")
    costed, _ = _sum_known(rows, counts, "cost", weight="amount")
    sums = {
        "invoices": pl.len(),
        "revenue": pl.col("amount").sum(),
        "overdue_amount": pl.col("_overdue_amount").sum(),
        "_discount_total": discount,
        "_cost_total": cost,
        "_costed_revenue": costed,
    }
    grouped = _grouped(frame.lazy().filter(in_window & ~void), rows, sums, counts, frame.height)
    # rounded to cents like every sum (AMOUNT_COLUMNS): a float sum's last bit depends on the order
    # the rows are added in, which a parallel group-by or a chunk of accounts may change
    return grouped.select(
        "account_id",
        "invoices",
        (pl.col("invoices_on_time") + pl.col("invoices_late")).alias("invoices_considered"),
        "invoices_on_time",
        "invoices_late",
        "unpaid_overdue",
        "revenue",
        "overdue_amount",
        "invoices_missing_dates",
        _known(pl.col("_discount_total"), pl.col(discount_known)).round(2).alias("discount_total"),
        _known(pl.col("_cost_total"), pl.col(cost_known)).round(2).alias("cost_total"),
        _known(pl.col("_costed_revenue"), pl.col(cost_known)).round(2).alias("costed_revenue"),
    )


def _tickets(frame: pl.DataFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    flags = {
        "complaints": "complaint",
        "escalations": "escalated",
        "abusive_incidents": "abusive",
        "discount_requests": "discount_request",
        "rush_requests": "rush_request",
        "deadline_requests": "deadline_request",
    }
    return _grouped(
        frame.lazy().filter(_within("opened", start, as_of)),
        {},
        {"tickets": pl.len()},
        {name: pl.col(column) for name, column in flags.items()},
        frame.height,
    )


def _referrals(frame: pl.DataFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    return (
        frame.lazy()
        .filter(_within("date", start, as_of))
        .group_by("account_id")
        .agg(pl.len().alias("referrals"), pl.col("value").sum().alias("referral_value"))
    )


def _surveys(frame: pl.DataFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    # latest by date, ties broken by id, so that the answer never depends on row order
    return (
        frame.lazy()
        .filter(_within("date", start, as_of))
        .sort("account_id", "date", "id")
        .group_by("account_id")
        .agg(
            pl.len().alias("surveys"),
            _flag("public_complaint").alias("public_complaints"),
            pl.col("nps").drop_nulls().last().alias("latest_nps"),
            pl.col("csat").drop_nulls().last().alias("latest_csat"),
        )
    )


def _meetings(frame: pl.DataFrame, as_of: dt.date, start: dt.date, checkup_start: dt.date) -> pl.LazyFrame:
    checkup = pl.col("type").fill_null("") == CHECKUP_MEETING_TYPE
    recent_checkup = checkup & _within("scheduled", checkup_start, as_of)
    outcome = pl.col("outcome").fill_null("")
    rows = {
        "checkups_held": recent_checkup & (outcome == MeetingOutcome.HELD.value),
        "checkups_missed": recent_checkup & (outcome == MeetingOutcome.NO_SHOW.value),
        "checkups_declined": recent_checkup & (outcome == MeetingOutcome.DECLINED.value),
        "no_shows": outcome == MeetingOutcome.NO_SHOW.value,
        "sessions_declined": ~checkup & (outcome == MeetingOutcome.DECLINED.value),
    }
    return _grouped(frame.lazy().filter(_within("scheduled", start, as_of)), {}, {}, rows, frame.height)


def _goals(frame: pl.DataFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    return (
        frame.lazy()
        .filter(_within("date", start, as_of))
        .sort("account_id", "date", "id")
        .group_by("account_id")
        .agg(
            (pl.col("status").fill_null("") == GoalStatus.REFUSED.value).sum().alias("goals_refused"),
            pl.col("status").drop_nulls().last().alias("latest_goal_status"),
        )
    )


def _renegotiations(frame: pl.DataFrame, as_of: dt.date, start: dt.date) -> pl.LazyFrame:
    return (
        frame.lazy()
        .filter(_within("date", start, as_of))
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
    return evidence_plan(frames, settings, as_of, kinds).collect()


def evidence_plan(
    frames: RosterFrames,
    settings: EvidenceSettings,
    as_of: dt.date,
    kinds: tuple[str, ...] = tuple(COUNT_COLUMNS),
) -> pl.LazyFrame:
    """:func:`compute_evidence` as a plan, in the accounts' order: a caller that selects a few
    columns gets only the aggregations those need (projection pushdown)."""
    start = as_of - dt.timedelta(days=settings.window_days)
    checkup_start = as_of - dt.timedelta(days=settings.checkup_window_days)
    builders: dict[str, Callable[[pl.DataFrame], pl.LazyFrame]] = {
        "invoices": lambda f: _invoices(f, as_of, start, settings.grace_days),
        "tickets": lambda f: _tickets(f, as_of, start),
        "referrals": lambda f: _referrals(f, as_of, start),
        "surveys": lambda f: _surveys(f, as_of, start),
        "meetings": lambda f: _meetings(f, as_of, start, checkup_start),
        "goals": lambda f: _goals(f, as_of, start),
        "renegotiations": lambda f: _renegotiations(f, as_of, start),
    }
    keys = frames.accounts.lazy().select("id")
    parts = [frames.accounts.lazy()]
    for kind, build in builders.items():
        if kind not in kinds and kind not in ("invoices", "tickets"):
            continue
        frame = frames.child(kind)
        source = frame if frame is not None else pl.DataFrame(schema=CHILD_SCHEMAS[kind])
        # each source joins the bare account ids (a join gathers only its own columns), in the
        # accounts' order, and the sources are put side by side
        part = keys.join(
            build(source), left_on="id", right_on="account_id", how="left", maintain_order="left"
        ).drop("id")
        counts, amounts = COUNT_COLUMNS[kind], AMOUNT_COLUMNS.get(kind, [])
        if frame is None:  # unknown, not zero
            part = part.with_columns(pl.lit(None, dtype=pl.Int64).alias(c) for c in counts)
        else:
            # sums rounded to cents: a parallel float sum differs in the last bit between runs
            part = part.with_columns(
                *(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts),
                *(pl.col(c).fill_null(0).round(2) for c in amounts),
            )
        parts.append(part)
    result = pl.concat(parts, how="horizontal")
    cost = (
        pl.col("tickets").cast(pl.Float64) * settings.cost_per_ticket
        + pl.col("escalations").cast(pl.Float64) * settings.cost_per_escalation
    )
    revenue = pl.col("revenue").fill_null(0.0)
    return result.with_columns(
        pl.when(pl.col("invoices_considered") > 0)
        .then(pl.col("invoices_on_time") / pl.col("invoices_considered"))
        .alias("on_time_rate"),
        cost.alias("cost_to_serve"),
        pl.when(pl.col("invoices") > 0).then(pl.col("revenue") / pl.col("invoices")).alias("average_order"),
        pl.when(pl.col("discount_total").is_not_null() & ((revenue + pl.col("discount_total")) > 0))
        .then(pl.col("discount_total") / (revenue + pl.col("discount_total")))
        .alias("discount_share"),
        pl.when(pl.col("costed_revenue") > 0)
        .then(1 - pl.col("cost_total") / pl.col("costed_revenue"))
        .alias("margin"),
    ).with_columns(
        pl.when(pl.col("cost_to_serve").is_null() | pl.col("invoices").is_null())
        .then(None)
        .when(pl.col("cost_to_serve") == 0)
        .then(0.0)
        .otherwise(pl.col("cost_to_serve") / revenue)
        .alias("cost_ratio"),
    )
