"""The plan: every change a sync would make, account by account, before it makes it.

``tiersync plan`` and ``sync --dry-run`` print it; ``sync`` applies exactly the same items. People
review it one row per account (who owns it, its tier now and next, why, which fields change, which
tasks come and go); the field-by-field view (``--detail fields``) stays for whoever needs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from connector.csv_cells import write_dicts
from connector.sync.desired import FieldChange


class Detail(StrEnum):
    """The plan file's rows: one per account (for review), or one per field and task change."""

    ACCOUNTS = "accounts"
    FIELDS = "fields"


TASK_KINDS = ("create", "close", "defer", "strike", "join")
"""What a plan can do with a task: create it, close it, defer it to a later week, or strike an action
from an open task that keeps others."""
FIELD_COLUMNS = ("record", "name", "change", "field", "current", "new")
ACCOUNT_COLUMNS = (
    "account_id",
    "account",
    "owner",
    "tier_now",
    "tier_new",
    "traits",
    "reasons",
    "fields_changing",
    *(f"tasks_{kind}" for kind in TASK_KINDS),
)
OPTIONAL_COLUMNS = ("decision", "growth_points")
"""Neutral labels of the decision and the growth points (a column only if some account has a value)."""


@dataclass(frozen=True)
class TaskChange:
    """One task change a sync would make, as the plan shows it."""

    kind: str
    """``create``, ``close``, ``defer``, ``strike`` or ``join`` (actions added to an open task)."""
    key: str
    account_id: str
    subject: str
    detail: str
    """Due date for a create, the closing comment for a close or strike, ``until <day>: <why>`` for a
    deferral."""


@dataclass(frozen=True)
class AccountPlan:
    """What a reviewer needs to judge one account's changes."""

    account_id: str
    name: str
    owner_id: str | None
    owner: str
    """The owner's name (the id when no name could be read)."""
    tier_now: str | None
    """The tier the CRM holds now (None: never tiered)."""
    tier_new: str
    traits: tuple[str, ...]
    """Neutral trait labels, never trait codes: CRM users read this."""
    reasons: tuple[str, ...]
    """The tier's reason, then each trait's evidence under its neutral label."""
    decision: str | None = None
    growth_points: tuple[str, ...] = ()


