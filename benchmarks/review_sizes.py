"""What a reviewer is handed for the demo org: the plan CSV (rows, bytes) and the report page (bytes).

Starts the sandbox CRM with the demo's 2,000 accounts, plans a full sync (written per account and per
field), syncs, and renders the report from the state, as ``tiersync demo`` does. Prints the figures;
not a test. Run: ``.venv/bin/python benchmarks/review_sizes.py [--accounts 2000] [--crm salesforce]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from connector.cli.demo import demo_settings
from connector.config import Settings
from connector.crm.factory import make_adapter
from connector.model import Trait
from connector.report import build_report_data, render_html, source_from_state
from connector.sandbox.runtime import start
from connector.sync.engine import SyncEngine
from connector.sync.plan import Detail
from connector.sync.state import open_state

AS_OF = dt.date(2026, 11, 1)


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--crm", default="salesforce")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="tiersync-sizes-"))
    base = Settings.model_validate({"evidence": {"as_of": AS_OF.isoformat()}})
    sandbox = start(args.crm, accounts=args.accounts, seed=7, as_of=AS_OF, workdir=out)
    try:
        s = demo_settings(base, sandbox, args.crm, out)
        adapter = make_adapter(s)
        adapter.setup_fields({t.value: s.label(t) for t in Trait}, False)
        state = open_state(s)
        engine = SyncEngine(adapter, s, state, "default")
        _, plan = engine.run("full", dry_run=True)
        for detail in Detail:
            path = out / f"plan.{detail.value}.csv"
            plan.write(path, detail)
            print(f"plan --detail {detail.value}: {_rows(path):,} rows, {path.stat().st_size:,} bytes")
        terminal = Console(width=80, record=True, file=open(out / "plan.txt", "w"))  # noqa: SIM115
        terminal.print(plan.table(20))
        widest = max(len(line) for line in terminal.export_text().splitlines())
        print(f"terminal plan: widest line {widest} columns")
        engine.run("full")
        data = build_report_data(source_from_state(state, "default"), s, AS_OF)
        state.close()
        page = out / "report.html"
        page.write_text(render_html(data), encoding="utf-8")
        print(f"report.html: {page.stat().st_size:,} bytes")
    finally:
        sandbox.stop()
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
