"""``backfill --plan`` estimates tasks through the sync's own task decisions and workload budget: one
task per account, first touches spread over their cadence, at most the budget per owner this week,
the rest deferred. Checked against the first real sync of the same sandbox org, over real HTTPS."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.config import Settings
from connector.exit_codes import ExitCode
from tests.sync.conftest import make_org


@pytest.mark.parametrize("accounts", [150, 450], ids=["whole-org-sample", "first-page-sample"])
def test_the_backfill_plan_forecasts_the_first_syncs_budgeted_tasks(tmp_path: Path, accounts: int) -> None:
    for org in make_org(tmp_path, accounts, 11):
        config = org.write_config(tmp_path)
        result = CliRunner().invoke(app, ["--config", str(config), "backfill", "--plan"], env=org.cli_env())
        assert result.exit_code == ExitCode.OK, result.output
        record = json.loads(result.stdout.strip().splitlines()[-1])
        forecast = record["tasks"]
        text = " ".join(result.stdout.split())
        assert f"Tasks this week: {forecast['new_this_week']:,} new within the workload budget" in text
        assert f"{forecast['deferred_by_budget']:,} tasks deferred by the budget to later weeks" in text

        summary, plan = org.sync("full")
        assert summary.status == "ok", summary.message
        owners = {a["id"]: a["owner_id"] for a in org.clients()}
        cap = Settings().tasks.max_new_per_owner_per_week
        tasks = {r.crm_key: owners[r.account_id] for r in org.task_rows() if r.crm_id}
        sent = Counter(tasks.values())
        assert set(sent.values()) == {cap}, "the budget binds for every owner in this org"
        assert forecast["new_this_week"] == summary.tasks_created
        budgeted = {c.account_id for c in plan.tasks if c.kind == "defer" and "workload budget" in c.detail}
        held = [c for c in plan.tasks if c.kind == "defer" and "workload budget" not in c.detail]
        wanted = len(org.task_rows())  # every action the sync decided, sent or deferred
        assert forecast["new_this_week"] < wanted / 2, "not one task per wanted action"
        if accounts <= 200:  # one page: the sample is the org, the forecast is exact
            assert forecast["deferred_by_budget"] == len(budgeted)
            assert forecast["held_actions"] == len(held)
        else:
            assert abs(forecast["deferred_by_budget"] - len(budgeted)) <= 0.25 * len(budgeted)
