"""Growth-point thresholds, labels and questions (docs/rules.md, Growth points and the decision)."""

from __future__ import annotations

from pydantic import Field

from connector.model import GrowthPoint
from connector.sections import Section


class CommunicationRules(Section):
    """Communication failed: rude, long-winded, always dissatisfied. Any one of these is the evidence."""

    abusive_incidents_at_least: int = Field(1, ge=1, description="Rude or abusive with staff.")
    complaints_at_least: int = Field(3, ge=1, description="Always dissatisfied.")
    csat_at_most: float = Field(2.5, ge=0, le=5, description="Latest CSAT at or below this.")
    tickets_at_least: int = Field(25, ge=1, description="Long-winded: this many tickets in the window.")


class PriceRules(Section):
    """No good price agreed: loss-making, buys only on price, buys rarely and little, pays late."""

    margin_below: float = Field(
        0.1, ge=-1, le=1, description="Margin (from invoice cost fields) below this is loss-making."
    )
    cost_ratio_at_least: float = Field(0.5, ge=0, description="Cost to serve / revenue at or above this.")
    discount_requests_at_least: int = Field(2, ge=1)
    discount_share_at_least: float = Field(
        0.15, ge=0, le=1, description="Discounts granted / (revenue + discounts) at or above this."
    )
    orders_at_most: int = Field(3, ge=0, description="Buys rarely: at most this many invoices in the window…")
    average_order_below: float = Field(500.0, ge=0, description="…and little: an average invoice below this.")
    late_invoices_at_least: int = Field(2, ge=1, description="Invoices paid late or unpaid past due.")


class DiscreditRules(Section):
    """They discredit us: public complaints, detractor scores."""

    public_complaints_at_least: int = Field(1, ge=1)
    nps_at_most: int = Field(6, ge=0, le=10, description="Latest NPS at or below this (a detractor).")


class DemandsRules(Section):
    """Inflated demands: unrealistic deadlines, rush requests, constant escalation."""

    rush_requests_at_least: int = Field(2, ge=1)
    deadline_requests_at_least: int = Field(2, ge=1)
    escalations_at_least: int = Field(3, ge=1)


class QuietRules(Section):
    """A "boring" client: no complaints, no conduct or public issue, no discount request, no escalation,
    no detractor score, every invoice paid on time, and few tickets. Never a growth point, never let go;
    silence (no survey, no ticket) never counts against anyone."""

    tickets_at_most: int = Field(3, ge=0)


DEFAULT_GROWTH_LABELS: dict[GrowthPoint, str] = {
    GrowthPoint.COMMUNICATION: "Communication",
    GrowthPoint.PRICE: "Pricing terms",
    GrowthPoint.DISCREDIT: "Public feedback",
    GrowthPoint.DEMANDS: "Timelines and urgency",
}
"""Neutral by default: CRM users, and sometimes the client, can see these labels."""

DEFAULT_GROWTH_QUESTIONS: dict[GrowthPoint, str] = {
    GrowthPoint.COMMUNICATION: "Can we communicate better with them?",
    GrowthPoint.PRICE: "Can we renegotiate? Can we check solvency and payment history quickly?",
    GrowthPoint.DISCREDIT: "Can we serve them remotely, with less personal contact?",
    GrowthPoint.DEMANDS: "Do clients know how we compute lead times? What is our rush price?",
}


class GrowthSettings(Section):
    """Growth points (docs/rules.md, Growth points and the decision): each inconvenient client points at a weakness of ours."""

    communication: CommunicationRules = CommunicationRules()
    price: PriceRules = PriceRules()
    discredit: DiscreditRules = DiscreditRules()
    demands: DemandsRules = DemandsRules()
    quiet: QuietRules = QuietRules()
    labels: dict[GrowthPoint, str] = Field(default_factory=lambda: dict(DEFAULT_GROWTH_LABELS))
    questions: dict[GrowthPoint, str] = Field(default_factory=lambda: dict(DEFAULT_GROWTH_QUESTIONS))

    def label(self, point: GrowthPoint) -> str:
        return self.labels.get(point, DEFAULT_GROWTH_LABELS[point])

    def question(self, point: GrowthPoint) -> str:
        return self.questions.get(point, DEFAULT_GROWTH_QUESTIONS[point])
