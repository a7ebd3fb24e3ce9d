"""Which tasks one page of accounts sends, defers, strikes or closes: the task half of the plan.

Per account: each wanted action (``tasks.wanted_tasks``) is already covered (its key is known, or a
late delivery of the same action went out within this period), waiting (deferred to a later day), or
a candidate. A first touch late in its period waits for the account's next period, so the first sync
spreads touches over their cadence like every later one; a baseline touch waits a week while the
account has an open tiersync task. Candidates of one account become one task (or one per action),
ranked by the configured priority, and admitted by the workload budget or deferred.

Open actions whose cause cleared are struck from their task with a comment; the task is closed when
none remain. A deferred action whose cause cleared is dropped without a CRM call.

Coalescing (``tasks.coalesce_days``): an action coming due while the account has an open tiersync task
joins that task (its body gains the action, its due date moves to the earliest), so it needs no room
in the budget: an open task gaining an action is not a new task. When a task goes out for an account,
its actions held back but due within the window go into it too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from connector.classify.classifier import Classification
from connector.config import Settings
from connector.crm.base import TaskSpec
from connector.sync.budget import TaskBudget, rank, rank_name
from connector.sync.state import TaskRow, TaskState
from connector.sync.tasks import (
    WantedTask,
    close_comment,
    group_spec,
    join_comment,
    next_period,
    wanted_tasks,
)

SPREAD_GRACE_DAYS = 7
"""A first touch within this many days of its period's start goes out now (a weekly sync meets every
period start once); later in the period it waits for the next one."""
BASELINE_WAIT_DAYS = 7


@dataclass(frozen=True)
class Send:
    """One CRM task to create this run, carrying one or more actions."""

    spec: TaskSpec
    items: list[WantedTask]
    """The actions it carries, each recorded under its own key with ``group_key`` = ``spec.key``."""


@dataclass(frozen=True)
class Deferral:
    """An action held back until ``until`` (kept in the state, so it comes due without being decided again)."""

    task: WantedTask
    until: dt.date
    why: str


@dataclass(frozen=True)
class Strike:
    """Actions struck from one open CRM task; ``close`` when no action remains in it."""

    crm_id: str
    crm_key: str
    account_id: str
    rows: list[TaskRow]
    comment: str
    close: bool


@dataclass(frozen=True)
class Join:
    """Actions added to the account's open CRM task: its body gains them, it is due by ``due``."""

    crm_id: str
    crm_key: str
    account_id: str
    items: list[WantedTask]
    """Recorded under their own keys with ``group_key`` = ``crm_key``."""
    comment: str
    due: dt.date


@dataclass
class TaskDecisions:
    """Everything one page's task planning decided, for the engine to send, record or show."""

    sends: list[Send] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    deferrals: list[Deferral] = field(default_factory=list)
    strikes: list[Strike] = field(default_factory=list)
    dropped: list[TaskRow] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    rank: int
    waited: bool
    c: Classification
    items: list[WantedTask]
    age: int = 0
    """Whole weeks a held-back action of it has been due: each moves it up one rank, so routine
    actions are not held back for ever behind a steady stream of urgent ones."""

    def order(self) -> tuple[int, int, int, dt.date, str]:
        due = min(w.spec.due for w in self.items)
        waited = 0 if self.waited else 1
        return (max(0, self.rank - self.age), self.rank, waited, due, self.c.account_id)


def plan_tasks(
    results: Sequence[Classification],
    known: Sequence[TaskRow],
    settings: Settings,
    today: dt.date,
    budget: TaskBudget,
) -> TaskDecisions:
    """The task decisions for one page of classified accounts, given the state's ``known`` tasks for them:
    one task per account (or per action), most important first through the workload ``budget``, the
    rest deferred with their reason."""
    by_account: dict[str, list[TaskRow]] = defaultdict(list)
    for row in known:
        by_account[row.account_id].append(row)
    decisions = TaskDecisions()
    budget.begin(c.account_id for c in results)
    budget.expect(c.owner_id for c in results if c.account_id in by_account)
    candidates: list[_Candidate] = []
    for c in results:
        candidates += _account(c, by_account.get(c.account_id, []), settings, today, budget, decisions)
    for candidate in sorted(candidates, key=_Candidate.order):
        spec = group_spec(candidate.items, settings)
        until = budget.admit(candidate.c.owner_id, spec.key, candidate.c.account_id)
        if until is None:
            items = [replace(w, group_key=spec.key, sent_on=today) for w in candidate.items]
            decisions.sends.append(Send(spec, items))
            continue
        why = f"workload budget ({rank_name(candidate.rank, settings)})"
        decisions.deferrals += [Deferral(w, until, why) for w in candidate.items]
    return decisions


