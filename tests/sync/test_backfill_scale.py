"""Backfills at scale: Bulk API 2.0 against REST on identical orgs, the budget planner against the call
ledger, and a backfill sliced by the daily allowance across a simulated day boundary.

Every org is a sandbox Salesforce over real HTTPS; identical seeds give identical orgs, so final CRM
states compare by account name (``Org.snapshot``).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.exit_codes import ExitCode
from connector.sandbox.faults import FaultPlan, RecordFault
from connector.sync.state import State
from tests.sync.conftest import AS_OF, Org, make_org

ACCOUNTS = 2000
SEED = 5
REST = {"bulk_threshold": 10**9}
BULK = {"bulk_threshold": 0, "bulk_page_size": 25_000}
PER_ACTION = {
    "one_task_per_action": True,
    "spread_cadences": False,
    "max_new_per_owner_per_week": 0,
    "max_open_per_owner": 0,
}
"""Every action its own task at once, unbudgeted: the most writes a backfill can have to make."""


def org_at(path: Path, accounts: int = ACCOUNTS, seed: int = SEED, **kwargs: Any) -> Any:
    return contextlib.contextmanager(make_org)(path, accounts, seed, **kwargs)


def write_config(org: Org, path: Path, salesforce: dict[str, Any]) -> Path:
    info = org.sandbox.salesforce_settings()
    extra = "\n".join(f"{key} = {value}" for key, value in salesforce.items())
    path.write_text(
        f"""crm = "salesforce"
state_path = "{org.workdir / "state.sqlite"}"
[evidence]
as_of = {AS_OF.isoformat()}
[sync]
page_size = 200
[tasks]
{chr(10).join(f"{key} = {str(value).lower()}" for key, value in PER_ACTION.items())}
[salesforce]
instance_url = "{info["instance_url"]}"
ca_bundle = "{info["ca_bundle"]}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def cli(org: Org, config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(config), *args], env=org.cli_env())


def plan(org: Org, config: Path) -> dict[str, Any]:
    result = cli(org, config, "backfill", "--plan")
    assert result.exit_code == ExitCode.OK, result.output
    assert "Backfill plan for default (salesforce)" in result.stdout
    record: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["event"] == "tiersync.backfill_plan"
    return record


@dataclass
class Backfilled:
    org: Org
    plan: dict[str, Any]
    calls: Counter[str]

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Backfilled]]:
    """The same org twice: backfilled through REST, and through Bulk; each planned first."""
    root = tmp_path_factory.mktemp("pair")
    with contextlib.ExitStack() as stack:
        done = {}
        for name, salesforce in (("rest", REST), ("bulk", BULK)):
            org = stack.enter_context(org_at(root / name))
            estimate = plan(org, write_config(org, root / f"{name}.toml", salesforce))
            org.sandbox.ledger.reset()
            summary, _ = org.sync("full", salesforce=salesforce, tasks=PER_ACTION)
            assert summary.status == "ok", summary.message
            calls = Counter(c.path.split("/v60.0/")[-1].split("/")[0] for c in org.sandbox.ledger.calls())
            done[name] = Backfilled(org, estimate, calls)
        yield done


def test_bulk_and_rest_backfills_end_in_the_same_crm_state(pair: dict[str, Backfilled]) -> None:
    rest, bulk = pair["rest"].org.snapshot(), pair["bulk"].org.snapshot()
    assert len(rest["accounts"]) == ACCOUNTS and len(rest["tasks"]) > ACCOUNTS
    assert all(values[0] for values in bulk["accounts"].values()), "every account got a tier"
    assert bulk == rest


def test_the_bulk_backfill_makes_far_fewer_api_calls(pair: dict[str, Backfilled]) -> None:
    rest, bulk = pair["rest"], pair["bulk"]
    print(
        f"\n{ACCOUNTS} accounts: REST {rest.total} calls {dict(rest.calls)}; Bulk {bulk.total} calls {dict(bulk.calls)}"
    )
    assert bulk.calls["jobs"] > 0 and rest.calls["jobs"] == 0
    assert bulk.calls["composite"] == 0, "account updates and task upserts went as ingest jobs"
    assert bulk.total * 2.5 < rest.total


