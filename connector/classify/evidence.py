"""Evidence: per-account facts computed from the records of a look-back window.

One row per account. A count is 0 only when the source exists and holds no matching record; a rate
or a latest value is null when there is nothing to compute it from, and a missing source makes its
columns null for everyone. The classifier turns nulls into data gaps, never into good news.

Records are tallied per account by their account's row (``ACCOUNT_ROW``, found once per roster and
shared by both windows) with ``numpy.bincount``: polars' group-by pays about 100 ns per group and per
aggregation, and a bincount about 2 ns per record, with no join back to the accounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from connector.classify.evidence_settings import EvidenceSettings
from connector.frames import CHILD_SCHEMAS, RosterFrames
from connector.model import CHECKUP_MEETING_TYPE, CHILD_KINDS, GoalStatus, InvoiceStatus, MeetingOutcome

EPOCH = dt.date(1970, 1, 1)
"""Day 0 of a polars date."""

ACCOUNT_ROW = "_account_row"
"""On a child record: the row of its account among the roster's account keys (see ``account_keys``)."""

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


def _sorted_unique(ids: pl.Series) -> bool:
    return (
        ids.null_count() == 0
        and ids.is_sorted()
        and not (ids.slice(1) == ids.slice(0, max(len(ids) - 1, 0))).any()
    )


def account_keys(accounts: pl.DataFrame) -> pl.Series:
    """The ids records are tallied by: the accounts' own ids when sorted and unique (as the classifier
    orders them), else their distinct ids, sorted (evidence is then gathered back per account)."""
    ids = accounts["id"]
    return ids if _sorted_unique(ids) else ids.drop_nulls().unique().sort()


def _positions(keys: pl.Series, values: pl.Series) -> np.ndarray:
    """Where each value sits in ``keys`` (sorted, unique); -1 for a value not among them."""
    if keys.is_empty():
        return np.full(len(values), -1, dtype=np.int64)
    at = keys.search_sorted(values)
    hit = (keys.gather(at.clip(0, len(keys) - 1)) == values).fill_null(False)
    return np.where(hit.to_numpy(), at.to_numpy().astype(np.int64), -1)


def _sorted_positions(keys: pl.Series, values: pl.Series) -> np.ndarray:
    """:func:`_positions` of sorted, distinct values: the keys themselves, or the keys among them
    when every value is one, are found without a binary search per value."""
    if values.equals(keys):
        return np.arange(len(keys), dtype=np.int64)
    among = keys.is_in(values.implode()).to_numpy()
    if among.sum() == len(values):
        return np.flatnonzero(among).astype(np.int64)
    return _positions(keys, values)


def with_account_rows(frames: RosterFrames) -> RosterFrames:
    """Each child record with its account's row (``ACCOUNT_ROW``); records of no account are left out,
    as a join on the accounts would. Found once per roster: both windows' evidence reads it."""
    keys = account_keys(frames.accounts)
    children: dict[str, pl.DataFrame | None] = {}
    for kind in CHILD_KINDS:
        frame = frames.child(kind)
        if frame is not None and ACCOUNT_ROW not in frame.columns:
            # one look-up per run of records of one account (per account, in account order)
            runs = frame.select(pl.col("account_id").rle()).unnest("account_id")
            ids = runs["value"]
            found = _sorted_positions(keys, ids) if _sorted_unique(ids) else _positions(keys, ids)
            rows = np.repeat(found, runs["len"].to_numpy())
            frame = frame.with_columns(pl.Series(ACCOUNT_ROW, rows))
            if (rows < 0).any():  # a filter copies every column: only when there is something to drop
                frame = frame.filter(pl.col(ACCOUNT_ROW) >= 0)
        children[kind] = frame
    return RosterFrames(accounts=frames.accounts, **children)


