"""`tiersync explain ACCOUNT`: why one account has its tier, from the CRM or from files.

The CLI only fetches: one account with its evidence (through the adapter, or from ``--input``), its
owner's name, and the tasks a sync would create. The explaining is ``connector.classify.explain``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from connector.classify.classifier import classify_frames, to_classifications
from connector.classify.explain import explain
from connector.cli.app import app, console, fail, settings, user_errors
from connector.cli.sync_cmds import adapter_for, crm_errors
from connector.config import Settings
from connector.crm.base import CrmError
from connector.frames import to_frames
from connector.roster_files import load_roster
from connector.sync.owners import OwnerNames
from connector.sync.tasks import wanted_tasks


class ExplainFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _from_crm(s: Settings, account_id: str, day: dt.date) -> tuple[pl.DataFrame, OwnerNames]:
    adapter = adapter_for(s)
    with crm_errors():
        try:
            batches = list(adapter.read([account_id], 1))
        except CrmError as exc:
            fail([f"{s.crm}: cannot read account {account_id}: {exc}"])
        accounts = [a for b in batches for a in b.roster.accounts]
        if not accounts:
            fail([f"{s.crm}: no client account with id {account_id}"])
        frame = classify_frames(to_frames(batches[0].roster), s, day)
        owners = OwnerNames(adapter.owner_names)
        owners.learn(frame["owner_id"].to_list())
    return frame, owners


def _from_files(s: Settings, source: Path, account_id: str, day: dt.date) -> tuple[pl.DataFrame, OwnerNames]:
    with user_errors():
        loaded = load_roster(source)
    frame = classify_frames(loaded.frames, s, day).filter(pl.col("account_id") == account_id)
    if frame.height == 0:
        fail([f"{source}: no account with id {account_id}"])
    known = {}
    if "owner_name" in frame.columns:  # a free column of accounts.csv: names offline
        known = {r["owner_id"]: r["owner_name"] for r in frame.iter_rows(named=True) if r["owner_name"]}
    return frame, OwnerNames(known=known)


@app.command("explain")
def explain_command(
    account_id: Annotated[
        str, typer.Argument(metavar="ACCOUNT", help="The account's id in the CRM or file.")
    ],
    input_path: Annotated[
        Path | None,
        typer.Option("--input", help="Explain from this folder of CSV files or JSON export, not the CRM."),
    ] = None,
    output_format: Annotated[
        ExplainFormat, typer.Option("--format", help="Plain words, or JSON.")
    ] = ExplainFormat.TEXT,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Classify as of this date (default: config or today)."),
    ] = None,
) -> None:
    """Explain one account's tier: evidence, each rule met or not, traits, gaps, actions and tasks."""
    s = settings()
    day = as_of.date() if as_of else (s.evidence.as_of or dt.date.today())
    if input_path is not None:
        frame, owners = _from_files(s, input_path, account_id, day)
    else:
        frame, owners = _from_crm(s, account_id, day)
    row: dict[str, Any] = frame.row(0, named=True)
    c = to_classifications(frame)[0]
    tasks = [{"subject": w.spec.subject, "due": w.spec.due.isoformat()} for w in wanted_tasks(c, s, day)]
    result = explain(row, s, owner=owners.name(c.owner_id), tasks=tasks)
    if output_format is ExplainFormat.JSON:
        print(result.to_json())
        return
    for line in result.lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)
