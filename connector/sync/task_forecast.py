"""How many tasks a first run would create within the workload budget, and how many it defers: what
``backfill --plan`` estimates.

The estimate goes through the sync's own task decisions (``plan_tasks``: one task per account, the
spread of first touches, joins into open tasks) on a sample of accounts, then through the sync's own
budget (``TaskBudget``) for the whole org: the sample's tasks per owner are scaled to the org and
admitted or deferred as a run would, so an owner's cap holds for the org, not for the sample.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from connector.classify.classifier import Classification
from connector.config import Settings
from connector.sync.budget import TaskBudget
from connector.sync.state import TaskLoad, TaskRow
from connector.sync.task_plan import plan_tasks


@dataclass(frozen=True)
class TaskForecast:
    """The task figures ``backfill --plan`` prints for the first run."""

    new: int
    """New CRM tasks the run creates this week, within the budget."""
    joined: int
    """Open tasks that actions join (an update each, no new task)."""
    deferred: int
    """Tasks the budget defers to later weeks."""
    held: int
    """Actions held for another reason: a first touch spread to its next period, a baseline touch
    waiting for an open task."""


def _unlimited(settings: Settings) -> Settings:
    tasks = settings.tasks.model_copy(update={"max_new_per_owner_per_week": 0, "max_open_per_owner": 0})
    return settings.model_copy(update={"tasks": tasks})


def forecast_tasks(
    results: Sequence[Classification],
    known: Sequence[TaskRow],
    load: list[TaskLoad],
    settings: Settings,
    today: dt.date,
    scale: float = 1.0,
) -> TaskForecast:
    """``results`` are a sample of the org (``scale`` = accounts in the org per sampled account),
    ``known`` the state's tasks of the sampled accounts, ``load`` the state's budget counts."""
    free = _unlimited(settings)
    wanted = plan_tasks(results, known, free, today, TaskBudget(free, today, load, lambda _o: set()))
    owners = Counter(send.spec.owner_id or "" for send in wanted.sends)
    budget = TaskBudget(settings, today, load, lambda _owner: set())
    new = deferred = 0
    for owner, count in sorted(owners.items()):
        for n in range(round(count * scale)):
            stand_in = f"forecast/{owner}/{n}"  # the org's n-th task of this owner, scaled from the sample
            if budget.admit(owner or None, stand_in, stand_in) is None:
                new += 1
            else:
                deferred += 1
    return TaskForecast(
        new=new,
        joined=round(len(wanted.joins) * scale),
        deferred=deferred,
        held=round(len(wanted.deferrals) * scale),
    )