class _Tally:
    """Per-account counts and sums of one window's records (``ACCOUNT_ROW`` and plain columns)."""

    def __init__(self, records: pl.DataFrame, accounts: int) -> None:
        self.records = records
        self.accounts = accounts
        self._all: np.ndarray | None = None
        """Records per account, counted once."""

    def _mask(self, where: str | pl.Series) -> pl.Series:
        """A boolean column's name or a mask, as a mask (null never holds)."""
        return (self.records[where] if isinstance(where, str) else where).fill_null(False)

    def _rows(self, mask: pl.Series | None = None) -> np.ndarray:
        """The account row of each record (``mask`` holds on): a polars filter of that one column,
        several times faster than numpy's boolean indexing."""
        rows = self.records[ACCOUNT_ROW]
        return (rows if mask is None else rows.filter(mask)).to_numpy()

    def count(self, where: str | pl.Series | None = None) -> np.ndarray:
        """Records per account (where ``where`` holds). A flag that holds on most records counts as
        the records less those it does not hold on: fewer to pick out."""
        if where is None:
            if self._all is None:
                self._all = np.bincount(self._rows(), minlength=self.accounts)
            return self._all
        mask = self._mask(where)
        if 2 * mask.sum() > len(mask):
            return self.count() - np.bincount(self._rows(~mask), minlength=self.accounts)
        return np.bincount(self._rows(mask), minlength=self.accounts)

    def total(self, column: str, where: str | pl.Series | None = None) -> np.ndarray:
        """The sum of ``column`` per account (over the records ``where`` holds; nulls add nothing;
        0.0 with no record)."""
        held = self.records.select(ACCOUNT_ROW, column)
        if where is not None:
            held = held.filter(self._mask(where))
        weights = held[column].cast(pl.Float64).fill_null(0.0).to_numpy()
        # bincount of no records is integer zeros, weights or not
        sums = np.bincount(held[ACCOUNT_ROW].to_numpy(), weights=weights, minlength=self.accounts)
        return sums.astype(np.float64)

    def latest(self, column: str) -> pl.Series:
        """Each account's known ``column`` of its latest record by date, ties broken by the greatest
        id, so that the answer never depends on row order (null when none). The records all have a
        date (the window holds no other)."""
        known = self.records.filter(pl.col(column).is_not_null())
        rows = known[ACCOUNT_ROW].to_numpy()
        # the latest date per account as one number (row, then day), found without sorting
        when = rows * (1 << 32) + known["date"].to_physical().cast(pl.Int64).to_numpy() + (1 << 31)
        latest = np.full(self.accounts, np.iinfo(np.int64).min)
        np.maximum.at(latest, rows, when)
        last = known.filter(pl.Series(when == latest[rows]))
        if last.height > last[ACCOUNT_ROW].n_unique():  # records on the same latest date
            last = last.sort(ACCOUNT_ROW, "id").filter(
                (pl.col(ACCOUNT_ROW) != pl.col(ACCOUNT_ROW).shift(-1)).fill_null(True)
            )
        empty = pl.repeat(None, self.accounts, dtype=self.records.schema[column], eager=True)
        return empty.scatter(last[ACCOUNT_ROW], last[column]).alias(column)


def _window(frame: pl.DataFrame, condition: pl.Expr, columns: Sequence[pl.Expr | str]) -> pl.DataFrame:
    """The records ``condition`` keeps, narrowed to their account row and ``columns``."""
    return frame.lazy().filter(condition).select(ACCOUNT_ROW, *columns).collect(engine="in-memory")


def _within(column: str, start: dt.date, end: dt.date) -> pl.Expr:
    return pl.col(column).is_between(pl.lit(start), pl.lit(end))


def _day(column: str) -> pl.Expr:
    """A date as its day number: polars adds a duration to a date ten times slower than a number to
    a number, and these comparisons run on every invoice."""
    return pl.col(column).cast(pl.Date).to_physical()


ON_TIME, PAID_LATE, OVERDUE, MISSING_DATES, NOT_YET_DUE = range(5)
"""An invoice's payment state: each invoice is in exactly one."""


def _known(total: np.ndarray, known: np.ndarray) -> pl.Series:
    """A sum of an optional field, null where no record knows it (unknown, not zero), in cents."""
    return pl.Series(total).zip_with(pl.Series(known > 0), pl.Series([None], dtype=pl.Float64)).round(2)


