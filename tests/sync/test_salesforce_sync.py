"""Salesforce end to end: the real simple_salesforce client against the sandbox org over HTTPS."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
import simple_salesforce
from typer.testing import CliRunner

from connector.cli import app
from connector.exit_codes import ExitCode
from connector.sandbox.faults import Fault, FaultPlan, RecordFault
from connector.sync.lock import run_lock
from connector.sync.state import State
from tests.sync.conftest import AS_OF, Org


def client(org: Org) -> simple_salesforce.Salesforce:
    """A CRM user's own API session, for edits made by people between syncs."""
    info = org.sandbox.salesforce_settings()
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_bundle"]
    return simple_salesforce.Salesforce(
        instance_url=info["instance_url"], session_id=info["session_id"], session=session, version="60.0"
    )


def clients(org: Org) -> list[dict[str, Any]]:
    return [a for a in org.sf.records("Account") if a.get("Type") != "Prospect"]


def test_full_sync_writes_tiers_and_tasks_then_a_rerun_writes_nothing(org: Org) -> None:
    summary, plan = org.sync("full")
    assert summary.status == "ok", summary.message
    accounts = clients(org)
    assert summary.accounts_read == len(accounts) == 300
    assert all(a["Tiersync_Tier__c"] in {"amazing", "good", "okay", "poor"} for a in accounts)
    assert all(a["Tiersync_Reasons__c"] and a["Tiersync_Last_Synced_At__c"] for a in accounts)
    tasks = org.sf.records("Task")
    assert summary.tasks_created == len(tasks) > 0
    assert all(t["Tiersync_Key__c"] and t["OwnerId"] and t["ActivityDate"] for t in tasks)
    assert len({t["Tiersync_Key__c"] for t in tasks}) == len(tasks)
    poor = next(a for a in accounts if a["Tiersync_Tier__c"] == "poor")
    assert any(t["WhatId"] == poor["Id"] and "Review the relationship" in t["Subject"] for t in tasks)
    state = State(org.workdir / "state.sqlite")
    saved = {r["account_id"]: r for r in state.results("default")}
    state.close()
    assert set(saved) == {a["Id"] for a in accounts}
    assert saved[poor["Id"]]["tier"] == "poor"
    assert saved[poor["Id"]]["attributes"]["industry"] == poor["Industry"]
    writes = org.writes()
    # 300 accounts / 200 per composite call = 2 update calls, plus task upserts
    assert (
        org.sandbox.ledger.count(crm="salesforce", write=True, path_contains="composite/sobjects/Task") >= 1
    )

    org.clock.advance(hours=1)
    again, plan = org.sync()
    assert again.status == "ok"
    assert org.writes() == writes, "a no-change re-sync must not write"
    assert plan.fields == [] and plan.tasks == []
    assert len(org.sf.records("Task")) == len(tasks)


def test_changing_one_invoice_rewrites_only_that_account(org: Org) -> None:
    org.sync("full")
    org.clock.advance(hours=1)
    org.sync()  # settles the re-read of tiersync's own writes
    account = next(a for a in clients(org) if a["Tiersync_Tier__c"] == "good")
    invoice = next(
        i for i in org.sf.records("Invoice__c") if i["Account__c"] == account["Id"] and i.get("Paid_Date__c")
    )
    org.clock.advance(minutes=5)
    due = dt.date.fromisoformat(invoice["Due_Date__c"])
    client(org).Invoice__c.update(invoice["Id"], {"Paid_Date__c": (due + dt.timedelta(days=40)).isoformat()})
    org.sandbox.ledger.reset()
    org.clock.advance(minutes=5)
    summary, plan = org.sync()
    assert summary.accounts_read == 1
    assert {c.account_id for c in plan.fields} == {account["Id"]}
    account_writes = [
        c for c in org.sandbox.ledger.calls(write=True) if c.path.endswith("composite/sobjects")
    ]
    assert [c.records for c in account_writes] == [1]
    after = org.sf.get("Account", account["Id"])
    assert after["Tiersync_Reasons__c"] != account["Tiersync_Reasons__c"]


def test_manual_override_sticks_until_it_expires(org: Org) -> None:
    org.sync("full")
    poor = next(a for a in clients(org) if a["Tiersync_Tier__c"] == "poor")
    org.clock.advance(minutes=5)
    client(org).Account.update(
        poor["Id"],
        {
            "Tiersync_Override_Tier__c": "good",
            "Tiersync_Override_Expires__c": (AS_OF + dt.timedelta(days=30)).isoformat(),
        },
    )
    org.clock.advance(minutes=5)
    org.sync()
    held = org.sf.get("Account", poor["Id"])
    assert held["Tiersync_Tier__c"] == "good"
    assert held["Tiersync_Reasons__c"].startswith("Manual override: good until 2026-12-01 (computed: poor).")
    assert held["Tiersync_Override_Tier__c"] == "good", "tiersync never writes the override fields"
    assert held["Tiersync_Previous_Tier__c"] == "poor"

    org.clock.advance(minutes=5)
    client(org).Account.update(
        poor["Id"], {"Tiersync_Override_Expires__c": (AS_OF - dt.timedelta(days=1)).isoformat()}
    )
    org.clock.advance(minutes=5)
    org.sync()
    expired = org.sf.get("Account", poor["Id"])
    assert expired["Tiersync_Tier__c"] == "poor"
    assert not expired["Tiersync_Reasons__c"].startswith("Manual override")
    assert expired["Tiersync_Override_Tier__c"] == "good"


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
    keys = Counter(t["Tiersync_Key__c"] for t in org.sf.records("Task"))
    assert max(keys.values()) == 1


