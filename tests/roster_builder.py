"""Builds one-client rosters for rule tests: a baseline good client, changed one fact at a time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from connector.model import (
    CHECKUP_MEETING_TYPE,
    Account,
    GoalAgreement,
    GoalStatus,
    Invoice,
    InvoiceStatus,
    Meeting,
    MeetingOutcome,
    Referral,
    Renegotiation,
    Roster,
    Survey,
    Ticket,
)

AS_OF = dt.date(2026, 11, 1)


def days_ago(n: int) -> dt.date:
    return AS_OF - dt.timedelta(days=n)


@dataclass
class Client:
    """A client who pays 12 invoices on time, answers NPS 8, attends check-ups, refers nobody."""

    id: str = "ACC1"
    name: str = "Baseline Ltd"
    owner_id: str | None = "owner-1"
    industry: str | None = "Software"
    region: str | None = "Europe"
    employee_count: int | None = 120
    on_time: int = 12
    late: int = 0
    unpaid: int = 0
    amount: float = 1000.0
    tickets: int = 0
    complaints: int = 0
    escalations: int = 0
    abusive: int = 0
    discount_requests: int = 0
    referrals: int = 0
    nps: int | None = 8
    csat: float | None = None
    public_complaints: int = 0
    checkups_held: int = 2
    checkups_declined: int = 0
    no_shows: int = 0
    sessions_declined: int = 0
    goals_refused: int = 0
    renegotiations: int = 0
    rush_requests: int = 0
    deadline_requests: int = 0
    discount: float | None = None
    """Discount granted on each invoice (None: the CRM keeps no discount)."""
    cost: float | None = None
    """Our cost of each invoice (None: the CRM keeps no cost)."""
    extra_invoices: list[Invoice] = field(default_factory=list)
    last_window: Client | None = None
    """The same client's records one window (365 days) earlier, for trend tests."""
    shift_days: int = 0
    tag: str = ""

    def ago(self, n: int) -> dt.date:
        return days_ago(n + self.shift_days)

    def invoices(self) -> list[Invoice]:
        result = []
        kinds = ["on_time"] * self.on_time + ["late"] * self.late + ["unpaid"] * self.unpaid
        for i, kind in enumerate(kinds):
            due = self.ago(20 + i * 14)
            paid = {"on_time": due, "late": due + dt.timedelta(days=15), "unpaid": None}[kind]
            status = InvoiceStatus.OPEN if paid is None else InvoiceStatus.PAID
            result.append(
                Invoice(
                    f"{self.id}{self.tag}-I{i}",
                    self.id,
                    self.amount,
                    "USD",
                    due - dt.timedelta(days=30),
                    due,
                    paid,
                    status,
                    self.discount,
                    self.cost,
                )
            )
        return result + self.extra_invoices

    def build_tickets(self) -> list[Ticket]:
        result = []
        flags = (
            [dict(complaint=True)] * self.complaints
            + [dict(discount_request=True)] * self.discount_requests
            + [dict(abusive=True)] * self.abusive
            + [dict(rush_request=True)] * self.rush_requests
            + [dict(deadline_request=True)] * self.deadline_requests
        )
        total = max(self.tickets, len(flags), self.escalations)
        for i in range(total):
            f = flags[i] if i < len(flags) else {}
            result.append(
                Ticket(
                    f"{self.id}{self.tag}-T{i}",
                    self.id,
                    opened=self.ago(5 + i),
                    category="support",
                    escalated=i < self.escalations,
                    complaint=f.get("complaint", False),
                    abusive=f.get("abusive", False),
                    discount_request=f.get("discount_request", False),
                    rush_request=f.get("rush_request", False),
                    deadline_request=f.get("deadline_request", False),
                )
            )
        return result

    def meetings(self) -> list[Meeting]:
        plan = (
            [(CHECKUP_MEETING_TYPE, MeetingOutcome.HELD)] * self.checkups_held
            + [(CHECKUP_MEETING_TYPE, MeetingOutcome.DECLINED)] * self.checkups_declined
            + [("working_session", MeetingOutcome.NO_SHOW)] * self.no_shows
            + [("working_session", MeetingOutcome.DECLINED)] * self.sessions_declined
        )
        return [
            Meeting(f"{self.id}{self.tag}-M{i}", self.id, t, self.ago(10 + i), o)
            for i, (t, o) in enumerate(plan)
        ]

    def surveys(self) -> list[Survey]:
        result = []
        if self.nps is not None or self.csat is not None:
            result.append(
                Survey(f"{self.id}{self.tag}-S0", self.id, self.ago(30), self.nps, self.csat, False)
            )
        result += [
            Survey(f"{self.id}{self.tag}-P{i}", self.id, self.ago(40 + i), None, None, True)
            for i in range(self.public_complaints)
        ]
        return result

    def account(self) -> Account:
        return Account(self.id, self.name, self.owner_id, self.industry, self.region, self.employee_count)

    def roster(self) -> Roster:
        roster = self._own_roster()
        if self.last_window is None:
            return roster
        earlier = dataclasses.replace(
            self.last_window, id=self.id, shift_days=self.shift_days + 365, tag="-prev"
        )
        before = earlier.roster()
        before.accounts = []
        before.goals = []
        return merge(roster, before)

    def _own_roster(self) -> Roster:
        return Roster(
            accounts=[self.account()],
            invoices=self.invoices(),
            tickets=self.build_tickets(),
            referrals=[
                Referral(f"{self.id}{self.tag}-R{i}", self.id, f"P{i}", 5000.0, self.ago(50 + i))
                for i in range(self.referrals)
            ],
            surveys=self.surveys(),
            meetings=self.meetings(),
            goals=[
                GoalAgreement(f"{self.id}{self.tag}-G{i}", self.id, self.ago(60 + i), GoalStatus.REFUSED)
                for i in range(self.goals_refused)
            ]
            or [GoalAgreement(f"{self.id}{self.tag}-G", self.id, self.ago(60), GoalStatus.AGREED)],
            renegotiations=[
                Renegotiation(f"{self.id}{self.tag}-N{i}", self.id, self.ago(70 + i))
                for i in range(self.renegotiations)
            ],
        )


def merge(*rosters: Roster) -> Roster:
    """Several one-client rosters as one."""
    merged = Roster(
        accounts=[],
        invoices=[],
        tickets=[],
        referrals=[],
        surveys=[],
        meetings=[],
        goals=[],
        renegotiations=[],
    )
    for r in rosters:
        merged.accounts += r.accounts
        for kind in ("invoices", "tickets", "referrals", "surveys", "meetings", "goals", "renegotiations"):
            getattr(merged, kind).extend(getattr(r, kind) or [])
    return merged
