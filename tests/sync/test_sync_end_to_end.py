"""End to end against both CRMs: the real simple_salesforce client over HTTPS and the real
hubspot-api-client over HTTP, each against its sandbox. Shared behaviour is written once and runs on
both (the ``crm`` fixture); what only one CRM has is marked with its CRM."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.config import Settings
from connector.exit_codes import ExitCode
from connector.sandbox.faults import Fault, FaultPlan, RecordFault
from connector.sync.lock import run_lock
from connector.sync.state import State, TaskState
from tests.sync.conftest import AS_OF, Org, Task, kill_when

salesforce_only = pytest.mark.parametrize("crm", ["salesforce"])
hubspot_only = pytest.mark.parametrize("crm", ["hubspot"])
VALIDATION_CODE = {"salesforce": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "hubspot": "VALIDATION_ERROR"}


def duplicate_task_keys(org: Org) -> list[str]:
    return [key for key, n in Counter(t.key for t in org.tasks()).items() if n > 1]


def test_full_sync_writes_tiers_and_tasks_then_a_rerun_writes_nothing(org: Org) -> None:
    summary, plan = org.sync("full")
    assert summary.status == "ok", summary.message
    accounts = org.clients()
    assert summary.accounts_read == len(accounts) == 300
    assert all(a["tier"] in {"amazing", "good", "okay", "poor"} for a in accounts)
    assert all(a["reasons"] and a["last_synced_at"] for a in accounts)
    tasks = org.tasks()
    assert summary.tasks_created == len(tasks) > 0
    assert len({t.key for t in tasks}) == len(tasks)
    poor = next(a for a in accounts if a["tier"] == "poor" and a["id"] in {t.account_id for t in tasks})
    titles = {a.code: a.title for a in Settings().playbook.actions}
    carried = [r.action for r in org.task_rows() if r.account_id == poor["id"] and r.crm_id]
    text = "".join(t.subject + t.body for t in tasks if t.account_id == poor["id"])
    assert carried and all(titles[a] in text for a in carried if a in titles)
    replaced = {a.code: set(a.replaced_by) for a in Settings().playbook.actions}
    by_account: dict[str, set[str]] = {}
    for r in org.task_rows():
        by_account.setdefault(r.account_id, set()).add(r.action)
    for account, mine in by_account.items():  # a specific action replaces the generic one: never both
        assert not any(a in replaced and mine & replaced[a] for a in mine), (account, mine)
    state = State(org.workdir / "state.sqlite")
    saved = {r["account_id"]: r for r in state.results("default")}
    state.close()
    assert set(saved) == {a["id"] for a in accounts}
    assert saved[poor["id"]]["tier"] == "poor"
    writes = org.writes()
    assert writes > 0

    org.clock.advance(hours=1)
    again, plan = org.sync()
    assert again.status == "ok"
    assert org.writes() == writes, "a no-change re-sync must not write"
    assert plan.fields == [] and plan.tasks == []
    assert len(org.tasks()) == len(tasks)


@salesforce_only
def test_salesforce_full_sync_fills_task_owner_and_date_and_keeps_the_industry(org: Org) -> None:
    org.sync("full")
    tasks = org.sf.records("Task")
    assert tasks and all(t["Tiersync_Key__c"] and t["OwnerId"] and t["ActivityDate"] for t in tasks)
    assert len({t["Tiersync_Key__c"] for t in tasks}) == len(tasks)
    poor = next(a for a in org.sf.records("Account") if a.get("Tiersync_Tier__c") == "poor")
    state = State(org.workdir / "state.sqlite")
    saved = {r["account_id"]: r for r in state.results("default")}
    state.close()
    assert saved[poor["Id"]]["attributes"]["industry"] == poor["Industry"]


@hubspot_only
def test_hubspot_full_sync_batches_reads_and_writes(org: Org) -> None:
    org.sync("full")
    calls = org.sandbox.ledger.calls(crm="hubspot")
    associations = [
        c for c in calls if c.path.startswith("/crm/v4/associations/") and "/batch/read" in c.path
    ]
    assert associations, "evidence is found through associations v4 batch reads"
    assert all(c.records <= 1000 for c in associations)
    per_company = [
        c
        for c in calls
        if c.path.startswith("/crm/v4/objects/") or re.match(r"/crm/v3/objects/\w+/\d+", c.path)
    ]
    assert per_company == [], "no call per company: neither its associations nor its record"
    batches = [c for c in calls if "/batch/" in c.path and not c.path.startswith("/crm/v4/associations/")]
    assert batches and all(c.records <= 100 for c in batches)
    tasks = org.hs.objects("tasks")
    assert all(t["properties"]["hs_timestamp"] and t["properties"]["hs_task_status"] for t in tasks)


def test_changing_one_invoice_rewrites_only_that_account(org: Org) -> None:
    org.sync("full")
    org.clock.advance(hours=1)
    org.sync()  # settles the re-read of tiersync's own writes
    account = next(a for a in org.clients() if a["tier"] == "good")
    org.clock.advance(minutes=5)
    org.edit_invoice_paid_date(account["id"], days_late=40)
    org.sandbox.ledger.reset()
    org.clock.advance(minutes=5)
    summary, plan = org.sync()
    assert summary.accounts_read == 1
    assert {c.account_id for c in plan.fields} == {account["id"]}
    # a late invoice can move the client to okay, whose playbook tasks are then created: one more call
    assert {t.account_id for t in plan.tasks} <= {account["id"]}
    assert org.writes() <= (2 if plan.tasks else 1), "one account update call, with one record"
    update = org.sandbox.ledger.calls(crm=org.crm, write=True)[0]
    assert update.records == 1 or plan.tasks
    assert org.written(account["id"])["reasons"] != account["reasons"]


def test_manual_override_sticks_until_it_expires(org: Org) -> None:
    org.sync("full")
    poor = next(a for a in org.clients() if a["tier"] == "poor")
    org.clock.advance(minutes=5)
    org.set_override(poor["id"], "good", AS_OF + dt.timedelta(days=30))
    org.clock.advance(minutes=5)
    org.sync()
    held = org.written(poor["id"])
    assert held["tier"] == "good"
    assert held["reasons"].startswith("Manual override: good until 2026-12-01 (computed: poor).")
    assert held["override_tier"] == "good", "tiersync never writes the override fields"
    assert held["previous_tier"] == "poor"

    org.clock.advance(minutes=5)
    org.set_override(poor["id"], None, AS_OF - dt.timedelta(days=1))
    org.clock.advance(minutes=5)
    org.sync()
    expired = org.written(poor["id"])
    assert expired["tier"] == "poor"
    assert not expired["reasons"].startswith("Manual override")
    assert expired["override_tier"] == "good"


def test_fault_storm_converges_to_the_fault_free_result_without_duplicate_tasks(org: Org, twin: Org) -> None:
    twin.sync("full")
    org.sandbox.faults.configure(
        FaultPlan(
            seed=11,
            request_rates={Fault.RATE_LIMIT: 0.07, Fault.SERVER_ERROR: 0.07, Fault.RESET: 0.06},
            record_rates={RecordFault.LOCK_ROW: 0.05},
            retry_after_seconds=0,
        )
    )
    summary, _ = org.sync("full")
    faults = Counter(c.fault for c in org.sandbox.ledger.calls() if c.fault)
    assert sum(faults.values()) >= 5, faults
    if summary.status != "ok":  # a run may give up on a storm; the next one must finish the job
        org.clock.advance(minutes=1)
        summary, _ = org.sync("full")
    assert summary.status == "ok", summary.message
    assert org.snapshot() == twin.snapshot()
    assert duplicate_task_keys(org) == []


def test_validation_failures_are_reported_per_record_with_exit_code_1(org: Org, tmp_path: Path) -> None:
    bad = [a["id"] for a in org.clients()[:3]]
    org.fail_records(bad)
    config = org.write_config(tmp_path)
    result = CliRunner().invoke(app, ["--config", str(config), "sync", "--full"], env=org.cli_env())
    assert result.exit_code == ExitCode.PARTIAL, result.output
    for record in bad:
        assert f"{record}: account update failed: {VALIDATION_CODE[org.crm]}" in result.stderr
        assert org.written(record)["tier"] is None
    assert sum(1 for a in org.clients() if a["tier"]) == 297
    assert '"status": "partial"' in result.stdout


def test_overlapping_run_is_refused_with_exit_code_3(org: Org, tmp_path: Path) -> None:
    config = org.write_config(tmp_path)
    state = org.settings().state_path
    assert state is not None
    with run_lock(state, "default"):
        result = CliRunner().invoke(app, ["--config", str(config), "sync"], env=org.cli_env())
    assert result.exit_code == ExitCode.LOCKED
    assert "another tiersync run holds the lock" in result.stderr
    assert org.writes() == 0


def test_run_killed_mid_write_then_rerun_matches_an_uninterrupted_run(
    org: Org, twin: Org, tmp_path: Path
) -> None:
    twin.sync("full")
    org.sandbox.faults.configure(
        FaultPlan(request_rates={Fault.SLOW: 1.0}, slow_seconds=0.3, only_writes=True)
    )
    config = org.write_config(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "connector", "--config", str(config), "sync", "--quiet"],
        env={**os.environ, **org.cli_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(org, process, lambda: org.writes() >= 2)
    assert org.writes() >= 2
    assert org.snapshot() != twin.snapshot(), "the kill must land mid-run"
    org.sandbox.faults.configure(FaultPlan())
    org.clock.advance(minutes=1)
    summary, _ = org.sync()
    assert summary.status == "ok", summary.message
    assert org.snapshot() == twin.snapshot()
    assert duplicate_task_keys(org) == []


UNLIMITED = {"max_new_per_owner_per_week": 0, "max_open_per_owner": 0}


def week_as_of(weeks: int) -> dict[str, str]:
    return {"as_of": (AS_OF + dt.timedelta(weeks=weeks)).isoformat()}


def test_touches_spread_over_their_cadence_and_each_comes_due_once(org: Org) -> None:
    org.sync("full", tasks=UNLIMITED)
    rows = org.task_rows()
    surveys = [r for r in rows if r.action == "comms:yearly_survey"]
    assert len(surveys) == len({r.account_id for r in surveys}) == 300, (
        "every client's survey is planned once"
    )
    held = [r.defer_until for r in surveys if r.status == TaskState.DEFERRED and r.defer_until]
    assert len(held) >= 270, "only clients whose yearly period starts this week get it now"
    assert len({d.isocalendar()[:2] for d in held}) >= 40, "the rest come due over the year"
    monthly = {r.account_id for r in rows if r.action == "comms:monthly_call"}
    assert monthly, "amazing mid-size and large clients get a monthly call"

    for week in range(1, 6):  # weekly incremental syncs wake each deferred touch on its day
        org.clock.advance(days=7)
        org.sync(evidence=week_as_of(week), tasks=UNLIMITED)
    keys = Counter(t.key for t in org.tasks())
    assert max(keys.values()) == 1, "no task twice"
    rows = org.task_rows()
    crm_keys = set(keys)
    delivered = {
        r.account_id
        for r in rows
        if r.action == "comms:monthly_call" and r.status == TaskState.OPEN and r.crm_key in crm_keys
    }
    assert len(delivered) >= len(monthly) * 0.8, "within five weeks the monthly calls have come due"
    last = AS_OF + dt.timedelta(weeks=5)
    overdue = [r for r in rows if r.status == TaskState.DEFERRED and r.defer_until and r.defer_until <= last]
    assert overdue == [], "every deferred touch was woken on its day"
    per_account = Counter(
        (r.account_id, r.period_start) for r in rows if r.action == "comms:monthly_call" and r.crm_id
    )
    assert max(per_account.values()) == 1


def test_first_sync_keeps_each_owner_within_the_budget_and_delivers_the_rest_later(
    org: Org, tmp_path: Path
) -> None:
    config = org.write_config(tmp_path)
    planned = CliRunner().invoke(
        app,
        ["--config", str(config), "plan", "--out", str(tmp_path / "plan.csv"), "--detail", "fields"],
        env=org.cli_env(),
    )
    assert planned.exit_code == 0, planned.output
    rows = list(csv.DictReader((tmp_path / "plan.csv").open(encoding="utf-8")))
    defers = [r for r in rows if r["change"] == "task defer"]
    assert defers and all(r["new"].startswith("until 20") for r in defers), (
        "plan shows what waits, and until when"
    )
    assert any("workload budget" in r["new"] for r in defers)
    summary, plan = org.sync("full")
    assert summary.status == "ok", summary.message
    owners = {a["id"]: a["owner_id"] for a in org.clients()}
    per_owner = Counter(owners[t.account_id] for t in org.tasks())
    assert per_owner and max(per_owner.values()) == 10, per_owner
    budget_deferrals = [t for t in plan.tasks if t.kind == "defer" and "workload budget" in t.detail]
    assert budget_deferrals, "the rest is deferred, not dropped"
    next_monday = AS_OF + dt.timedelta(days=7 - AS_OF.weekday())
    assert all(t.detail.startswith(f"until {next_monday.isoformat()}") for t in budget_deferrals[:5])
    deferred = {(r.account_id, r.action) for r in org.task_rows() if r.status == TaskState.DEFERRED}
    assert {(t.account_id, t.key.split("/")[1]) for t in budget_deferrals} <= deferred

    org.clock.advance(days=7)
    again, _ = org.sync(evidence=week_as_of(1))
    assert again.status == "ok"
    tasks = org.tasks()
    assert max(Counter(t.key for t in tasks).values()) == 1
    rows = org.task_rows()
    week_two = [r for r in rows if r.sent_on == AS_OF + dt.timedelta(weeks=1)]
    first_sent: dict[str, dt.date] = {}  # a task is new when created: actions joining it later are not
    for r in rows:
        if r.sent_on is not None:
            first_sent[r.crm_key] = min(first_sent.get(r.crm_key, r.sent_on), r.sent_on)
    created = {r.crm_key for r in week_two if first_sent[r.crm_key] == AS_OF + dt.timedelta(weeks=1)}
    new_per_owner = Counter(
        owners[account] for account, key in {(r.account_id, r.crm_key) for r in week_two} if key in created
    )
    assert max(new_per_owner.values()) <= 10
    assert {(r.account_id, r.action) for r in week_two} & deferred, (
        "the second week delivers what the first deferred"
    )


def test_struck_action_is_commented_and_the_task_closes_when_none_remain(org: Org) -> None:
    org.sync("full", tasks=UNLIMITED)
    rows = org.task_rows()
    by_task: dict[str, list[str]] = {}
    for r in rows:
        if r.status == TaskState.OPEN and r.crm_id:
            by_task.setdefault(r.crm_id, []).append(r.action)
    crm_id, actions = next(
        (k, v) for k, v in by_task.items() if len(v) >= 2 and all("comms:" not in a for a in v)
    )

    def without(codes: list[str]) -> dict[str, Any]:
        """The playbook with these actions' causes gone: they apply to no one now."""
        cleared = {"tiers": [], "traits": [], "reasons": ["no.such_reason"]}
        return {
            "actions": [
                a.model_dump() | (cleared if a.code in codes else {}) for a in Settings().playbook.actions
            ]
        }

    org.clock.advance(hours=1)
    org.sync("full", tasks=UNLIMITED, playbook=without(actions[:1]))
    task = next(t for t in org.tasks() if org_id(org, t) == crm_id)
    title = next(a.title for a in Settings().playbook.actions if a.code == actions[0])
    assert f"'{title}' no longer applies" in task.body
    assert task.status not in ("Completed", "COMPLETED"), "other actions remain: the task stays open"
    assert "bully" not in task.body

    org.clock.advance(hours=1)
    org.sync("full", tasks=UNLIMITED, playbook=without(actions))
    task = next(t for t in org.tasks() if org_id(org, t) == crm_id)
    assert task.status in ("Completed", "COMPLETED")
    assert "Closed by tiersync" in task.body


