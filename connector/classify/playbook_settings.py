"""The playbook: the actions a classification recommends, and the defaults shipped with tiersync."""

from __future__ import annotations

from pydantic import Field, model_validator

from connector.classify.growth_settings import DEFAULT_GROWTH_QUESTIONS
from connector.model import Decision, GrowthPoint, Tier, Trait
from connector.sections import Section


class Action(Section):
    """A playbook action, recommended when every condition given holds: the tier is one of ``tiers``,
    the account carries every trait in ``traits``, and one of ``reasons`` (reason codes such as
    ``poor.unpaid_overdue``) explains its tier or traits, the decision is one of ``decisions``, and the
    account has one of ``growth_points``. A generic action names in ``replaced_by`` the specific
    actions that say more: when one of them applies, the generic one is left out."""

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
    replaced_by: list[str] = Field(
        default_factory=list,
        description="Codes of more specific actions: when any of them applies, this one is left out.",
    )

    @model_validator(mode="after")
    def _has_a_condition(self) -> Action:
        if not (self.tiers or self.traits or self.reasons or self.decisions or self.growth_points):
            raise ValueError(
                f"action {self.code!r} needs tiers, traits, reasons, decisions or growth_points, "
                "or it would apply to everyone"
            )
        return self


FIXES = [f"fix_{point.value}" for point in GrowthPoint]
"""The growth-point actions (one per growth point): each says more than finding the growth point."""

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
        replaced_by=FIXES,
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
        # the decision answers the review's questions: its own action (fix, develop, exit) says what to do
        replaced_by=[*FIXES, "develop_client", "plan_courteous_exit", "set_conduct_terms"],
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


class PlaybookSettings(Section):
    actions: list[Action] = Field(default_factory=lambda: list(DEFAULT_ACTIONS))

    @model_validator(mode="after")
    def _unique_codes(self) -> PlaybookSettings:
        seen: set[str] = set()
        actions = {a.code: a for a in self.actions}
        for action in self.actions:
            if action.code in seen:
                raise ValueError(f"duplicate action code {action.code!r}")
            seen.add(action.code)
        for action in self.actions:
            for code in action.replaced_by:
                if code not in seen or code == action.code:
                    raise ValueError(f"action {action.code!r}: replaced_by names no other action {code!r}")
                if actions[code].replaced_by:
                    raise ValueError(
                        f"action {action.code!r}: {code!r} in replaced_by is itself replaced; "
                        "name the most specific actions directly"
                    )
        return self
