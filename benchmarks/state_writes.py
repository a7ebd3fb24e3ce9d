"""State-write time of a full sync: row at a time (the baseline) versus one transaction per page.

Each run seeds an identical sandbox org and makes one full sync through the real adapter; the
engine's state store is wrapped so that the time spent in its write methods (and, batched, in the
commit that ends each page) is summed. The baseline keeps every write outside a page, so each row
commits on its own, as the state did before pages. Its rows no longer include the dropped
``written`` table (one upsert per updated account before), so the baseline is lighter than the old
code and the ratio understates the gain. Printed: state-write seconds, their share of the sync's
wall time, seconds per 1,000 accounts, and baseline / batched in the same run.

Run: ``.venv/bin/python benchmarks/state_writes.py [--accounts 20000] [--crm salesforce] [--postgres]``.
``--postgres`` also measures the PostgreSQL store on a throwaway server (``tests/postgres_server.py``,
dev extras; it runs with ``fsync=off``, so commits there are cheaper than on a production server).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from connector.config import Settings
from connector.crm.factory import make_adapter
from connector.model import Trait
from connector.sandbox.runtime import start
from connector.sync.engine import SyncEngine
from connector.sync.state import StateStore, open_state

AS_OF = dt.date(2026, 11, 1)
WRITES = {
    "set_watermark",
    "clear_watermark",
    "record_tier_change",
    "tasks_pending",
    "task_confirmed",
    "task_forgotten",
    "task_finished",
    "tasks_deferred",
    "tasks_finished_by_crm_id",
    "mark_renewed",
    "save_results",
    "bind_org",
    "rebind_org",
    "run_started",
    "run_ended",
}


class TimedStore:
    """The store, with the time of every write summed; ``batched=False`` never opens a page."""

    def __init__(self, store: StateStore, *, batched: bool) -> None:
        self._store = store
        self.batched = batched
        self.seconds = 0.0
        self.calls = 0
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in WRITES:
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        return timed

    @contextmanager
    def page(self) -> Iterator[None]:
        if not self.batched:
            yield
            return
        page = self._store.page()
        page.__enter__()
        try:
            yield
        finally:
            started = time.perf_counter()
            page.__exit__(*sys.exc_info())
            self.seconds += time.perf_counter() - started
            self.commits += 1


def one_sync(crm: str, accounts: int, state: dict[str, Any], batched: bool) -> dict[str, float]:
    """A full sync of a freshly seeded org; returns wall and state-write seconds."""
    workdir = Path(tempfile.mkdtemp(prefix="tiersync-bench-"))
    sandbox = start(crm, accounts=accounts, seed=3, as_of=AS_OF, workdir=workdir)
    try:
        if crm == "hubspot":  # emulated rate limits and OpenAPI checks cost wall time, not state
            sandbox.hubspot.limits.burst_limit = 0
            sandbox.hubspot.limits.search_per_second = 0
            sandbox.hubspot.validate_requests = False
        crm_settings = sandbox.salesforce_settings() if crm == "salesforce" else sandbox.hubspot_settings()
        settings = Settings.model_validate(
            {
                "crm": crm,
                crm: crm_settings,
                "state_path": str(workdir / "state.sqlite"),
                **state,
                "evidence": {"as_of": str(AS_OF)},
            }
        )
        adapter = make_adapter(settings)
        adapter.setup_fields({t.value: t.value for t in Trait}, False)
        store = TimedStore(open_state(settings), batched=batched)
        engine = SyncEngine(adapter, settings, cast(StateStore, store), "bench")
        started = time.perf_counter()
        summary, _ = engine.run("full")
        wall = time.perf_counter() - started
        store.close()
        assert summary.status == "ok", summary.message
        return {
            "wall": wall,
            "state": store.seconds,
            "calls": store.calls,
            "commits": store.commits,
            "accounts": summary.accounts_read,
            "updated": summary.accounts_updated,
            "tasks": summary.tasks_created,
        }
    finally:
        sandbox.stop()


def report(label: str, mode: str, run: dict[str, float]) -> None:
    per_1000 = run["state"] / run["accounts"] * 1000
    print(
        f"  {label} {mode:>14}: {run['accounts']:,.0f} accounts ({run['updated']:,.0f} updated, "
        f"{run['tasks']:,.0f} tasks), wall {run['wall']:.1f} s, state writes {run['state']:.2f} s = "
        f"{run['state'] / run['wall']:.1%} of wall, {per_1000 * 1000:.0f} ms per 1,000 accounts "
        f"({run['calls']:,.0f} write calls, {run['commits']:,.0f} page commits)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--crm", default="salesforce", choices=["salesforce", "hubspot"])
    parser.add_argument("--postgres", action="store_true", help="also measure the PostgreSQL store")
    args = parser.parse_args()
    stores: list[tuple[str, Any]] = [("sqlite", lambda: {})]
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's tests package
        from tests.postgres_server import start_server

        server = start_server()
        stores.append(
            ("postgres", lambda: {"state_url": server.url(server.create_database(), password=True)})
        )
    print(f"== {args.crm}, full sync of {args.accounts:,} accounts, state writes row at a time vs per page")
    for label, state in stores:
        row = one_sync(args.crm, args.accounts, state(), batched=False)
        report(label, "row at a time", row)
        page = one_sync(args.crm, args.accounts, state(), batched=True)
        report(label, "per page", page)
        print(
            f"  {label} ratio: state-write time row at a time / per page = {row['state'] / page['state']:.1f}x; "
            f"share of wall {row['state'] / row['wall']:.1%} -> {page['state'] / page['wall']:.1%}"
        )


if __name__ == "__main__":
    main()
