"""The five trait thresholds and their neutral labels (docs/rules.md, Traits)."""

from __future__ import annotations

from pydantic import Field

from connector.model import Trait
from connector.sections import Section


class HighTouchLowPayRules(Section):
    cost_ratio_at_least: float = Field(0.15, ge=0, description="Cost to serve / revenue.")
    escalations_at_least: int = Field(2, ge=0, description="Escalations around the normal support path.")


class BullyRules(Section):
    abusive_incidents_at_least: int = Field(1, ge=1)
    public_complaints_at_least: int = Field(1, ge=1)


class GoalpostMoverRules(Section):
    renegotiations_at_least: int = Field(2, ge=1)
    goals_refused_at_least: int = Field(1, ge=1)
    checkups_declined_at_least: int = Field(2, ge=1)


class OutsideIcpRules(Section):
    """The ideal customer profile. An empty list or a missing bound means "any"."""

    industries: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    employees_min: int | None = Field(None, ge=0)
    employees_max: int | None = Field(None, ge=0)


class VendorNotPartnerRules(Section):
    no_shows_at_least: int = Field(
        2, ge=1, description="Missed joint meetings (check-ups or working sessions)."
    )
    sessions_declined_at_least: int = Field(2, ge=1, description="Declined joint working sessions.")


class TraitRules(Section):
    high_touch_low_pay: HighTouchLowPayRules = HighTouchLowPayRules()
    bully: BullyRules = BullyRules()
    goalpost_mover: GoalpostMoverRules = GoalpostMoverRules()
    outside_icp: OutsideIcpRules = OutsideIcpRules()
    vendor_not_partner: VendorNotPartnerRules = VendorNotPartnerRules()


DEFAULT_TRAIT_LABELS: dict[Trait, str] = {
    Trait.HIGH_TOUCH_LOW_PAY: "Service-intensive",
    Trait.BULLY: "Conduct concerns",
    Trait.GOALPOST_MOVER: "Shifting expectations",
    Trait.OUTSIDE_ICP: "Outside core segment",
    Trait.VENDOR_NOT_PARTNER: "Low collaboration",
}
"""Neutral by default: CRM users, and sometimes the client, can see these labels."""
