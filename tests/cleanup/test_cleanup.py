"""``tiersync cleanup`` end to end on both CRMs, over real HTTP(S) against the sandboxes, through the
command line a user runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hubspot.crm.objects import SimplePublicObjectInput
from hubspot.crm.properties import PropertyCreate
from typer.testing import CliRunner, Result

from connector.cli import app
from connector.exit_codes import ExitCode
from connector.sandbox.faults import Fault, FaultPlan
from connector.sync.cleanup import CleanupEngine, CleanupOptions
from connector.sync.lock import run_lock
from connector.sync.state import State, TaskState
from tests.cleanup.conftest import org_snapshot
from tests.sync.conftest import Org, kill_when


def cleanup(org: Org, tmp_path: Path, *args: str) -> Result:
    config = org.write_config(tmp_path)
    return CliRunner().invoke(app, ["--config", str(config), "cleanup", *args], env=org.cli_env())


def task_rows(org: Org) -> list[dict[str, Any]]:
    """Live tasks: id, key and status, as the CRM holds them."""
    if org.crm == "salesforce":
        return [
            {"id": t["Id"], "key": t.get("Tiersync_Key__c"), "status": t.get("Status")}
            for t in org.sf.records("Task")
            if not t.get("IsDeleted")
        ]
    return [
        {
            "id": t["id"],
            "key": t["properties"].get("tiersync_task_key"),
            "status": t["properties"].get("hs_task_status"),
        }
        for t in org.hs.objects("tasks")
        if not t["archived"]
    ]


def complete(org: Org, task_id: str) -> None:
    """A user marks a task done in the CRM."""
    if org.crm == "salesforce":
        org._sf_client().Task.update(task_id, {"Status": "Completed"})
    else:
        org._hs_client().crm.objects.basic_api.update(
            "tasks", task_id, SimplePublicObjectInput(properties={"hs_task_status": "COMPLETED"})
        )


def install_and_sync(org: Org) -> dict[str, Any]:
    """Photograph the org, then set up the fields and sync it; returns the photograph."""
    before = org_snapshot(org)
    org.setup()
    summary, _ = org.sync("full")
    assert summary.status == "ok", summary.message
    assert summary.tasks_created > 0
    return before


def test_cleanup_with_remove_setup_returns_the_org_to_its_state_before_setup(
    bare: Org, tmp_path: Path
) -> None:
    before = install_and_sync(bare)
    done = task_rows(bare)[0]
    complete(bare, done["id"])
    assert org_snapshot(bare, {done["id"]}) != before

    result = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert result.exit_code == ExitCode.OK, result.output
    assert '"event": "tiersync.cleanup"' in result.stdout

    assert org_snapshot(bare, {done["id"]}) == before
    (kept,) = [t for t in task_rows(bare) if t["id"] == done["id"]]
    assert kept["status"] in ("Completed", "COMPLETED"), "the task the user completed is kept"
    assert len(task_rows(bare)) == 1


def test_dry_run_is_the_default_and_writes_nothing(bare: Org, tmp_path: Path) -> None:
    install_and_sync(bare)
    after_sync = org_snapshot(bare)
    bare.sandbox.ledger.reset()
    for args in ((), ("--dry-run", "--remove-setup", "--clear-overrides")):
        result = cleanup(bare, tmp_path, *args)
        assert result.exit_code == ExitCode.OK, result.output
        assert "cleanup plan (nothing written" in result.stdout
        assert "to delete" in result.stdout
    assert bare.writes() == 0
    assert org_snapshot(bare) == after_sync


def test_completed_tasks_are_kept_and_open_ones_closed_with_tasks_close(bare: Org, tmp_path: Path) -> None:
    install_and_sync(bare)
    tasks = task_rows(bare)
    done = {t["id"] for t in tasks[:3]}
    for task_id in done:
        complete(bare, task_id)
    result = cleanup(bare, tmp_path, "--yes", "--tasks", "close")
    assert result.exit_code == ExitCode.OK, result.output
    assert f"{len(tasks) - 3} closed, 3 completed by users kept" in result.stdout
    after = {t["id"]: t for t in task_rows(bare)}
    assert set(after) == {t["id"] for t in tasks}, "closing deletes nothing"
    assert all(t["status"] in ("Completed", "COMPLETED") for t in after.values())
    assert all(a["tier"] is None and a["reasons"] is None for a in bare.clients())


def test_a_second_cleanup_changes_nothing_and_says_so(bare: Org, tmp_path: Path) -> None:
    install_and_sync(bare)
    first = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert first.exit_code == ExitCode.OK, first.output
    settled = org_snapshot(bare)
    bare.sandbox.ledger.reset()
    again = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert again.exit_code == ExitCode.OK, again.output
    assert "nothing to clean up" in again.stdout
    assert bare.writes() == 0
    assert org_snapshot(bare) == settled


def test_a_cleanup_stopped_by_faults_finishes_on_the_next_run(bare: Org, tmp_path: Path) -> None:
    before = install_and_sync(bare)
    settings = bare.settings()
    assert settings.state_path is not None
    # every write fails from the 3rd one on, past every retry: the run ends midway
    bare.sandbox.faults.configure(
        FaultPlan(schedule=dict.fromkeys(range(3, 400), Fault.SERVER_ERROR), only_writes=True)
    )
    state = State(settings.state_path)
    try:
        engine = CleanupEngine(bare.adapter(settings).cleanup(), settings, state, "default", clock=bare.clock)  # type: ignore[attr-defined]
        summary, _ = engine.run(CleanupOptions(remove_setup=True), dry_run=False)
    finally:
        state.close()
    assert summary.exit_code == ExitCode.PARTIAL and summary.status == "failed", summary
    assert summary.tasks_deleted > 0
    assert org_snapshot(bare) != before, "the faults must stop it midway"
    bare.sandbox.faults.configure(FaultPlan())
    result = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert result.exit_code == ExitCode.OK, result.output
    assert org_snapshot(bare) == before


def state_tasks(org: Org) -> dict[str, dict[str, Any]]:
    """The state's task rows by key."""
    path = org.settings().state_path
    assert path is not None
    state = State(path)
    try:
        return {str(r["key"]): r for r in state.all_tasks("default")}
    finally:
        state.close()


