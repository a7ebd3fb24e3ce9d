"""Evidence counts stay exact when one account holds every record, and are each account's own whatever
the order of the accounts and records, a repeated account id or records of no account."""

from __future__ import annotations

import datetime as dt

import polars as pl

from connector.classify.evidence import evidence_plan
from connector.classify.evidence_settings import EvidenceSettings
from connector.frames import CHILD_SCHEMAS, RosterFrames
from connector.sample_data import generate

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


def test_evidence_is_each_accounts_own_whatever_the_order_repeats_or_strays() -> None:
    frames = generate(300, seed=11, as_of=AS_OF).frames
    clean = evidence_plan(frames, EvidenceSettings(), AS_OF).collect()
    kinds = ("invoices", "tickets", "referrals", "surveys", "meetings", "goals", "renegotiations")
    stray = pl.DataFrame({"account_id": ["NO-SUCH-ACCOUNT"]})
    messy = RosterFrames(
        # accounts reversed, the first one listed twice; records shuffled, one of no account
        accounts=pl.concat([frames.accounts.reverse(), frames.accounts.tail(1)]),
        **{
            kind: pl.concat([frame.sample(fraction=1.0, shuffle=True, seed=5), frame.head(1).update(stray)])
            for kind in kinds
            if (frame := frames.child(kind)) is not None
        },
    )
    evidence = evidence_plan(messy, EvidenceSettings(), AS_OF).collect()
    expected = pl.concat([clean.reverse(), clean.tail(1)])
    assert evidence.height == frames.accounts.height + 1
    assert evidence.sort("id").rows() == expected.sort("id").rows()
