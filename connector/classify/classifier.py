"""The classifier's entry points: evidence → tier, score, traits, data gaps and playbook actions.

Pure and deterministic: no I/O, no clock (``as_of`` is an argument), output sorted by account id, so
the same roster and thresholds always give the same result whatever the input order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.decision import with_decision
from connector.classify.evidence import evidence_plan, with_account_rows
from connector.classify.gaps import OPTIONAL_FIELDS, gap_columns
from connector.classify.growth import reason_column as growth_reason_column
from connector.classify.growth import with_growth_points
from connector.classify.playbook import with_actions
from connector.classify.rules import as_lists
from connector.classify.tiers import explained, score_column, tier_column
from connector.classify.traits import reason_column, with_traits
from connector.classify.trend import previous_window, trend_column
from connector.frames import RosterFrames, to_frames
from connector.model import CHILD_KINDS, Decision, GrowthPoint, Roster, Tier, Trait

EVIDENCE_COLUMNS = [
    "invoices",
    "invoices_considered",
    "invoices_on_time",
    "invoices_late",
    "unpaid_overdue",
    "overdue_amount",
    "on_time_rate",
    "revenue",
    "referrals",
    "referral_value",
    "tickets",
    "complaints",
    "escalations",
    "abusive_incidents",
    "discount_requests",
    "rush_requests",
    "deadline_requests",
    "public_complaints",
    "latest_nps",
    "latest_csat",
    "checkups_held",
    "checkups_missed",
    "checkups_declined",
    "no_shows",
    "sessions_declined",
    "goals_refused",
    "renegotiations",
    "cost_to_serve",
    "cost_ratio",
    "average_order",
    "discount_total",
    "discount_share",
    "margin",
    "revenue_previous",
    "complaints_previous",
    "on_time_rate_previous",
]

RESULT_COLUMNS = [
    "account_id",
    "name",
    "owner_id",
    "tier",
    "score",
    "tier_codes",
    "tier_reason",
    "traits",
    "trait_codes",
    *(reason_column(t) for t in Trait),
    "data_gaps",
    "data_gaps_reason",
    "growth_points",
    "growth_point_codes",
    *(growth_reason_column(p) for p in GrowthPoint),
    "growth_reason",
    "decision",
    "decision_codes",
    "decision_reason",
    "trend",
    "previous_tier",
    "actions",
    *EVIDENCE_COLUMNS,
]

LIST_COLUMNS = (
    "tier_codes",
    "traits",
    "trait_codes",
    "data_gaps",
    "growth_points",
    "growth_point_codes",
    "decision_codes",
    "actions",
)
"""The list-valued results: lists of codes from the classifier to the state, the report and the JSON
output; only a CSV cell or a CRM field renders them as text, at the edge."""


def classify_frames(
    frames: RosterFrames,
    settings: ClassifierSettings,
    as_of: dt.date,
    fields_missing: list[tuple[str, str]] | None = None,
) -> pl.DataFrame:
    """One result row per account (columns: ``RESULT_COLUMNS`` plus the account's own attributes).

    ``fields_missing`` (optional fields no record holds) defaults to what ``frames`` show; a caller
    classifying a roster a chunk at a time passes the whole roster's, so that no chunk differs.

    Code lists (``LIST_COLUMNS``) are lists of strings, in rule order (empty when none holds).
    """
    # each record's account row found once, for both windows' evidence
    frames = with_account_rows(_in_id_order(frames))
    evidence = evidence_plan(frames, settings.evidence, as_of)
    attributes = [c for c in frames.accounts.columns if c not in ("id", "name", "owner_id")]
    tiered = (
        # both are in the accounts' order, one row per account: side by side, no join
        pl.concat([evidence, previous_window(frames, settings, as_of).drop("id")], how="horizontal")
        .with_columns(tier_column(settings))
        .with_columns(score_column(settings), trend_column(settings))
    )
    gaps = gap_columns(
        settings,
        [kind for kind in CHILD_KINDS if frames.child(kind) is None],
        _fields_missing(frames) if fields_missing is None else fields_missing,
    )
    # Each stage builds its sentences on its own rows (rules.by_group): it materialises the frame
    # once, so polars never re-runs the upstream plan once per branch of a split.
    traited = with_traits(explained(tiered, settings), settings).with_columns(*gaps)
    result = (
        with_actions(with_decision(with_growth_points(traited, settings), settings), settings)
        .rename({"id": "account_id"})
        .select(*RESULT_COLUMNS, *attributes)
        .collect(engine="in-memory")
    )
    return as_lists(result, LIST_COLUMNS)


def _in_id_order(frames: RosterFrames) -> RosterFrames:
    """Accounts sorted by id: every stage keeps their order, so sorting the narrow input sorts the
    wide output (records need no order: each is tallied by its account's row)."""
    accounts = frames.accounts
    ids = accounts["id"]
    accounts = accounts.with_columns(ids.set_sorted()) if ids.is_sorted() else accounts.sort("id")
    return dataclasses.replace(frames, accounts=accounts)


def _fields_missing(frames: RosterFrames) -> list[tuple[str, str]]:
    """Optional evidence fields that no record of an available source holds (not mapped, no column)."""
    missing = []
    for kind, name in OPTIONAL_FIELDS:
        frame = frames.child(kind)
        if (
            frame is not None
            and frame.height
            and (name not in frame.columns or frame[name].null_count() == frame.height)
        ):
            missing.append((kind, name))
    return missing


def classify_batches(
    batches: Iterable[RosterFrames], settings: ClassifierSettings, as_of: dt.date
) -> Iterator[pl.DataFrame]:
    """Classify a roster too big for memory, one batch of accounts (with all their records) at a time.

    Every account's tier depends only on its own records, so batching by account changes nothing in
    the result; it bounds memory by the batch, not by the org.
    """
    for frames in batches:
        yield classify_frames(frames, settings, as_of)


@dataclass(frozen=True)
class Classification:
    """One client's result as the sync engine and the CLI read it."""

    account_id: str
    name: str
    owner_id: str | None
    tier: Tier
    score: float
    tier_codes: tuple[str, ...]
    tier_reason: str
    traits: dict[Trait, str]
    """Each trait present, with the sentence of evidence behind it."""
    trait_codes: tuple[str, ...]
    data_gaps: tuple[str, ...]
    data_gaps_reason: str
    actions: tuple[str, ...]
    evidence: dict[str, Any]
    growth_points: dict[GrowthPoint, str] = field(default_factory=dict)
    """Each growth point present, with the sentence of evidence behind it."""
    growth_point_codes: tuple[str, ...] = ()
    growth_reason: str = ""
    """Each growth point's label, evidence and question; or why none applies."""
    decision: Decision = Decision.FIX
    decision_codes: tuple[str, ...] = ()
    decision_reason: str = ""
    """The decision's label and its reasons in plain words."""
    trend: str = "unknown"
    previous_tier: Tier | None = None
    """The tier the client held one window earlier, from its own records (None: no record then)."""


def to_classifications(frame: pl.DataFrame) -> list[Classification]:
    result = []
    for row in frame.select(RESULT_COLUMNS).iter_rows(named=True):
        result.append(
            Classification(
                account_id=row["account_id"],
                name=row["name"],
                owner_id=row["owner_id"],
                tier=Tier(row["tier"]),
                score=row["score"],
                tier_codes=tuple(row["tier_codes"]),
                tier_reason=row["tier_reason"],
                traits={Trait(t): row[reason_column(Trait(t))] for t in row["traits"]},
                trait_codes=tuple(row["trait_codes"]),
                data_gaps=tuple(row["data_gaps"]),
                data_gaps_reason=row["data_gaps_reason"],
                actions=tuple(row["actions"]),
                evidence={c: row[c] for c in EVIDENCE_COLUMNS},
                growth_points={
                    GrowthPoint(p): row[growth_reason_column(GrowthPoint(p))] for p in row["growth_points"]
                },
                growth_point_codes=tuple(row["growth_point_codes"]),
                growth_reason=row["growth_reason"],
                decision=Decision(row["decision"]),
                decision_codes=tuple(row["decision_codes"]),
                decision_reason=row["decision_reason"],
                trend=row["trend"],
                previous_tier=Tier(row["previous_tier"]) if row["previous_tier"] else None,
            )
        )
    return result


def classify(roster: Roster, settings: ClassifierSettings, as_of: dt.date) -> list[Classification]:
    """Classify a roster of records (the adapters' and tests' entry point)."""
    return to_classifications(classify_frames(to_frames(roster), settings, as_of))
