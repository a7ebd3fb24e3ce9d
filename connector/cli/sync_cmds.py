"""Commands that talk to the CRM: doctor, setup-fields, plan, sync, backfill.

Each runs one connection, or with ``--all`` every connection of the config in turn: a connection
that fails is reported on its own line and never stops the others; the exit code is the worst.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from connector.cli import backfill_plan
from connector.cli.app import Failed, app, console, err, fail, say, settings, user_errors
from connector.config import DEFAULT_CONNECTION, Settings
from connector.crm.base import AuthError, CrmAdapter, CrmError, MappingError
from connector.crm.factory import make_adapter, mapping_path
from connector.crm.mapping import MappingFileError
from connector.exit_codes import ExitCode, worst
from connector.sync.engine import Mode, RunSummary, describe_failures
from connector.sync.lock import LockedError
from connector.sync.plan import Detail, Plan
from connector.sync.runner import ConnectionRun, failure_of, run_connection
from connector.sync.state import StateError

CONNECTION = DEFAULT_CONNECTION

ConnectionName = Annotated[
    str | None,
    typer.Option("--connection", help="Run only this connection (a name from the connections table)."),
]
EveryConnection = Annotated[
    bool,
    typer.Option("--all", help="Every connection in turn; one that fails does not stop the others."),
]


@contextmanager
def crm_errors() -> Iterator[None]:
    """Configuration, mapping, credential, state and lock problems: one line each, exit 2 (3 for the
    lock), nothing written."""
    try:
        yield
    except (MappingFileError, MappingError, AuthError, StateError, LockedError) as exc:
        failure = failure_of(exc)
        assert failure is not None
        fail(failure[1], failure[0])


def adapter_for(s: Settings) -> CrmAdapter:
    with crm_errors():
        return make_adapter(s)


def chosen(s: Settings, name: str | None, every: bool) -> dict[str, Settings]:
    """The connections a command runs: ``--all``, ``--connection NAME``, or the config's only one."""
    with user_errors():
        connections = s.connection_settings()
    known = ", ".join(connections)
    if every and name is not None:
        fail(["--all and --connection exclude each other: give one"])
    if every:
        return connections
    if name is not None:
        if name not in connections:
            fail([f"unknown connection '{name}' (known: {known})"])
        return {name: connections[name]}
    if len(connections) > 1:
        fail(
            [
                f"the config names {len(connections)} connections ({known}): choose one with --connection NAME, or --all"
            ]
        )
    return connections


Outcome = tuple[ExitCode, list[str], list[Text]]
"""A CRM command's result on one connection: exit code, problems (one line each), report lines."""


def _each(targets: dict[str, Settings], every: bool, work: Callable[[Settings], Outcome]) -> NoReturn:
    """Run ``work`` on each connection; alone, exactly as before connections existed; with
    ``--all``, each line names its connection and the exit code is the worst."""
    if not every:
        code, problems, lines = work(next(iter(targets.values())))
        if problems:
            fail(problems, code)
        for line in lines:
            console.print(line, highlight=False, soft_wrap=True)
        raise typer.Exit(int(code))
    codes = []
    for name, s in targets.items():
        code, problems, lines = work(s)
        codes.append(code)
        for line in lines:
            console.print(Text.assemble(f"{name}: ", line), highlight=False, soft_wrap=True)
        for problem in problems:
            err.print(
                Text.assemble(("error:", "red"), f" {name}: {problem}"), highlight=False, soft_wrap=True
            )
    raise typer.Exit(int(worst(codes)))


def _crm_call(s: Settings, call: Callable[[CrmAdapter], list[Text]], *, cached: bool = True) -> Outcome:
    """``call`` on a fresh adapter, with the CRM's errors as problems (exit 2: nothing was changed)."""
    try:
        return ExitCode.OK, [], call(make_adapter(s, cached=cached))
    except (CrmError, MappingFileError, StateError, LockedError) as exc:
        code, problems = failure_of(exc) or (ExitCode.USAGE, [f"{s.crm}: {exc}"])
        return code, problems, []


