"""Commands that learn from the tiers: the report, look-alike fit of prospects, and the backtest."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import ExitStack
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from connector.classify.classifier import classify_frames
from connector.cli.app import Batch, app, console, err, fail, settings, user_errors
from connector.config import Settings
from connector.csv_cells import write_frame
from connector.insights.backtest import (
    DENOMINATORS,
    OUTCOME_LABELS,
    OUTCOMES,
    Backtest,
    DecisionBacktest,
    backtest_decisions,
    build_history,
)
from connector.insights.backtest import backtest as run_backtest
from connector.insights.fit import fit_scores
from connector.insights.profile import learn_profile
from connector.report import build_report_data, render_html, source_from_results, source_from_state
from connector.report.sources import UNREAD_COLUMNS, ReportSource
from connector.roster_chunks import DEFAULT_CHUNK_ACCOUNTS, StagedRoster, staged_roster
from connector.roster_files import load_accounts
from connector.sync.state import StateError, open_state

StatePath = Annotated[
    Path | None, typer.Option("--state", help="State file of a sync (default: the configured state_path).")
]
InputPath = Annotated[
    Path | None,
    typer.Option(
        "--input", help="Classify this folder of CSV files or JSON export instead of reading the state."
    ),
]
Connection = Annotated[
    str | None,
    typer.Option(help="Connection in the state file (default: 'default', or the only one the file has)."),
]
AsOf = Annotated[
    dt.datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="Day to report as of (default: config or today)."),
]


class ReportFormat(StrEnum):
    HTML = "html"
    JSON = "json"


class TextFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _day(s: Settings, as_of: dt.datetime | None) -> dt.date:
    return as_of.date() if as_of else (s.evidence.as_of or dt.date.today())


def _source(
    s: Settings,
    state_path: Path | None,
    input_path: Path | None,
    connection: str | None,
    day: dt.date,
    batch: int = DEFAULT_CHUNK_ACCOUNTS,
) -> ReportSource:
    """The results to learn from: an offline classification of ``--input``, or the sync's state."""
    if state_path is not None and input_path is not None:
        fail(["pass --state or --input, not both"])
    if input_path is not None:
        with ExitStack() as stack:
            with user_errors():
                staged = stack.enter_context(staged_roster(input_path, chunk_accounts=batch))
            # a chunk at a time, keeping only the columns a report reads
            results = pl.concat(
                classify_frames(chunk, s, day, staged.fields_missing).drop(UNREAD_COLUMNS)
                for chunk in staged.chunks()
            )
        return source_from_results(results, f"input {input_path}")
    if state_path is not None:
        s = s.model_copy(update={"state_path": state_path, "state_url": None})
    where = "the state database" if s.state_url is not None else f"{s.state_path}"
    if s.state_url is None and (s.state_path is None or not s.state_path.is_file()):
        fail([f"{where}: no state file; run `tiersync sync` first, or pass --input with a roster folder"])
    try:
        state = open_state(s)
    except StateError as exc:
        fail([str(exc)])
    try:
        known = state.connections()
        if connection is None:
            connection = known[0] if len(known) == 1 else "default"
        source = source_from_state(state, connection, f"{where} (connection {connection!r})")
    finally:
        state.close()
    if source.results.height == 0:
        fail(
            [
                f"{where}: no results for connection {connection!r} (has: {', '.join(known) or 'none'}); "
                "run `tiersync sync` first"
            ]
        )
    return source


@app.command("report")
def report_command(
    state_path: StatePath = None,
    input_path: InputPath = None,
    connection: Connection = None,
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: report.html or report.json).")
    ] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="A static HTML page, or JSON for BI tools.")
    ] = ReportFormat.HTML,
    as_of: AsOf = None,
    batch: Batch = DEFAULT_CHUNK_ACCOUNTS,
) -> None:
    """Write the tier report: tiers, headaches, traits, movements, ideal-client profile, playbook."""
    s = settings()
    day = _day(s, as_of)
    data = build_report_data(_source(s, state_path, input_path, connection, day, batch), s, day)
    target = out or Path(f"report.{output_format.value}")
    text = render_html(data) if output_format is ReportFormat.HTML else data.to_json()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail([f"{target}: cannot write the report ({exc.strerror})"])
    console.print(f"wrote {escape(str(target))}", highlight=False)


@app.command("fit")
def fit_command(
    prospects: Annotated[
        Path, typer.Argument(help="CSV with the accounts.csv columns (id and name required).")
    ],
    state_path: StatePath = None,
    input_path: InputPath = None,
    connection: Connection = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write every prospect's score and reasons as CSV.")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Rows shown in the terminal table.")] = 20,
    as_of: AsOf = None,
) -> None:
    """Score prospects 0-100 by how much they look like the top clients, with the reasons."""
    s = settings()
    with user_errors():
        candidates = load_accounts(prospects).frames.accounts
    profile = learn_profile(_source(s, state_path, input_path, connection, _day(s, as_of)).results, s)
    tops = " or ".join(profile.top_tiers)
    if not profile.top_accounts or not profile.rest_accounts:
        fail([f"cannot learn a profile: the clients must include both {tops} ones and others"])
    scores = fit_scores(profile, candidates).sort(["fit_score", "account_id"], descending=[True, False])
    table = Table(title=f"{scores.height} prospects against {profile.top_accounts} {tops} clients")
    for column in ("prospect", "name", "fit", "why"):
        table.add_column(column, overflow="fold")
    for row in scores.head(limit).iter_rows(named=True):
        why = "; ".join(row["fit_reasons"][:2])
        table.add_row(escape(row["account_id"]), escape(row["name"]), f"{row['fit_score']:.1f}", escape(why))
    console.print(table)
    if out is not None:
        try:
            write_frame(scores, out, list_separator="; ")
        except OSError as exc:
            fail([f"{out}: cannot write the scores ({exc.strerror})"])
        console.print(f"wrote {escape(str(out))}", highlight=False)


