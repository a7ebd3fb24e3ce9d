"""Loading a canonical :class:`~connector.model.Roster` into the org in the shapes tiersync's default
Salesforce mapping reads (documented field by field in BEHAVIOR.md).

Seeding bypasses API validation (it is the org's pre-existing data) but keeps every invariant the API
keeps: Ids, owners, timestamps, derived fields. Dates the roster knows (account creation, ticket
opening, invoice issue) become ``CreatedDate`` so "how old is this" questions have real answers.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any, Protocol

from ...model import (
    CHECKUP_MEETING_TYPE,
    Account,
    GoalAgreement,
    Invoice,
    Meeting,
    Referral,
    Renegotiation,
    Survey,
    Ticket,
)
from ..people import full_name
from .org import Org

_OUTCOMES = {"scheduled": "Scheduled", "held": "Held", "no_show": "No Show", "declined": "Declined"}
_CASE_TYPES = {
    "complaint": "Complaint",
    "discount request": "Discount Request",
    "discount_request": "Discount Request",
    "rush_request": "Rush Request",
    "deadline_request": "Deadline Request",
    "renegotiation": "Renegotiation",
    "question": "Question",
    "problem": "Problem",
}


ARCHIVE_AFTER_DAYS = 365
"""Salesforce archives events whose date is more than a year past (the default archive age)."""
INVITEE_COPY_EVERY = 4
"""Every 4th seeded meeting also has an invitee's child copy (``IsChild = true``)."""


class RosterSource(Protocol):
    """What seeding reads: a :class:`~connector.model.Roster`, or a
    :class:`~connector.frames.RosterView` that makes the records from frames as they are read."""

    @property
    def accounts(self) -> Iterable[Account]: ...
    @property
    def invoices(self) -> Iterable[Invoice] | None: ...
    @property
    def tickets(self) -> Iterable[Ticket] | None: ...
    @property
    def referrals(self) -> Iterable[Referral] | None: ...
    @property
    def surveys(self) -> Iterable[Survey] | None: ...
    @property
    def meetings(self) -> Iterable[Meeting] | None: ...
    @property
    def goals(self) -> Iterable[GoalAgreement] | None: ...
    @property
    def renegotiations(self) -> Iterable[Renegotiation] | None: ...


# Dates, picklist values and other repeated texts are stored as one shared string each (cached
# here, or through ``share``): a million-account org repeats each of them millions of times.
@functools.cache
def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


@functools.cache
def _created(value: dt.date | None) -> str | None:
    return f"{value.isoformat()}T00:00:00.000+0000" if value is not None else None


@functools.cache
def _title(value: str | None) -> str | None:
    return value.replace("_", " ").title() if value else None


def _latest_goals(goals: Iterable[GoalAgreement] | None) -> dict[str, GoalAgreement]:
    latest: dict[str, GoalAgreement] = {}
    for goal in goals or []:
        current = latest.get(goal.account_id)
        if current is None or (goal.date or dt.date.min) >= (current.date or dt.date.min):
            latest[goal.account_id] = goal
    return latest


