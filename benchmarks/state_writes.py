"""State-write time of a full sync: row at a time (the baseline) versus one transaction per page.

Each run seeds an identical sandbox org and makes one full sync through the real adapter; the
engine's state store is wrapped so that the time spent in its write methods (and, batched, in the
commit that ends each page) is summed. The baseline keeps every write outside a page, so each row
commits on its own, as the state did before pages. Its rows no longer include the dropped
``written`` table (one upsert per updated account before), so the baseline is lighter than the old
code and the ratio understates the gain. Printed: state-write seconds, their share of the sync's
wall time, seconds per 1,000 accounts, and baseline / batched in the same run.

``--cleanup`` then measures ``tiersync cleanup`` the same way: each run syncs a fresh org with no
workload budget (thousands of tasks), then deletes them; the baseline records the same rows one task
at a time, each its own commit, as cleanup did before (its ``task_finished`` by the task's key also
missed the actions of a task stored under a group key), against one transaction per page of 200. Printed: state commits,
state-write seconds and the cleanup's wall time, with both ratios. Both runs mark each page's tasks
ahead of the CRM write (the task ends a killed run leaves for the next): per page, the next page's
marks ride in the page's commit, so they add one commit per run; the baseline, which opens no page,
commits each mark and unmark on its own.

Run: ``.venv/bin/python benchmarks/state_writes.py [--accounts 20000] [--crm salesforce] [--postgres]
[--cleanup] [--cleanup-accounts 4000]``. ``--postgres`` also measures the PostgreSQL store: the
database at ``--postgres-dsn`` or ``TIERSYNC_STATE_URL`` (the product's own variable; the password may
come from ``PGPASSWORD``) when given, else a throwaway server (``tests/postgres_server.py``, dev extras;
``fsync=off``, so commits there are cheaper than on a production server). Given a database, it writes
its rows under connections named ``bench-<random>``: use a scratch database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from connector.config import Settings
from connector.crm.base import CrmAdapter
from connector.crm.cleanup import Cleanable
from connector.crm.factory import make_adapter
from connector.model import Trait
from connector.sandbox.runtime import start
from connector.sync.cleanup import CleanupEngine, CleanupOptions
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
    "tasks_finished_by_crm_key",
    "mark_renewed",
    "mark_redo",
    "clear_redo",
    "mark_task_ends",
    "clear_task_ends",
    "save_results",
    "bind_org",
    "rebind_org",
    "run_started",
    "run_ended",
}
AT_ONCE = {"tasks_pending", "mark_redo"}
"""Written ahead of the CRM writes: committed at once, inside a page too. (Cleanup's task-end marks
are written ahead too, but in the transaction of the page before, or outside any page; a sync's,
in ``write_ahead``, where each mark counts as a commit of its own.)"""


class TimedStore:
    """The store, with the time of every write and every commit counted; ``batched=False`` never
    opens a page and records cleanup's tasks one at a time, as the state did before pages."""

    def __init__(self, store: StateStore, *, batched: bool) -> None:
        self._store = store
        self.batched = batched
        self.seconds = 0.0
        self.calls = 0
        self.commits = 0
        """Transactions: each write outside a page, and each page."""
        self._in_page = False
        self._page_writes = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in WRITES:
            return attr

        def timed_call(method: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1
                self._page_writes += self._in_page
                self.commits += not self._in_page or name in AT_ONCE

        if name == "tasks_finished_by_crm_key" and not self.batched:
            # the same rows, committed one task at a time as cleanup did before
            return lambda connection, keys, *rest: [
                timed_call(attr, connection, [key], *rest) for key in keys
            ]
        return lambda *args, **kwargs: timed_call(attr, *args, **kwargs)

    @contextmanager
    def page(self) -> Iterator[None]:
        if not self.batched:
            yield
            return
        page = self._store.page()
        page.__enter__()
        self._in_page, self._page_writes = True, 0
        try:
            yield
        finally:
            self._in_page = False
            started = time.perf_counter()
            page.__exit__(*sys.exc_info())
            self.seconds += time.perf_counter() - started
            self.commits += self._page_writes > 0  # a page that held nothing commits nothing

    @contextmanager
    def write_ahead(self) -> Iterator[None]:
        """A sync's task-close marks, committed ahead of the CRM close inside a page: one commit."""
        ahead = self._store.write_ahead()
        ahead.__enter__()
        in_page, self._in_page = self._in_page, False
        try:
            yield
        finally:
            self._in_page = in_page
            started = time.perf_counter()
            ahead.__exit__(*sys.exc_info())
            self.seconds += time.perf_counter() - started


@contextmanager
def synced_org(
    crm: str, accounts: int, state: dict[str, Any], **extra: Any
) -> Iterator[tuple[CrmAdapter, Settings]]:
    """A freshly seeded org with tiersync's fields set up, and the settings that reach it."""
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
                **extra,
            }
        )
        adapter = make_adapter(settings)
        adapter.setup_fields({t.value: t.value for t in Trait}, False)
        yield adapter, settings
    finally:
        sandbox.stop()


def measured(store: TimedStore, run: Callable[[], tuple[Any, Any]]) -> tuple[Any, dict[str, float]]:
    """``run`` once against the timed store: its summary, and its wall and state figures."""
    started = time.perf_counter()
    summary, _ = run()
    wall = time.perf_counter() - started
    store.close()
    assert summary.status == "ok", summary.message
    return summary, {"wall": wall, "state": store.seconds, "calls": store.calls, "commits": store.commits}


