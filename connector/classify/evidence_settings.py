"""How raw records become evidence: the windows, the grace days and the cost of serving."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from connector.sections import Section


class EvidenceSettings(Section):
    """How raw records become evidence."""

    window_days: int = Field(
        365, ge=1, description="Look-back window for invoices, tickets, referrals, surveys."
    )
    checkup_window_days: int = Field(180, ge=1, description="Look-back window for check-up meetings.")
    grace_days: int = Field(5, ge=0, description="An invoice paid within due date + grace days is on time.")
    cost_per_ticket: float = Field(50.0, ge=0, description="Cost to serve one support ticket.")
    cost_per_escalation: float = Field(250.0, ge=0, description="Extra cost of one escalation to management.")
    as_of: dt.date | None = Field(None, description="Classify as of this date (default: today).")
