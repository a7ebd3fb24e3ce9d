"""The ``tiersync`` command line (Typer + Rich).

Every error a user can cause ends as one line per problem on stderr and a documented exit code,
never a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from connector import __version__
from connector.classify import classify_frames, to_classifications
from connector.config import CONFIG_ENV, ConfigError, Settings, load_settings
from connector.exit_codes import ExitCode
from connector.model import Tier, Trait
from connector.results_output import write_results
from connector.roster_files import RosterFileError, load_roster
from connector.sample_data import generate, write_csv

app = typer.Typer(
    name="tiersync",
    help="Rank clients into tiers, name bad-client traits, and write both back to your CRM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

console = Console()
err = Console(stderr=True)
MAX_PROBLEMS_SHOWN = 25

TIER_STYLE = {Tier.AMAZING: "bold green", Tier.GOOD: "green", Tier.OKAY: "yellow", Tier.POOR: "red"}


class State:
    config_path: Path | None = None


def fail(problems: list[str], code: ExitCode = ExitCode.USAGE) -> NoReturn:
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        err.print(f"[red]error:[/red] {problem}", highlight=False, markup=True, soft_wrap=True)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        err.print(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more problems", highlight=False)
    raise typer.Exit(int(code))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can fix into one line each and exit code 2."""
    try:
        yield
    except ConfigError as exc:
        fail(exc.problems)
    except RosterFileError as exc:
        fail(exc.problems)


def settings() -> Settings:
    with user_errors():
        return load_settings(State.config_path)


def _version(value: bool) -> None:
    if value:
        console.print(f"tiersync {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", envvar=CONFIG_ENV, help="tiersync.toml to use (default: built-in defaults)."
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """tiersync: client tiers and bad-client traits, written back to Salesforce or HubSpot."""
    State.config_path = config


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration and print a summary (secrets are never shown)."""
    s = settings()
    source = str(State.config_path) if State.config_path else "built-in defaults"
    console.print(f"[green]ok[/green] configuration from {source}")
    console.print(f"crm: {s.crm}; window: {s.evidence.window_days} days; state: {s.state_path}")
    console.print(f"playbook actions: {', '.join(a.code for a in s.playbook.actions)}")


class OutputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    BOTH = "both"


def tier_table(results: pl.DataFrame, limit: int, title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("account", "name", "tier", "score", "traits", "why"):
        table.add_column(column, overflow="fold")
    ordered = results.sort("score", "account_id", descending=[True, False])
    for row in ordered.head(limit).iter_rows(named=True):
        tier = Tier(row["tier"])
        table.add_row(
            row["account_id"],
            row["name"],
            f"[{TIER_STYLE[tier]}]{tier.value}[/]",
            f"{row['score']:.1f}",
            row["traits"].replace(";", ", "),
            row["tier_reason"],
        )
    return table


def distribution(results: pl.DataFrame) -> str:
    counts = dict(results.group_by("tier").len().iter_rows())
    total = max(results.height, 1)
    return "  ".join(
        f"{t.value}: {counts.get(t.value, 0)} ({counts.get(t.value, 0) / total:.0%})" for t in Tier
    )


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
) -> None:
    """Classify clients offline from files: no CRM needed."""
    s = settings()
    with user_errors():
        loaded = load_roster(source, strict=strict)
    for problem in loaded.dropped[:MAX_PROBLEMS_SHOWN]:
        err.print(f"[yellow]skipped:[/yellow] {problem}", highlight=False)
    if len(loaded.dropped) > MAX_PROBLEMS_SHOWN:
        err.print(f"… and {len(loaded.dropped) - MAX_PROBLEMS_SHOWN} more skipped rows", highlight=False)
    day = as_of.date() if as_of else (s.evidence.as_of or dt.date.today())
    results = classify_frames(loaded.frames, s, day)
    console.print(tier_table(results, limit, f"{results.height} clients as of {day.isoformat()}"))
    console.print(distribution(results))
    if out is not None:
        formats = ("csv", "json") if output_format is OutputFormat.BOTH else (output_format.value,)
        for path in write_results(results, out, formats):
            console.print(f"wrote {path}")


@app.command("sample-data")
def sample_data(
    out: Annotated[Path, typer.Option(help="Folder to write the CSV files into.")],
    accounts: Annotated[int, typer.Option(min=1, help="How many client accounts.")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    as_of: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Dates relative to this day.")
    ] = None,
) -> None:
    """Generate a realistic synthetic roster (about 10 invoices per account) as CSV files."""
    generated = generate(accounts, seed=seed, as_of=as_of.date() if as_of else None)
    for path in write_csv(generated.frames, out):
        console.print(f"wrote {path}")


@app.command()
def demo(
    accounts: Annotated[int, typer.Option(min=1, help="How many client accounts to generate.")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 7,
    out: Annotated[Path, typer.Option(help="Folder for the generated data and the results.")] = Path("demo"),
) -> None:
    """Try tiersync with no CRM: generate a realistic roster, classify it, and show the result."""
    s = settings()
    day = s.evidence.as_of or dt.date.today()
    generated = generate(accounts, seed=seed, as_of=day)
    write_csv(generated.frames, out / "data")
    results = classify_frames(generated.frames, s, day)
    console.print(tier_table(results, 10, f"Top of {results.height} clients as of {day.isoformat()}"))
    console.print(f"[bold]tiers[/bold]  {distribution(results)}")
    traits = results.select(pl.col("traits").str.split(";").explode()).filter(pl.col("traits") != "")
    counts = traits.group_by("traits").len().sort("len", "traits", descending=[True, False])
    console.print(
        "[bold]traits[/bold] " + "  ".join(f"{s.label(Trait(t))} ({t}): {n}" for t, n in counts.iter_rows())
    )
    for record in to_classifications(results.filter(pl.col("traits") != "").head(3)):
        console.print(f"\n[bold]{record.name}[/bold] ({record.account_id}): {record.reason}", highlight=False)
        console.print(f"  actions: {', '.join(record.actions) or 'none'}", highlight=False)
    for path in write_results(results, out / "results"):
        console.print(f"wrote {path}")


def main() -> None:
    app()