def _doctor(s: Settings) -> Outcome:
    def check(adapter: CrmAdapter) -> list[Text]:
        problems = adapter.check()
        if problems:
            raise MappingError(problems)
        usage = adapter.usage()
        ok = Text.assemble(
            ("ok", "green"), f" {s.crm}: every mapped object and field exists (mapping: {mapping_path(s)})"
        )
        return [ok] + ([Text(f"API usage today: {usage.used} of {usage.limit}")] if usage is not None else [])

    return _crm_call(s, check, cached=False)  # doctor looks at the CRM as it is, not at cached metadata


@app.command()
def doctor(connection: ConnectionName = None, every: EveryConnection = False) -> None:
    """Check the CRM connection and that every mapped object and field exists."""
    _each(chosen(settings(), connection, every), every, _doctor)


@app.command("setup-fields")
def setup_fields(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be created; change nothing.")
    ] = False,
    connection: ConnectionName = None,
    every: EveryConnection = False,
) -> None:
    """Create the write-back fields, permissions and page-layout section in the CRM (idempotent)."""

    def setup(s: Settings) -> Outcome:
        labels = s.value_labels()
        return _crm_call(s, lambda adapter: [Text(line) for line in adapter.setup_fields(labels, dry_run)])

    _each(chosen(settings(), connection, every), every, setup)


def _run_one(
    name: str, s: Settings, mode: Mode, *, dry_run: bool, quiet: bool, keep_plan: bool, rebind: bool = False
) -> ConnectionRun:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=True,
    )
    what = s.crm if name == DEFAULT_CONNECTION else f"{escape(name)}: {s.crm}"
    with progress:
        task = progress.add_task(f"{'planning' if dry_run else 'syncing'} {what} ({mode})", total=None)
        return run_connection(
            name,
            s,
            mode,
            dry_run=dry_run,
            progress=lambda n: progress.advance(task, n),
            keep_plan=keep_plan,
            on_total=lambda n: progress.update(task, total=n),
            rebind=rebind,
        )


def _run(
    mode: Mode,
    *,
    dry_run: bool,
    quiet: bool,
    plan_out: Path | None,
    limit: int,
    connection: str | None = None,
    every: bool = False,
    detail: Detail = Detail.ACCOUNTS,
    rebind: bool = False,
) -> None:
    try:
        targets = chosen(settings(), connection, every)
    except Failed as stop:  # the JSON line on every exit, a config error included
        crm = "every" if every else "unknown"
        name = connection or DEFAULT_CONNECTION
        print(ConnectionRun(name, crm, mode, dry_run, stop.code, problems=stop.problems).json_line())
        raise
    if not every:
        name, s = next(iter(targets.items()))
        run = _run_one(
            name, s, mode, dry_run=dry_run, quiet=quiet, keep_plan=plan_out is not None, rebind=rebind
        )
        if run.summary is None or run.plan is None:
            print(run.json_line())
            fail(run.problems, run.exit_code)
        _report(
            run.summary, run.plan, dry_run=dry_run, quiet=quiet, plan_out=plan_out, limit=limit, detail=detail
        )
        raise typer.Exit(int(run.exit_code))
    runs = []
    for name, s in targets.items():
        if not quiet:
            console.rule(f"{escape(name)} ({s.crm})")
        run = _run_one(
            name, s, mode, dry_run=dry_run, quiet=quiet, keep_plan=plan_out is not None, rebind=rebind
        )
        runs.append(run)
        if run.summary is not None and run.plan is not None:
            out = None if plan_out is None else plan_out.with_name(f"{plan_out.stem}.{name}{plan_out.suffix}")
            _report(
                run.summary, run.plan, dry_run=dry_run, quiet=quiet, plan_out=out, limit=limit, detail=detail
            )
        else:
            print(run.json_line())
    code = worst(run.exit_code for run in runs)
    for run in runs:  # the summary: which connection failed and why, one line each
        if run.exit_code != ExitCode.OK or not quiet:
            err.print(run.line(), highlight=False, soft_wrap=True, markup=False)
    print(
        json.dumps(
            {
                "event": "tiersync.sync_all",
                "connections": {run.connection: int(run.exit_code) for run in runs},
                "exit_code": int(code),
            }
        )
    )
    raise typer.Exit(int(code))