def test_the_state_records_every_action_of_the_tasks_cleanup_closed_then_deleted(
    bare: Org, tmp_path: Path
) -> None:
    install_and_sync(bare)
    sent = [k for k, r in state_tasks(bare).items() if r["status"] == TaskState.OPEN]
    assert any(state_tasks(bare)[k]["group_key"] != k for k in sent), "actions share one task per account"
    closed = cleanup(bare, tmp_path, "--yes", "--tasks", "close")
    assert closed.exit_code == ExitCode.OK, closed.output
    assert {state_tasks(bare)[k]["status"] for k in sent} == {TaskState.CLOSED}
    deleted = cleanup(bare, tmp_path, "--yes")
    assert deleted.exit_code == ExitCode.OK, deleted.output
    assert task_rows(bare) == [], "tiersync closed every one of them, so a delete cleanup takes them all"
    assert {state_tasks(bare)[k]["status"] for k in sent} == {TaskState.DONE}


def test_overrides_are_kept_unless_asked(bare: Org, tmp_path: Path) -> None:
    install_and_sync(bare)
    account = bare.clients()[0]["id"]
    bare.update_account(account, {"override_tier": "amazing"})
    kept = cleanup(bare, tmp_path, "--yes")
    assert kept.exit_code == ExitCode.OK, kept.output
    held = bare.written(account)
    assert held["override_tier"] == "amazing" and held["tier"] is None

    refused = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert refused.exit_code == ExitCode.USAGE
    assert "--clear-overrides" in refused.stderr
    assert bare.written(account)["override_tier"] == "amazing", "a refused run writes nothing"

    cleared = cleanup(bare, tmp_path, "--yes", "--remove-setup", "--clear-overrides")
    assert cleared.exit_code == ExitCode.OK, cleared.output
    assert bare.written(account)["override_tier"] is None


