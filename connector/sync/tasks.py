"""Playbook tasks: one per (account, action, period), created once, closed when their cause clears.

Periods are fixed windows of the action's cadence counted from a fixed Monday, shifted per account by
a stable hash of its id (``tasks.spread_cadences``), so every run on any machine computes the same key
for the same day (the key is what makes task creation idempotent), and a 90-day touch for 100 accounts
comes due over 90 days instead of in one week.

The actions due for one account in one sync go out as one CRM task ("Client plan: 3 actions") unless
``tasks.one_task_per_action``; each action keeps its own key and period in the state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from connector.classify.classifier import Classification
from connector.classify.comms import TOUCH_PREFIX, is_networked, touches_for
from connector.classify.comms_settings import Touch
from connector.classify.crm_text import action_reasons
from connector.config import Settings
from connector.crm.base import TaskSpec

PERIOD_ORIGIN = dt.date(2024, 1, 1)
"""A Monday: weekly cadences align with calendar weeks."""
PLAN_KEY = "plan"
"""The action part of a grouped task's key: ``<account>/plan/<digest of its action keys>``."""


@dataclass(frozen=True)
class Period:
    """One cadence period of an action for one account: a task is created at most once in it."""

    start: dt.date
    end: dt.date
    """First day of the next period."""


def period_offset(account_id: str, cadence_days: int, settings: Settings) -> int:
    """Days this account's periods are shifted by: blake2b of its id (Python's ``hash`` differs
    between processes), the same on every machine and run."""
    if not settings.tasks.spread_cadences:
        return 0
    digest = hashlib.blake2b(account_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % cadence_days


def period_of(day: dt.date, cadence_days: int, offset: int = 0) -> Period:
    """The period holding ``day``: whole ``cadence_days`` from ``PERIOD_ORIGIN`` shifted by ``offset``."""
    origin = PERIOD_ORIGIN + dt.timedelta(days=offset)
    index = (day - origin).days // cadence_days
    start = origin + dt.timedelta(days=index * cadence_days)
    return Period(start, start + dt.timedelta(days=cadence_days))


def task_key(account_id: str, action: str, period: Period) -> str:
    """The (account, action, period) key a task is recorded under, in the state and the CRM."""
    return f"{account_id}/{action}/{period.start.isoformat()}"


@dataclass(frozen=True)
class WantedTask:
    """One action (or touch) an account wants in its current period."""

    spec: TaskSpec
    """The action's own task: its key, title as subject, own text and due date."""
    action: str
    period: Period
    title: str = ""
    why: tuple[str, ...] = ()
    """The reasons that led to this action (neutral labels, with their figures)."""
    details: str = ""
    touch: bool = False
    baseline: bool = False
    """A touch every client gets (no tier, size or network condition): it waits while the account
    has an open tiersync task."""
    group_key: str | None = None
    """The key of the CRM task that carries it; set when it is sent."""
    letter: str = ""
    """A courteous exit letter to send (``Action.letter``), written out in the task."""
    sent_on: dt.date | None = None


def _task(
    c: Classification,
    settings: Settings,
    today: dt.date,
    code: str,
    title: str,
    description: str,
    why: tuple[str, ...],
    cadence: int,
    due_in: int,
    touch: Touch | None = None,
    letter: str = "",
) -> WantedTask:
    period = period_of(today, cadence, period_offset(c.account_id, cadence, settings))
    label = "Plan" if touch is not None else "Why"
    text = description.strip() + (f"\n\n{label}: {'; '.join(why)}" if why else "")
    text += f"\n\nLetter:\n{letter}" if letter else ""
    spec = TaskSpec(
        key=task_key(c.account_id, code, period),
        account_id=c.account_id,
        owner_id=c.owner_id,
        subject=f"{settings.sync.task_subject_prefix} {title}".strip(),
        description=text.strip()[: settings.sync.reasons_max_chars],
        due=today + dt.timedelta(days=due_in),
    )
    baseline = touch is not None and not (touch.tiers or touch.sizes or touch.networked is not None)
    return WantedTask(
        spec, code, period, title, why, description.strip(), touch is not None, baseline, letter=letter
    )


def wanted_tasks(c: Classification, settings: Settings, today: dt.date) -> list[WantedTask]:
    """The tasks this account wants in the current period: its playbook actions, then the touches of
    its communication plan."""
    actions = {a.code: a for a in settings.playbook.actions}
    result = []
    for code in c.actions:
        action = actions[code]
        why = tuple(action_reasons(c, action, settings))
        letter = settings.decision.exit_letter.replace("{client}", c.name) if action.letter else ""
        result.append(
            _task(
                c,
                settings,
                today,
                code,
                action.title,
                action.description,
                why,
                action.cadence_days,
                action.due_in_days,
                letter=letter,
            )
        )
    revenue, referrals = c.evidence.get("revenue"), c.evidence.get("referrals")
    size = settings.comms.size_band(revenue)
    plan = f"{c.tier.value} client, {size} by revenue" + (
        ", refers others" if is_networked(referrals, settings.comms) else ""
    )
    for touch in touches_for(c.tier, revenue, referrals, settings.comms):
        code = TOUCH_PREFIX + touch.code
        result.append(
            _task(
                c,
                settings,
                today,
                code,
                touch.title,
                touch.description,
                (plan,),
                touch.cadence_days,
                touch.due_in_days,
                touch,
            )
        )
    return result


def next_period(task: WantedTask, settings: Settings) -> WantedTask:
    """The same action in the account's next period (a first touch late in its period waits for it)."""
    cadence = (task.period.end - task.period.start).days
    period = period_of(task.period.end, cadence, period_offset(task.spec.account_id, cadence, settings))
    key = task_key(task.spec.account_id, task.action, period)
    due = task.spec.due + (period.start - task.period.start)
    return WantedTask(
        TaskSpec(
            key, task.spec.account_id, task.spec.owner_id, task.spec.subject, task.spec.description, due
        ),
        task.action,
        period,
        task.title,
        task.why,
        task.details,
        task.touch,
        task.baseline,
        letter=task.letter,
    )


def group_key(account_id: str, keys: Sequence[str]) -> str:
    """The key of the one task that carries several actions: the same set gives the same key, so a
    re-send after a crash upserts the same task."""
    digest = hashlib.blake2b("\n".join(sorted(keys)).encode("utf-8"), digest_size=6).hexdigest()
    return f"{account_id}/{PLAN_KEY}/{digest}"


def group_spec(items: Sequence[WantedTask], settings: Settings, resend: bool = False) -> TaskSpec:
    """One task for the actions of one account: "Client plan: N actions", each action with its own
    reasons and due date, the task due at the earliest; a single action keeps its own task."""
    if len(items) == 1:
        (only,) = items
        spec = only.spec
        return TaskSpec(
            spec.key, spec.account_id, spec.owner_id, spec.subject, spec.description, spec.due, resend
        )
    ordered = sorted(items, key=lambda w: (w.spec.due, w.spec.key))
    title = f"Client plan: {len(ordered)} actions"
    lines = [title, *_action_lines(ordered)]
    first = ordered[0].spec
    return TaskSpec(
        key=group_key(first.account_id, [w.spec.key for w in ordered]),
        account_id=first.account_id,
        owner_id=first.owner_id,
        subject=f"{settings.sync.task_subject_prefix} {title}".strip(),
        description="\n".join(lines)[: settings.sync.reasons_max_chars],
        due=first.due,
        resend=resend,
    )


def _action_lines(ordered: Sequence[WantedTask]) -> list[str]:
    """Each action with its due date, details, reasons and letter: the body of a plan task."""
    lines = []
    for n, item in enumerate(ordered, 1):
        lines.append(f"\n{n}. {item.title} (due {item.spec.due.isoformat()})")
        if item.details:
            lines.append(f"   {item.details}")
        if item.why:
            label = "Plan" if item.touch else "Why"
            lines.append(f"   {label}: {'; '.join(item.why)}")
        if item.letter:
            lines.append("   Letter:\n" + "\n".join(f"   {line}" for line in item.letter.splitlines()))
    return lines


def join_comment(items: Sequence[WantedTask], settings: Settings, today: dt.date) -> str:
    """The text appended to an open task that actions join: what was added, each with its reasons
    (the same date and actions give the same text, so a retried join appends it once)."""
    ordered = sorted(items, key=lambda w: (w.spec.due, w.spec.key))
    added = "1 action" if len(ordered) == 1 else f"{len(ordered)} actions"
    head = f"Added by tiersync on {today.isoformat()}: {added}."
    return "\n".join([head, *_action_lines(ordered)]).strip()[: settings.sync.reasons_max_chars]


def action_title(code: str, settings: Settings) -> str:
    """The title users know an action by (its code only when it left the config)."""
    for action in settings.playbook.actions:
        if action.code == code:
            return action.title
    for touch in settings.comms.touches:
        if TOUCH_PREFIX + touch.code == code:
            return touch.title
    return code


def close_comment(
    actions: Sequence[str], c: Classification, settings: Settings, today: dt.date, *, closed: bool
) -> str:
    """Why tiersync struck these actions from an open task (``closed``: and closed it, none remain)."""
    titles = ", ".join(f"'{action_title(a, settings)}'" for a in actions)
    labels = ", ".join(settings.label(t) for t in c.traits)
    verb = "Closed" if closed else "Updated"
    struck = "no longer applies" if len(actions) == 1 else "no longer apply"
    return (
        f"{verb} by tiersync on {today.isoformat()}: {titles} {struck} "
        f"(tier now {c.tier.value}{'; ' + labels if labels else ''})."
    )
