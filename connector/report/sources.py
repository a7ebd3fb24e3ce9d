"""Where a report's facts come from: the sync's state file, or an offline classification.

Both become one :class:`ReportSource` whose ``results`` frame has the shape of
``classify_frames`` output (RESULT_COLUMNS plus the account attributes, code lists as lists), so
that the report and the insights read one shape whatever the origin. The state adds what only a
sync knows: tier movements between the last two runs and the playbook's tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from connector.classify.classifier import EVIDENCE_COLUMNS, LIST_COLUMNS
from connector.classify.growth import reason_column as growth_reason_column
from connector.classify.traits import reason_column
from connector.model import GrowthPoint, Trait
from connector.sync.state import RESULTS_PAGE, TaskState

ATTRIBUTE_COLUMNS: dict[str, pl.DataType] = {
    "industry": pl.String(),
    "region": pl.String(),
    "employee_count": pl.Int64(),
    "source": pl.String(),
    "status": pl.String(),
}
"""Account attributes the sync keeps by name; any other attribute becomes an ``attr_<name>`` column."""

TASK_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "account_id": pl.String(),
    "action": pl.String(),
    "period_start": pl.String(),
    "period_end": pl.String(),
    "due": pl.String(),
    "crm_id": pl.String(),
    "status": pl.String(),
    "created_at": pl.String(),
    "closed_at": pl.String(),
}
"""The columns of :meth:`~connector.sync.state.StateStore.iter_tasks` the report reads."""
LISTED = 50
"""Rows listed in the long tables (dropped accounts, overdue tasks); the totals count them all. The
open tasks are read keeping this many one by one (earliest due first)."""
TASKS_FOLDED = 100_000
"""Open task rows gathered before they are counted into :class:`OpenTasks`: a join with the accounts'
owners costs about the same for 10,000 rows as for 100,000, and this many take a few MB."""


REPORT_EVIDENCE = (
    "invoices",
    "invoices_considered",
    "invoices_late",
    "unpaid_overdue",
    "revenue",
    "complaints",
    "escalations",
    "cost_to_serve",
    "cost_ratio",
)
"""The evidence the report, the Pareto of headaches and the backtest read."""
UNREAD_COLUMNS = (
    "tier_codes",
    "trait_codes",
    "data_gaps",
    "data_gaps_reason",
    "growth_points",
    "growth_point_codes",
    *(growth_reason_column(p) for p in GrowthPoint),
    "growth_reason",
    "decision_codes",
    "previous_tier",
    "trend",
    *(c for c in EVIDENCE_COLUMNS if c not in REPORT_EVIDENCE),
)
"""Result columns no part of the report or the insights reads: an offline classification of a large
roster drops them chunk by chunk, so the report holds only what it shows (half the memory)."""


class ResultsStore(Protocol):
    """The part of the sync's state a report reads (``connector.sync.state.State`` has it)."""

    def results_pages(self, connection: str, size: int) -> Iterator[list[dict[str, Any]]]: ...

    def runs(self, connection: str) -> list[dict[str, Any]]: ...

    def tier_histories(
        self, connection: str, account_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str | None, str]]]: ...

    def iter_tasks(self, connection: str, page_size: int) -> Iterator[list[dict[str, Any]]]: ...


@dataclass(frozen=True)
class OpenTasks:
    """The playbook tasks the CRM holds open (``pending`` or ``open``), counted: a state keeps every
    task key it ever recorded (done, closed, deferred too), so the report never holds them one by one.
    """

    counts: pl.DataFrame
    """``action``, ``owner_id`` (the account's owner in the results; null if it has none or is not
    there), ``due`` (ISO day or null) and ``open`` (how many tasks)."""
    earliest: pl.DataFrame
    """Up to ``LISTED`` open tasks with a due date, earliest first (``TASK_SCHEMA``): the overdue
    ones the report lists are among them, whatever day it is made for."""

    @property
    def total(self) -> int:
        """Open tasks in all."""
        return int(self.counts["open"].sum())


