"""`tiersync demo`: the whole product on the built-in sandbox CRM, for a newcomer with no CRM account."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import SecretStr
from rich.markup import escape

from connector.cli.app import TIER_STYLE, app, console, settings
from connector.cli.sync_cmds import CONNECTION, adapter_for, crm_errors
from connector.config import HubSpotSettings, SalesforceSettings, Settings
from connector.model import Tier, Trait
from connector.report import build_report_data, render_html, source_from_state
from connector.sync.engine import SyncEngine
from connector.sync.state import open_state

if TYPE_CHECKING:  # the sandbox loads only for `demo` itself, never for `sync`
    from connector.sandbox.runtime import Sandbox


def demo_settings(base: Settings, sandbox: Sandbox, crm: str, out: Path) -> Settings:
    """The user's settings (thresholds, playbook) pointed at the sandbox, with state in ``out``."""
    update: dict[str, Any] = {
        "crm": crm,
        "state_path": out / "tiersync-state.sqlite",
        "state_url": None,  # the demo's state is its own file, never a shared database
        # the sandbox was seeded seconds ago on this machine's clock: no skew to look back over
        "sync": base.sync.model_copy(update={"lookback_minutes": 0}),
    }
    if crm == "salesforce":
        sf = sandbox.salesforce_settings()
        update["salesforce"] = SalesforceSettings(
            instance_url=sf["instance_url"],
            session_id=SecretStr(sf["session_id"]),
            ca_bundle=Path(sf["ca_bundle"]),
        )
    else:
        hs = sandbox.hubspot_settings()
        update["hubspot"] = HubSpotSettings(
            host=hs["host"], access_token=SecretStr(hs["access_token"]), ca_bundle=Path(hs["ca_bundle"])
        )
    return base.model_copy(update=update)


def _field(record: dict[str, Any], crm: str, name: str) -> Any:
    key = {"salesforce": f"Tiersync_{name}__c", "hubspot": f"tiersync_{name.lower()}"}[crm]
    if crm == "hubspot":
        return (record.get("properties") or {}).get(key)
    return record.get(key)


@app.command()
def demo(
    accounts: Annotated[int, typer.Option(min=1, help="Client accounts to seed in the sandbox CRM.")] = 2000,
    crm: Annotated[str, typer.Option(help="salesforce or hubspot.")] = "salesforce",
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    out: Annotated[Path, typer.Option(help="Folder for state, results and the sandbox snapshot.")] = Path(
        "demo"
    ),
) -> None:
    """Start the sandbox CRM, seed it, set up fields, plan, sync, and show the result as the CRM holds it."""
    base = settings()
    out.mkdir(parents=True, exist_ok=True)
    from connector.sandbox.runtime import start

    with console.status(f"starting the {crm} sandbox with {accounts} accounts…"):
        sandbox = start(crm, accounts=accounts, seed=seed, as_of=base.evidence.as_of, workdir=out.resolve())
    try:
        s = demo_settings(base, sandbox, crm, out)
        assert s.state_path is not None
        if s.state_path.exists():
            s.state_path.unlink()  # a fresh org deserves fresh state
        adapter = adapter_for(s)
        with crm_errors():
            lines = adapter.setup_fields(s.value_labels(), False)
            console.print(f"[bold]setup-fields[/bold]: {len(lines)} steps", highlight=False)
            state = open_state(s)
            engine = SyncEngine(adapter, s, state, CONNECTION)
            _, plan = engine.run("full", dry_run=True)
            console.print(
                f"[bold]plan[/bold]: {plan.accounts_changed} of {plan.accounts_read} accounts to update, "
                f"{sum(1 for t in plan.tasks if t.kind == 'create')} tasks to create",
                highlight=False,
            )
            with console.status("syncing…"):
                summary, _ = engine.run("full")
            console.print(
                f"[bold]sync[/bold]: {summary.status}, {summary.accounts_updated} accounts written, "
                f"{summary.tasks_created} tasks created (at most {s.tasks.max_new_per_owner_per_week} new per "
                f"owner this week), {summary.tasks_deferred} deferred, {summary.api_calls} API calls",
                highlight=False,
            )
            again, _ = engine.run("incremental")
            console.print(
                f"[bold]re-sync[/bold]: {again.accounts_updated} accounts written (nothing changed), "
                f"{again.api_calls} API calls",
                highlight=False,
            )
            day = s.evidence.as_of or dt.date.today()
            data = build_report_data(
                source_from_state(state, CONNECTION, f"demo state {s.state_path}"), s, day
            )
            state.close()
        _show(sandbox, crm, s)
        if crm == "salesforce" and sandbox.salesforce is not None:
            snapshot = out / "sandbox.sqlite"
            sandbox.salesforce.to_sqlite(snapshot)
            console.print(f"sandbox CRM snapshot: {snapshot}")
        report = out / "report.html"
        report.write_text(render_html(data), encoding="utf-8")
        console.print(f"[bold]report[/bold]: {escape(str(report.resolve()))}", highlight=False)
    finally:
        sandbox.stop()


def _records(sandbox: Sandbox, crm: str) -> list[dict[str, Any]]:
    """Every seeded client as the CRM holds it, with its tasks (one pass over each object)."""
    ids = set(sandbox.account_ids.get(crm, {}).values())
    if crm == "salesforce" and sandbox.salesforce is not None:
        tasks: dict[str, list[dict[str, Any]]] = {}
        for task in sandbox.salesforce.records("Task"):
            tasks.setdefault(task.get("WhatId") or "", []).append(task)
        accounts = [a for a in sandbox.salesforce.records("Account") if a["Id"] in ids]
        return [{"record": a, "tasks": tasks.get(a["Id"], [])} for a in accounts]
    shown = [sandbox.show(crm, i) for i in sorted(ids)]
    return [r for r in shown if r is not None]


def _show(sandbox: Sandbox, crm: str, s: Settings) -> None:
    records = _records(sandbox, crm)
    tiers = Counter(_field(r["record"], crm, "Tier") for r in records)
    total = max(len(records), 1)
    console.print(
        "[bold]tiers in the CRM[/bold]  "
        + "  ".join(
            f"[{TIER_STYLE[t]}]{t.value}[/]: {tiers.get(t.value, 0)} ({tiers.get(t.value, 0) / total:.0%})"
            for t in Tier
        )
    )
    traits: Counter[str] = Counter()
    for r in records:
        value = _field(r["record"], crm, "Traits") or ""
        traits.update(v for v in value.split(";") if v)
    console.print(
        "[bold]traits[/bold]  " + "  ".join(f"{s.label(Trait(t))}: {n}" for t, n in traits.most_common()),
        highlight=False,
    )
    examples = [r for r in records if _field(r["record"], crm, "Traits")][:3]
    for r in examples:
        record = r["record"]
        name = record.get("Name") or (record.get("properties") or {}).get("name")
        console.print(f"\n[bold]{escape(str(name))}[/bold] as the CRM holds it:", highlight=False)
        for label in ("Tier", "Traits", "Score", "Reasons"):
            value = _field(record, crm, label)
            if label == "Traits" and value:  # the record page shows each stored value under its label
                value = "; ".join(f"{s.label(Trait(t))} [{t}]" for t in str(value).split(";") if t)
            console.print(f"  {label}: {value}", highlight=False, soft_wrap=True, markup=False)
        for task in r["tasks"]:
            subject = task.get("Subject") or (task.get("properties") or {}).get("hs_task_subject")
            due = task.get("ActivityDate") or (task.get("properties") or {}).get("hs_timestamp")
            console.print(f"  task: {subject} (due {due})", highlight=False, markup=False, soft_wrap=True)
