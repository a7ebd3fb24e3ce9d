"""`tiersync plan-comms`: the communication plan per owner for the coming period."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from connector.classify.comms import TOUCH_PREFIX, touches_for
from connector.cli.app import app, console, fail, settings
from connector.cli.sync_cmds import CONNECTION, crm_errors
from connector.config import Settings
from connector.csv_cells import write_dicts
from connector.model import Tier
from connector.sync.owners import NO_OWNER
from connector.sync.state import TaskRow, TaskState, open_state
from connector.sync.tasks import period_of, period_offset, task_key


def planned_touches(
    results: list[dict[str, Any]], tasks: list[TaskRow], settings: Settings, start: dt.date, days: int
) -> list[dict[str, Any]]:
    """Every touch that comes due between ``start`` and ``start + days``: one per account, touch and
    period, skipping periods whose task already exists. A deferred touch is listed from the day it
    comes due, and a first touch waiting for the account's next period is not listed before it.
    ``tasks`` holds the task keys of these accounts (``StateStore.tasks_for``), in any order."""
    end = start + dt.timedelta(days=days)
    tasks = sorted(tasks, key=lambda t: t.key)  # of two deferred keys for one touch, the later period waits
    created = {t.key for t in tasks if t.status != TaskState.DEFERRED}
    waiting = {
        (t.account_id, t.action): (t.period_start, t.key) for t in tasks if t.status == TaskState.DEFERRED
    }
    due_on = {t.key: t.defer_until for t in tasks if t.status == TaskState.DEFERRED}
    plan = []
    for row in results:
        evidence = row.get("evidence") or {}
        for touch in touches_for(
            Tier(row["tier"]), evidence.get("revenue"), evidence.get("referrals"), settings.comms
        ):
            code = TOUCH_PREFIX + touch.code
            offset = period_offset(row["account_id"], touch.cadence_days, settings)
            period = period_of(start, touch.cadence_days, offset)
            held = waiting.get((row["account_id"], code))
            while period.start < end:
                key = task_key(row["account_id"], code, period)
                later = held is not None and period.start < held[0]
                if key not in created and not later:
                    day = max(period.start, start, due_on.get(key) or start)
                    plan.append(
                        {
                            "owner": row.get("owner_name") or row.get("owner_id") or NO_OWNER,
                            "owner_id": row.get("owner_id") or "",
                            "account_id": row["account_id"],
                            "account": row.get("name") or "",
                            "tier": row["tier"],
                            "touch": touch.title,
                            "from": day.isoformat(),
                        }
                    )
                period = period_of(period.end, touch.cadence_days, offset)
    return plan


def _order(item: dict[str, Any]) -> tuple[str, ...]:
    return (item["owner"], item["owner_id"], item["from"], item["account"], item["touch"])


@app.command("plan-comms")
def plan_comms(
    days: Annotated[int, typer.Option(min=1, help="How far ahead to plan.")] = 90,
    start: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Plan from this day (default: today).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the plan as CSV.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="Rows shown per owner.")] = 20,
) -> None:
    """Print the communication plan per owner: which touches come due, for whom, from when."""
    s = settings()
    assert s.state_path is not None
    if s.state_url is None and not s.state_path.exists():
        fail([f"{s.state_path}: no sync state yet; run `tiersync sync` (or `tiersync demo`) first"])
    with crm_errors():
        state = open_state(s)
    day = start.date() if start else (s.evidence.as_of or dt.date.today())
    plan: list[dict[str, Any]] = []
    accounts = 0
    try:  # a page of results and its accounts' task keys at a time: never the whole state at once
        for page in state.results_pages(CONNECTION):
            tasks = state.tasks_for(CONNECTION, [r["account_id"] for r in page])
            plan += planned_touches(page, tasks, s, day, days)
            accounts += len(page)
    finally:
        state.close()
    if not accounts:
        fail(["no classified accounts in the state yet; run `tiersync sync` first"])
    plan.sort(key=_order)
    owners: dict[str, list[dict[str, Any]]] = {}
    for item in plan:
        owners.setdefault(item["owner"], []).append(item)
    for owner, items in owners.items():
        table = Table(title=f"{escape(owner)}: {len(items)} touches from {day.isoformat()} for {days} days")
        for column in ("from", "account", "tier", "touch"):
            table.add_column(column, overflow="fold")
        for item in items[:limit]:
            table.add_row(item["from"], escape(item["account"]), item["tier"], escape(item["touch"]))
        if len(items) > limit:
            table.caption = f"… {len(items) - limit} more"
        console.print(table)
    console.print(f"{len(plan)} touches for {len(owners)} owners", highlight=False)
    if out is not None:
        write_dicts(out, ["owner", "owner_id", "account_id", "account", "tier", "touch", "from"], plan)
        console.print(f"wrote {out}")
