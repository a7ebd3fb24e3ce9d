"""A two-year roster whose next-year outcomes are planted, so a backtest has a known answer.

Year one is a generated roster as of ``as_of``. Year two copies each account's records
``SHIFT_DAYS`` later, except that half of the poor clients (every other one) leave — they get no
year-two records — and amazing clients double their invoice amounts (an expansion). So, with tiers
as of ``as_of``: only poor clients churn and only amazing clients expand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from connector.classify.classifier import classify_frames
from connector.config import Settings
from connector.frames import RosterFrames
from connector.model import CHILD_KINDS
from connector.sample_data import generate

SHIFT_DAYS = 385
"""Year-one invoices are issued 35–385 days before ``as_of``: shifted by 385 they all fall after it."""


@dataclass
class History:
    frames: RosterFrames
    tiers: pl.DataFrame
    """``account_id``, ``tier`` as of ``as_of`` (year one only)."""
    churned: set[str]
    expanded: set[str]


def two_year_roster(accounts: int, seed: int, as_of: dt.date) -> History:
    year_one = generate(accounts, seed=seed, as_of=as_of).frames
    tiers = classify_frames(year_one, Settings(), as_of).select("account_id", "tier")
    poor = tiers.filter(pl.col("tier") == "poor")["account_id"].to_list()
    churned = set(poor[::2])
    expanded = set(tiers.filter(pl.col("tier") == "amazing")["account_id"].to_list())
    children: dict[str, pl.DataFrame | None] = {}
    for kind in CHILD_KINDS:
        frame = year_one.child(kind)
        assert frame is not None
        dates = [c for c, t in frame.schema.items() if t == pl.Date()]
        later = frame.filter(~pl.col("account_id").is_in(list(churned))).with_columns(
            ("Y2" + pl.col("id")).alias("id"),
            *(pl.col(c) + pl.duration(days=SHIFT_DAYS) for c in dates),
        )
        if kind == "invoices":
            later = later.with_columns(
                pl.when(pl.col("account_id").is_in(list(expanded)))
                .then(pl.col("amount") * 2)
                .otherwise(pl.col("amount"))
                .alias("amount")
            )
        children[kind] = pl.concat([frame, later])
    return History(RosterFrames(accounts=year_one.accounts, **children), tiers, churned, expanded)
