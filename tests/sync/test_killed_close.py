"""A sync killed (SIGKILL) after the CRM closed a page of tasks whose cause cleared, before that page's
state transaction committed: the state still holds those tasks open. The next run reads the page again
and finds them completed in the CRM; it must record them as closed by tiersync (``closed``), as an
uninterrupted run does, not as completed by a user (``done``): a later ``cleanup --tasks delete``
deletes tiersync's closes and keeps users' work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from connector.cli import app
from connector.config import Settings
from connector.exit_codes import ExitCode
from connector.sandbox.faults import Fault, FaultPlan
from connector.sync.state import MarkedBy, State, TaskState
from tests.cleanup.test_cleanup import cleanup, state_tasks
from tests.cleanup.test_killed_cleanup import completed_keys, counts, crm_tasks, marks, statuses
from tests.sync.conftest import Org, kill_when

UNLIMITED = {"max_new_per_owner_per_week": 0, "max_open_per_owner": 0}
"""No workload budget: every due task goes out in the first sync, and many close in the next."""


def sync_marks(org: Org) -> dict[str, str]:
    """The task closes a sync marked ahead of its CRM writes and has not unmarked."""
    path = org.settings().state_path
    assert path is not None
    state = State(path)
    try:
        return state.task_ends("default", MarkedBy.SYNC)
    finally:
        state.close()


def cleared_config(org: Org, tmp_path: Path) -> Path:
    """The org's CLI config with no workload budget and a playbook whose actions' causes are gone
    (no tier, trait or reason calls for them): a sync closes the tasks they made."""
    config = org.write_config(tmp_path)
    lines = ["[tasks]", *(f"{k} = {v}" for k, v in UNLIMITED.items())]
    for action in Settings().playbook.actions:
        values = action.model_dump(mode="json") | {"tiers": [], "traits": [], "reasons": ["no.such_reason"]}
        lines += ["[[playbook.actions]]", *(f"{k} = {json.dumps(v)}" for k, v in values.items())]
    config.write_text(config.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")
    return config


def full_sync(org: Org, config: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(config), "sync", "--full", "-q"], env=org.cli_env())
    assert result.exit_code == ExitCode.OK, result.output


def kill_mid_close(org: Org, config: Path) -> None:
    """``sync --full`` through the CLI, its writes answered late (applied first): killed once the
    first task close of its first page has landed, while its answer is still on the way."""
    before = completed_keys(org)
    org.sandbox.faults.configure(
        FaultPlan(request_rates={Fault.SLOW: 1.0}, slow_seconds=1.0, only_writes=True, answer_late=True)
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "connector", "--config", str(config), "sync", "--full", "-q"],
        env={**os.environ, **org.cli_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(org, process, lambda: completed_keys(org) != before)
    org.sandbox.faults.configure(FaultPlan())


def test_a_sync_killed_after_the_crm_closed_its_tasks_records_them_as_tiersync_s_closes(
    org: Org, twin: Org, tmp_path: Path
) -> None:
    for each in (org, twin):
        summary, _ = each.sync("full", tasks=UNLIMITED)
        assert summary.status == "ok", summary.message
    sent = statuses(org)
    assert sent == statuses(twin)

    full_sync(twin, cleared_config(twin, tmp_path / "twin"))
    expected = statuses(twin)
    closed = {k for k, s in expected.items() if s == TaskState.CLOSED}
    assert closed and not {k for k, s in expected.items() if s == TaskState.DONE}

    config = cleared_config(org, tmp_path)
    kill_mid_close(org, config)
    killed = completed_keys(org)
    assert killed, "the killed run closed tasks in the CRM"
    assert statuses(org) == sent, "and its page of state writes never committed"
    assert killed <= set(sync_marks(org)) and set(sync_marks(org).values()) == {"closed"}, "its marks did"
    rows = state_tasks(org)
    hit = {k for k, r in rows.items() if (r["group_key"] or k) in killed}
    assert hit and hit <= closed

    full_sync(org, config)
    assert crm_tasks(org) == crm_tasks(twin), "nothing closed or commented twice"
    got = statuses(org)
    assert {k: got[k] for k in hit} == {k: expected[k] for k in hit}, "tiersync's closes, not users'"
    assert got == expected
    assert marks(org) == sync_marks(org) == {}

    for each in (org, twin):  # tiersync closed them all: a delete cleanup takes every one
        deleted = cleanup(each, tmp_path, "--yes")
        assert deleted.exit_code == ExitCode.OK, deleted.output
        assert counts(deleted.stdout)[2] == 0, deleted.stdout
    assert crm_tasks(org) == crm_tasks(twin)
    assert statuses(org) == statuses(twin)


def test_a_delete_cleanup_right_after_the_killed_sync_takes_its_closes_as_tiersync_s(
    org: Org, twin: Org, tmp_path: Path
) -> None:
    """No sync runs between: the cleanup finds the killed page's tasks completed and the state
    holding them open, and must still know them for tiersync's closes (a user's are kept)."""
    for each in (org, twin):
        summary, _ = each.sync("full", tasks=UNLIMITED)
        assert summary.status == "ok", summary.message
    full_sync(twin, cleared_config(twin, tmp_path / "twin"))
    kill_mid_close(org, cleared_config(org, tmp_path))
    assert completed_keys(org), "the killed run closed tasks in the CRM"

    results = [cleanup(each, tmp_path, "--yes") for each in (org, twin)]
    for result in results:
        assert result.exit_code == ExitCode.OK, result.output
    ours, theirs = (counts(r.stdout) for r in results)
    assert ours == theirs and ours[2] == 0, "every task deleted, none kept as a user's"
    assert crm_tasks(org) == crm_tasks(twin) == {}
    assert statuses(org) == statuses(twin)
    assert marks(org) == sync_marks(org) == {}
