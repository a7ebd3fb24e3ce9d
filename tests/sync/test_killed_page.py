"""A run killed mid-page loses that page's state writes (results, tier history, task confirmations),
not its task keys, which are written ahead. The next run must redo the page: the accounts it chose
were changed since the watermark, which did not move, even though the killed run's own writes to
them now look like tiersync's (and the change query leaves tiersync's own writes out)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from connector.sandbox.faults import Fault, FaultPlan
from connector.sync.state import State, TaskState
from tests.sync.conftest import Org, kill_when
from tests.sync.test_sync_end_to_end import duplicate_task_keys

PAGE = {"page_size": 1000}
"""One page holds every edited account, so its account write takes two calls (200 records each)."""
SWAP = {"poor": "amazing", "amazing": "poor", "good": "poor", "okay": "amazing"}


def saved(org: Org) -> tuple[dict[str, Any], dict[str, int]]:
    """The state's latest result per account and its task keys per status."""
    path = org.settings().state_path
    assert path is not None
    state = State(path)
    try:
        return {r["account_id"]: r for r in state.results("default")}, state.task_counts("default")
    finally:
        state.close()


def users_edit(org: Org) -> dict[str, str]:
    """After a full sync, a user sets a manual tier on every client (an edit of the account row
    itself, unlike an invoice's): ``{account id: tier it asks for}``."""
    org.clock.advance(hours=1)  # the org was seeded now: keep its evidence out of the look-back
    summary, _ = org.sync("full", sync=PAGE)
    assert summary.status == "ok", summary.message
    org.clock.advance(minutes=5)
    wanted = {a["id"]: SWAP[a["tier"]] for a in org.clients()}
    for account_id, tier in wanted.items():
        org.update_account(account_id, {"override_tier": tier})
    org.clock.advance(minutes=1)
    return wanted


def kill_mid_page(org: Org, tmp_path: Path, wanted: dict[str, str]) -> None:
    """An incremental sync through the CLI, killed once the first of its page's (slowed) account
    writes reached the CRM, before the page's state writes could commit."""
    # the CLI runs on the real clock: bring the sandbox's there too, so that the killed run's writes
    # carry modification stamps next to the last_synced_at they set, as on a real CRM
    org.clock.advance(seconds=(dt.datetime.now(dt.UTC) - org.clock()).total_seconds())
    org.sandbox.faults.configure(
        FaultPlan(request_rates={Fault.SLOW: 1.0}, slow_seconds=0.5, only_writes=True)
    )
    config = org.write_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace("page_size = 200", "page_size = 1000"))
    process = subprocess.Popen(
        [sys.executable, "-m", "connector", "--config", str(config), "sync", "--quiet"],
        env={**os.environ, **org.cli_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(org, process, lambda: any(org.written(a)["tier"] == tier for a, tier in wanted.items()))
    org.sandbox.faults.configure(FaultPlan())


def test_the_page_a_killed_run_wrote_is_redone_by_the_next_run_without_duplicate_tasks(
    org: Org, twin: Org, tmp_path: Path
) -> None:
    wanted = users_edit(org)
    assert users_edit(twin) == wanted
    summary, _ = twin.sync(sync=PAGE)
    assert summary.accounts_read == len(wanted) > 200, "one page of edited accounts, two write calls"
    expected_results, expected_tasks = saved(twin)

    before_kill = saved(org)
    kill_mid_page(org, tmp_path, wanted)
    written = [a for a, tier in wanted.items() if org.written(a)["tier"] == tier]
    assert written, "the killed run's account write landed"
    assert saved(org) == before_kill, "and its page of state writes never committed"

    org.clock.advance(minutes=1)
    summary, _ = org.sync(sync=PAGE)
    assert summary.status == "ok", summary.message
    assert org.snapshot() == twin.snapshot()
    assert duplicate_task_keys(org) == []
    results, tasks = saved(org)
    assert results == expected_results, "the next run saved the results the killed page lost"
    assert TaskState.PENDING not in tasks
    assert tasks == expected_tasks