@pytest.mark.parametrize("path", ["rest", "bulk"])
def test_the_plan_is_within_10_percent_of_the_real_backfill(pair: dict[str, Backfilled], path: str) -> None:
    done = pair[path]
    estimate = done.plan
    print(f"\n{path}: planned {estimate['total_calls']} calls, the backfill made {done.total}")
    assert estimate["path"] == path
    assert estimate["counts"]["accounts"] == ACCOUNTS
    assert abs(estimate["total_calls"] - done.total) <= 0.1 * done.total
    assert estimate["fits_today"] is True and estimate["days"] == 1
    assert (estimate["bulk_query_jobs"] > 0) == (path == "bulk")


def test_a_backfill_sliced_by_the_daily_allowance_resumes_the_next_day_and_converges(
    pair: dict[str, Backfilled], tmp_path: Path
) -> None:
    salesforce = {"bulk_threshold": 0, "bulk_page_size": 500}
    with org_at(tmp_path / "sliced") as org:
        config = write_config(org, tmp_path / "sliced.toml", salesforce)
        estimate = plan(org, config)
        # a day's share fits the start of a run plus most of the work, not all of it
        share_calls = math.ceil(0.6 * (estimate["total_calls"] + estimate["read_calls"]))
        limit = math.ceil(share_calls / 0.8)
        org.sf.set_daily_api_limit(limit)
        org.sf.set_api_usage(0)
        replanned = plan(org, config)
        org.sf.set_api_usage(0)
        assert replanned["days"] == 2, replanned

        first = cli(org, config, "backfill", "--quiet")
        assert first.exit_code == ExitCode.LIMIT, first.output
        assert "daily API calls" in first.stderr
        assert org.snapshot() != pair["rest"].org.snapshot(), "the first slice leaves work for the next day"
        state = State(org.workdir / "state.sqlite")
        cursor = state.watermark("default", "backfill_cursor")
        state.close()
        assert cursor is not None, "finished pages moved the backfill cursor"

        org.sf.set_api_usage(0)  # the next day
        second = cli(org, config, "backfill", "--quiet")
        assert second.exit_code == ExitCode.OK, second.output
        resumed = json.loads(second.stdout.strip().splitlines()[-1])
        assert 0 < resumed["accounts_read"] < ACCOUNTS, "the second slice starts after the cursor"
        assert org.snapshot() == pair["rest"].org.snapshot()


def test_locked_rows_in_ingest_jobs_are_retried_per_record_and_converge(tmp_path: Path) -> None:
    with org_at(tmp_path / "twin", 300, 9) as twin, org_at(tmp_path / "locked", 300, 9) as locked:
        twin.sync("full", salesforce=REST, tasks=PER_ACTION)
        locked.sandbox.faults.configure(FaultPlan(seed=3, record_rates={RecordFault.LOCK_ROW: 0.1}))
        # every request draws from the fault stream, so 4 tries would leave one of ~1,300 records
        # locked about one seed in eight; 8 tries make convergence the rule, not the seed's luck
        summary, _ = locked.sync("full", salesforce=BULK, sync={"record_retry_attempts": 8}, tasks=PER_ACTION)
        assert summary.status == "ok", summary.message
        failed = [c for c in locked.sandbox.ledger.calls() if c.path.endswith("failedResults")]
        assert failed and sum(c.records for c in failed) > 10, "locked rows came back as failed results"
        assert not [c for c in locked.sandbox.ledger.calls() if "composite" in c.path]
        assert locked.snapshot() == twin.snapshot()


def test_backfill_plan_says_it_is_not_supported_for_a_crm_without_a_planner(tmp_path: Path) -> None:
    with org_at(tmp_path / "hs", 20, 1, crm="hubspot") as org:
        result = cli(org, org.write_config(tmp_path), "backfill", "--plan")
        assert result.exit_code == ExitCode.USAGE, result.output
        assert "backfill --plan is not supported for hubspot" in result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1])["exit_code"] == ExitCode.USAGE
        assert org.writes() == 0
