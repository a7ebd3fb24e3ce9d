"""The canonical model: what every CRM adapter translates into and out of.

Every field a CRM may lack is ``None`` when missing, never a default that looks like evidence
(an unknown payment date is not "paid on day zero"). Records are frozen so that a classifier run
cannot change its input.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Tier(StrEnum):
    """The four client tiers of docs/rules.md, Tiers, best first."""

    AMAZING = "amazing"
    GOOD = "good"
    OKAY = "okay"
    POOR = "poor"


class Trait(StrEnum):
    """The five bad-client traits of docs/rules.md, Traits."""

    HIGH_TOUCH_LOW_PAY = "high_touch_low_pay"
    BULLY = "bully"
    GOALPOST_MOVER = "goalpost_mover"
    OUTSIDE_ICP = "outside_icp"
    VENDOR_NOT_PARTNER = "vendor_not_partner"


class GrowthPoint(StrEnum):
    """The four weaknesses of ours an inconvenient client points at (docs/rules.md, Growth points and the decision)."""

    COMMUNICATION = "communication"
    PRICE = "price"
    DISCREDIT = "discredit"
    DEMANDS = "demands"


class Decision(StrEnum):
    """What to do with a client, best first: keep close, grow, improve together, or plan an exit."""

    PROTECT = "protect"
    DEVELOP = "develop"
    FIX = "fix"
    LET_GO = "let_go"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class MeetingOutcome(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    NO_SHOW = "no_show"
    DECLINED = "declined"


class GoalStatus(StrEnum):
    AGREED = "agreed"
    REFUSED = "refused"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    owner_id: str | None = None
    industry: str | None = None
    region: str | None = None
    employee_count: int | None = None
    created: dt.date | None = None
    status: str | None = None
    source: str | None = None
    """How the client was acquired (referral, inbound, outbound, partner…), for the ideal-client profile."""
    attributes: dict[str, str] = field(default_factory=dict)
    """Free attributes a mapping adds; kept as text so that any CRM value fits."""


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice and its payment; a payment record without an invoice maps here with ``due`` = ``issued``."""

    id: str
    account_id: str
    amount: float | None = None
    currency: str | None = None
    issued: dt.date | None = None
    due: dt.date | None = None
    paid: dt.date | None = None
    status: InvoiceStatus | None = None
    discount: float | None = None
    """Discount granted on this invoice (an amount, not a share), when the CRM keeps one."""
    cost: float | None = None
    """Our cost of delivering what the invoice bills, when the CRM keeps one: margin comes from it."""


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    account_id: str
    opened: dt.date | None = None
    category: str | None = None
    priority: str | None = None
    escalated: bool | None = None
    """The client went around the normal support path to managers or executives."""
    complaint: bool | None = None
    abusive: bool | None = None
    discount_request: bool | None = None
    rush_request: bool | None = None
    """The client asked for the work sooner than our normal lead time."""
    deadline_request: bool | None = None
    """The client set a deadline shorter than our lead time for the work."""


@dataclass(frozen=True, slots=True)
class Referral:
    id: str
    account_id: str
    """The referring account: the one that earns the credit."""
    referred: str | None = None
    """The referred account or deal id, when the CRM links it."""
    value: float | None = None
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Survey:
    id: str
    account_id: str
    date: dt.date | None = None
    nps: int | None = None
    """0-10; 9-10 promoter, 0-6 detractor."""
    csat: float | None = None
    """1-5."""
    public_complaint: bool | None = None
    """The client complained in public (review site, social media)."""


@dataclass(frozen=True, slots=True)
class Meeting:
    id: str
    account_id: str
    type: str | None = None
    """``checkup`` for the regular check-up; anything else is a joint working session."""
    scheduled: dt.date | None = None
    outcome: MeetingOutcome | None = None


@dataclass(frozen=True, slots=True)
class GoalAgreement:
    id: str
    account_id: str
    date: dt.date | None = None
    status: GoalStatus | None = None


@dataclass(frozen=True, slots=True)
class Renegotiation:
    id: str
    account_id: str
    date: dt.date | None = None
    reason: str | None = None


CHECKUP_MEETING_TYPE = "checkup"


@dataclass(slots=True)
class Roster:
    """Everything one classification pass reads: the whole client list and its evidence.

    A child list that is ``None`` means the source was not available at all (no mapping, no file):
    the classifier reports it as a data gap instead of reading it as "zero".
    """

    accounts: list[Account]
    invoices: list[Invoice] | None = None
    tickets: list[Ticket] | None = None
    referrals: list[Referral] | None = None
    surveys: list[Survey] | None = None
    meetings: list[Meeting] | None = None
    goals: list[GoalAgreement] | None = None
    renegotiations: list[Renegotiation] | None = None


CHILD_KINDS: dict[str, type] = {
    "invoices": Invoice,
    "tickets": Ticket,
    "referrals": Referral,
    "surveys": Survey,
    "meetings": Meeting,
    "goals": GoalAgreement,
    "renegotiations": Renegotiation,
}
"""Each evidence kind of a roster and its record type, in one place for loaders and adapters."""