def _invoices(frame: pl.DataFrame, as_of: dt.date, start: dt.date, grace: int, accounts: int) -> pl.DataFrame:
    late_after = _day("due") + grace
    in_window = pl.coalesce("issued", "due").is_between(pl.lit(start), pl.lit(as_of))
    status = pl.col("status").fill_null("")
    paid_without_date = (status == InvoiceStatus.PAID.value) & pl.col("paid").is_null()
    # without a due date, or paid with no date, it is left out of the rate; else paid on time or
    # late, or unpaid: overdue once past due + grace
    state = (
        pl.when(pl.col("due").is_null() | paid_without_date)
        .then(MISSING_DATES)
        .when(pl.col("paid").is_not_null())
        .then(pl.when(_day("paid") <= late_after).then(ON_TIME).otherwise(PAID_LATE))
        .when(late_after < (as_of - EPOCH).days)
        .then(OVERDUE)
        .otherwise(NOT_YET_DUE)
        .cast(pl.UInt8)
    )
    records = _window(
        frame,
        in_window & (status != InvoiceStatus.VOID.value),
        [
            "amount",
            "discount",
            "cost",
            state.alias("_state"),
            pl.col("discount").is_not_null().alias("discount_known"),
            pl.col("cost").is_not_null().alias("cost_known"),
        ],
    )
    t = _Tally(records, accounts)
    states = records["_state"]
    on_time, paid_late, overdue = (t.count(states == s) for s in (ON_TIME, PAID_LATE, OVERDUE))
    # rounded to cents like every sum (AMOUNT_COLUMNS): a float sum's last bit depends on the order
    # the rows are added in, which a chunk of accounts may change
    return pl.DataFrame(
        {
            "invoices": t.count(),
            "invoices_considered": on_time + paid_late + overdue,
            "invoices_on_time": on_time,
            "invoices_late": paid_late + overdue,
            "unpaid_overdue": overdue,
            "revenue": t.total("amount"),
            "overdue_amount": t.total("amount", where=states == OVERDUE),
            "invoices_missing_dates": t.count(states == MISSING_DATES).astype(np.uint32),
            "discount_total": _known(t.total("discount"), t.count("discount_known")),
            "cost_total": _known(t.total("cost"), t.count("cost_known")),
            "costed_revenue": _known(t.total("amount", where="cost_known"), t.count("cost_known")),
        }
    )


def _tickets(frame: pl.DataFrame, as_of: dt.date, start: dt.date, accounts: int) -> pl.DataFrame:
    flags = {
        "complaints": "complaint",
        "escalations": "escalated",
        "abusive_incidents": "abusive",
        "discount_requests": "discount_request",
        "rush_requests": "rush_request",
        "deadline_requests": "deadline_request",
    }
    t = _Tally(_window(frame, _within("opened", start, as_of), list(flags.values())), accounts)
    return pl.DataFrame({"tickets": t.count(), **{name: t.count(column) for name, column in flags.items()}})


def _referrals(frame: pl.DataFrame, as_of: dt.date, start: dt.date, accounts: int) -> pl.DataFrame:
    t = _Tally(_window(frame, _within("date", start, as_of), ["value"]), accounts)
    return pl.DataFrame({"referrals": t.count(), "referral_value": t.total("value")})


def _surveys(frame: pl.DataFrame, as_of: dt.date, start: dt.date, accounts: int) -> pl.DataFrame:
    columns = ["date", "id", "nps", "csat", "public_complaint"]
    t = _Tally(_window(frame, _within("date", start, as_of), columns), accounts)
    return pl.DataFrame(
        {
            "surveys": t.count(),
            "public_complaints": t.count("public_complaint"),
            "latest_nps": t.latest("nps"),
            "latest_csat": t.latest("csat"),
        }
    )