def test_a_completed_plan_task_is_not_recreated_within_its_period(org: Org) -> None:
    org.sync("full", tasks=UNLIMITED)
    plan_task = next(t for t in org.tasks() if "Client plan" in t.subject)
    crm_id = next(r.crm_id for r in org.task_rows() if r.crm_key == plan_task.key)
    assert crm_id is not None
    org.complete_task(crm_id)
    org.clock.advance(days=1)
    org.sync("full", tasks=UNLIMITED, evidence={"as_of": (AS_OF + dt.timedelta(days=1)).isoformat()})
    actions = {r.action for r in org.task_rows() if r.crm_id == crm_id}
    again = [r for r in org.task_rows() if r.action in actions and r.crm_id and r.crm_id != crm_id]
    assert not [r for r in again if r.account_id == plan_task.account_id]


def org_id(org: Org, task: Task) -> str | None:
    """The CRM id of a task as the state knows it, by its key."""
    return next((r.crm_id for r in org.task_rows() if r.crm_key == task.key), None)


# -- daily API limits ----------------------------------------------------------------------------------
def set_daily_usage(org: Org, used: int) -> None:
    if org.crm == "salesforce":
        org.sf.set_api_usage(used)
    else:
        org.hs.set_daily_usage(used)


def daily_limit(org: Org) -> int:
    return int(org.sf.api_daily_limit if org.crm == "salesforce" else org.hs.limits.daily_limit)


