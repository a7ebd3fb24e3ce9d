"""The plan: every change a sync would make, record by record, before it makes it.

``tiersync plan`` and ``sync --dry-run`` print it; ``sync`` applies exactly the same items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from connector.csv_cells import write_dicts
from connector.sync.desired import FieldChange


@dataclass(frozen=True)
class TaskChange:
    kind: str
    """``create`` or ``close``."""
    key: str
    account_id: str
    subject: str
    detail: str
    """Due date for a create, the closing comment for a close."""


@dataclass
class Plan:
    fields: list[FieldChange] = field(default_factory=list)
    tasks: list[TaskChange] = field(default_factory=list)
    accounts_read: int = 0

    @property
    def accounts_changed(self) -> int:
        return len({c.account_id for c in self.fields})

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per change, for CSV/JSON and the terminal."""
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

    def table(self, limit: int = 50) -> Table:
        rows = self.rows()
        table = Table(
            title=f"Plan: {self.accounts_changed} of {self.accounts_read} accounts change; {len(self.tasks)} task changes"
        )
        for column in ("record", "name", "change", "field", "current", "new"):
            table.add_column(column, overflow="fold")
        for row in rows[:limit]:
            table.add_row(
                *(str(row[c])[:200] for c in ("record", "name", "change", "field", "current", "new"))
            )
        if len(rows) > limit:
            table.caption = f"… {len(rows) - limit} more changes in the plan file"
        return table

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = self.rows()
        if path.suffix == ".json":
            path.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
            return
        write_dicts(path, ["record", "name", "change", "field", "current", "new"], rows)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
