"""Settings: one TOML file (``--config`` or ``TIERSYNC_CONFIG``) plus ``TIERSYNC_…`` environment variables.

Every classifier threshold lives here, none in code: sales ops tune tiers by editing the file.
Secrets are ``SecretStr`` so that they never print, and come from the environment
(``TIERSYNC_SALESFORCE__PASSWORD``) or a secrets directory, never from the committed TOML.

A config may name several CRM connections (``[connections.<name>]``), each with its own CRM,
mapping, credentials and threshold overrides; :meth:`Settings.connection_settings` turns each into
a complete :class:`Settings`, so the engine and the adapters never see the difference.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from connector.model import Decision, GrowthPoint, Tier, Trait

CONFIG_ENV = "TIERSYNC_CONFIG"
SECRETS_DIR_ENV = "TIERSYNC_SECRETS_DIR"
DEFAULT_CONNECTION = "default"
"""The one connection of a config without ``[connections]``: its name in the state and the lock."""
CONNECTION_NAME = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
"""Lower case with single underscores: the name is also part of ``TIERSYNC_CONNECTIONS__<NAME>__…``."""
OVERRIDABLE = (
    "evidence",
    "tiers",
    "traits",
    "trait_labels",
    "growth",
    "decision",
    "playbook",
    "comms",
    "sync",
    "insights",
    "tasks",
)
"""The sections a connection may override; CRM, credentials and state are set per connection or not at all."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceSettings(_Section):
    """How raw records become evidence."""

    window_days: int = Field(
        365, ge=1, description="Look-back window for invoices, tickets, referrals, surveys."
    )
    checkup_window_days: int = Field(180, ge=1, description="Look-back window for check-up meetings.")
    grace_days: int = Field(5, ge=0, description="An invoice paid within due date + grace days is on time.")
    cost_per_ticket: float = Field(50.0, ge=0, description="Cost to serve one support ticket.")
    cost_per_escalation: float = Field(250.0, ge=0, description="Extra cost of one escalation to management.")
    as_of: dt.date | None = Field(None, description="Classify as of this date (default: today).")


class PoorRules(_Section):
    """Any one of these makes a client poor (docs/rules.md, Tiers: the headaches)."""

    complaints_at_least: int = Field(6, ge=1)
    on_time_rate_below: float = Field(0.6, ge=0, le=1)
    unpaid_overdue_at_least: int = Field(2, ge=1)
    discount_requests_at_least: int = Field(3, ge=1)
    public_complaints_at_least: int = Field(1, ge=1)
    nps_at_most: int = Field(6, ge=0, le=10, description="NPS 0-6 is a detractor.")


class AmazingRules(_Section):
    """All of these make a client amazing: pays on time, refers, and is a promoter or rarely complains."""

    on_time_rate_at_least: float = Field(0.95, ge=0, le=1)
    referrals_at_least: int = Field(1, ge=1)
    nps_at_least: int = Field(9, ge=0, le=10, description="Promoter NPS (or high CSAT, or few complaints).")
    csat_at_least: float = Field(4.5, ge=0, le=5)
    complaints_at_most: int = Field(1, ge=0, description="'Few complaints' when NPS/CSAT are not promoter.")


class GoodRules(_Section):
    """All of these make a client good: pays on time with a normal support load."""

    on_time_rate_at_least: float = Field(0.9, ge=0, le=1)
    complaints_at_most: int = Field(2, ge=0)
    tickets_at_most: int = Field(24, ge=0, description="A normal support load over the window.")


class TierRules(_Section):
    poor: PoorRules = PoorRules()
    amazing: AmazingRules = AmazingRules()
    good: GoodRules = GoodRules()


class HighTouchLowPayRules(_Section):
    cost_ratio_at_least: float = Field(0.15, ge=0, description="Cost to serve / revenue.")
    escalations_at_least: int = Field(2, ge=0, description="Escalations around the normal support path.")


class BullyRules(_Section):
    abusive_incidents_at_least: int = Field(1, ge=1)
    public_complaints_at_least: int = Field(1, ge=1)


