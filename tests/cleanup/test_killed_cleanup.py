"""A cleanup killed (SIGKILL) after the CRM applied a page of task closes or deletes, before that page's
state transaction committed: the state still holds those tasks open. The next cleanup must finish the
job as if nothing had happened: nothing closed or commented twice, the state ending with the status an
uninterrupted run records, a later delete cleanup taking the tasks tiersync closed, and the summary
counting each task once (as closed or deleted by tiersync, never as one a user completed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.exit_codes import ExitCode
from connector.sandbox.faults import Fault, FaultPlan
from connector.sync.state import State, TaskState
from tests.cleanup.conftest import make_bare_org
from tests.cleanup.test_cleanup import cleanup, complete, state_tasks, task_rows
from tests.sync.conftest import Org, kill_when

ACCOUNTS = 400
"""Enough clients for more tasks than one cleanup page (200), so the next run has pages of its own."""
COMMENT = "Closed by tiersync cleanup on "
USERS_DONE = 3
UNLIMITED = {"max_new_per_owner_per_week": 0, "max_open_per_owner": 0}
"""No workload budget: every due task goes out in the first sync."""
SUMMARY = re.compile(r"(\d+) tasks deleted, (\d+) closed, (\d+) completed by users kept")


@pytest.fixture
def org(tmp_path: Path, crm: str) -> Iterator[Org]:
    yield from make_bare_org(tmp_path / "org", crm, accounts=ACCOUNTS)


@pytest.fixture
def twin(tmp_path: Path, crm: str) -> Iterator[Org]:
    yield from make_bare_org(tmp_path / "twin", crm, accounts=ACCOUNTS)


@pytest.fixture(params=["close", "delete"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def synced(org: Org) -> None:
    """Fields set up, a full sync, and the first tasks (by key) completed by their owners."""
    org.setup()
    summary, _ = org.sync("full", tasks=UNLIMITED)
    assert summary.status == "ok", summary.message
    first = sorted(task_rows(org), key=lambda t: str(t["key"]))[:USERS_DONE]
    for task in first:
        complete(org, task["id"])


def counts(output: str) -> tuple[int, int, int]:
    """(deleted, closed, kept by users) from a cleanup's summary line."""
    found = SUMMARY.search(output)
    assert found is not None, output
    deleted, closed, kept = found.groups()
    return int(deleted), int(closed), int(kept)


def crm_tasks(org: Org) -> dict[str, tuple[str | None, int]]:
    """Each live task's key: its status and how often the cleanup comment is in its text."""
    return {t.key: (t.status, t.body.count(COMMENT)) for t in org.tasks()}


def statuses(org: Org) -> dict[str, str]:
    return {key: str(row["status"]) for key, row in state_tasks(org).items()}


def marks(org: Org) -> dict[str, str]:
    """The task ends a cleanup marked ahead of its CRM writes and has not unmarked."""
    path = org.settings().state_path
    assert path is not None
    state = State(path)
    try:
        return state.task_ends("default")
    finally:
        state.close()


def completed_keys(org: Org) -> set[str]:
    return {str(t["key"]) for t in task_rows(org) if t["status"] in ("Completed", "COMPLETED")}


def closed_in_crm(org: Org) -> int:
    return len(completed_keys(org))


