"""Playbook tasks: one per (account, action, period), created once, closed when their cause clears.

Periods are fixed windows of the action's cadence counted from a fixed Monday, so every run on any
machine computes the same key for the same day: the key is what makes task creation idempotent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from connector.classify import Classification
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


def wanted_tasks(c: Classification, settings: Settings, today: dt.date) -> list[WantedTask]:
    """The tasks this account's playbook wants in the current period of each action."""
    actions = {a.code: a for a in settings.playbook.actions}
    result = []
    for code in c.actions:
        action = actions[code]
        period = period_of(today, action.cadence_days)
        description = f"{action.description}\n\nWhy: {c.reason}".strip()
        spec = TaskSpec(
            key=task_key(c.account_id, code, period),
            account_id=c.account_id,
            owner_id=c.owner_id,
            subject=f"{settings.sync.task_subject_prefix} {action.title}".strip(),
            description=description[: settings.sync.reasons_max_chars],
            due=today + dt.timedelta(days=action.due_in_days),
        )
        result.append(WantedTask(spec, code, period))
    return result


def close_comment(action: str, c: Classification, today: dt.date) -> str:
    return (
        f"Closed by tiersync on {today.isoformat()}: '{action}' no longer applies "
        f"(tier now {c.tier.value}{'; traits: ' + ', '.join(t.value for t in c.traits) if c.traits else ''})."
    )
