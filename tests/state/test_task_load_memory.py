"""The workload budget reads the state's task load as a stream: a re-sync of a large org has one
deferred, pending or open row per account, and holding them all as rows (a list of ``TaskLoad``, or a
cursor's ``fetchall``) costs more than the ids the budget keeps. Measured with tracemalloc, in this
process, on both stores: what construction allocates beyond what the budget keeps stays a few bytes
per row; materialising the rows first costs hundreds."""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from collections.abc import Iterator

from connector.config import Settings
from connector.crm.base import TaskSpec
from connector.sync.budget import TaskBudget, week_of
from connector.sync.state import StateStore, TaskState
from connector.sync.tasks import WantedTask, period_of, task_key

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
DUE = TODAY + dt.timedelta(days=21)
ROWS = 3000
TRANSIENT_PER_ROW = 100
"""Bytes construction may allocate per row beyond what the budget keeps. Measured: 1-2 on both stores
streamed; 429 when ``task_load`` returned a list of the rows, which this bound fails."""
KEPT_PER_ROW = 200
"""Bytes the budget may keep per deferred row: its account id in the week's set. Measured: 112."""


def _deferral(n: int) -> tuple[WantedTask, dt.date]:
    account = f"001{n:015d}"
    period = period_of(TODAY, 90)
    spec = TaskSpec(
        key=task_key(account, "review_relationship", period),
        account_id=account,
        owner_id="005A",
        subject="[tiersync] review",
        description="why",
        due=DUE,
    )
    return WantedTask(spec, "review_relationship", period), DUE


def test_the_task_load_is_a_lazy_stream(store: StateStore) -> None:
    store.tasks_deferred("default", [_deferral(n) for n in range(3)], NOW)
    load = store.task_load("default", week_of(TODAY))
    assert isinstance(load, Iterator)
    assert sorted(t.account_id for t in load) == [f"001{n:015d}" for n in range(3)]


def test_the_budget_keeps_the_ids_and_never_the_rows(store: StateStore) -> None:
    store.tasks_deferred("default", [_deferral(n) for n in range(ROWS)], NOW)
    settings = Settings()
    TaskBudget(settings, TODAY, store.task_load("default", week_of(TODAY)), lambda _o: set())  # warm up
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        budget = TaskBudget(settings, TODAY, store.task_load("default", week_of(TODAY)), lambda _o: set())
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the budget counted every deferred row: the week they come due has no room for one more
    assert sum(len(ids) for ids in budget._reserved["005A"].values()) == ROWS
    assert all(t.status == TaskState.DEFERRED for t in store.task_load("default", week_of(TODAY)))
    kept, transient = current - before, peak - current
    assert kept <= KEPT_PER_ROW * ROWS, f"kept {kept / ROWS:.0f} bytes per deferred row"
    assert transient <= TRANSIENT_PER_ROW * ROWS, f"{transient / ROWS:.0f} bytes per row beyond what is kept"
