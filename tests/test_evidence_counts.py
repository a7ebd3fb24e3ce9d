"""Evidence counts stay exact when one account holds every record (the flag counts share an integer)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from connector.classify.evidence import evidence_plan
from connector.classify.evidence_settings import EvidenceSettings
from connector.frames import CHILD_SCHEMAS, RosterFrames

AS_OF = dt.date(2026, 11, 1)


def _tickets(account: str, count: int, flagged_every: int) -> pl.DataFrame:
    rows = range(count)
    flag = [i % flagged_every == 0 for i in rows]
    return pl.DataFrame(
        {
            "id": [f"T{i:06d}" for i in rows],
            "account_id": [account] * count,
            "opened": [AS_OF - dt.timedelta(days=10)] * count,
            "category": ["support"] * count,
            "priority": ["low"] * count,
            "escalated": [True] * count,
            "complaint": flag,
            "abusive": [not f for f in flag],
            "discount_request": [True] * count,
            "rush_request": [False] * count,
            "deadline_request": [True] * count,
        },
        schema=CHILD_SCHEMAS["tickets"],
    )


def test_counts_of_an_account_holding_every_record_do_not_spill_into_each_other() -> None:
    count = 4_097  # one past a power of two: the largest count the bit fields must hold, and more
    tickets = pl.concat(
        [
            _tickets("A1", count, 3),
            _tickets("A2", 5, 2).with_columns((pl.lit("X") + pl.col("id")).alias("id")),
        ]
    )
    accounts = pl.DataFrame(
        {"id": ["A1", "A2", "A3"], "name": ["a", "b", "c"], "owner_id": [None, None, None]}
    )
    frames = RosterFrames(accounts=accounts, tickets=tickets)
    evidence = evidence_plan(frames, EvidenceSettings(), AS_OF).collect()
    columns = ["tickets", "complaints", "escalations", "abusive_incidents", "discount_requests"]
    columns += ["rush_requests", "deadline_requests"]
    complaints = len(range(0, count, 3))
    assert evidence.select(columns).rows() == [
        (count, complaints, count, count - complaints, count, 0, count),
        (5, 3, 5, 2, 5, 0, 5),
        (0, 0, 0, 0, 0, 0, 0),
    ]