class GoalpostMoverRules(_Section):
    renegotiations_at_least: int = Field(2, ge=1)
    goals_refused_at_least: int = Field(1, ge=1)
    checkups_declined_at_least: int = Field(2, ge=1)


class OutsideIcpRules(_Section):
    """The ideal customer profile. An empty list or a missing bound means "any"."""

    industries: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    employees_min: int | None = Field(None, ge=0)
    employees_max: int | None = Field(None, ge=0)


class VendorNotPartnerRules(_Section):
    no_shows_at_least: int = Field(
        2, ge=1, description="Missed joint meetings (check-ups or working sessions)."
    )
    sessions_declined_at_least: int = Field(2, ge=1, description="Declined joint working sessions.")


class TraitRules(_Section):
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


class CommunicationRules(_Section):
    """Communication failed: rude, long-winded, always dissatisfied. Any one of these is the evidence."""

    abusive_incidents_at_least: int = Field(1, ge=1, description="Rude or abusive with staff.")
    complaints_at_least: int = Field(3, ge=1, description="Always dissatisfied.")
    csat_at_most: float = Field(2.5, ge=0, le=5, description="Latest CSAT at or below this.")
    tickets_at_least: int = Field(25, ge=1, description="Long-winded: this many tickets in the window.")


class PriceRules(_Section):
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


class DiscreditRules(_Section):
    """They discredit us: public complaints, detractor scores."""

    public_complaints_at_least: int = Field(1, ge=1)
    nps_at_most: int = Field(6, ge=0, le=10, description="Latest NPS at or below this (a detractor).")


class DemandsRules(_Section):
    """Inflated demands: unrealistic deadlines, rush requests, constant escalation."""

    rush_requests_at_least: int = Field(2, ge=1)
    deadline_requests_at_least: int = Field(2, ge=1)
    escalations_at_least: int = Field(3, ge=1)


class QuietRules(_Section):
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


class GrowthSettings(_Section):
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


class TrendRules(_Section):
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


class DecisionSettings(_Section):
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