@dataclass
class Plan:
    """What a sync would write (or wrote): field and task changes, and the accounts they belong to."""

    fields: list[FieldChange] = field(default_factory=list)
    tasks: list[TaskChange] = field(default_factory=list)
    accounts_read: int = 0
    accounts: dict[str, AccountPlan] = field(default_factory=dict)
    """Every classified account of the plan, by id; only those with a change become rows."""
    notes: list[str] = field(default_factory=list)
    """What the reader should know about the plan itself (owner names that could not be read)."""

    @property
    def accounts_changed(self) -> int:
        """Accounts with at least one field change, however many fields change on each."""
        return len({c.account_id for c in self.fields})

    @property
    def empty(self) -> bool:
        """No field and no task to write: the plan prints a one-line headline instead of tables."""
        return not self.fields and not self.tasks

    def clear(self) -> None:
        """Drop the rows, keep the counts: a run that writes does not hold the whole org's plan."""
        self.fields.clear()
        self.tasks.clear()
        self.accounts.clear()

    # -- one row per field change ----------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One flat row per field change and per task change (``--detail fields``)."""
        rows: list[dict[str, Any]] = [
            {
                "record": c.account_id,
                "name": c.name,
                "change": "update",
                "field": c.field,
                "current": _text(c.current),
                "new": _text(c.new),
            }
            for c in self.fields
        ]
        rows += [
            {
                "record": t.account_id,
                "name": t.key,
                "change": f"task {t.kind}",
                "field": t.subject,
                "current": "",
                "new": t.detail,
            }
            for t in self.tasks
        ]
        return rows

    # -- one row per account ---------------------------------------------------------------------
    def _touched(self) -> list[str]:
        """Accounts with a field or task change, in the order the plan met them."""
        ids = dict.fromkeys([c.account_id for c in self.fields] + [t.account_id for t in self.tasks])
        return list(ids)

    def account_rows(self) -> list[dict[str, Any]]:
        """One row per account that changes: the reviewer's view."""
        fields: dict[str, list[str]] = {}
        for c in self.fields:
            fields.setdefault(c.account_id, []).append(c.field)
        tasks: dict[tuple[str, str], list[str]] = {}
        for t in self.tasks:
            tasks.setdefault((t.account_id, t.kind), []).append(t.subject)
        rows = []
        for account_id in self._touched():
            a = self.accounts.get(account_id)
            row: dict[str, Any] = {
                "account_id": account_id,
                "account": a.name if a else "",
                "owner": a.owner if a else "",
                "tier_now": (a.tier_now or "") if a else "",
                "tier_new": a.tier_new if a else "",
                "traits": "; ".join(a.traits) if a else "",
                "reasons": "; ".join(a.reasons) if a else "",
                "fields_changing": ", ".join(fields.get(account_id, [])),
                **{f"tasks_{k}": "; ".join(tasks.get((account_id, k), [])) for k in TASK_KINDS},
                "decision": (a.decision or "") if a else "",
                "growth_points": ", ".join(a.growth_points) if a else "",
            }
            rows.append(row)
        return rows

    def columns(self, rows: list[dict[str, Any]]) -> list[str]:
        """The fixed columns, plus each optional one only when a row fills it, so the table stays narrow."""
        extra = [c for c in OPTIONAL_COLUMNS if any(r.get(c) for r in rows)]
        return [*ACCOUNT_COLUMNS, *extra]

    def per_owner(self) -> list[tuple[str, int, int, dict[str, int]]]:
        """(owner, accounts changing, tier changes, tasks per kind), busiest owner first."""
        owners: dict[str, tuple[set[str], set[str], dict[str, int]]] = {}

        def entry(account_id: str) -> tuple[set[str], set[str], dict[str, int]]:
            a = self.accounts.get(account_id)
            return owners.setdefault(a.owner if a else "", (set(), set(), dict.fromkeys(TASK_KINDS, 0)))

        for c in self.fields:
            accounts, tiers, _ = entry(c.account_id)
            accounts.add(c.account_id)
            if c.field == "tier":
                tiers.add(c.account_id)
        for t in self.tasks:
            accounts, _, counts = entry(t.account_id)
            accounts.add(t.account_id)
            counts[t.kind] = counts.get(t.kind, 0) + 1
        lines = [(owner, len(a), len(t), counts) for owner, (a, t, counts) in owners.items()]
        return sorted(lines, key=lambda line: (-line[1], line[0]))

    def headline(self) -> str:
        """The plan's first line: what a reader needs before the tables (or instead of them)."""
        if self.empty:
            return f"No changes: {self.accounts_read} accounts read, nothing to write."
        counts = {k: sum(1 for t in self.tasks if t.kind == k) for k in TASK_KINDS}
        tasks = ", ".join(f"{n} to {k}" for k, n in counts.items() if n) or "none"
        return (
            f"Plan: {len(self._touched())} of {self.accounts_read} accounts change "
            f"({self.accounts_changed} with field updates); tasks: {tasks}"
        )

    def table(self, limit: int = 50) -> RenderableType:
        """The plan for a terminal of 80 columns: ids never split, names cut with an ellipsis."""
        if self.empty:
            return Text("\n".join([self.headline(), *self.notes]))
        rows = self.account_rows()
        table = Table(
            title=self.headline(),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
        )
        ids = max((len(r["account_id"]) for r in rows), default=2)
        table.add_column("account", no_wrap=True, min_width=ids, max_width=ids)
        table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=16)
        table.add_column("owner", no_wrap=True, overflow="ellipsis", max_width=15)
        table.add_column("tier", no_wrap=True)
        table.add_column("tasks", no_wrap=True)
        counts: dict[str, dict[str, int]] = {}
        for t in self.tasks:
            per_kind = counts.setdefault(t.account_id, {})
            per_kind[t.kind] = per_kind.get(t.kind, 0) + 1
        for row in rows[:limit]:
            table.add_row(
                escape(row["account_id"]),
                escape(row["account"]),
                escape(row["owner"]),
                _tier_move(row["tier_now"], row["tier_new"]),
                _task_counts(counts.get(row["account_id"], {})),
            )
        if len(rows) > limit:
            table.caption = f"… {len(rows) - limit} more accounts: --out FILE writes them all"
        owners = Table(
            title="Per owner (tasks to create, close, defer)",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        owners.add_column("owner", no_wrap=True, overflow="ellipsis", max_width=24)
        for column in ("accounts", "tier changes", *TASK_KINDS):
            owners.add_column(column, justify="right", no_wrap=True)
        for owner, accounts, tiers, kinds in self.per_owner():
            owners.add_row(
                escape(owner), str(accounts), str(tiers), *(str(kinds.get(k, 0)) for k in TASK_KINDS)
            )
        return Group(table, owners, *(Text(note) for note in self.notes))

    def write(self, path: Path, detail: Detail = Detail.ACCOUNTS) -> None:
        """CSV (every cell neutralised) or ``.json``: one row per account, or per field with ``fields``."""
        if detail == Detail.FIELDS:
            rows, columns = self.rows(), list(FIELD_COLUMNS)
        else:
            rows = self.account_rows()
            columns = self.columns(rows)
            rows = [{c: r[c] for c in columns} for r in rows]
        if path.suffix == ".json":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
            return
        write_dicts(path, columns, rows)


def _tier_move(now: str, new: str) -> str:
    if not now:
        return f"{new} (new)"
    return new if now == new else f"{now} → {new}"


def _task_counts(counts: dict[str, int]) -> str:
    """``+2 -1 ~1 /1``: tasks to create, close, defer and strike."""
    signs = {"create": "+", "close": "-", "defer": "~", "strike": "/", "join": "&"}
    return " ".join(f"{signs.get(k, k)}{n}" for k, n in counts.items() if n)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