def test_near_daily_limit_stops_cleanly_with_exit_4_and_the_next_run_resumes(
    org: Org, twin: Org, tmp_path: Path
) -> None:
    twin.sync("full")
    calls = twin.sandbox.ledger.calls()  # everything an uninterrupted run spends, checks included
    last_writes = len(calls) - max(i for i, c in enumerate(calls) if not c.write) - 1
    # the 80% budget is reached while the last page is read: its writes are never sent
    set_daily_usage(org, int(daily_limit(org) * 0.8) - len(calls) + 2 * last_writes)
    config = org.write_config(tmp_path)
    stopped = CliRunner().invoke(app, ["--config", str(config), "sync"], env=org.cli_env())
    assert stopped.exit_code == ExitCode.LIMIT, stopped.output
    assert "daily API calls" in stopped.stderr
    assert sum(1 for a in org.clients() if a["tier"]) > 0
    assert org.snapshot() != twin.snapshot(), "the stop must leave work for the next run"
    set_daily_usage(org, 0)
    org.clock.advance(minutes=1)
    resumed = CliRunner().invoke(app, ["--config", str(config), "sync"], env=org.cli_env())
    assert resumed.exit_code == ExitCode.OK, resumed.output
    assert org.snapshot() == twin.snapshot()


# -- Salesforce only -------------------------------------------------------------------------------------
@salesforce_only
def test_quotes_in_crm_data_do_not_break_or_widen_queries(org: Org) -> None:
    target = org.clients()[0]
    nasty = "O'Brien \\' OR Name != '' \" Ltd"
    org._sf_client().Account.update(target["id"], {"Name": nasty})
    org.sandbox.ledger.reset()
    summary, _plan = org.sync()
    assert summary.status == "ok", summary.message
    assert org.written(target["id"])["name"] == nasty
    assert org.written(target["id"])["tier"] is not None
    assert not [c for c in org.sandbox.ledger.calls() if c.status >= 400]


@salesforce_only
def test_stopped_backfill_resumes_after_the_last_page_it_finished(org: Org, twin: Org) -> None:
    twin.sync("full")
    calls = len(twin.sandbox.ledger.calls())
    org.sf.set_api_usage(int(org.sf.api_daily_limit * 0.8) - (calls - 4))
    stopped, _ = org.sync("full")
    assert stopped.status == "limit"
    state = State(org.workdir / "state.sqlite")
    cursor = state.watermark("default", "backfill_cursor")
    state.close()
    assert cursor is not None, "a finished page leaves a cursor"
    org.sf.set_api_usage(0)
    org.sandbox.ledger.reset()
    resumed, _ = org.sync("full")
    assert resumed.status == "ok"
    assert resumed.accounts_read < 300, "the resumed backfill skips the pages already done"
    first_account_query = next(c for c in org.sandbox.ledger.calls() if c.records and "query" in c.path)
    assert first_account_query.records <= 300 - 200
    assert org.snapshot() == twin.snapshot()
    state = State(org.workdir / "state.sqlite")
    assert state.watermark("default", "backfill_cursor") is None
    state.close()