def _meetings(
    frame: pl.DataFrame, as_of: dt.date, start: dt.date, checkup_start: dt.date, accounts: int
) -> pl.DataFrame:
    checkup = pl.col("type").fill_null("") == CHECKUP_MEETING_TYPE
    recent_checkup = checkup & _within("scheduled", checkup_start, as_of)
    outcome = pl.col("outcome").fill_null("")
    flags = {
        "checkups_held": recent_checkup & (outcome == MeetingOutcome.HELD.value),
        "checkups_missed": recent_checkup & (outcome == MeetingOutcome.NO_SHOW.value),
        "checkups_declined": recent_checkup & (outcome == MeetingOutcome.DECLINED.value),
        "no_shows": outcome == MeetingOutcome.NO_SHOW.value,
        "sessions_declined": ~checkup & (outcome == MeetingOutcome.DECLINED.value),
    }
    records = _window(frame, _within("scheduled", start, as_of), [e.alias(n) for n, e in flags.items()])
    t = _Tally(records, accounts)
    return pl.DataFrame({name: t.count(name) for name in flags})


def _goals(frame: pl.DataFrame, as_of: dt.date, start: dt.date, accounts: int) -> pl.DataFrame:
    refused = (pl.col("status").fill_null("") == GoalStatus.REFUSED.value).alias("_refused")
    t = _Tally(_window(frame, _within("date", start, as_of), ["date", "id", "status", refused]), accounts)
    return pl.DataFrame({"goals_refused": t.count("_refused"), "latest_goal_status": t.latest("status")})


def _renegotiations(frame: pl.DataFrame, as_of: dt.date, start: dt.date, accounts: int) -> pl.DataFrame:
    t = _Tally(_window(frame, _within("date", start, as_of), []), accounts)
    return pl.DataFrame({"renegotiations": t.count()})


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
    """:func:`compute_evidence` in the accounts' order: the tallies computed, the rates and ratios
    left as a plan for the caller's next step."""
    start = as_of - dt.timedelta(days=settings.window_days)
    checkup_start = as_of - dt.timedelta(days=settings.checkup_window_days)
    builders: dict[str, Callable[[pl.DataFrame, int], pl.DataFrame]] = {
        "invoices": lambda f, n: _invoices(f, as_of, start, settings.grace_days, n),
        "tickets": lambda f, n: _tickets(f, as_of, start, n),
        "referrals": lambda f, n: _referrals(f, as_of, start, n),
        "surveys": lambda f, n: _surveys(f, as_of, start, n),
        "meetings": lambda f, n: _meetings(f, as_of, start, checkup_start, n),
        "goals": lambda f, n: _goals(f, as_of, start, n),
        "renegotiations": lambda f, n: _renegotiations(f, as_of, start, n),
    }
    frames = with_account_rows(frames)
    keys = account_keys(frames.accounts)
    parts, filled = [], []
    for kind, build in builders.items():
        if kind not in kinds and kind not in ("invoices", "tickets"):
            continue
        frame = frames.child(kind)
        if frame is None:
            empty = pl.DataFrame(schema={**CHILD_SCHEMAS[kind], ACCOUNT_ROW: pl.Int64})
            parts.append(build(empty, len(keys)).clear(len(keys)))
        else:
            parts.append(build(frame, len(keys)))
        counts, amounts = COUNT_COLUMNS[kind], AMOUNT_COLUMNS.get(kind, [])
        if frame is None:  # unknown, not zero
            filled += [pl.lit(None, dtype=pl.Int64).alias(c) for c in counts]
        else:
            # sums rounded to cents: a float sum's last bit depends on the order of its terms
            filled += [pl.col(c).fill_null(0).cast(pl.Int64) for c in counts]
            filled += [pl.col(c).fill_null(0).round(2) for c in amounts]
    evidence = pl.concat(parts, how="horizontal")
    if not _sorted_unique(frames.accounts["id"]):  # tallied by distinct id: back to each account
        at = _positions(keys, frames.accounts["id"])
        evidence = evidence.select(pl.all().gather(pl.Series(at).replace(-1, None)))
    result = pl.concat([frames.accounts, evidence.with_columns(filled)], how="horizontal").lazy()
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