class Action(_Section):
    """A playbook action, recommended when every condition given holds: the tier is one of ``tiers``,
    the account carries every trait in ``traits``, and one of ``reasons`` (reason codes such as
    ``poor.unpaid_overdue``) explains its tier or traits, the decision is one of ``decisions``, and the
    account has one of ``growth_points``."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    title: str = Field(min_length=1, max_length=255)
    description: str = ""
    tiers: list[Tier] = Field(default_factory=list)
    traits: list[Trait] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    growth_points: list[GrowthPoint] = Field(default_factory=list)
    letter: bool = Field(False, description="Append the [decision] exit_letter to the task.")
    due_in_days: int = Field(14, ge=0)
    cadence_days: int = Field(
        90, ge=1, description="A task for this action is created at most once per period."
    )

    @model_validator(mode="after")
    def _has_a_condition(self) -> Action:
        if not (self.tiers or self.traits or self.reasons or self.decisions or self.growth_points):
            raise ValueError(
                f"action {self.code!r} needs tiers, traits, reasons, decisions or growth_points, "
                "or it would apply to everyone"
            )
        return self


DEFAULT_ACTIONS: list[Action] = [
    Action(
        code="ask_for_referral",
        title="Thank the client and ask for a referral or case study",
        description="A top client: learn what works with them and ask them to introduce look-alikes.",
        tiers=[Tier.AMAZING],
        due_in_days=30,
        cadence_days=180,
    ),
    Action(
        code="find_growth_point",
        title="Find the growth point",
        description=(
            "Each inconvenient client points at a weakness of ours: communication, price, remote service "
            "or deadlines. Check which one applies and agree one change with the client."
        ),
        tiers=[Tier.OKAY],
        due_in_days=30,
        cadence_days=90,
    ),
    Action(
        code="review_relationship",
        title="Review the relationship: renegotiate, or let go politely",
        description=(
            "Can the behaviour change without a ton of effort? Is the client high-potential? If not, "
            "plan a courteous exit; otherwise agree new terms."
        ),
        tiers=[Tier.POOR],
        due_in_days=14,
        cadence_days=90,
    ),
    Action(
        code="check_solvency",
        title="Check solvency and payment history before the next order",
        description="Late or unpaid invoices: confirm payment terms and credit before committing more work.",
        reasons=["poor.on_time_rate", "poor.unpaid_overdue", "okay.late_payments"],
        due_in_days=7,
        cadence_days=90,
    ),
    Action(
        code="set_conduct_terms",
        title="Review the relationship: decline politely or set conduct terms",
        description="Agree how we work together and who to contact; decline politely if conduct does not change.",
        tiers=[Tier.POOR],
        traits=[Trait.BULLY],
        due_in_days=7,
        cadence_days=90,
    ),
    Action(
        code="move_to_paid_service_level",
        title="Move to the paid high-touch service level",
        description="Offer a service level that matches the support they use, with a clear contact process.",
        traits=[Trait.HIGH_TOUCH_LOW_PAY],
        due_in_days=30,
        cadence_days=180,
    ),
    Action(
        code="agree_written_goals",
        title="Agree written goals and schedule a regular check-up",
        description="Set realistic goals in writing and book a recurring check-up meeting.",
        traits=[Trait.GOALPOST_MOVER],
        due_in_days=21,
        cadence_days=90,
    ),
    Action(
        code="agree_joint_plan",
        title="Agree a joint success plan with clear responsibilities",
        description="Results need joint effort: agree who does what, and share our best practices.",
        traits=[Trait.VENDOR_NOT_PARTNER],
        due_in_days=21,
        cadence_days=90,
    ),
    Action(
        code="review_segment_fit",
        title="Review fit with our core segment",
        description="Success outside the ideal segment is hard to repeat: serve remotely or refer on.",
        traits=[Trait.OUTSIDE_ICP],
        due_in_days=60,
        cadence_days=365,
    ),
    *(
        Action(
            code=f"fix_{point.value}",
            title=title,
            description=f"{DEFAULT_GROWTH_QUESTIONS[point]} {step}",
            growth_points=[point],
            decisions=[Decision.FIX, Decision.DEVELOP],
            due_in_days=21,
            cadence_days=90,
        )
        for point, title, step in (
            (
                GrowthPoint.COMMUNICATION,
                "Agree how we communicate with this client",
                "Name one contact person, agree the channel and the rhythm, and keep answers short and factual.",
            ),
            (
                GrowthPoint.PRICE,
                "Review price and payment terms",
                "Agree a price that pays for the service (or a smaller scope) and payment terms we can check.",
            ),
            (
                GrowthPoint.DISCREDIT,
                "Serve remotely, with every promise in writing",
                "Move the contact to remote service, confirm commitments in writing, answer public feedback calmly.",
            ),
            (
                GrowthPoint.DEMANDS,
                "Explain our lead times and rush price",
                "Send how we compute lead times and what a rush costs before the next order.",
            ),
        )
    ),
    Action(
        code="develop_client",
        title="Grow the relationship",
        description=(
            "A client with potential, or a quiet one who pays: offer what similar top clients buy, ask for "
            "more of their business and for introductions."
        ),
        decisions=[Decision.DEVELOP],
        due_in_days=30,
        cadence_days=180,
    ),
    Action(
        code="plan_courteous_exit",
        title="Plan a courteous exit",
        description=(
            "Plan it; do not act on the record. Offer a refund where possible, refer them to a provider "
            "who fits them better, and send the letter below once a manager agrees. tiersync never "
            "changes the client automatically: keep serving them well until the exit."
        ),
        decisions=[Decision.LET_GO],
        letter=True,
        due_in_days=30,
        cadence_days=180,
    ),
]


class PlaybookSettings(_Section):
    actions: list[Action] = Field(default_factory=lambda: list(DEFAULT_ACTIONS))

    @model_validator(mode="after")
    def _unique_codes(self) -> PlaybookSettings:
        seen: set[str] = set()
        for action in self.actions:
            if action.code in seen:
                raise ValueError(f"duplicate action code {action.code!r}")
            seen.add(action.code)
        return self


class SizeBand(_Section):
    """A revenue band: the first band whose ``revenue_below`` exceeds the client's revenue (the last
    band, without a bound, takes the rest)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    revenue_below: float | None = Field(None, gt=0)


