"""Commands that talk to the CRM: doctor, setup-fields, plan, sync, backfill."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from connector.cli.app import app, console, err, fail, settings
from connector.config import Settings
from connector.crm.base import AuthError, CrmAdapter, CrmError, MappingError
from connector.crm.factory import make_adapter
from connector.crm.mapping import MappingFileError
from connector.exit_codes import ExitCode
from connector.model import Trait
from connector.sync.engine import Mode, RunSummary, SyncEngine, describe_failures
from connector.sync.lock import LockedError, run_lock
from connector.sync.plan import Plan
from connector.sync.state import State

CONNECTION = "default"


@contextmanager
def crm_errors() -> Iterator[None]:
    """Configuration, mapping and credential problems: one line each, exit 2, nothing written."""
    try:
        yield
    except MappingFileError as exc:
        fail(exc.problems)
    except MappingError as exc:
        fail(exc.problems)
    except AuthError as exc:
        fail([f"cannot sign in to the CRM: {exc}"])
    except LockedError as exc:
        fail([str(exc)], ExitCode.LOCKED)


def adapter_for(s: Settings) -> CrmAdapter:
    with crm_errors():
        return make_adapter(s)


@app.command()
def doctor() -> None:
    """Check the CRM connection and that every mapped object and field exists."""
    s = settings()
    adapter = adapter_for(s)
    with crm_errors():
        try:
            problems = adapter.check()
        except CrmError as exc:
            fail([f"{s.crm}: {exc}"])
    if problems:
        fail(problems)
    usage = adapter.usage()
    console.print(f"[green]ok[/green] {s.crm}: every mapped object and field exists")
    if usage is not None:
        console.print(f"API usage today: {usage.used} of {usage.limit}")


@app.command("setup-fields")
def setup_fields(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be created; change nothing.")
    ] = False,
) -> None:
    """Create the write-back fields, permissions and page-layout section in the CRM (idempotent)."""
    s = settings()
    adapter = adapter_for(s)
    labels = {t.value: s.label(t) for t in Trait}
    with crm_errors():
        try:
            lines = adapter.setup_fields(labels, dry_run)
        except CrmError as exc:
            fail([f"{s.crm}: {exc}"])
    for line in lines:
        console.print(line, highlight=False, markup=False)


def _run(mode: Mode, *, dry_run: bool, quiet: bool, plan_out: Path | None, limit: int) -> None:
    s = settings()
    assert s.state_path is not None
    adapter = adapter_for(s)
    state = State(s.state_path)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    )
    try:
        with progress, crm_errors():
            task = progress.add_task(f"{'planning' if dry_run else 'syncing'} {s.crm} ({mode})", total=None)
            engine = SyncEngine(adapter, s, state, CONNECTION, progress=lambda n: progress.advance(task, n))
            if dry_run:
                summary, plan = engine.run(mode, dry_run=True)
            else:
                with run_lock(s.state_path, CONNECTION):
                    summary, plan = engine.run(mode)
    finally:
        state.close()
    _report(summary, plan, dry_run=dry_run, quiet=quiet, plan_out=plan_out, limit=limit)
    raise typer.Exit(int(summary.exit_code))


def _report(
    summary: RunSummary, plan: Plan, *, dry_run: bool, quiet: bool, plan_out: Path | None, limit: int
) -> None:
    if plan_out is not None:
        plan.write(plan_out)
    if not quiet:
        if dry_run:
            console.print(plan.table(limit))
        else:
            console.print(
                f"{summary.status}: {summary.accounts_read} accounts read, {summary.accounts_updated} updated, "
                f"{summary.tasks_created} tasks created, {summary.tasks_closed} closed"
                + (f", {summary.api_calls} API calls" if summary.api_calls is not None else ""),
                highlight=False,
            )
        if plan_out is not None:
            console.print(f"wrote {plan_out}")
    for line in describe_failures(summary):
        err.print(f"[red]failed:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    if summary.message:
        err.print(summary.message, highlight=False, soft_wrap=True, markup=False)
    print(summary.json_line())


PlanOut = Annotated[Path | None, typer.Option("--plan-out", help="Also write the plan as CSV (or .json).")]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only the JSON summary line (for cron and log collectors).")
]
Limit = Annotated[int, typer.Option(min=0, help="Plan rows shown in the terminal.")]


@app.command()
def sync(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan only: print every change, write nothing.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Re-read every account, not only those that changed.")
    ] = False,
    quiet: Quiet = False,
    plan_out: PlanOut = None,
    limit: Limit = 50,
) -> None:
    """Classify the accounts that changed since the last run and write tiers and tasks back."""
    _run("full" if full else "incremental", dry_run=dry_run, quiet=quiet, plan_out=plan_out, limit=limit)


@app.command()
def plan(
    full: Annotated[
        bool, typer.Option("--full", help="Plan for every account, not only those that changed.")
    ] = False,
    out: PlanOut = None,
    limit: Limit = 50,
) -> None:
    """Show what `sync` would change, record by record, without writing anything."""
    _run("full" if full else "incremental", dry_run=True, quiet=False, plan_out=out, limit=limit)


@app.command()
def backfill(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: write nothing.")] = False,
    quiet: Quiet = False,
    plan_out: PlanOut = None,
) -> None:
    """Classify and write the whole org regardless of watermarks; resumes where a stopped one ended."""
    _run("full", dry_run=dry_run, quiet=quiet, plan_out=plan_out, limit=50)