def test_validation_failures_are_reported_per_record_with_exit_code_1(org: Org, tmp_path: Path) -> None:
    bad = [a["Id"] for a in clients(org)[:3]]
    org.sandbox.faults.configure(FaultPlan(failing_records=dict.fromkeys(bad, RecordFault.VALIDATION)))
    config = write_config(org, tmp_path)
    result = CliRunner().invoke(app, ["--config", str(config), "sync", "--full"], env=env(org))
    assert result.exit_code == ExitCode.PARTIAL, result.output
    for record in bad:
        assert f"{record}: account update failed: FIELD_CUSTOM_VALIDATION_EXCEPTION" in result.stderr
        assert org.sf.get("Account", record).get("Tiersync_Tier__c") is None
    written = [a for a in clients(org) if a.get("Tiersync_Tier__c")]
    assert len(written) == 297
    assert '"status": "partial"' in result.stdout


def test_near_daily_limit_stops_cleanly_with_exit_4_and_the_next_run_resumes(
    org: Org, twin: Org, tmp_path: Path
) -> None:
    twin.sync("full")
    calls = len(twin.sandbox.ledger.calls())  # everything an uninterrupted run spends, checks included
    limit = org.sf.api_daily_limit
    org.sf.set_api_usage(int(limit * 0.8) - (calls - 4))  # the budget runs out during the last page
    config = write_config(org, tmp_path)
    stopped = CliRunner().invoke(app, ["--config", str(config), "sync"], env=env(org))
    assert stopped.exit_code == ExitCode.LIMIT, stopped.output
    assert "daily API calls" in stopped.stderr
    assert sum(1 for a in clients(org) if a.get("Tiersync_Tier__c")) > 0
    assert org.snapshot() != twin.snapshot(), "the stop must leave work for the next run"
    org.sf.set_api_usage(0)
    org.clock.advance(minutes=1)
    resumed = CliRunner().invoke(app, ["--config", str(config), "sync"], env=env(org))
    assert resumed.exit_code == ExitCode.OK, resumed.output
    assert org.snapshot() == twin.snapshot()


def test_quotes_in_crm_data_do_not_break_or_widen_queries(org: Org) -> None:
    target = clients(org)[0]
    nasty = "O'Brien \\' OR Name != '' \" Ltd"
    client(org).Account.update(target["Id"], {"Name": nasty})
    org.sandbox.ledger.reset()
    summary, _plan = org.sync()
    assert summary.status == "ok", summary.message
    assert org.sf.get("Account", target["Id"])["Name"] == nasty
    assert org.sf.get("Account", target["Id"])["Tiersync_Tier__c"] is not None
    assert not [c for c in org.sandbox.ledger.calls() if c.status >= 400]


def test_overlapping_run_is_refused_with_exit_code_3(org: Org, tmp_path: Path) -> None:
    config = write_config(org, tmp_path)
    state = org.settings().state_path
    assert state is not None
    with run_lock(state, "default"):
        result = CliRunner().invoke(app, ["--config", str(config), "sync"], env=env(org))
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
    config = write_config(org, tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "connector", "--config", str(config), "sync", "--quiet"],
        env={**os.environ, **env(org)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while org.writes() < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = org.writes()
    assert killed_at >= 2
    assert org.snapshot() != twin.snapshot(), "the kill must land mid-run"
    org.sandbox.faults.configure(FaultPlan())
    org.clock.advance(minutes=1)
    summary, _ = org.sync()
    assert summary.status == "ok", summary.message
    assert org.snapshot() == twin.snapshot()
    keys = Counter(t["Tiersync_Key__c"] for t in org.sf.records("Task"))
    assert max(keys.values()) == 1


def write_config(org: Org, tmp_path: Path) -> Path:
    info = org.sandbox.salesforce_settings()
    path = tmp_path / "tiersync.toml"
    path.write_text(
        f"""crm = "salesforce"
state_path = "{org.workdir / "state.sqlite"}"
[evidence]
as_of = {AS_OF.isoformat()}
[sync]
page_size = 200
[salesforce]
instance_url = "{info["instance_url"]}"
ca_bundle = "{info["ca_bundle"]}"
""",
        encoding="utf-8",
    )
    return path


def env(org: Org) -> dict[str, str]:
    return {"TIERSYNC_SALESFORCE__SESSION_ID": org.sandbox.salesforce_settings()["session_id"]}


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


def _comms_keys(org: Org) -> Counter[str]:
    return Counter(
        t["Tiersync_Key__c"] for t in org.sf.records("Task") if "/comms:" in (t.get("Tiersync_Key__c") or "")
    )


def test_communication_touches_are_created_once_per_period_across_repeated_syncs(org: Org) -> None:
    org.sync("full")
    first = _comms_keys(org)
    assert sum(1 for k in first if "/comms:yearly_survey/" in k) == 300, "every client gets the baseline"
    monthly = {k for k in first if "/comms:monthly_call/" in k}
    assert monthly, "amazing mid-size and large clients get a monthly call"
    org.clock.advance(days=1)
    org.sync("full", evidence={"as_of": (AS_OF + dt.timedelta(days=1)).isoformat()})
    assert _comms_keys(org) == first, "same period: nothing new"
    later = (AS_OF + dt.timedelta(days=20)).isoformat()  # the 30-day period rolls over, the others do not
    org.clock.advance(days=19)
    org.sync("full", evidence={"as_of": later})
    org.sync("full", evidence={"as_of": later})
    after = _comms_keys(org)
    assert max(after.values()) == 1
    new = set(after) - set(first)
    assert new and all("/comms:monthly_call/" in k for k in new)
    assert not any("/comms:yearly_survey/" in k for k in new)