class Touch(_Section):
    """A planned contact (docs/rules.md, The communication plan): created as a task once per ``cadence_days`` for every client
    matching all conditions given (empty = any)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    title: str = Field(min_length=1, max_length=255)
    description: str = ""
    cadence_days: int = Field(ge=7)
    due_in_days: int = Field(14, ge=0)
    tiers: list[Tier] = Field(default_factory=list)
    sizes: list[str] = Field(default_factory=list)
    networked: bool | None = Field(
        None, description="true: only clients who refer others; false: only those who don't."
    )


DEFAULT_SIZE_BANDS = [
    SizeBand(name="small", revenue_below=10_000),
    SizeBand(name="medium", revenue_below=100_000),
    SizeBand(name="large"),
]

DEFAULT_TOUCHES = [
    Touch(
        code="yearly_survey", title="Send the yearly satisfaction survey", cadence_days=365, due_in_days=30
    ),
    Touch(code="checkin_email", title="Send a check-in email", cadence_days=182, due_in_days=14),
    Touch(
        code="quarterly_review",
        title="Hold the quarterly business review",
        description="A client who pays a lot every quarter gets a meeting every quarter.",
        cadence_days=91,
        due_in_days=30,
        tiers=[Tier.AMAZING, Tier.GOOD],
        sizes=["large"],
    ),
    Touch(
        code="monthly_call",
        title="Monthly call with the account lead",
        cadence_days=30,
        due_in_days=10,
        tiers=[Tier.AMAZING],
        sizes=["medium", "large"],
    ),
    Touch(
        code="network_thank_you",
        title="Thank the client for referrals and keep them close",
        description="A small client with a big network deserves more attention than its revenue says.",
        cadence_days=91,
        due_in_days=21,
        networked=True,
    ),
]


class CommsSettings(_Section):
    """The communication plan: a baseline every client gets, more touches for higher categories."""

    enabled: bool = True
    size_bands: list[SizeBand] = Field(default_factory=lambda: list(DEFAULT_SIZE_BANDS))
    network_referrals_at_least: int = Field(
        2, ge=1, description="Referrals in the window that make a client networked."
    )
    touches: list[Touch] = Field(default_factory=lambda: list(DEFAULT_TOUCHES))

    @model_validator(mode="after")
    def _consistent(self) -> CommsSettings:
        names = [b.name for b in self.size_bands]
        if not names or self.size_bands[-1].revenue_below is not None:
            raise ValueError("size_bands: the last band must have no revenue_below (it takes the rest)")
        bounds = [b.revenue_below for b in self.size_bands[:-1]]
        if any(b is None for b in bounds) or bounds != sorted(bounds):  # type: ignore[type-var]
            raise ValueError(
                "size_bands: revenue_below must be given and increasing, except on the last band"
            )
        for touch in self.touches:
            unknown = set(touch.sizes) - set(names)
            if unknown:
                raise ValueError(
                    f"touch {touch.code!r}: unknown size band {', '.join(sorted(unknown))} (known: {', '.join(names)})"
                )
        codes = [t.code for t in self.touches]
        if len(codes) != len(set(codes)):
            raise ValueError("touches: duplicate code")
        return self

    def size_band(self, revenue: float | None) -> str:
        for band in self.size_bands:
            if band.revenue_below is None or (revenue or 0.0) < band.revenue_below:
                return band.name
        return self.size_bands[-1].name


class InsightSettings(_Section):
    """Learning from the top (docs/rules.md, Learning from the top): the ideal-client profile, look-alike fit and the backtest."""

    top_tiers: list[Tier] = Field(
        default_factory=lambda: [Tier.AMAZING, Tier.GOOD],
        description="The tiers the profile learns from; every other tier is 'the rest'.",
    )
    attributes: list[str] = Field(
        default_factory=lambda: ["industry", "region", "size", "source"],
        description="Account attributes the profile compares; 'size' is the employee band.",
    )
    free_attributes: bool = Field(True, description="Also compare the accounts' free attribute columns.")
    max_values: int = Field(
        50, ge=2, description="An attribute with more distinct values (an id, a website) is left out."
    )
    employee_bands: list[int] = Field(
        default_factory=lambda: [10, 50, 250, 1000],
        description="Upper bounds of the employee-count bands, increasing; the last band takes the rest.",
    )
    min_support: int = Field(
        10, ge=1, description="A value held by fewer accounts is listed, but fit treats it as unknown."
    )
    smoothing: float = Field(1.0, gt=0, description="Laplace smoothing of the shares behind lift and fit.")
    currency: str = Field(
        "USD",
        min_length=1,
        max_length=8,
        description="Currency code shown with every amount in the report and explain.",
    )
    backtest_margin: float = Field(
        0.02, ge=0, le=1, description="Outcome rates closer than this do not separate two tiers."
    )
    backtest_min_accounts: int = Field(
        20, ge=1, description="A tier needs this many accounts with a known outcome to be judged."
    )
    expansion_ratio: float = Field(
        1.2, gt=1, description="Revenue next window above this times this window's is an expansion."
    )
    churned_statuses: list[str] = Field(
        default_factory=lambda: ["churned"], description="Account statuses that mean the client left."
    )
    report_accounts_per_trait: int = Field(10, ge=1, description="Accounts the report lists per trait.")

    @model_validator(mode="after")
    def _consistent(self) -> InsightSettings:
        if not self.top_tiers or set(self.top_tiers) == set(Tier):
            raise ValueError("top_tiers: name at least one tier and leave at least one for 'the rest'")
        bands = self.employee_bands
        if any(b < 1 for b in bands) or bands != sorted(set(bands)):
            raise ValueError("employee_bands: give positive upper bounds in increasing order")
        return self


class SyncSettings(_Section):
    """How the sync reads, writes and stops."""

    lookback_minutes: int = Field(
        10, ge=0, description="Re-read changes this far before the watermark (clock skew)."
    )
    page_size: int = Field(
        2000, ge=200, le=2000, description="Accounts per read page (with all their evidence)."
    )
    api_limit_share: float = Field(
        0.8, gt=0, le=1, description="Stop cleanly before this share of the daily API limit is used."
    )
    record_retry_attempts: int = Field(
        4, ge=1, description="Tries for a record that fails with a retriable error."
    )
    task_subject_prefix: str = Field("[tiersync]", max_length=40)
    reasons_max_chars: int = Field(32000, ge=255, description="The reasons field is cut to this length.")


class PriorityRule(_Section):
    """One rank of the task priority: it matches an action when every condition given holds (the
    account's tier is one of ``tiers``, it carries one of ``traits``, one of ``reasons`` explains its
    tier or traits, the action is one of ``actions``; touches are ``comms:<code>``)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    tiers: list[Tier] = Field(default_factory=list)
    traits: list[Trait] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_condition(self) -> PriorityRule:
        if not (self.tiers or self.traits or self.reasons or self.actions):
            raise ValueError(f"priority rule {self.name!r} needs tiers, traits, reasons or actions")
        return self


