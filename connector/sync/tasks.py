"""Playbook tasks: one per (account, action, period), created once, closed when their cause clears.

Periods are fixed windows of the action's cadence counted from a fixed Monday, so every run on any
machine computes the same key for the same day: the key is what makes task creation idempotent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from connector.classify import Classification
from connector.classify.comms import TOUCH_PREFIX, is_networked, touches_for
from connector.config import Settings
from connector.crm.base import TaskSpec

PERIOD_ORIGIN = dt.date(2024, 1, 1)
"""A Monday: weekly cadences align with calendar weeks."""


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    """First day of the next period."""


def period_of(day: dt.date, cadence_days: int) -> Period:
    index = (day - PERIOD_ORIGIN).days // cadence_days
    start = PERIOD_ORIGIN + dt.timedelta(days=index * cadence_days)
    return Period(start, start + dt.timedelta(days=cadence_days))


def task_key(account_id: str, action: str, period: Period) -> str:
    return f"{account_id}/{action}/{period.start.isoformat()}"


@dataclass(frozen=True)
class WantedTask:
    spec: TaskSpec
    action: str
    period: Period


def _task(
    c: Classification,
    settings: Settings,
    today: dt.date,
    code: str,
    title: str,
    description: str,
    cadence: int,
    due_in: int,
) -> WantedTask:
    period = period_of(today, cadence)
    spec = TaskSpec(
        key=task_key(c.account_id, code, period),
        account_id=c.account_id,
        owner_id=c.owner_id,
        subject=f"{settings.sync.task_subject_prefix} {title}".strip(),
        description=description.strip()[: settings.sync.reasons_max_chars],
        due=today + dt.timedelta(days=due_in),
    )
    return WantedTask(spec, code, period)


def wanted_tasks(c: Classification, settings: Settings, today: dt.date) -> list[WantedTask]:
    """The tasks this account wants in the current period: its playbook actions, then the touches of
    its communication plan."""
    actions = {a.code: a for a in settings.playbook.actions}
    result = []
    for code in c.actions:
        action = actions[code]
        text = f"{action.description}\n\nWhy: {c.reason}"
        if action.letter:
            text += "\n\nLetter:\n" + settings.decision.exit_letter.replace("{client}", c.name)
        result.append(
            _task(c, settings, today, code, action.title, text, action.cadence_days, action.due_in_days)
        )
    revenue, referrals = c.evidence.get("revenue"), c.evidence.get("referrals")
    size = settings.comms.size_band(revenue)
    for touch in touches_for(c.tier, revenue, referrals, settings.comms):
        text = f"{touch.description}\n\nPlan: {c.tier.value} client, {size} by revenue" + (
            ", refers others" if is_networked(referrals, settings.comms) else ""
        )
        code = TOUCH_PREFIX + touch.code
        result.append(
            _task(c, settings, today, code, touch.title, text, touch.cadence_days, touch.due_in_days)
        )
    return result


def close_comment(action: str, c: Classification, today: dt.date) -> str:
    return (
        f"Closed by tiersync on {today.isoformat()}: '{action}' no longer applies "
        f"(tier now {c.tier.value}{'; traits: ' + ', '.join(t.value for t in c.traits) if c.traits else ''})."
    )
