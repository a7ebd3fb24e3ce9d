"""``tiersync cleanup``: show, then (with ``--yes``) undo, what tiersync wrote to the CRM."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from connector.cli.app import app, fail, settings
from connector.cli.sync_cmds import ConnectionName, EveryConnection, Outcome, Quiet, _each, chosen
from connector.config import Settings
from connector.sync.cleanup import CleanupOptions, CleanupRun, TaskMode, run_cleanup


def _lines(run: CleanupRun, quiet: bool) -> list[Text]:
    summary, plan = run.summary, run.plan
    assert summary is not None and plan is not None
    lines: list[str] = []
    if not quiet:
        if summary.status == "nothing":
            lines.append(summary.message)
        elif summary.dry_run:
            lines.append("cleanup plan (nothing written; run again with --yes to apply it):")
            lines += plan.lines()
        else:
            lines.append(
                f"{summary.status}: {summary.tasks_deleted} tasks deleted, {summary.tasks_closed} closed, "
                f"{summary.tasks_kept} completed by users kept, {summary.accounts_cleared} accounts cleared "
                f"({summary.fields_cleared} field values)"
                + (f", {summary.api_calls} API calls" if summary.api_calls is not None else "")
            )
            lines += [f"setup: {line}" for line in summary.setup_removed]
        if summary.message and summary.status not in ("nothing", "ok"):
            lines.append(summary.message)
    lines += [
        f"failed: {f['record']}: {f['what']}: {f['error'] or 'error'}: {f['message'] or ''}".rstrip(": ")
        for f in summary.failures
    ]
    lines.append(summary.json_line())
    return [Text(line) for line in lines]


@app.command()
def cleanup(
    yes: Annotated[
        bool, typer.Option("--yes", help="Apply the plan. Without it, only the plan is shown.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and write nothing (the default).")
    ] = False,
    tasks: Annotated[
        str,
        typer.Option(
            "--tasks",
            help="What to do with open tiersync tasks: delete (default; they go to the CRM's recycle bin) "
            "or close (completed, with a comment).",
        ),
    ] = "delete",
    clear_overrides: Annotated[
        bool, typer.Option("--clear-overrides", help="Also empty the manual override fields users set.")
    ] = False,
    remove_setup: Annotated[
        bool,
        typer.Option(
            "--remove-setup",
            help="Also delete what setup-fields created: the fields, the permission set and the layout "
            "section (HubSpot: the properties and their group).",
        ),
    ] = False,
    quiet: Quiet = False,
    connection: ConnectionName = None,
    every: EveryConnection = False,
) -> None:
    """Undo what tiersync wrote: its open tasks, its field values, and with --remove-setup its fields."""
    if yes and dry_run:
        fail(["--yes and --dry-run exclude each other: give one"])
    if tasks not in ("delete", "close"):
        fail([f"--tasks must be delete or close, not {tasks!r}"])
    mode: TaskMode = "delete" if tasks == "delete" else "close"
    options = CleanupOptions(tasks=mode, clear_overrides=clear_overrides, remove_setup=remove_setup)
    targets = chosen(settings(), connection, every)
    names = {id(s): name for name, s in targets.items()}

    def one(s: Settings) -> Outcome:
        run = run_cleanup(names[id(s)], s, options, dry_run=not yes)
        if run.summary is None or run.summary.status == "refused":
            return run.exit_code, run.problems, []
        return run.exit_code, [], _lines(run, quiet)

    _each(targets, every, one)