PAYMENT_REASONS = ["poor.on_time_rate", "poor.unpaid_overdue"]

DEFAULT_PRIORITY: list[PriorityRule] = [
    PriorityRule(name="poor_conduct", tiers=[Tier.POOR], traits=[Trait.BULLY]),
    PriorityRule(name="poor_payment", tiers=[Tier.POOR], reasons=PAYMENT_REASONS),
    PriorityRule(
        name="revenue_at_risk",
        actions=["review_relationship", "check_solvency", "move_to_paid_service_level"],
    ),
    PriorityRule(name="referral_ask", actions=["ask_for_referral"]),
]
"""Everything no rule matches (routine touches, the other actions) comes after, in due-date order."""


class TaskSettings(_Section):
    """How many tiersync tasks an account manager gets, in which order, and how they are grouped."""

    max_new_per_owner_per_week: int = Field(
        10, ge=0, description="New tiersync tasks per owner per calendar week (0: unlimited)."
    )
    max_open_per_owner: int = Field(
        30, ge=0, description="Open tiersync tasks per owner at once (0: unlimited)."
    )
    one_task_per_action: bool = Field(
        False, description="true: one task per action; false: one 'Client plan' task per account per sync."
    )
    spread_cadences: bool = Field(
        True, description="Offset each account's periods by a stable hash of its id."
    )
    coalesce_days: int = Field(
        28,
        ge=0,
        description="Actions held back but due within this many days ride along when a task goes out "
        "for the account; newly due actions join the account's open tiersync task (0: neither).",
    )
    priority: list[PriorityRule] = Field(default_factory=lambda: list(DEFAULT_PRIORITY))