def open_tasks(
    pages: Iterable[list[dict[str, Any]]], owners: pl.DataFrame, fold: int = TASKS_FOLDED
) -> OpenTasks:
    """Count the open tasks of ``pages`` by action, owner and due day; ``owners`` maps ``account_id``
    to ``owner_id``. Holds at most ``fold`` rows (plus a page) besides the counts, whose size is
    bounded by actions × owners × days, not by the tasks."""
    counts = pl.DataFrame(
        schema={"action": pl.String, "owner_id": pl.String, "due": pl.String, "open": pl.UInt32}
    )
    earliest = pl.DataFrame(schema=TASK_SCHEMA)
    held: list[pl.DataFrame] = []
    rows = 0

    def folded() -> None:
        nonlocal counts, earliest, held, rows
        batch = pl.concat(held) if held else earliest.clear()
        held, rows = [], 0
        counted = (
            batch.join(owners, on="account_id", how="left")
            .group_by("action", "owner_id", "due")
            .agg(pl.len().cast(pl.UInt32).alias("open"))
        )
        counts = pl.concat([counts, counted]).group_by("action", "owner_id", "due").agg(pl.col("open").sum())
        day = pl.col("due").str.to_date(strict=False)
        earliest = pl.concat([earliest, batch.filter(day.is_not_null())]).sort(day, "key").head(LISTED)

    for page in pages:
        unsent = [t for t in page if t["status"] in TaskState.UNSENT]  # before polars reads the dicts
        frame = pl.DataFrame(unsent, schema=TASK_SCHEMA, strict=False)
        held.append(frame)
        rows += frame.height
        if rows >= fold:
            folded()
    folded()
    return OpenTasks(counts=counts.sort("action", "owner_id", "due", nulls_last=True), earliest=earliest)


@dataclass(frozen=True)
class ReportSource:
    results: pl.DataFrame
    """One row per account, shaped like ``classify_frames`` output."""
    origin: str
    """Where the facts came from, in words, for the report's header."""
    moves: pl.DataFrame | None = None
    """``account_id``, ``previous`` (tier before the last run; null if new), ``current``; None
    when there is no run history (offline input)."""
    tasks: OpenTasks | None = None
    """The open playbook tasks tiersync created; None offline."""
    last_run: str | None = None
    """When the last finished run started (ISO), if known."""


def _codes(values: Any) -> list[str]:
    return list(values or [])


def results_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The state's result payloads (``SyncEngine._save_results``) as a ``classify_frames``-shaped frame."""
    extra = sorted(
        {key for row in rows for key in (row.get("attributes") or {}) if key not in ATTRIBUTE_COLUMNS}
    )
    columns: dict[str, list[Any]] = {
        "account_id": [r["account_id"] for r in rows],
        "name": [r.get("name") or "" for r in rows],
        "owner_id": [r.get("owner_id") for r in rows],
        "owner_name": [r.get("owner_name") for r in rows],
        "tier": [r["tier"] for r in rows],
        "override_tier": [r.get("override_tier") for r in rows],
        "score": [r.get("score") for r in rows],
        "tier_codes": [_codes(r.get("tier_codes")) for r in rows],
        "tier_reason": [r.get("tier_reason") or "" for r in rows],
        "traits": [_codes(r.get("traits")) for r in rows],
        **{reason_column(t): [(r.get("trait_reasons") or {}).get(t.value) for r in rows] for t in Trait},
        "data_gaps": [_codes(r.get("data_gaps")) for r in rows],
        "actions": [_codes(r.get("actions")) for r in rows],
        "decision": [r.get("decision") for r in rows],
        "decision_reason": [r.get("decision_reason") or "" for r in rows],
        "growth_points": [_codes(r.get("growth_points")) for r in rows],
        "growth_reason": [r.get("growth_reason") or "" for r in rows],
        **_decision_details(rows),
        **{c: [(r.get("evidence") or {}).get(c) for r in rows] for c in EVIDENCE_COLUMNS},
        **{c: [(r.get("attributes") or {}).get(c) for r in rows] for c in ATTRIBUTE_COLUMNS},
        **{f"attr_{k}": [_text((r.get("attributes") or {}).get(k)) for r in rows] for k in extra},
    }
    schema: dict[str, pl.DataType] = {
        "score": pl.Float64(),
        **dict.fromkeys(EVIDENCE_COLUMNS, pl.Float64()),
        **ATTRIBUTE_COLUMNS,
        **dict.fromkeys(LIST_COLUMNS, pl.List(pl.String())),
    }
    return pl.DataFrame(
        columns, schema={name: schema.get(name, pl.String()) for name in columns}, strict=False
    )


