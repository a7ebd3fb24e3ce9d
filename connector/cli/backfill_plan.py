"""``tiersync backfill --plan``: what a full backfill would cost in API calls, and whether it fits today.

The CRM adapter counts the records and does the read arithmetic (``BackfillPlanner``); the write side is
measured here on the first page, classified exactly as the sync would: the share of accounts whose
write-back fields would change, and the tasks the first run would create through the sync's own task
decisions and workload budget (``sync.task_forecast``): one task per account, first touches spread over
their cadence, at most the budget per owner this week, the rest deferred. A backfill that does not fit runs in slices: each run
stops at ``sync.api_limit_share`` of the daily allowance (exit 4) and the next one resumes at its cursor.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from connector.classify.classifier import classify
from connector.config import Settings
from connector.crm.base import BackfillEstimate, BackfillPlanner, CrmError, CurrentValues, WriteCost
from connector.crm.factory import make_adapter
from connector.crm.mapping import MappingFileError
from connector.exit_codes import ExitCode
from connector.sync.budget import week_of
from connector.sync.desired import changes
from connector.sync.engine import utc_now
from connector.sync.runner import failure_of
from connector.sync.state import StateError, open_state
from connector.sync.task_forecast import TaskForecast, forecast_tasks


@dataclass(frozen=True)
class Rates:
    """Measured on the sample page: account updates per account, and the first run's tasks for the
    whole org (``tasks``: task writes per account, new and joined)."""

    updates: float
    tasks: float
    sampled: int
    forecast: TaskForecast = field(default_factory=lambda: TaskForecast(0, 0, 0, 0))


@dataclass(frozen=True)
class Budget:
    total: int
    today_left: int | None
    """Calls left today below ``api_limit_share`` (None when the CRM reports no allowance)."""
    days: int | None
    """Daily slices the backfill needs, today included (None: unknown, or a day's share is too small)."""


def measure(estimate: BackfillEstimate, settings: Settings, connection: str) -> Rates:
    """Classify the sample page as the sync would; count the accounts that would be written, and
    forecast the tasks the first run creates for the org within the workload budget (a task whose key
    the state already holds is not created again)."""
    sample = estimate.sample
    if sample is None or not sample.roster.accounts:
        return Rates(0.0, 0.0, 0)
    today = settings.evidence.as_of or utc_now().date()
    results = classify(sample.roster, settings, today)
    now = utc_now()
    updates = sum(
        1
        for c in results
        if changes(c, sample.current.get(c.account_id, CurrentValues()), settings, now, today)[0]
    )
    state = open_state(settings)
    try:
        known = state.tasks_for(connection, [c.account_id for c in results])
        load = list(state.task_load(connection, week_of(today)))  # read before the state closes
    finally:
        state.close()
    scale = max(estimate.accounts, len(results)) / len(results)
    forecast = forecast_tasks(results, known, load, settings, today, scale)
    accounts = max(estimate.accounts, len(results))
    return Rates(updates / len(results), (forecast.new + forecast.joined) / accounts, len(results), forecast)


def budget(estimate: BackfillEstimate, total: int, share: float) -> Budget:
    usage = estimate.usage
    if usage is None or not usage.limit:
        return Budget(total, None, None)
    per_day = math.floor(usage.limit * share)
    today_left = max(0, per_day - usage.used)
    if total <= today_left:
        return Budget(total, today_left, 1)
    usable = per_day - estimate.restart_calls
    if usable <= 0:
        return Budget(total, today_left, None)
    return Budget(total, today_left, 1 + math.ceil((total - today_left) / usable))


def plan_one(connection: str, s: Settings) -> tuple[ExitCode, list[str], Table | None, dict[str, Any]]:
    """The plan of one connection: exit code, problems, the table, the JSON record."""
    record: dict[str, Any] = {"event": "tiersync.backfill_plan", "connection": connection, "crm": s.crm}
    try:
        adapter = make_adapter(s)
        if not isinstance(adapter, BackfillPlanner):
            return ExitCode.USAGE, [f"backfill --plan is not supported for {s.crm}"], None, record
        estimate = adapter.estimate_backfill(s.sync.page_size)
        rates = measure(estimate, s, connection)
    except (CrmError, MappingFileError, StateError) as exc:
        code, problems = failure_of(exc) or (ExitCode.USAGE, [f"{s.crm}: {exc}"])
        return code, problems, None, record
    updates = estimate.write_cost(rates.updates, estimate.update_job_calls)
    tasks = estimate.write_cost(rates.tasks, estimate.upsert_job_calls)
    total = estimate.read_calls + updates.calls + tasks.calls
    share = s.sync.api_limit_share
    result = budget(estimate, total, share)
    record.update(_record(estimate, rates, updates, tasks, result, share))
    return ExitCode.OK, [], _table(connection, estimate, rates, updates, tasks, result, share), record


def _record(
    e: BackfillEstimate, rates: Rates, updates: WriteCost, tasks: WriteCost, result: Budget, share: float
) -> dict[str, Any]:
    return {
        "path": "bulk" if e.bulk else "rest",
        "accounts": e.accounts,
        "counts": e.counts,
        "pages": e.pages,
        "read_calls": e.read_calls,
        "write_calls": {"accounts": updates.calls, "tasks": tasks.calls},
        "total_calls": result.total,
        "bulk_query_jobs": e.bulk_jobs,
        "bulk_ingest_jobs": updates.jobs + tasks.jobs,
        "bulk_batches": updates.batches + tasks.batches,
        "api_used": e.usage.used if e.usage else None,
        "api_limit": e.usage.limit if e.usage else None,
        "api_limit_share": share,
        "calls_left_today": result.today_left,
        "fits_today": result.days == 1 if result.days is not None else None,
        "days": result.days,
        "assumptions": {
            "sampled_accounts": rates.sampled,
            "accounts_updated_share": round(rates.updates, 4),
            "task_writes_per_account": round(rates.tasks, 4),
            "evidence": "spread evenly over accounts",
            "bulk_status_polls_per_job": 2,
        },
        "tasks": {
            "new_this_week": rates.forecast.new,
            "joined": rates.forecast.joined,
            "deferred_by_budget": rates.forecast.deferred,
            "held_actions": rates.forecast.held,
        },
        "planner_calls": e.own_calls,
    }


def _table(
    connection: str,
    e: BackfillEstimate,
    rates: Rates,
    updates: WriteCost,
    tasks: WriteCost,
    result: Budget,
    share: float,
) -> Table:
    path = "Bulk API 2.0 jobs" if e.bulk else "REST pages"
    table = Table(title=f"Backfill plan for {connection} ({e.crm}): {e.accounts:,} accounts read as {path}")
    for column in ("what", "records", "API calls", "bulk jobs"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for kind, count in e.counts.items():
        table.add_row(f"  {kind}", f"{count:,}", "", "")
    table.add_row(
        "reads (run checks, queries, job polls, results)", "", f"{e.read_calls:,}", f"{e.bulk_jobs:,}"
    )
    updated = round(e.accounts * rates.updates)
    table.add_row(
        f"account updates ({rates.updates:.0%} of {rates.sampled:,} sampled change)",
        f"{updated:,}",
        f"{updates.calls:,}",
        f"{updates.jobs:,}",
    )
    table.add_row(
        "task writes this week (new within the workload budget, and joins)",
        f"{rates.forecast.new + rates.forecast.joined:,}",
        f"{tasks.calls:,}",
        f"{tasks.jobs:,}",
    )
    table.add_row("total", "", f"{result.total:,}", f"{e.bulk_jobs + updates.jobs + tasks.jobs:,}")
    table.caption = _tasks_line(rates.forecast) + "\n" + _verdict(e, result, share)
    table.caption_justify = "left"
    return table


def _tasks_line(f: TaskForecast) -> str:
    return (
        f"Tasks this week: {f.new:,} new within the workload budget ([tasks]), {f.joined:,} joins to open "
        f"tasks; {f.deferred:,} tasks deferred by the budget to later weeks; {f.held:,} actions held for "
        "their cadence or an open task."
    )


def _verdict(e: BackfillEstimate, result: Budget, share: float) -> str:
    lines = []
    if e.usage is None or result.today_left is None:
        lines.append("The CRM reports no daily API allowance: nothing to fit.")
    else:
        lines.append(
            f"Daily allowance: {e.usage.used:,} of {e.usage.limit:,} used; at {share:.0%} "
            f"(sync.api_limit_share) {result.today_left:,} calls are left today."
        )
        if result.days == 1:
            lines.append("Fits today.")
        elif result.days is None:
            lines.append("Does not fit: a day's share is smaller than what one run needs to start.")
        else:
            lines.append(
                f"Does not fit today: about {result.days} days of slices; each run stops at the share "
                "(exit 4) and the next one resumes where it stopped."
            )
    for name, (maximum, remaining) in e.allowances.items():
        lines.append(f"{name}: {remaining:,} of {maximum:,} left.")
    lines.append(
        "Assumes evidence spread evenly over accounts and 2 status polls per bulk job; updates and tasks "
        "are measured on the first page, tasks scaled to the org per owner and put through the workload "
        f"budget ([tasks]). The plan itself used {e.own_calls} calls."
    )
    return "\n".join(lines)


def json_line(record: dict[str, Any], code: ExitCode) -> str:
    return json.dumps({**record, "exit_code": int(code)}, default=str)