class SalesforceSettings(_Section):
    instance_url: str | None = None
    api_version: str = "60.0"
    session_id: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = "login"
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    private_key_file: Path | None = None
    ca_bundle: Path | None = Field(
        None, description="PEM bundle to trust (corporate proxy or the sandbox CA)."
    )
    bulk_threshold: int = Field(
        10_000,
        ge=0,
        description="A full read of more accounts, or a write of more records, uses Bulk API 2.0.",
    )
    bulk_page_size: int = Field(
        25_000,
        ge=200,
        le=200_000,
        description="Accounts per page in a Bulk read; above bulk_threshold so each page's writes are one job.",
    )
    bulk_poll_timeout: float = Field(
        1800.0, gt=0, description="Seconds to wait for one Bulk job before aborting it with an error."
    )
    describe_ttl_seconds: float = Field(
        0.0,
        ge=0,
        description="Reuse an object's describe across runs for this long (0: describe every run); "
        "setup-fields and cleanup clear the cache.",
    )

    @field_validator("domain")
    @classmethod
    def _host_label(cls, value: str) -> str:
        # simple-salesforce builds https://<domain>.salesforce.com; a host:port/path prefix (a local
        # login server) is allowed, a scheme or a character no host name has is not
        if value.startswith(("http:", "https:")) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:/?-]*", value):
            raise ValueError("must be login, test or your My Domain (e.g. yourcompany.my), not a URL")
        return value

    @field_validator("instance_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?/?", value):
            raise ValueError("must be https://<host>, such as https://yourcompany.my.salesforce.com")
        return value


class HubSpotSettings(_Section):
    access_token: SecretStr | None = None
    host: str = "https://api.hubapi.com"
    ca_bundle: Path | None = Field(
        None, description="PEM bundle to trust (corporate proxy or the sandbox CA)."
    )


class ConnectionSettings(_Section):
    """One CRM connection of a config that names several (``[connections.<name>]``).

    Its CRM section is its own: nothing is inherited from the top-level ``[salesforce]`` or
    ``[hubspot]``, so one org's credentials never reach another. ``overrides`` is deep-merged over
    the top-level thresholds, for this connection only."""

    crm: Literal["salesforce", "hubspot"]
    mapping: Path | None = Field(None, description="Mapping file (default: mappings/<crm>.toml).")
    salesforce: SalesforceSettings = SalesforceSettings()
    hubspot: HubSpotSettings = HubSpotSettings()
    overrides: dict[str, Any] = Field(
        default_factory=dict, description=f"Sections to change for this connection: {', '.join(OVERRIDABLE)}."
    )