def _outcome_table(result: Backtest, title: str) -> Table:
    table = Table(title=title)
    table.add_column("tier")
    table.add_column("clients at t", justify="right")
    for outcome in OUTCOMES:
        table.add_column(OUTCOME_LABELS[outcome], justify="right")
    for row in result.by_tier:
        cells = []
        for outcome in OUTCOMES:
            rate, known = row.rates[outcome], row.known[outcome]
            cells.append("–" if rate is None else f"{rate:.1%} of {known:,} known")
        table.add_row(row.tier, f"{row.accounts:,}", *cells)
    table.caption = "A rate is a share of the tier's clients whose outcome is known: " + "; ".join(
        f"{OUTCOME_LABELS[o]}, {DENOMINATORS[o]}" for o in OUTCOMES
    )
    return table


def _decision_table(result: DecisionBacktest) -> Table:
    table = Table(title="The decision at t, and what followed")
    for column in (
        "decision",
        "clients at t",
        "active",
        "churned",
        "improved a tier",
        "median cost / revenue",
    ):
        table.add_column(column, justify="left" if column == "decision" else "right")
    for row in result.by_decision:
        table.add_row(
            row.decision,
            f"{row.accounts:,}",
            f"{row.known:,}",
            "–" if row.churn is None else f"{row.churn:.1%}",
            "–" if row.improved is None else f"{row.improved:.1%}",
            "–"
            if row.cost_ratio is None
            else ("no revenue" if row.cost_ratio == float("inf") else f"{row.cost_ratio:.1%}"),
        )
    table.caption = "churned and improved are shares of the active clients (invoices in the window before t)"
    return table


def _history(
    staged: StagedRoster, input_path: Path, s: Settings, day: dt.date, horizon_days: int
) -> pl.DataFrame:
    """Tiers as of ``day`` and the outcomes after it, a chunk of accounts at a time."""
    invoices = staged.records("invoices")
    if invoices is None:
        fail([f"{input_path}: no invoices; the backtest needs invoices before and after {day.isoformat()}"])
    first = invoices.select(pl.coalesce("issued", "due").min()).collect().item()
    if not isinstance(first, dt.date):
        fail([f"{input_path}: no invoice has an issued or due date; the backtest needs dated invoices"])
    if first > day:
        fail(
            [
                f"{input_path}: history too short for --as-of {day.isoformat()}: the first invoice is of "
                f"{first.isoformat()}; pass a later --as-of"
            ]
        )
    return pl.concat(
        build_history(chunk, s, day, horizon_days, staged.fields_missing) for chunk in staged.chunks()
    )


@app.command("backtest")
def backtest_command(
    input_path: Annotated[
        Path, typer.Option("--input", help="Folder of CSV files or JSON export with enough history.")
    ],
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Day the tiers are given (default: today or config as_of, minus the horizon).",
        ),
    ] = None,
    horizon_days: Annotated[
        int, typer.Option(min=1, help="Days after --as-of in which outcomes count.")
    ] = 365,
    output_format: Annotated[
        TextFormat, typer.Option("--format", help="A table, or JSON.")
    ] = TextFormat.TEXT,
    batch: Batch = DEFAULT_CHUNK_ACCOUNTS,
) -> None:
    """Check the tiers against what clients did next: churn, late payment and expansion per tier."""
    s = settings()
    horizon = dt.timedelta(days=horizon_days)
    day = as_of.date() if as_of else (s.evidence.as_of or dt.date.today()) - horizon
    with ExitStack() as stack:
        with user_errors():
            staged = stack.enter_context(staged_roster(input_path, chunk_accounts=batch))
        history = _history(staged, input_path, s, day, horizon_days)
    result = run_backtest(history, s)
    decisions = backtest_decisions(history)
    if output_format is TextFormat.JSON:
        document = {
            "as_of": day.isoformat(),
            "horizon_days": horizon_days,
            **asdict(result),
            "denominators": DENOMINATORS,
            "decisions": None if decisions is None else asdict(decisions),
        }
        print(json.dumps(document, indent=1, ensure_ascii=False))
        return
    end = (day + horizon).isoformat()
    console.print(_outcome_table(result, f"Tiers as of {day.isoformat()}, outcomes to {end}"))
    for flag in result.flags:
        console.print(f"[yellow]flag:[/yellow] {escape(flag.sentence)}", highlight=False, soft_wrap=True)
    for note in result.notes:
        err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    if not result.flags:
        console.print(
            f"[green]ok[/green] every pair of neighbouring tiers separates by at least {result.margin * 100:g} points",
            highlight=False,
        )
    if decisions is not None:
        console.print(_decision_table(decisions))
        for line in decisions.checks:
            console.print(f"[green]ok[/green] {escape(line)}", highlight=False, soft_wrap=True)
        for line in decisions.flags:
            console.print(f"[yellow]flag:[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