def one_sync(crm: str, accounts: int, state: dict[str, Any], batched: bool) -> dict[str, float]:
    """A full sync of a freshly seeded org; returns wall and state-write seconds."""
    with synced_org(crm, accounts, state) as (adapter, settings):
        store = TimedStore(open_state(settings), batched=batched)
        engine = SyncEngine(adapter, settings, cast(StateStore, store), f"bench-{uuid.uuid4().hex[:8]}")
        summary, figures = measured(store, lambda: engine.run("full"))
        return {
            **figures,
            "accounts": summary.accounts_read,
            "updated": summary.accounts_updated,
            "tasks": summary.tasks_created,
        }


def one_cleanup(crm: str, accounts: int, state: dict[str, Any], batched: bool) -> dict[str, float]:
    """A full sync with no workload budget (so thousands of tasks go out), then a cleanup that
    deletes them; returns the cleanup's wall and state-write seconds and its state commits."""
    unlimited = {"tasks": {"max_new_per_owner_per_week": 0, "max_open_per_owner": 0}}
    with synced_org(crm, accounts, state, **unlimited) as (adapter, settings):
        connection = f"bench-{uuid.uuid4().hex[:8]}"
        plain = open_state(settings)
        synced, _ = SyncEngine(adapter, settings, plain, connection).run("full")
        plain.close()
        assert synced.status == "ok", synced.message
        assert isinstance(adapter, Cleanable)
        store = TimedStore(open_state(settings), batched=batched)
        engine = CleanupEngine(adapter.cleanup(), settings, cast(StateStore, store), connection)
        summary, figures = measured(store, lambda: engine.run(CleanupOptions(), dry_run=False))
        return {**figures, "tasks": summary.tasks_deleted, "accounts": summary.accounts_cleared}


def report(label: str, mode: str, run: dict[str, float]) -> None:
    per_1000 = run["state"] / run["accounts"] * 1000
    print(
        f"  {label} {mode:>14}: {run['accounts']:,.0f} accounts ({run['updated']:,.0f} updated, "
        f"{run['tasks']:,.0f} tasks), wall {run['wall']:.1f} s, state writes {run['state']:.2f} s = "
        f"{run['state'] / run['wall']:.1%} of wall, {per_1000 * 1000:.0f} ms per 1,000 accounts "
        f"({run['calls']:,.0f} write calls, {run['commits']:,.0f} state commits)"
    )


def report_cleanup(label: str, mode: str, run: dict[str, float]) -> None:
    print(
        f"  {label} {mode:>14}: {run['tasks']:,.0f} tasks deleted, {run['accounts']:,.0f} accounts cleared, "
        f"wall {run['wall']:.2f} s, state writes {run['state']:.3f} s = {run['state'] / run['wall']:.1%} of "
        f"wall, {run['commits']:,.0f} state commits ({run['calls']:,.0f} write calls)"
    )


def postgres_state(dsn: str | None) -> Callable[[], dict[str, Any]]:
    """The state settings of each PostgreSQL run: the given database, else a throwaway server's
    fresh database per run (dev extras); exits with a message when neither is possible."""
    if dsn:
        return lambda: {"state_url": dsn}
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's tests package
    try:
        from tests.postgres_server import start_server
    except ImportError as exc:
        print(
            f"--postgres needs a database: pass --postgres-dsn or set TIERSYNC_STATE_URL, or install the "
            f"dev extras (pip install -e '.[dev]') to start a throwaway server ({exc})",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        server = start_server()
    except RuntimeError as exc:
        print(f"--postgres: no database given and no throwaway server could start: {exc}", file=sys.stderr)
        sys.exit(2)
    return lambda: {"state_url": server.url(server.create_database(), password=True)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--crm", default="salesforce", choices=["salesforce", "hubspot"])
    parser.add_argument("--postgres", action="store_true", help="also measure the PostgreSQL store")
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("TIERSYNC_STATE_URL"),
        help="a scratch PostgreSQL database for --postgres (default: TIERSYNC_STATE_URL; else a throwaway server)",
    )
    parser.add_argument("--cleanup", action="store_true", help="also measure tiersync cleanup's state writes")
    parser.add_argument("--cleanup-accounts", type=int, default=4_000)
    parser.add_argument("--skip-sync", action="store_true", help="measure only what --cleanup asks for")
    args = parser.parse_args()
    stores: list[tuple[str, Callable[[], dict[str, Any]]]] = [("sqlite", lambda: {})]
    if args.postgres:
        stores.append(("postgres", postgres_state(args.postgres_dsn)))
    if not args.skip_sync:
        print(
            f"== {args.crm}, full sync of {args.accounts:,} accounts, state writes row at a time vs per page"
        )
        compare(stores, lambda state, batched: one_sync(args.crm, args.accounts, state, batched), report)
    if args.cleanup:
        print(
            f"== {args.crm}, cleanup after a full sync of {args.cleanup_accounts:,} accounts (no workload "
            "budget), tasks recorded one at a time vs one transaction per page"
        )
        compare(
            stores,
            lambda state, batched: one_cleanup(args.crm, args.cleanup_accounts, state, batched),
            report_cleanup,
        )


def compare(
    stores: list[tuple[str, Callable[[], dict[str, Any]]]],
    one: Callable[[dict[str, Any], bool], dict[str, float]],
    show: Callable[[str, str, dict[str, float]], None],
) -> None:
    """Per store, the baseline and the batched run on identical orgs, then their ratios."""
    for label, state in stores:
        row = one(state(), False)
        show(label, "row at a time", row)
        page = one(state(), True)
        show(label, "per page", page)
        print(
            f"  {label} ratio row at a time / per page: state commits {row['commits'] / page['commits']:.0f}x, "
            f"state-write time {row['state'] / page['state']:.2f}x, wall {row['wall'] / page['wall']:.2f}x; "
            f"state share of wall {row['state'] / row['wall']:.1%} -> {page['state'] / page['wall']:.1%}"
        )


if __name__ == "__main__":
    main()