def _account(
    c: Classification,
    rows: list[TaskRow],
    settings: Settings,
    today: dt.date,
    budget: TaskBudget,
    decisions: TaskDecisions,
) -> list[_Candidate]:
    by_key = {r.key: r for r in rows}
    by_action: dict[str, list[TaskRow]] = defaultdict(list)
    for row in rows:
        by_action[row.action].append(row)
    wanted = wanted_tasks(c, settings, today)
    applies = {w.action for w in wanted}
    resends: dict[str, list[WantedTask]] = defaultdict(list)
    items: list[WantedTask] = []
    soon: list[WantedTask] = []
    """Held back but due within ``coalesce_days``: they ride along when a task goes out."""
    window = today + dt.timedelta(days=settings.tasks.coalesce_days)
    waited = False
    age = 0
    # a crash may leave some actions of one task confirmed and others pending: re-send them all,
    # or the upsert would rewrite the task with only the pending ones
    unconfirmed = {r.crm_key for r in rows if r.status == TaskState.PENDING}
    for w in wanted:
        seen = by_key.get(w.spec.key)
        if seen is not None and seen.status != TaskState.DEFERRED:
            if seen.status in TaskState.UNSENT and seen.crm_key in unconfirmed:
                resends[seen.crm_key].append(w)
            continue
        history = by_action.get(w.action, [])
        if any(
            r.status != TaskState.DEFERRED and r.sent_on is not None and r.sent_on >= w.period.start
            for r in history
        ):
            continue  # a late delivery of the same action went out within this period
        held_rows = [r for r in history if r.status == TaskState.DEFERRED]
        ahead = [r for r in held_rows if r.period_start > w.period.start]
        if ahead:
            # a first touch waiting for the account's next period
            if settings.tasks.coalesce_days and min(r.period_start for r in ahead) <= window:
                later = next_period(w, settings)
                if any(r.key == later.spec.key for r in ahead):
                    soon.append(later)
            continue
        stale = [r for r in held_rows if r.period_start < w.period.start]
        decisions.dropped += stale  # a deferral of an earlier period: this period's key takes its place
        held = [r.defer_until for r in [*stale, *([seen] if seen else [])] if r.defer_until]
        if held and max(held) > today:
            if stale:
                decisions.deferrals.append(Deferral(w, max(held), "carried over from an earlier period"))
            elif settings.tasks.coalesce_days and max(held) <= window:
                soon.append(w)
            continue
        if held:
            waited = True
            age = max(age, (today - w.period.start).days // 7)
        elif _spread(w, history, settings, today):
            later = next_period(w, settings)
            decisions.deferrals.append(Deferral(later, later.period.start, "spread over its cadence"))
            budget.reserve(c.owner_id, c.account_id, later.period.start)
            continue
        items.append(w)
    for key, group in resends.items():
        joined = _joined(key, group, by_key, rows)
        if joined is not None:
            pending = [w for w in group if by_key[w.spec.key].status == TaskState.PENDING]
            _join(c, joined, key, pending, settings, today, decisions)
            continue
        spec = group_spec(group, settings, resend=True)
        decisions.sends.append(
            Send(replace(spec, key=key), [replace(w, group_key=key, sent_on=today) for w in group])
        )
    closing = _strikes(c, rows, applies, settings, today, decisions)
    target = None if resends else _open_task(c, rows, closing, settings, budget)
    if target is not None and items:
        _join(c, target.crm_id or "", target.crm_key, items + soon, settings, today, decisions)
        budget.joined(c.owner_id, c.account_id)
        return []
    baseline = [w for w in items if w.baseline]
    if baseline and (resends or _has_open(c, rows, budget)):
        until = today + dt.timedelta(days=BASELINE_WAIT_DAYS)
        decisions.deferrals += [Deferral(w, until, "waits for the open tiersync task") for w in baseline]
        items = [w for w in items if not w.baseline]
    if not items:
        return []
    items += soon
    groups = [[w] for w in items] if settings.tasks.one_task_per_action else [items]
    return [
        _Candidate(rank(c, [w.action for w in group], settings), waited, c, group, age) for group in groups
    ]


def _spread(w: WantedTask, history: list[TaskRow], settings: Settings, today: dt.date) -> bool:
    """A first touch late in its period: it waits for the account's next period."""
    late = (today - w.period.start).days >= SPREAD_GRACE_DAYS
    return w.touch and not history and settings.tasks.spread_cadences and late


def _open_task(
    c: Classification,
    rows: list[TaskRow],
    closing: set[str],
    settings: Settings,
    budget: TaskBudget,
) -> TaskRow | None:
    """The account's open tiersync task new actions join (the latest sent), if coalescing is on and
    one is open in the CRM and not being closed in this run."""
    if not settings.tasks.coalesce_days or settings.tasks.one_task_per_action:
        return None
    live = [r for r in rows if r.status == TaskState.OPEN and r.crm_id and r.crm_id not in closing]
    live = [r for r in live if not budget.is_finished(r.crm_id, c.owner_id or "")]
    return max(live, key=lambda r: (r.sent_on or dt.date.min, r.crm_key), default=None)


def _joined(key: str, group: list[WantedTask], by_key: dict[str, TaskRow], rows: list[TaskRow]) -> str | None:
    """The CRM id of the open task a crashed join was adding ``group``'s pending actions to: the task
    was confirmed (an action of it is open with an id) before they were recorded."""
    confirmed = [r for r in rows if r.crm_key == key and r.status == TaskState.OPEN and r.crm_id]
    pending = [by_key[w.spec.key] for w in group if by_key[w.spec.key].status == TaskState.PENDING]
    if not confirmed or not pending:
        return None
    first = min(r.sent_on or dt.date.min for r in confirmed)
    if all(r.sent_on is not None and r.sent_on > first for r in pending):
        return confirmed[0].crm_id
    return None


def _join(
    c: Classification,
    crm_id: str,
    crm_key: str,
    items: list[WantedTask],
    settings: Settings,
    today: dt.date,
    decisions: TaskDecisions,
) -> None:
    added = [replace(w, group_key=crm_key, sent_on=w.sent_on or today) for w in items]
    decisions.joins.append(
        Join(
            crm_id,
            crm_key,
            c.account_id,
            added,
            join_comment(added, settings, today),
            min(w.spec.due for w in added),
        )
    )


def _has_open(c: Classification, rows: list[TaskRow], budget: TaskBudget) -> bool:
    live = [r for r in rows if r.status in TaskState.UNSENT]
    return any(not budget.is_finished(r.crm_id, c.owner_id or "") for r in live)


def _strikes(
    c: Classification,
    rows: list[TaskRow],
    applies: set[str],
    settings: Settings,
    today: dt.date,
    decisions: TaskDecisions,
) -> set[str]:
    """Record the strikes; returns the CRM ids of the tasks they close."""
    decisions.dropped += [r for r in rows if r.status == TaskState.DEFERRED and r.action not in applies]
    by_task: dict[str, list[TaskRow]] = defaultdict(list)
    for row in rows:
        if row.status == TaskState.OPEN and row.crm_id:
            by_task[row.crm_id].append(row)
    for crm_id, open_rows in by_task.items():
        gone = [r for r in open_rows if r.action not in applies]
        if not gone:
            continue
        close = len(gone) == len(open_rows)
        comment = close_comment([r.action for r in gone], c, settings, today, closed=close)
        decisions.strikes.append(Strike(crm_id, open_rows[0].crm_key, c.account_id, gone, comment, close))
    return {s.crm_id for s in decisions.strikes if s.close and s.account_id == c.account_id}