class Settings(BaseSettings):
    """All of tiersync's settings; build with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="TIERSYNC_",
        env_nested_delimiter="__",
        secrets_prefix="",
        secrets_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    crm: Literal["salesforce", "hubspot"] = "salesforce"
    evidence: EvidenceSettings = EvidenceSettings()
    tiers: TierRules = TierRules()
    traits: TraitRules = TraitRules()
    trait_labels: dict[Trait, str] = Field(default_factory=lambda: dict(DEFAULT_TRAIT_LABELS))
    growth: GrowthSettings = GrowthSettings()
    decision: DecisionSettings = DecisionSettings()
    playbook: PlaybookSettings = PlaybookSettings()
    comms: CommsSettings = CommsSettings()
    tasks: TaskSettings = TaskSettings()
    sync: SyncSettings = SyncSettings()
    insights: InsightSettings = InsightSettings()
    salesforce: SalesforceSettings = SalesforceSettings()
    hubspot: HubSpotSettings = HubSpotSettings()
    mapping: Path | None = Field(None, description="Mapping file (default: mappings/<crm>.toml).")
    state_path: Path | None = Field(None, description="SQLite state file; default beside the config file.")
    state_url: SecretStr | None = Field(
        None,
        description="PostgreSQL state shared by several machines (postgresql://user@host/db); "
        "replaces state_path. The password comes from TIERSYNC_STATE_URL or PGPASSWORD.",
    )
    connections: dict[str, ConnectionSettings] = Field(
        default_factory=dict, description="Several CRM connections; without it, one named 'default'."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init values; the environment and secrets beat it, so secrets
        # and per-run overrides never need a file edit.
        # One file per setting in TIERSYNC_SECRETS_DIR, named like the variable without its prefix:
        # salesforce__password, connections__emea__hubspot__access_token.
        return env_settings, NestedSecretsSettingsSource(file_secret_settings), init_settings

    @field_validator("state_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must be a postgresql:// URL, such as postgresql://tiersync@db.example.com/tiersync"
            )
        return value

    @field_validator("connections")
    @classmethod
    def _connection_names(cls, value: dict[str, ConnectionSettings]) -> dict[str, ConnectionSettings]:
        bad = [name for name in value if not re.fullmatch(CONNECTION_NAME, name)]
        if bad:
            raise ValueError(
                f"connection name {', '.join(map(repr, bad))}: use lower-case letters, digits and single "
                "underscores (the name is part of the TIERSYNC_CONNECTIONS__<NAME>__… variables)"
            )
        return value

    def label(self, trait: Trait) -> str:
        return self.trait_labels.get(trait, DEFAULT_TRAIT_LABELS[trait])

    def value_labels(self) -> dict[str, str]:
        """Neutral labels of every code setup-fields puts in a picklist: traits, growth points, decisions."""
        return {
            **{t.value: self.label(t) for t in Trait},
            **{p.value: self.growth.label(p) for p in GrowthPoint},
            **{d.value: self.decision.label(d) for d in Decision},
        }

    def connection_settings(self) -> dict[str, Settings]:
        """The complete settings of each connection, by name, in config order.

        Without ``[connections]`` these settings are the one connection, ``default``. Otherwise each
        connection gets its own ``crm``, ``mapping`` and CRM section, the shared state settings, and
        the top-level thresholds with its ``overrides`` deep-merged in. Raises :class:`ConfigError`
        with one line per bad override, naming the key."""
        if not self.connections:
            return {DEFAULT_CONNECTION: self}
        problems: list[str] = []
        result: dict[str, Settings] = {}
        for name, connection in self.connections.items():
            update = self._overridden(connection.overrides, f"connections.{name}.overrides", problems)
            update.update(
                crm=connection.crm,
                mapping=connection.mapping,
                salesforce=connection.salesforce,
                hubspot=connection.hubspot,
                connections={},
            )
            result[name] = self.model_copy(update=update)
        if problems:
            raise ConfigError(problems)
        return result

    def _overridden(self, overrides: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
        """Each overridden section, validated after the merge (``model_validate`` would re-read the
        environment and put the top-level variables back over the connection's overrides)."""
        update: dict[str, Any] = {}
        for key, value in overrides.items():
            if key in ConnectionSettings.model_fields:
                owner = where.removesuffix(".overrides")
                problems.append(f"{where}.{key}: set {owner}.{key} instead (not an override)")
                continue
            if key not in OVERRIDABLE:
                problems.append(
                    f"{where}.{key}: not overridable per connection; it is shared by every connection"
                    if key in type(self).model_fields
                    else _describe({"loc": (where, key), "type": "extra_forbidden"})
                )
                continue
            annotation: Any = type(self).model_fields[key].annotation
            adapter: TypeAdapter[Any] = TypeAdapter(annotation)
            current = adapter.dump_python(getattr(self, key))
            try:
                update[key] = adapter.validate_python(_deep_merge(current, value))
            except ValidationError as exc:
                problems += [_describe({**dict(e), "loc": (where, key, *e["loc"])}) for e in exc.errors()]
        return update


def _deep_merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``, table by table; any other value (a list, a number) replaces."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _deep_merge(merged.get(key), value)
    return merged


class ConfigError(Exception):
    """A configuration problem, already phrased for the user: one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (check the spelling against config.example.toml)"
    given = error.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    if "secret" in key or key.endswith(("password", "token", "session_id", "access_token", "state_url")):
        shown = ""
    return f"{key}: {error['msg']}{shown}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read: {exc.strerror}"]) from None


def _holds_password(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.password) or "password" in parse_qs(parts.query)


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from ``path`` (or ``$TIERSYNC_CONFIG``; none → defaults) and the environment.

    Raises :class:`ConfigError` naming every bad key; never a pydantic traceback.
    """
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    if path is not None and not path.is_file():
        raise ConfigError([f"config file {path} does not exist"])
    values = _read_toml(path) if path is not None else {}
    refused = _secrets_in(values)
    if refused:
        raise ConfigError(refused)
    if path is not None:
        _resolve_paths(values, path.parent)
    if isinstance(values.get("state_url"), str) and _holds_password(values["state_url"]):
        raise ConfigError(
            ["state_url: the file must not hold the password; set TIERSYNC_STATE_URL or PGPASSWORD instead"]
        )
    secrets_dir = os.environ.get(SECRETS_DIR_ENV) or None
    if secrets_dir is not None and not Path(secrets_dir).is_dir():
        raise ConfigError([f"{SECRETS_DIR_ENV}: {secrets_dir} is not a folder"])
    try:
        settings = Settings(_secrets_dir=secrets_dir, **values)
    except ValidationError as exc:
        raise ConfigError([_describe(dict(e)) for e in exc.errors()]) from None
    settings.connection_settings()  # a bad override is a config error now, not when its turn comes
    if settings.state_path is None:
        base = path.parent if path is not None else Path.cwd()
        settings = settings.model_copy(update={"state_path": base / "tiersync-state.sqlite"})
    return settings


SECRET_KEYS = ("password", "security_token", "session_id", "access_token", "consumer_secret")
"""Settings that must come from the environment or ``TIERSYNC_SECRETS_DIR``, never the TOML file."""

PATH_KEYS = (
    "mapping",
    "state_path",
    "salesforce.ca_bundle",
    "salesforce.private_key_file",
    "hubspot.ca_bundle",
)
"""File settings: a relative path in the TOML file is relative to that file, wherever tiersync runs."""


def _crm_sections(values: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(prefix, table)`` for the top level and each ``[connections.<name>]`` table of raw TOML."""
    tables = [("", values)]
    connections = values.get("connections")
    if isinstance(connections, dict):
        tables += [(f"connections.{n}.", c) for n, c in connections.items() if isinstance(c, dict)]
    return tables


def _secrets_in(values: dict[str, Any]) -> list[str]:
    """One line per secret found in the TOML file, naming the variable to set instead."""
    problems = []
    for prefix, table in _crm_sections(values):
        for crm in ("salesforce", "hubspot"):
            section = table.get(crm)
            if not isinstance(section, dict):
                continue
            for key in SECRET_KEYS:
                if key in section:
                    name = f"{prefix}{crm}.{key}"
                    variable = "TIERSYNC_" + name.upper().replace(".", "__")
                    problems.append(
                        f"{name}: a secret must not be in the config file; set {variable} in the "
                        f"environment (or a file {variable.removeprefix('TIERSYNC_').lower()} in "
                        f"{SECRETS_DIR_ENV})"
                    )
    return problems


def _resolve_paths(values: dict[str, Any], base: Path) -> None:
    """Make every relative file setting of the TOML file relative to the file's folder (in place)."""
    for _prefix, table in _crm_sections(values):
        for key in PATH_KEYS:
            *parents, leaf = key.split(".")
            holder: Any = table
            for part in parents:
                holder = holder.get(part) if isinstance(holder, dict) else None
            if isinstance(holder, dict) and isinstance(holder.get(leaf), str):
                given = Path(holder[leaf]).expanduser()
                holder[leaf] = str(given if given.is_absolute() else base / given)
