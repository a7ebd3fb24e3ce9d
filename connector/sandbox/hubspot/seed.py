"""Loading a canonical :class:`Roster` into the portal in the shapes a HubSpot customer would have.

The layout (which canonical field lands in which HubSpot property) is the contract the product's default
HubSpot mapping reads; BEHAVIOR.md lists it. Seeding writes straight into the store (no HTTP, no
per-value validation) so that a benchmark roster of a million accounts loads in seconds; enumeration
values the roster uses but the portal lacks are added as options first, as a portal admin would.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from connector.model import (
    Account,
    GoalAgreement,
    Invoice,
    InvoiceStatus,
    MeetingOutcome,
    Roster,
    Survey,
)
from connector.sandbox.hubspot.portal import Portal
from connector.sandbox.hubspot.store import Owner, iso
from connector.sandbox.people import person_name

_OWNER_BASE = 70_000_000
_MEETING_OUTCOMES = {
    MeetingOutcome.SCHEDULED: "SCHEDULED",
    MeetingOutcome.HELD: "COMPLETED",
    MeetingOutcome.NO_SHOW: "NO_SHOW",
    MeetingOutcome.DECLINED: "CANCELED",
}
_INVOICE_STATUSES = {InvoiceStatus.OPEN: "open", InvoiceStatus.PAID: "paid", InvoiceStatus.VOID: "voided"}
CHECKUP_ACTIVITY = "Check-up"
WORKING_SESSION_ACTIVITY = "Working Session"


def _day(value: dt.date) -> str:
    return value.isoformat()


def _noon(value: dt.date) -> str:
    """Datetime properties get noon UTC: the same calendar date in every time zone from UTC-11 to UTC+11."""
    return iso(dt.datetime.combine(value, dt.time(12), tzinfo=dt.UTC))


def _midnight(value: dt.date) -> dt.datetime:
    return dt.datetime.combine(value, dt.time(0), tzinfo=dt.UTC)


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _text(value: Any) -> str:
    """Numbers as HubSpot shows them: ``100`` rather than ``100.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _props(**values: Any) -> dict[str, str]:
    """Drop the unknowns: HubSpot has no value rather than an empty one."""
    return {name: _text(value) for name, value in values.items() if value is not None}


def _latest(items: Iterable[Any]) -> Any:
    dated = sorted(items, key=lambda item: (item.date is not None, item.date or dt.date.min, item.id))
    return dated[-1] if dated else None


