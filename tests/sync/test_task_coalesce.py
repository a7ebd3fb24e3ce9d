"""Coalescing (``tasks.coalesce_days``) end to end on both CRMs, over real HTTP: an action coming due
while the account has an open tiersync task joins that task instead of making a new one, and no owner
gets more than the workload budget."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from connector.config import Settings
from connector.sync.state import TaskState
from tests.sync.conftest import AS_OF, Org

UNLIMITED = {"max_new_per_owner_per_week": 0, "max_open_per_owner": 0}


def without(code: str) -> dict[str, Any]:
    """The playbook with this action's cause gone: it applies to no one."""
    cleared = {"tiers": [], "traits": [], "reasons": ["no.such_reason"]}
    return {
        "actions": [a.model_dump() | (cleared if a.code == code else {}) for a in Settings().playbook.actions]
    }


def open_actions(org: Org) -> dict[str, set[str]]:
    """CRM task id -> the actions the state has open in it."""
    by_task: dict[str, set[str]] = {}
    for r in org.task_rows():
        if r.status == TaskState.OPEN and r.crm_id:
            by_task.setdefault(r.crm_id, set()).add(r.action)
    return by_task


def due_dates(org: Org) -> dict[str, str]:
    """Task key -> its due day, as the sandbox CRM holds it."""
    if org.crm == "salesforce":
        return {t["Tiersync_Key__c"]: str(t["ActivityDate"]) for t in org.sf.records("Task")}
    return {
        t["properties"]["tiersync_task_key"]: str(t["properties"]["hs_timestamp"])[:10]
        for t in org.hs.objects("tasks")
    }


def test_an_action_coming_due_joins_the_accounts_open_task(org: Org, twin: Org) -> None:
    twin.sync("full", tasks=UNLIMITED)  # which playbook action most accounts get, beside others
    shared = Counter(a for acts in open_actions(twin).values() if len(acts) >= 2 for a in acts)
    code = next(a for a, _ in shared.most_common() if not a.startswith("comms:"))

    org.sync("full", tasks=UNLIMITED, playbook=without(code))
    before = {r.account_id: r.crm_id for r in org.task_rows() if r.status == TaskState.OPEN and r.crm_id}
    tasks_before = Counter(t.account_id for t in org.tasks())
    assert not any(r.action == code for r in org.task_rows())

    later = AS_OF + dt.timedelta(days=1)
    org.clock.advance(days=1)
    summary, plan = org.sync("full", tasks=UNLIMITED, evidence={"as_of": later.isoformat()})
    assert summary.status == "ok", summary.message
    joined = [r for r in org.task_rows() if r.action == code and r.account_id in before]
    assert joined and summary.tasks_joined > 0
    assert all(r.crm_id == before[r.account_id] and r.status == TaskState.OPEN for r in joined), (
        "the action went into the account's open task"
    )
    tasks_after = Counter(t.account_id for t in org.tasks())
    assert all(tasks_after[r.account_id] == tasks_before[r.account_id] for r in joined), "no new task"
    assert any(c.kind == "join" for c in plan.tasks), "plan shows the join"
    title = next(a.title for a in Settings().playbook.actions if a.code == code)
    bodies = {t.key: t.body for t in org.tasks()}
    dues = due_dates(org)
    for r in joined:
        assert "Added by tiersync on" in bodies[r.crm_key] and title in bodies[r.crm_key]
    action_due = later + dt.timedelta(
        days=next(a.due_in_days for a in Settings().playbook.actions if a.code == code)
    )
    assert all(dues[r.crm_key] <= action_due.isoformat() for r in joined), "due at the earliest action"

    org.clock.advance(hours=1)
    again, _ = org.sync("full", tasks=UNLIMITED, evidence={"as_of": later.isoformat()})
    assert again.tasks_joined == 0 and again.tasks_created == 0, "a re-run adds nothing twice"
    assert {t.key: t.body for t in org.tasks()} == bodies


def test_weekly_syncs_join_open_tasks_and_keep_every_owner_within_the_budget(org: Org) -> None:
    owners = {a["id"]: a["owner_id"] for a in org.clients()}
    joins = 0
    for week in range(5):
        if week:
            org.clock.advance(days=7)
        today = AS_OF + dt.timedelta(weeks=week)
        summary, _ = org.sync("full" if week == 0 else "incremental", evidence={"as_of": today.isoformat()})
        assert summary.status == "ok", summary.message
        joins += summary.tasks_joined
        first_sent: dict[str, dt.date] = {}
        for r in org.task_rows():
            if r.sent_on is not None:
                first_sent[r.crm_key] = min(first_sent.get(r.crm_key, r.sent_on), r.sent_on)
        account_of = {t.key: t.account_id for t in org.tasks()}
        new = Counter(owners[account_of[k]] for k, day in first_sent.items() if day == today)
        assert max(new.values(), default=0) <= 10, (week, new)
        open_now = Counter(
            owners[t.account_id] for t in org.tasks() if t.status not in ("Completed", "COMPLETED")
        )
        assert max(open_now.values()) <= 30, (week, open_now)
    assert joins > 0, "actions coming due for accounts with an open task joined it"
    assert max(Counter(t.key for t in org.tasks()).values()) == 1
