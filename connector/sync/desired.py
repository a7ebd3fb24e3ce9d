"""What the sync wants an account's write-back fields to hold, and what differs from the CRM.

A user's override tier wins while it has not expired; the computed tier stays visible in the
reasons. Only fields that differ are written, and ``last_synced_at`` / ``previous_tier`` /
``tier_changed_at`` change only with them, so an unchanged org costs zero writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from connector.classify.classifier import Classification
from connector.classify.crm_text import record_reasons
from connector.config import Settings
from connector.crm.base import CurrentValues
from connector.model import Tier

SCORE_TOLERANCE = 0.05
"""Scores are written with one decimal; a smaller difference is the CRM's rounding, not a change."""

_TIERS = {t.value for t in Tier}


@dataclass(frozen=True)
class FieldChange:
    """One write-back field whose value the sync changes, from ``current`` to ``new``."""

    account_id: str
    name: str
    field: str
    current: Any
    new: Any


def active_override(current: CurrentValues, today: dt.date) -> str | None:
    """The user's override tier, if set to a known tier and not expired (an expiry day still counts)."""
    if current.override_tier not in _TIERS:
        return None
    if current.override_expires is not None and current.override_expires < today:
        return None
    return current.override_tier


def desired_values(
    c: Classification, current: CurrentValues, settings: Settings, today: dt.date
) -> dict[str, Any]:
    """The write-back values the account should hold now: its tier (a live user override wins), traits,
    score, the Reasons text (neutral labels, cut to ``sync.reasons_max_chars``), growth points, decision."""
    override = active_override(current, today)
    reasons = record_reasons(c, settings)
    if override is not None:
        until = f" until {current.override_expires.isoformat()}" if current.override_expires else ""
        reasons = f"Manual override: {override}{until} (computed: {c.tier.value}). {reasons}"
    limit = settings.sync.reasons_max_chars
    if len(reasons) > limit:
        reasons = reasons[: limit - 1] + "…"
    return {
        "tier": override or c.tier.value,
        "traits": sorted(t.value for t in c.traits),
        "score": c.score,
        "reasons": reasons,
        "growth_points": sorted(p.value for p in c.growth_points),
        "decision": c.decision.value,
    }


def _differs(field: str, current: Any, new: Any) -> bool:
    if field == "score":
        return current is None or new is None or abs(float(current) - float(new)) >= SCORE_TOLERANCE
    if field in ("traits", "growth_points"):
        return sorted(current or ()) != sorted(new or ())
    return bool(current != new)


def changes(
    c: Classification,
    current: CurrentValues,
    settings: Settings,
    now: dt.datetime,
    today: dt.date | None = None,
) -> tuple[dict[str, Any], list[FieldChange]]:
    """The values to write (empty when nothing differs) and the per-field diff for the plan.

    ``today`` (default: ``now``'s date) decides whether an override has expired.
    """
    wanted = desired_values(c, current, settings, today or now.date())
    values = {f: v for f, v in wanted.items() if _differs(f, getattr(current, f), v)}
    if not values:
        return {}, []
    if "tier" in values:
        values["previous_tier"] = current.tier
        values["tier_changed_at"] = now
    values["last_synced_at"] = now
    diff = [  # a field written with the value it holds (no previous tier yet) is no change to review
        FieldChange(c.account_id, c.name, f, getattr(current, f), v)
        for f, v in values.items()
        if _differs(f, getattr(current, f), v)
    ]
    return values, diff