class Seeder:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.now = portal.now()

    def _add(self, object_type: str, values: dict[str, str], created: dt.date | None = None) -> str:
        record = self.portal.store.add(
            object_type, values, self.now, created=_midnight(created) if created else None
        )
        return record.id

    def _option(self, object_type: str, name: str, value: str | None) -> str | None:
        if value is not None:
            self.portal.registry.ensure_option(object_type, name, value)
        return value

    def _link(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self.portal.associations.link(from_type, from_id, to_type, to_id, set())

    def owner(self, owner_key: str) -> str:
        """HubSpot owner id for a canonical owner id; owners are created on first use."""
        email = f"{owner_key.lower()}@owners.sandbox.example"
        for owner in self.portal.store.owners.values():
            if owner.email == email:
                return owner.id
        owner_id = str(_OWNER_BASE + len(self.portal.store.owners) + 1)
        first, last = person_name(owner_key)
        self.portal.store.owners[owner_id] = Owner(owner_id, email, first, last, self.now)
        return owner_id

    # -- roster -----------------------------------------------------------------------------------
    def roster(self, roster: Roster) -> dict[str, str]:
        goals: dict[str, list[GoalAgreement]] = defaultdict(list)
        for goal in roster.goals or []:
            goals[goal.account_id].append(goal)
        surveys: dict[str, list[Survey]] = defaultdict(list)
        for survey in roster.surveys or []:
            surveys[survey.account_id].append(survey)
        owners = {a.owner_id: self.owner(a.owner_id) for a in roster.accounts if a.owner_id}
        companies = {
            account.id: self._company(account, owners, goals.get(account.id, []), surveys.get(account.id, []))
            for account in roster.accounts
        }

        def company_of(kind: str, record_id: str, account_id: str) -> str:
            if account_id not in companies:
                raise ValueError(
                    f"{kind} {record_id} names account {account_id}, which is not in the roster."
                )
            return companies[account_id]

        for invoice in roster.invoices or []:
            self._invoice(invoice, company_of("invoice", invoice.id, invoice.account_id))
        for ticket in roster.tickets or []:
            category = (
                "COMPLAINT"
                if ticket.complaint
                else "DISCOUNT_REQUEST"
                if ticket.discount_request
                else "RUSH_REQUEST"
                if ticket.rush_request
                else "DEADLINE_REQUEST"
                if ticket.deadline_request
                else self._option("tickets", "hs_ticket_category", ticket.category.upper())
                if ticket.category
                else "GENERAL_INQUIRY"
            )
            values = _props(
                subject=f"Ticket {ticket.id}",
                hs_pipeline="0",
                hs_pipeline_stage="1",
                hs_ticket_category=category,
                hs_ticket_priority=self._option(
                    "tickets", "hs_ticket_priority", ticket.priority.upper() if ticket.priority else None
                ),
                escalated_to_management=_flag(ticket.escalated),
                abusive_conduct=_flag(ticket.abusive),
            )
            ticket_id = self._add("tickets", values, ticket.opened)
            self._link("tickets", ticket_id, "companies", company_of("ticket", ticket.id, ticket.account_id))
        for renegotiation in roster.renegotiations or []:
            values = _props(
                subject=renegotiation.reason or f"Renegotiation {renegotiation.id}",
                hs_pipeline="0",
                hs_pipeline_stage="1",
                hs_ticket_category="RENEGOTIATION",
            )
            ticket_id = self._add("tickets", values, renegotiation.date)
            company = company_of("renegotiation", renegotiation.id, renegotiation.account_id)
            self._link("tickets", ticket_id, "companies", company)
        for referral in roster.referrals or []:
            referrer = company_of("referral", referral.id, referral.account_id)
            referred = companies.get(referral.referred or "") or self._prospect(
                referral.referred or referral.id
            )
            values = _props(
                dealname=f"Referral {referral.id}",
                amount=referral.value,
                closedate=_noon(referral.date) if referral.date else None,
                dealstage="closedwon",
                pipeline="default",
                referred_by_company_id=referrer,
            )
            deal_id = self._add("deals", values, referral.date)
            self._link("deals", deal_id, "companies", referred)
        for meeting in roster.meetings or []:
            when = _noon(meeting.scheduled) if meeting.scheduled else _noon(self.now.date())
            values = _props(
                hs_meeting_title=f"Meeting {meeting.id}",
                hs_timestamp=when,
                hs_meeting_start_time=when,
                hs_meeting_outcome=_MEETING_OUTCOMES.get(meeting.outcome) if meeting.outcome else None,
                hs_activity_type=CHECKUP_ACTIVITY if meeting.type == "checkup" else WORKING_SESSION_ACTIVITY,
            )
            meeting_id = self._add("meetings", values, meeting.scheduled)
            self._link(
                "meetings", meeting_id, "companies", company_of("meeting", meeting.id, meeting.account_id)
            )
        return companies

    def _company(
        self, account: Account, owners: dict[str, str], goals: list[GoalAgreement], surveys: list[Survey]
    ) -> str:
        goal = _latest(goals)
        survey = _latest(surveys)
        complaints = [s.public_complaint for s in surveys if s.public_complaint is not None]
        values = _props(
            name=account.name,
            hubspot_owner_id=owners.get(account.owner_id or ""),
            industry=self._option("companies", "industry", account.industry),
            country=account.region,
            numberofemployees=account.employee_count,
            lifecyclestage="customer",
            hs_analytics_source=self._option("companies", "hs_analytics_source", account.source),
            goals_status=goal.status.value if goal and goal.status else None,
            goals_date=_day(goal.date) if goal and goal.date else None,
            latest_nps=survey.nps if survey else None,
            latest_csat=survey.csat if survey else None,
            last_survey_date=_day(survey.date) if survey and survey.date else None,
            public_complaint=_flag(any(complaints)) if complaints else None,
        )
        return self._add("companies", values, account.created)

    def _prospect(self, key: str) -> str:
        """A referred company the roster does not hold: a lead, so that a customer filter leaves it out."""
        return self._add("companies", _props(name=f"Prospect {key}", lifecyclestage="lead"))

    def _invoice(self, invoice: Invoice, company_id: str) -> None:
        status = (
            _INVOICE_STATUSES[invoice.status]
            if invoice.status is not None
            else ("paid" if invoice.paid else "open")
        )
        values = _props(
            hs_number=invoice.id,
            hs_currency=invoice.currency,
            hs_amount_billed=invoice.amount,
            hs_amount_paid=invoice.amount if invoice.paid and invoice.amount is not None else None,
            hs_invoice_date=_day(invoice.issued) if invoice.issued else None,
            hs_due_date=_day(invoice.due) if invoice.due else None,
            hs_payment_date=_day(invoice.paid) if invoice.paid else None,
            hs_invoice_status=status,
            discount_amount=invoice.discount,
            delivery_cost=invoice.cost,
        )
        invoice_id = self._add("invoices", values, invoice.issued)
        self._link("invoices", invoice_id, "companies", company_id)
        if invoice.paid and invoice.amount is not None:
            payment = _props(
                hs_initial_amount=invoice.amount,
                hs_initiated_date=_noon(invoice.paid),
                hs_currency_code=invoice.currency,
                hs_latest_status="succeeded",
            )
            payment_id = self._add("commerce_payments", payment, invoice.paid)
            self._link("commerce_payments", payment_id, "invoices", invoice_id)
            self._link("commerce_payments", payment_id, "companies", company_id)

    # -- bulk -------------------------------------------------------------------------------------
    def companies(self, count: int, *, prefix: str = "Company", customer_share: float = 1.0) -> list[str]:
        """``count`` bare companies, for limits and scale tests that need volume, not detail.

        ``customer_share`` of them (spread evenly: company ``n`` is a customer when ``n * share`` crosses
        an integer) have ``lifecyclestage=customer``, the others ``lead``, like a portal that also holds
        prospects. The same arguments always give the same portal."""
        if not 0.0 <= customer_share <= 1.0:
            raise ValueError(f"customer_share must be between 0 and 1; got {customer_share}")
        return [
            self._add(
                "companies",
                {
                    "name": f"{prefix} {n:07d}",
                    "lifecyclestage": (
                        "customer" if int((n + 1) * customer_share) > int(n * customer_share) else "lead"
                    ),
                },
            )
            for n in range(count)
        ]
