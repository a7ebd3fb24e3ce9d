"""A classified roster with hostile CRM values, and a sync state holding two runs of it.

The state is written through ``connector.sync.state.State`` exactly as the sync engine writes it
(results payloads, tier history per run, task keys), with a known answer: every tenth poor client
was good before the last run (it dropped), every tenth amazing one was okay (it rose), and each
client's playbook tasks are due either a week or two months after the first run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connector.classify.classifier import classify_frames, to_classifications
from connector.config import Settings
from connector.crm.base import TaskSpec
from connector.frames import RosterFrames
from connector.report.sources import ATTRIBUTE_COLUMNS
from connector.sample_data import generate
from connector.sync.engine import result_payload
from connector.sync.state import State, StateStore
from connector.sync.tasks import Period, WantedTask, task_key

AS_OF = dt.date(2026, 11, 1)
FIRST_RUN = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
LAST_RUN = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
REPORT_DAY = dt.date(2026, 11, 1)
SCRIPT_NAME = "<script>alert(1)</script>"
TAGS_NAME = '"quotes" & <b>tags</b>'
EVIL_INDUSTRY = '<b>Soft</b><a href="javascript:alert(2)">ware</a><img src=x onerror=alert(3)>'
"""Plotly draws <b> and <a> inside chart labels: only escaping keeps this one text."""
EVIL_OWNER = "<i>owner</i>"


@dataclass
class Classified:
    frames: RosterFrames
    results: pl.DataFrame


def hostile_roster(accounts: int, seed: int) -> RosterFrames:
    """A generated roster where two poor clients have names that are HTML, the amazing clients'
    industry is an HTML payload, and one owner id is markup."""
    frames = generate(accounts, seed=seed, as_of=AS_OF).frames
    tiers = classify_frames(frames, Settings(), AS_OF).select("account_id", "tier")
    poor = tiers.filter(pl.col("tier") == "poor")["account_id"].to_list()
    amazing = tiers.filter(pl.col("tier") == "amazing")["account_id"].to_list()
    names = {poor[0]: SCRIPT_NAME, poor[10]: TAGS_NAME}
    accounts_frame = frames.accounts.with_columns(
        pl.col("id").replace_strict(names, default=pl.col("name")).alias("name"),
        pl.when(pl.col("id").is_in(amazing))
        .then(pl.lit(EVIL_INDUSTRY))
        .otherwise(pl.col("industry"))
        .alias("industry"),
        pl.when(pl.col("id") == poor[0])
        .then(pl.lit(EVIL_OWNER))
        .otherwise(pl.col("owner_id"))
        .alias("owner_id"),
    )
    frames.accounts = accounts_frame
    return frames


@pytest.fixture(scope="session")
def classified() -> Classified:
    frames = hostile_roster(400, seed=11)
    return Classified(frames, classify_frames(frames, Settings(), AS_OF))


def previous_tiers(results: pl.DataFrame) -> dict[str, str]:
    """The planted tiers before the last run: most unchanged, some dropped, some rose."""
    previous = dict(results.select("account_id", "tier").iter_rows())
    for tier, before in (("poor", "good"), ("amazing", "okay")):
        ids = results.filter(pl.col("tier") == tier)["account_id"].to_list()
        for account_id in ids[::10]:
            previous[account_id] = before
    return previous


def _payload(c: Any, row: dict[str, Any]) -> dict[str, Any]:
    """One result row exactly as ``SyncEngine._save_results`` stores it (no owner name, no override)."""
    attributes = {k: row[k] for k in ATTRIBUTE_COLUMNS}
    return result_payload(c, attributes, owner_name=None, override_tier=None)


def write_state(state: StateStore, results: pl.DataFrame) -> None:
    """Two runs of ``results`` into ``state`` (either store), as the module docstring plants them."""
    previous = previous_tiers(results)
    classifications = to_classifications(results)
    rows = {r["account_id"]: r for r in results.iter_rows(named=True)}
    first = state.run_started("default", "full", FIRST_RUN)
    for c in classifications:
        before = previous[c.account_id]
        state.record_tier_change(
            "default",
            c.account_id,
            tier=before,
            computed_tier=before,
            previous_tier=None,
            now=FIRST_RUN,
            run_id=first,
        )
    state.run_ended(first, "ok", {}, FIRST_RUN + dt.timedelta(minutes=5))
    last = state.run_started("default", "incremental", LAST_RUN)
    for c in classifications:
        before = previous[c.account_id]
        if before != c.tier.value:
            state.record_tier_change(
                "default",
                c.account_id,
                tier=c.tier.value,
                computed_tier=c.tier.value,
                previous_tier=before,
                now=LAST_RUN + dt.timedelta(seconds=30),
                run_id=last,
            )
    state.save_results("default", [_payload(c, rows[c.account_id]) for c in classifications], last, LAST_RUN)
    wanted = []
    for i, c in enumerate(classifications):
        for action in c.actions:
            period = Period(FIRST_RUN.date(), FIRST_RUN.date() + dt.timedelta(days=90))
            due = FIRST_RUN.date() + dt.timedelta(days=7 if i % 2 == 0 else 60)
            spec = TaskSpec(task_key(c.account_id, action, period), c.account_id, c.owner_id, action, "", due)
            wanted.append(WantedTask(spec, action, period))
    state.tasks_pending("default", wanted, FIRST_RUN)
    for i, task in enumerate(wanted):
        if i % 3 == 0:
            state.task_finished("default", task.spec.key, "done", LAST_RUN)
        else:
            state.task_confirmed("default", task.spec.key, f"00T{i:08d}")
    state.run_ended(last, "ok", {}, LAST_RUN + dt.timedelta(minutes=5))


@pytest.fixture(scope="session")
def state_path(classified: Classified, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("state") / "tiersync-state.sqlite"
    state = State(path)
    try:
        write_state(state, classified.results)
    finally:
        state.close()
    return path