def test_a_cleanup_killed_midway_finishes_on_the_next_run(bare: Org, tmp_path: Path) -> None:
    before = install_and_sync(bare)
    bare.sandbox.faults.configure(
        FaultPlan(request_rates={Fault.SLOW: 1.0}, slow_seconds=0.3, only_writes=True)
    )
    config = bare.write_config(tmp_path)
    bare.sandbox.ledger.reset()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connector",
            "--config",
            str(config),
            "cleanup",
            "--yes",
            "--remove-setup",
            "-q",
        ],
        env={**os.environ, **bare.cli_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(bare, process, lambda: bare.writes() >= 2)
    assert bare.writes() >= 2
    assert org_snapshot(bare) != before, "the kill must land mid-run"
    bare.sandbox.faults.configure(FaultPlan())
    result = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert result.exit_code == ExitCode.OK, result.output
    assert org_snapshot(bare) == before


def test_a_held_lock_refuses_with_exit_3_and_writes_nothing(bare: Org, tmp_path: Path) -> None:
    install_and_sync(bare)
    bare.sandbox.ledger.reset()
    state = bare.settings().state_path
    assert state is not None
    with run_lock(state, "default"):
        result = cleanup(bare, tmp_path, "--yes")
    assert result.exit_code == ExitCode.LOCKED
    assert "another tiersync run holds the lock" in result.stderr
    assert bare.writes() == 0


def test_near_the_daily_limit_it_stops_with_exit_4_and_the_next_run_resumes(
    bare: Org, tmp_path: Path
) -> None:
    before = install_and_sync(bare)
    limit = int(bare.sf.api_daily_limit if bare.crm == "salesforce" else bare.hs.limits.daily_limit)
    used = int(limit * 0.8)
    if bare.crm == "salesforce":
        bare.sf.set_api_usage(used)
    else:
        bare.hs.set_daily_usage(used)
    bare.sandbox.ledger.reset()
    stopped = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert stopped.exit_code == ExitCode.LIMIT, stopped.output
    assert "daily API calls" in stopped.stdout
    assert bare.writes() == 0
    if bare.crm == "salesforce":
        bare.sf.set_api_usage(0)
    else:
        bare.hs.set_daily_usage(0)
    resumed = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert resumed.exit_code == ExitCode.OK, resumed.output
    assert org_snapshot(bare) == before


def test_a_mapped_field_tiersync_did_not_create_is_never_emptied_or_deleted(
    bare: Org, tmp_path: Path
) -> None:
    """An admin made the score field before setup-fields (another label and group): setup uses it, and
    cleanup leaves both the field and its values alone."""
    if bare.crm == "salesforce":
        bare._sf_client().toolingexecute(
            "sobjects/CustomField",
            method="POST",
            data={
                "FullName": "Account.Tiersync_Score__c",
                "Metadata": {"label": "Health score", "type": "Number", "precision": 5, "scale": 1},
            },
        )
    else:
        bare._hs_client().crm.properties.core_api.create(
            "companies",
            PropertyCreate(
                name="tiersync_score",
                label="Health score",
                type="number",
                field_type="number",
                group_name="companyinformation",
            ),
        )
    install_and_sync(bare)
    scored = {a["id"]: a["score"] for a in bare.clients()}
    assert all(scored.values()), "setup-fields and sync used the admin's field"
    result = cleanup(bare, tmp_path, "--yes", "--remove-setup")
    assert result.exit_code == ExitCode.OK, result.output
    assert {a["id"]: a["score"] for a in bare.clients()} == scored
    assert all(a["tier"] is None for a in bare.clients()), "tiersync's own fields are emptied"
    if bare.crm == "salesforce":
        names = set(bare.sf.org.sobject("Account").fields)
        assert "Tiersync_Score__c" in names and "Tiersync_Tier__c" not in names
    else:
        live = {d.name for d in bare.hs.portal.registry.defs["companies"].values() if not d.archived}
        assert "tiersync_score" in live and "tiersync_tier" not in live
