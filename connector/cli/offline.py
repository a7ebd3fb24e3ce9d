"""Commands that work without a CRM: classify from files, sample data, config check."""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape

from connector.classify.classifier import classify_frames
from connector.cli.app import (
    MAX_PROBLEMS_SHOWN,
    Batch,
    CliState,
    TopRows,
    app,
    config_app,
    console,
    distribution,
    err,
    fail,
    settings,
    tier_table,
    user_errors,
)
from connector.results_output import ResultsWriter
from connector.roster_chunks import DEFAULT_CHUNK_ACCOUNTS, staged_roster
from connector.sample_data import generate, write_csv


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration and print a summary (secrets are never shown)."""
    s = settings()
    source = str(CliState.config_path) if CliState.config_path else "built-in defaults"
    console.print(f"[green]ok[/green] configuration from {source}")
    console.print(f"crm: {s.crm}; window: {s.evidence.window_days} days; state: {s.state_path}")
    console.print(f"playbook actions: {', '.join(a.code for a in s.playbook.actions)}")


class OutputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    BOTH = "both"


@app.command()
def classify(
    source: Annotated[
        Path, typer.Argument(help="Folder of CSV files (accounts.csv, invoices.csv, …) or a JSON export.")
    ],
    out: Annotated[
        Path | None, typer.Option(help="Folder to write classifications.csv / .json into.")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="What to write into --out.")
    ] = OutputFormat.BOTH,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Classify as of this date (default: config or today)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict/--lenient", help="Fail on any bad row, or skip bad rows and go on.")
    ] = True,
    limit: Annotated[int, typer.Option(min=0, help="Rows shown in the terminal table.")] = 20,
    batch: Batch = DEFAULT_CHUNK_ACCOUNTS,
) -> None:
    """Classify clients offline from files: no CRM needed."""
    s = settings()
    day = as_of.date() if as_of else (s.evidence.as_of or dt.date.today())
    with ExitStack() as stack:
        with user_errors():
            staged = stack.enter_context(staged_roster(source, strict=strict, chunk_accounts=batch))
        for problem in staged.dropped[:MAX_PROBLEMS_SHOWN]:
            err.print(f"[yellow]skipped:[/yellow] {escape(problem)}", highlight=False, soft_wrap=True)
        if len(staged.dropped) > MAX_PROBLEMS_SHOWN:
            err.print(f"… and {len(staged.dropped) - MAX_PROBLEMS_SHOWN} more skipped rows", highlight=False)
        if staged.accounts.height == 0:
            fail([f"{source}: no client left to classify: every account row was skipped (see above)"])
        formats = ("csv", "json") if output_format is OutputFormat.BOTH else (output_format.value,)
        writer = ResultsWriter(out, formats) if out is not None else None
        shown = TopRows(limit)
        tiers = []
        for chunk in staged.chunks():
            results = classify_frames(chunk, s, day, staged.fields_missing)
            shown.add(results)
            tiers.append(results["tier"])
            if writer is not None:
                writer.write(results)
        everyone = pl.DataFrame({"tier": pl.concat(tiers)})
        assert shown.rows is not None  # at least one account, so at least one chunk
        console.print(tier_table(shown.rows, limit, f"{everyone.height} clients as of {day.isoformat()}"))
        console.print(distribution(everyone))
        for path in writer.close() if writer is not None else []:
            console.print(f"wrote {path}")


@app.command("sample-data")
def sample_data(
    out: Annotated[Path, typer.Option(help="Folder to write the CSV files into.")],
    accounts: Annotated[int, typer.Option(min=1, help="How many client accounts.")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    as_of: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Dates relative to this day.")
    ] = None,
    years: Annotated[
        int, typer.Option(min=1, max=10, help="Years of history: clients improve, worsen or churn each year.")
    ] = 3,
) -> None:
    """Generate a realistic synthetic roster (about 10 invoices per account a year) as CSV files."""
    generated = generate(accounts, seed=seed, as_of=as_of.date() if as_of else None, years=years)
    for path in write_csv(generated.frames, out):
        console.print(f"wrote {path}")