def kill_mid_page(org: Org, tmp_path: Path, mode: str) -> None:
    """``cleanup --yes --tasks MODE`` through the CLI, its writes answered late (applied first): killed
    once the first write of its first page has landed, while its answer is still on the way."""
    before = closed_in_crm(org), len(task_rows(org))
    org.sandbox.faults.configure(
        FaultPlan(request_rates={Fault.SLOW: 1.0}, slow_seconds=1.0, only_writes=True, answer_late=True)
    )
    config = org.write_config(tmp_path)
    args = ["--config", str(config), "cleanup", "--yes", "--tasks", mode, "-q"]
    process = subprocess.Popen(
        [sys.executable, "-m", "connector", *args],
        env={**os.environ, **org.cli_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(org, process, lambda: (closed_in_crm(org), len(task_rows(org))) != before)
    org.sandbox.faults.configure(FaultPlan())


def test_a_cleanup_killed_between_the_crm_write_and_the_state_commit_converges_on_the_next_run(
    org: Org, twin: Org, tmp_path: Path, mode: str
) -> None:
    synced(org)
    synced(twin)
    sent = statuses(org)
    tasks = len(task_rows(org))
    assert tasks > 200, "more than one cleanup page of tasks"

    expected = cleanup(twin, tmp_path, "--yes", "--tasks", mode)
    assert expected.exit_code == ExitCode.OK, expected.output

    live, users = {str(t["key"]) for t in task_rows(org)}, completed_keys(org)
    kill_mid_page(org, tmp_path, mode)
    if mode == "close":
        finished = completed_keys(org) - users
    else:
        finished = live - {str(t["key"]) for t in task_rows(org)}
    assert finished, "the killed run closed or deleted tasks in the CRM"
    assert statuses(org) == sent, "and its page of state writes never committed"
    assert set(marks(org).values()) == {"closed" if mode == "close" else "done"}, "but its marks did"
    assert finished <= set(marks(org))

    planned = cleanup(org, tmp_path, "--tasks", mode)
    assert planned.exit_code == ExitCode.OK, planned.output
    line = f"tasks: {len(finished)} finished in the CRM by an interrupted cleanup, to record"
    assert line in planned.stdout
    assert statuses(org) == sent and finished <= set(marks(org)), "a plan records nothing"

    resumed = cleanup(org, tmp_path, "--yes", "--tasks", mode)
    assert resumed.exit_code == ExitCode.OK, resumed.output
    assert counts(resumed.stdout) == counts(expected.stdout), "each task counted once, as the twin's run did"
    assert crm_tasks(org) == crm_tasks(twin), "nothing closed or commented twice"
    assert statuses(org) == statuses(twin)

    assert marks(org) == {}
    if mode == "close":  # tiersync closed them all: a delete cleanup takes them, and only them
        for each in (org, twin):
            deleted = cleanup(each, tmp_path, "--yes")
            assert deleted.exit_code == ExitCode.OK, deleted.output
            assert counts(deleted.stdout) == (tasks - USERS_DONE, 0, USERS_DONE), deleted.stdout
        assert crm_tasks(org) == crm_tasks(twin)
        assert statuses(org) == statuses(twin)


def test_a_sync_between_the_killed_cleanup_and_the_next_records_its_closes_as_tiersync_s(
    org: Org, twin: Org, tmp_path: Path, crm: str
) -> None:
    """A scheduled full sync runs before anyone reruns the cleanup: it reads the owners' open tasks
    back, finds the killed page's tasks completed, and must record them as closed by tiersync (a
    user's completion would be ``done``), so that the cleanup run after it ends as the twin's."""
    synced(org)
    synced(twin)
    sent = statuses(org)
    expected = cleanup(twin, tmp_path, "--yes", "--tasks", "close")
    assert expected.exit_code == ExitCode.OK, expected.output
    users = completed_keys(org)
    kill_mid_page(org, tmp_path, "close")
    killed = completed_keys(org) - users
    assert killed and statuses(org) == sent

    summary, _ = org.sync("full")
    assert summary.status == "ok", summary.message
    rows = state_tasks(org)
    ours = {k: str(r["status"]) for k, r in rows.items() if (r["group_key"] or k) in killed}
    assert ours and set(ours.values()) == {TaskState.CLOSED}, "read back, and recorded as tiersync's closes"

    resumed = cleanup(org, tmp_path, "--yes", "--tasks", "close")
    assert resumed.exit_code == ExitCode.OK, resumed.output
    assert counts(resumed.stdout) == counts(expected.stdout)
    assert crm_tasks(org) == crm_tasks(twin)
    theirs = statuses(twin)
    assert {k: theirs[k] for k in ours} == ours
    assert marks(org) == {}


@pytest.mark.parametrize("crm", ["hubspot"])
def test_a_killed_cleanup_s_marks_on_tasks_still_open_are_dropped_by_the_next_sync_that_sees_them(
    org: Org, tmp_path: Path
) -> None:
    """The killed cleanup is never run again. Its marks on tasks it never reached say ``closed``;
    a sync that reads them back open drops them, so that a user who completes one later is
    recorded as the user, and a delete cleanup keeps that task. HubSpot only: it closes a page of
    200 in two batch calls of 100, so a kill after the first leaves half the page marked and open
    (Salesforce's one collection call of 200 closes a whole page; the state test covers the rule)."""
    synced(org)
    users = completed_keys(org)
    kill_mid_page(org, tmp_path, "close")
    killed = completed_keys(org) - users
    still_open = set(marks(org)) - killed
    assert killed and still_open, "the kill left marks on tasks closed and on tasks still open"

    summary, _ = org.sync("full")
    assert summary.status == "ok", summary.message
    assert set(marks(org)) == killed, "the open tasks' marks are dropped, the closed ones' kept"

    later = sorted(still_open)[0]
    (task,) = [t for t in task_rows(org) if t["key"] == later]
    complete(org, task["id"])
    org.clock.advance(hours=1)
    summary, _ = org.sync("full")
    assert summary.status == "ok", summary.message
    rows = state_tasks(org)
    assert {str(r["status"]) for k, r in rows.items() if (r["group_key"] or k) == later} == {TaskState.DONE}

    deleted = cleanup(org, tmp_path, "--yes")
    assert deleted.exit_code == ExitCode.OK, deleted.output
    assert later in completed_keys(org), "a user's work is kept"
    assert counts(deleted.stdout)[2] == USERS_DONE + 1
