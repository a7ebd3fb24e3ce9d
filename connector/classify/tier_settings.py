"""The tier thresholds (docs/rules.md, Tiers): what makes a client poor, amazing or good."""

from __future__ import annotations

from pydantic import Field

from connector.sections import Section


class PoorRules(Section):
    """Any one of these makes a client poor (docs/rules.md, Tiers: the headaches)."""

    complaints_at_least: int = Field(6, ge=1)
    on_time_rate_below: float = Field(0.6, ge=0, le=1)
    unpaid_overdue_at_least: int = Field(2, ge=1)
    discount_requests_at_least: int = Field(3, ge=1)
    public_complaints_at_least: int = Field(1, ge=1)
    nps_at_most: int = Field(6, ge=0, le=10, description="NPS 0-6 is a detractor.")


class AmazingRules(Section):
    """All of these make a client amazing: pays on time, refers, and is a promoter or rarely complains."""

    on_time_rate_at_least: float = Field(0.95, ge=0, le=1)
    referrals_at_least: int = Field(1, ge=1)
    nps_at_least: int = Field(9, ge=0, le=10, description="Promoter NPS (or high CSAT, or few complaints).")
    csat_at_least: float = Field(4.5, ge=0, le=5)
    complaints_at_most: int = Field(1, ge=0, description="'Few complaints' when NPS/CSAT are not promoter.")


class GoodRules(Section):
    """All of these make a client good: pays on time with a normal support load."""

    on_time_rate_at_least: float = Field(0.9, ge=0, le=1)
    complaints_at_most: int = Field(2, ge=0)
    tickets_at_most: int = Field(24, ge=0, description="A normal support load over the window.")


class TierRules(Section):
    poor: PoorRules = PoorRules()
    amazing: AmazingRules = AmazingRules()
    good: GoodRules = GoodRules()