def load(org: Org, roster: RosterSource) -> dict[str, str]:
    """Insert the roster; returns canonical account id -> Salesforce Account Id."""
    shared: dict[Any, Any] = {}

    def share(value: Any) -> Any:
        """One object for equal values (texts a few values take, scores on a 0-10 scale)."""
        return value if value is None else shared.setdefault(value, value)

    users = {
        str(row["FederationIdentifier"]): str(row["Id"])
        for row in org.data.rows("User")
        if row.get("FederationIdentifier")
    }
    for account in roster.accounts:
        owner = account.owner_id
        if owner and owner not in users:
            handle = "".join(c if c.isalnum() else "." for c in owner.lower())
            users[owner] = org.insert_raw(
                "User",
                {
                    "Name": full_name(owner),
                    "Username": f"{handle}@tiersync.example",
                    "Email": f"{handle}@tiersync.example",
                    "IsActive": True,
                    "FederationIdentifier": owner,
                },
            )
    goals = _latest_goals(roster.goals)
    accounts: dict[str, str] = {}
    owners: dict[str, str] = {}
    for account in roster.accounts:
        goal = goals.get(account.id)
        owner_id = users.get(account.owner_id or "", org.api_user_id)
        accounts[account.id] = org.insert_raw(
            "Account",
            {
                "Name": account.name,
                "OwnerId": owner_id,
                "Industry": share(account.industry),
                "BillingCountry": share(account.region),
                "NumberOfEmployees": account.employee_count,
                "Type": share(account.status),
                "AccountSource": share(account.source),
                "Goals_Status__c": _title(goal.status.value) if goal and goal.status else None,
                "Goals_Date__c": _day(goal.date) if goal else None,
            },
            created=_created(account.created),
        )
        owners[account.id] = owner_id

    def parent(kind: str, record_id: str, account_id: str) -> str:
        if account_id not in accounts:
            raise ValueError(f"{kind} {record_id}: account {account_id!r} is not in the roster's accounts")
        return accounts[account_id]

    for invoice in roster.invoices or []:
        org.insert_raw(
            "Invoice__c",
            {
                "Name": invoice.id,
                "Account__c": parent("invoice", invoice.id, invoice.account_id),
                "Amount__c": float(invoice.amount) if invoice.amount is not None else None,
                "Currency__c": share(invoice.currency),
                "Issued_Date__c": _day(invoice.issued),
                "Due_Date__c": _day(invoice.due),
                "Paid_Date__c": _day(invoice.paid),
                "Status__c": _title(invoice.status.value) if invoice.status else None,
                "Discount__c": share(float(invoice.discount)) if invoice.discount is not None else None,
                "Cost__c": float(invoice.cost) if invoice.cost is not None else None,
            },
            created=_created(invoice.issued),
        )
    for ticket in roster.tickets or []:
        if ticket.complaint:
            case_type: str | None = "Complaint"
        elif ticket.discount_request:
            case_type = "Discount Request"
        elif ticket.rush_request:
            case_type = "Rush Request"
        elif ticket.deadline_request:
            case_type = "Deadline Request"
        else:
            case_type = _CASE_TYPES.get(
                (ticket.category or "").lower(), "Problem" if ticket.category else None
            )
        org.insert_raw(
            "Case",
            {
                "AccountId": parent("ticket", ticket.id, ticket.account_id),
                "Type": case_type,
                "Priority": _title(ticket.priority),
                "IsEscalated": bool(ticket.escalated),
                "Abusive_Conduct__c": bool(ticket.abusive),
                "Subject": share(ticket.category) or case_type or "Support request",
            },
            created=_created(ticket.opened),
        )
    for renegotiation in roster.renegotiations or []:
        org.insert_raw(
            "Case",
            {
                "AccountId": parent("renegotiation", renegotiation.id, renegotiation.account_id),
                "Type": "Renegotiation",
                "Subject": "Renegotiation",
                "Description": share(renegotiation.reason),
            },
            created=_created(renegotiation.date),
        )
    referred_accounts: dict[str, str] = {}
    today = org.clock().date()
    for referral in roster.referrals or []:
        referrer = parent("referral", referral.id, referral.account_id)
        target = referral.referred or referral.id
        if target in accounts:
            referred = accounts[target]
        elif target in referred_accounts:
            referred = referred_accounts[target]
        else:
            referred = org.insert_raw(
                "Account",
                {"Name": f"Referred: {target}", "Type": "Prospect", "OwnerId": owners[referral.account_id]},
            )
            referred_accounts[target] = referred
        org.insert_raw(
            "Opportunity",
            {
                "Name": f"Referral {referral.id}",
                "AccountId": referred,
                "Referred_By__c": referrer,
                "Amount": float(referral.value) if referral.value is not None else None,
                "CloseDate": _day(referral.date or today),
                "StageName": "Closed Won",
                "OwnerId": owners[referral.account_id],
            },
            created=_created(referral.date),
        )
    for survey in roster.surveys or []:
        org.insert_raw(
            "Survey_Response__c",
            {
                "Name": survey.id,
                "Account__c": parent("survey", survey.id, survey.account_id),
                "Response_Date__c": _day(survey.date),
                "NPS__c": share(float(survey.nps)) if survey.nps is not None else None,
                "CSAT__c": share(float(survey.csat)) if survey.csat is not None else None,
                "Public_Complaint__c": bool(survey.public_complaint),
            },
            created=_created(survey.date),
        )
    today = org.clock().date()
    for index, meeting in enumerate(roster.meetings or []):
        checkup = meeting.type == CHECKUP_MEETING_TYPE
        values: dict[str, Any] = {
            "WhatId": parent("meeting", meeting.id, meeting.account_id),
            "Subject": "Check-up" if checkup else (share(meeting.type) or "Working session"),
            "Type": "Check-up" if checkup else "Working Session",
            "ActivityDate": _day(meeting.scheduled),
            "IsAllDayEvent": True,
            "DurationInMinutes": 1440,
            "Outcome__c": _OUTCOMES[meeting.outcome.value] if meeting.outcome else None,
            "OwnerId": owners[meeting.account_id],
            # Salesforce archives events older than a year; only queryAll still returns them
            "IsArchived": bool(meeting.scheduled and (today - meeting.scheduled).days > ARCHIVE_AFTER_DAYS),
        }
        org.insert_raw("Event", values)
        if index % INVITEE_COPY_EVERY == 0:
            # an invited Salesforce user's copy of the same meeting: not a meeting of its own
            org.insert_raw("Event", {**values, "IsChild": True, "OwnerId": org.api_user_id})
    return accounts
