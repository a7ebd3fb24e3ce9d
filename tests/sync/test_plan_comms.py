"""`tiersync plan-comms`: the coming touches per owner, from the last sync's results."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from connector.classify.comms import TOUCH_PREFIX, touches_for
from connector.cli import app
from connector.cli.comms_cmds import planned_touches
from connector.config import Settings
from connector.model import Tier
from connector.sync.state import TaskRow, TaskState
from connector.sync.tasks import period_of, period_offset, task_key
from tests.sync.conftest import Org


def test_plan_lists_only_touches_not_yet_created_grouped_by_owner(org: Org, tmp_path: Path) -> None:
    org.sync("full")
    config = org.write_config(tmp_path)
    out = tmp_path / "comms.csv"
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "plan-comms", "--start", "2026-11-01", "--days", "60", "--out", str(out)],
        env=org.cli_env(),
    )
    assert result.exit_code == 0, result.output
    plan = pl.read_csv(out)
    # yearly surveys are spread over the year: about 60/365 of the clients come due in 60 days,
    # each once, on many different days
    surveys = plan.filter(pl.col("touch") == "Send the yearly satisfaction survey")
    assert 0 < surveys.height < 150
    assert surveys["account_id"].n_unique() == surveys.height
    assert surveys["from"].n_unique() >= 15
    monthly = plan.filter(pl.col("touch") == "Monthly call with the account lead")
    assert monthly.height > 0
    assert (monthly["from"] > "2026-11-01").all(), "only the next monthly period: this one's task exists"
    assert set(plan["owner_id"].cast(pl.String)) <= {a["owner_id"] for a in org.clients()}
    names = set(plan["owner"])
    assert names and all(" " in name and not name[0].isdigit() for name in names), "names, not ids"
    assert all(f"{name}:" in result.stdout for name in names)
    assert "touches for" in result.stdout


def test_plan_comms_without_state_says_what_to_run(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text(f'state_path = "{tmp_path / "none.sqlite"}"\n')
    result = CliRunner().invoke(app, ["--config", str(config), "plan-comms"])
    assert result.exit_code == 2
    assert "run `tiersync sync`" in result.stderr


def test_a_touch_whose_task_exists_is_not_planned_and_a_deferred_one_from_its_day() -> None:
    settings, start, account = Settings(), dt.date(2026, 11, 1), "001PLAN"
    row = {"account_id": account, "tier": "good", "evidence": {"revenue": 50_000.0}, "name": "Acme"}
    touch = touches_for(Tier.GOOD, 50_000.0, None, settings.comms)[0]
    code = TOUCH_PREFIX + touch.code
    period = period_of(start, touch.cadence_days, period_offset(account, touch.cadence_days, settings))
    key = task_key(account, code, period)
    first = max(period.start, start).isoformat()

    def planned(*tasks: TaskRow) -> list[str]:
        plan = planned_touches([row], list(tasks), settings, start, touch.cadence_days)
        return [p["from"] for p in plan if p["touch"] == touch.title]

    assert first in planned()
    task = TaskRow(key, account, code, period.start, period.end, "00T1", TaskState.OPEN)
    assert first not in planned(task), "this period's task exists"
    later = start + dt.timedelta(days=10)
    waiting = dataclasses.replace(task, crm_id=None, status=TaskState.DEFERRED, defer_until=later)
    assert max(later, period.start).isoformat() in planned(waiting) and first not in planned(waiting)
