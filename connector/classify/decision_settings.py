"""The decision's thresholds, labels and exit letter, and the trend it reads (README "The decision")."""

from __future__ import annotations

from pydantic import Field

from connector.model import Decision
from connector.sections import Section


class TrendRules(Section):
    """This window against the last: the tier the client held one window ago, then the evidence."""

    complaints_change_at_least: int = Field(2, ge=1, description="Complaints up or down by this many.")
    on_time_change_at_least: float = Field(0.1, gt=0, le=1, description="On-time rate up or down by this.")


DEFAULT_DECISION_LABELS: dict[Decision, str] = {
    Decision.PROTECT: "Keep close",
    Decision.DEVELOP: "Grow",
    Decision.FIX: "Improve together",
    Decision.LET_GO: "Plan a transition",
}
"""Neutral by default: CRM users, and sometimes the client, can see these labels."""

DEFAULT_EXIT_LETTER = """Dear {client},

Thank you for the time we have worked together. We have looked hard at how we serve you, and we
believe another provider will serve you better than we can today. We would like to make the
change easy: we will refund what we can of work not yet delivered, introduce you to a provider
who fits your needs, and hand over everything you need for a smooth transition.

We will miss working with you, and we wish you every success.

Kind regards,
Your account team"""


class DecisionSettings(Section):
    """Protect, develop, fix or let go (README "The decision"): two questions decide between fix and
    let go: can the behaviour change without a ton of effort, and is the client high-potential?"""

    trend: TrendRules = TrendRules()
    costly_cost_ratio_at_least: float = Field(
        0.25, ge=0, description="Cost to serve / revenue at or above this is costly."
    )
    costly_margin_below: float = Field(
        0.0, ge=-1, le=1, description="A margin below this (from invoice cost fields) is costly."
    )
    rising_revenue_ratio: float = Field(
        1.2, gt=1, description="High potential: revenue this window at least this times the last."
    )
    network_referrals_at_least: int = Field(
        2, ge=1, description="High potential: referrals in the window (a network)."
    )
    lookalike: bool = Field(
        True, description="High potential: inside the ideal segment of [traits.outside_icp], when one is set."
    )
    non_payer_unpaid_at_least: int = Field(2, ge=1, description="Invoices unpaid past due: a non-payer.")
    labels: dict[Decision, str] = Field(default_factory=lambda: dict(DEFAULT_DECISION_LABELS))
    exit_letter: str = Field(
        DEFAULT_EXIT_LETTER,
        min_length=1,
        description="The courteous exit letter of the plan_courteous_exit task; {client} is replaced by "
        "the client's name.",
    )

    def label(self, decision: Decision) -> str:
        return self.labels.get(decision, DEFAULT_DECISION_LABELS[decision])