def _report(
    summary: RunSummary,
    plan: Plan,
    *,
    dry_run: bool,
    quiet: bool,
    plan_out: Path | None,
    limit: int,
    detail: Detail = Detail.ACCOUNTS,
) -> None:
    if plan_out is not None:
        plan.write(plan_out, detail)
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
        say(line, "failed")
    if summary.message:
        say(summary.message, "warning" if summary.status == "limit" else "error")
    print(summary.json_line())


PlanOut = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "--plan-out",
        help="Also write the plan as CSV (or .json), one row per account; with --all, one file per connection.",
    ),
]
PlanDetail = Annotated[
    Detail,
    typer.Option("--detail", help="The plan file's rows: one per account, or one per field and task change."),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only the JSON summary line (for cron and log collectors).")
]
Limit = Annotated[int, typer.Option(min=0, help="Plan rows shown in the terminal.")]
Rebind = Annotated[
    bool,
    typer.Option(
        "--rebind",
        help="The state belongs to another CRM org (a refreshed sandbox, a new URL): forget this "
        "connection's state and start over for the org the credentials reach. A plan only plans so.",
    ),
]


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
    detail: PlanDetail = Detail.ACCOUNTS,
    limit: Limit = 50,
    connection: ConnectionName = None,
    every: EveryConnection = False,
    rebind: Rebind = False,
) -> None:
    """Classify the accounts that changed since the last run and write tiers and tasks back."""
    _run(
        "full" if full else "incremental",
        dry_run=dry_run,
        quiet=quiet,
        plan_out=plan_out,
        limit=limit,
        connection=connection,
        every=every,
        detail=detail,
        rebind=rebind,
    )


@app.command()
def plan(
    full: Annotated[
        bool, typer.Option("--full", help="Plan for every account, not only those that changed.")
    ] = False,
    out: PlanOut = None,
    detail: PlanDetail = Detail.ACCOUNTS,
    limit: Limit = 50,
    connection: ConnectionName = None,
    every: EveryConnection = False,
    rebind: Rebind = False,
) -> None:
    """Show what `sync` would change, account by account, without writing anything."""
    _run(
        "full" if full else "incremental",
        dry_run=True,
        quiet=False,
        plan_out=out,
        limit=limit,
        connection=connection,
        every=every,
        detail=detail,
        rebind=rebind,
    )


def _plan_backfill(targets: dict[str, Settings], every: bool, quiet: bool) -> NoReturn:
    """Each connection's backfill plan: a table (unless quiet) and one JSON line; the worst exit code."""
    codes = []
    for name, s in targets.items():
        code, problems, table, record = backfill_plan.plan_one(name, s)
        codes.append(code)
        if table is not None and not quiet:
            console.print(table)
        for problem in problems:
            prefix = f"{name}: " if every else ""
            err.print(
                Text.assemble(("error:", "red"), f" {prefix}{problem}"), highlight=False, soft_wrap=True
            )
        print(backfill_plan.json_line(record, code))
    raise typer.Exit(int(worst(codes)))


@app.command()
def backfill(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: write nothing.")] = False,
    plan_calls: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Estimate the API calls (and Bulk jobs) a full backfill needs and whether they fit "
            "today's allowance; write nothing.",
        ),
    ] = False,
    quiet: Quiet = False,
    plan_out: PlanOut = None,
    connection: ConnectionName = None,
    every: EveryConnection = False,
    rebind: Rebind = False,
) -> None:
    """Classify and write the whole org regardless of watermarks; resumes where a stopped one ended."""
    if plan_calls:
        _plan_backfill(chosen(settings(), connection, every), every, quiet)
    _run(
        "full",
        dry_run=dry_run,
        quiet=quiet,
        plan_out=plan_out,
        limit=50,
        connection=connection,
        every=every,
        rebind=rebind,
    )