def _decision_details(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The rest of the growth points and the decision as ``classify_frames`` has them (null in results
    saved before they existed, which leaves the report to its tier-and-traits fallback)."""
    return {
        **{
            growth_reason_column(p): [(r.get("growth_reasons") or {}).get(p.value) for r in rows]
            for p in GrowthPoint
        },
        "decision_codes": [_codes(r.get("decision_codes")) for r in rows],
        "trend": [r.get("trend") for r in rows],
        "previous_tier": [r.get("previous_tier") for r in rows],
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _when(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _moves(
    histories: dict[str, list[tuple[str, str | None, str]]], accounts: list[str], since: dt.datetime
) -> pl.DataFrame:
    """Per account: its tier before the run that started at ``since``, and its tier now (as written)."""
    rows = []
    for account_id in accounts:
        history = histories.get(account_id)
        if not history:
            continue
        before = [tier for tier, _, changed_at in history if _when(changed_at) < since]
        rows.append((account_id, before[-1] if before else None, history[-1][0]))
    return pl.DataFrame(
        rows, schema={"account_id": pl.String, "previous": pl.String, "current": pl.String}, orient="row"
    )


def source_from_state(
    state: ResultsStore, connection: str, origin: str | None = None, page_size: int = RESULTS_PAGE
) -> ReportSource:
    """Results, movements and tasks of one connection; ``results`` is empty if nothing synced yet.

    Read a page of accounts at a time, each page's results without the ``UNREAD_COLUMNS`` (as an
    offline classification keeps them) and its movements from a few queries, so that a million saved
    results are never all decoded at once; the tasks a page at a time too, counted as they come."""
    finished = [r for r in state.runs(connection) if r["ended_at"]]
    last = finished[-1] if finished else None
    frames, moves = [], []
    for page in state.results_pages(connection, page_size):
        frames.append(results_frame(page).drop(UNREAD_COLUMNS, strict=False))
        if last is not None:
            accounts = [r["account_id"] for r in page]
            moves.append(
                _moves(state.tier_histories(connection, accounts), accounts, _when(last["started_at"]))
            )
    results = _concat(frames) if frames else results_frame([]).drop(UNREAD_COLUMNS, strict=False)
    tasks = open_tasks(state.iter_tasks(connection, page_size), results.select("account_id", "owner_id"))
    return ReportSource(
        results=results,
        origin=origin or f"the sync state (connection {connection!r})",
        moves=None
        if last is None
        else (pl.concat(moves) if moves else _moves({}, [], _when(last["started_at"]))),
        tasks=tasks,
        last_run=last["started_at"] if last else None,
    )


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The pages as one frame, with the columns ``results_frame`` gives all of them at once: a free
    attribute only some pages hold is null elsewhere, and the ``attr_*`` columns come last, sorted.
    Contiguous, as one read was: a float sum over many small chunks rounds differently in its last bit."""
    whole = pl.concat(frames, how="diagonal_relaxed", rechunk=True)
    free = sorted(c for c in whole.columns if c.startswith("attr_"))
    return whole.select(*(c for c in whole.columns if not c.startswith("attr_")), *free)


def source_from_results(results: pl.DataFrame, origin: str) -> ReportSource:
    """An offline ``classify_frames`` result: no movements, no tasks."""
    return ReportSource(results=results, origin=origin)
