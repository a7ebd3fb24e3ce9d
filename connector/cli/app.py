"""The ``tiersync`` application object and what every command shares: settings, errors, output.

Every error a user can cause ends as one line per problem on stderr and a documented exit code,
never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connector import __version__
from connector.cli.logs import LogFormat, configure
from connector.config import CONFIG_ENV, ConfigError, Settings, load_settings
from connector.exit_codes import ExitCode
from connector.model import Tier
from connector.roster_files import RosterFileError

app = typer.Typer(
    name="tiersync",
    help="Rank clients into tiers, name bad-client traits, and write both back to your CRM.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
sandbox_app = typer.Typer(
    help="The built-in sandbox CRM (Salesforce and HubSpot on 127.0.0.1).", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")

console = Console()
err = Console(stderr=True)
MAX_PROBLEMS_SHOWN = 25

TIER_STYLE = {Tier.AMAZING: "bold green", Tier.GOOD: "green", Tier.OKAY: "yellow", Tier.POOR: "red"}


class CliState:
    """Global options of this invocation."""

    config_path: Path | None = None
    log_format: LogFormat = LogFormat.TEXT


class Failed(typer.Exit):
    """The exit of :func:`fail`: carries the problems, so that ``sync`` can put them in its JSON line."""

    def __init__(self, problems: list[str], code: ExitCode) -> None:
        super().__init__(int(code))
        self.problems = problems
        self.code = code


def say(problem: str, label: str = "error") -> None:
    """One problem line on stderr: ``error: …`` in red, or a JSON log object with ``--log-format json``."""
    if CliState.log_format is LogFormat.JSON:
        logging.getLogger("tiersync").error("%s", problem if label == "error" else f"{label}: {problem}")
        return
    err.print(f"[red]{label}:[/red] {escape(problem)}", highlight=False, soft_wrap=True)


def fail(problems: list[str], code: ExitCode = ExitCode.USAGE) -> NoReturn:
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        say(problem)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        err.print(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more problems", highlight=False)
    raise Failed(problems, code)


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
        return load_settings(CliState.config_path)


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
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="More log detail: -v the libraries' warnings, -vv debug."
        ),
    ] = 0,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="Log lines on stderr as text or as JSON objects.")
    ] = LogFormat.TEXT,
) -> None:
    """tiersync: client tiers and bad-client traits, written back to Salesforce or HubSpot."""
    CliState.config_path = config
    CliState.log_format = log_format
    configure(verbose, log_format)


def tier_table(results: pl.DataFrame, limit: int, title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("account", "name", "tier", "score", "traits", "why"):
        table.add_column(column, overflow="fold")
    ordered = results.sort("score", "account_id", descending=[True, False])
    for row in ordered.head(limit).iter_rows(named=True):
        tier = Tier(row["tier"])
        table.add_row(  # CRM and file values are data, never Rich markup
            escape(row["account_id"]),
            escape(row["name"]),
            f"[{TIER_STYLE[tier]}]{tier.value}[/]",
            f"{row['score']:.1f}",
            escape(", ".join(row["traits"])),
            escape(row["tier_reason"]),
        )
    return table


class TopRows:
    """The rows :func:`tier_table` shows, kept while results arrive a chunk at a time."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows: pl.DataFrame | None = None

    def add(self, results: pl.DataFrame) -> None:
        best = results.sort("score", "account_id", descending=[True, False]).head(self.limit)
        both = best if self.rows is None else pl.concat([self.rows, best])
        self.rows = both.sort("score", "account_id", descending=[True, False]).head(self.limit)


Batch = Annotated[
    int,
    typer.Option(
        "--batch",
        min=1,
        max=100_000,
        help="Accounts classified at a time (at most 100,000): memory is bounded by it, whatever the roster's size.",
    ),
]


def distribution(results: pl.DataFrame) -> str:
    counts = dict(results.group_by("tier").len().iter_rows())
    total = max(results.height, 1)
    return "  ".join(
        f"{t.value}: {counts.get(t.value, 0)} ({counts.get(t.value, 0) / total:.0%})" for t in Tier
    )
