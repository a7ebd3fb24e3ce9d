"""The state-store contract: the same assertions hold for the SQLite file and for PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import replace

import psycopg
import pytest

from connector.config import Settings
from connector.crm.base import TaskSpec
from connector.sync.state import MarkedBy, State, StateStore, TaskState, open_state
from connector.sync.state_postgres import PostgresState
from connector.sync.tasks import WantedTask, period_of, task_key

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
DB_ERRORS = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)


def wanted(account: str, action: str, day: dt.date = TODAY, cadence: int = 90) -> WantedTask:
    period = period_of(day, cadence)
    spec = TaskSpec(
        key=task_key(account, action, period),
        account_id=account,
        owner_id="005A",
        subject=f"[tiersync] {action}",
        description="why",
        due=day + dt.timedelta(days=14),
    )
    return WantedTask(spec, action, period)


def test_the_factory_picks_the_store_the_settings_name(settings: Settings, store: StateStore) -> None:
    expected = PostgresState if settings.state_url is not None else State
    assert type(store) is expected


def test_watermarks_are_kept_per_connection_and_scope(store: StateStore) -> None:
    assert store.watermark("emea", "changes") is None
    store.set_watermark("emea", "changes", "2026-11-01T09:00:00+00:00", NOW)
    store.set_watermark("emea", "changes", "2026-11-01T10:00:00+00:00", NOW)
    store.set_watermark("us", "changes", "2026-10-01T00:00:00+00:00", NOW)
    store.set_watermark("emea", "backfill_cursor", "001A", NOW)
    assert store.watermark("emea", "changes") == "2026-11-01T10:00:00+00:00"
    assert store.watermark("us", "changes") == "2026-10-01T00:00:00+00:00"
    store.clear_watermark("emea", "backfill_cursor")
    assert store.watermark("emea", "backfill_cursor") is None
    assert store.watermark("emea", "changes") is not None


def test_tier_history_is_oldest_first_per_account(store: StateStore) -> None:
    for tier, previous in (("good", None), ("poor", "good"), ("okay", "poor")):
        store.record_tier_change(
            "default", "001A", tier=tier, computed_tier=tier, previous_tier=previous, now=NOW, run_id=1
        )
    store.record_tier_change(
        "default", "001B", tier="amazing", computed_tier="good", previous_tier=None, now=NOW, run_id=None
    )
    assert [(t, p) for t, p, _ in store.tier_history("default", "001A")] == [
        ("good", None),
        ("poor", "good"),
        ("okay", "poor"),
    ]
    assert store.tier_history("default", "001B") == [("amazing", None, NOW.isoformat())]


def test_task_lifecycle_pending_then_open_then_done(store: StateStore) -> None:
    review, survey = wanted("001A", "review_relationship"), wanted("001A", "comms:yearly_survey", cadence=365)
    store.tasks_pending("default", [review, survey], NOW)
    row = store.task("default", review.spec.key)
    assert row is not None
    assert (row.status, row.crm_id, row.action) == (TaskState.PENDING, None, "review_relationship")
    assert (row.period_start, row.period_end) == (review.period.start, review.period.end)

    store.task_confirmed("default", review.spec.key, "00T1")
    store.tasks_pending("default", [review], NOW + dt.timedelta(hours=1))  # a re-run: the key is known
    row = store.task("default", review.spec.key)
    assert row is not None and (row.status, row.crm_id) == (TaskState.OPEN, "00T1")

    store.task_forgotten("default", review.spec.key)  # only a pending key is forgotten
    assert store.task("default", review.spec.key) is not None
    store.task_forgotten("default", survey.spec.key)
    assert store.task("default", survey.spec.key) is None

    store.task_finished("default", review.spec.key, TaskState.DONE, NOW)
    row = store.task("default", review.spec.key)
    assert row is not None and row.status == TaskState.DONE
    assert store.task_counts("default") == {TaskState.DONE: 1}
    [listed] = store.all_tasks("default")
    assert listed["key"] == review.spec.key and listed["closed_at"] == NOW.isoformat()
    assert listed["due"] == review.spec.due.isoformat() and listed["created_at"] == NOW.isoformat()


def test_finishing_by_crm_key_ends_every_action_the_task_carries(store: StateStore) -> None:
    """A grouped CRM task is stored under its group key, which no action's own key equals."""
    group = "001A/plan/2026-11-01"
    review, survey = (
        replace(wanted("001A", a), group_key=group) for a in ("review_relationship", "ask_for_referral")
    )
    single, other = wanted("001B", "review_relationship"), wanted("001C", "review_relationship")
    later = wanted("001A", "comms:yearly_survey", cadence=365)
    store.tasks_pending("default", [review, survey, single, other], NOW)
    for item, crm_id in ((review, "00T1"), (survey, "00T1"), (single, "00T2"), (other, "00T3")):
        store.task_confirmed("default", item.spec.key, crm_id)
    store.task_finished("default", survey.spec.key, TaskState.DONE, NOW)  # a user finished it first
    store.tasks_deferred("default", [(later, TODAY)], NOW)
    with store.page():
        store.tasks_finished_by_crm_key("default", [group, single.spec.key], TaskState.CLOSED, NOW)
    assert {r["key"]: r["status"] for r in store.all_tasks("default")} == {
        review.spec.key: TaskState.CLOSED,
        survey.spec.key: TaskState.DONE,
        single.spec.key: TaskState.CLOSED,
        other.spec.key: TaskState.OPEN,
        later.spec.key: TaskState.DEFERRED,
    }


def test_tasks_are_found_by_account_and_kept_apart_per_connection(store: StateStore) -> None:
    tasks = [wanted(f"001{i:03d}", "find_growth_point") for i in range(1200)]
    store.tasks_pending("emea", tasks, NOW)
    store.tasks_pending("us", [wanted("001000", "find_growth_point")], NOW)
    found = store.tasks_for("emea", [f"001{i:03d}" for i in range(0, 1200, 2)] + ["nobody"])
    assert len(found) == 600 and {r.account_id for r in found} == {f"001{i:03d}" for i in range(0, 1200, 2)}
    assert store.tasks_for("emea", []) == []
    assert [r.account_id for r in store.tasks_for("us", ["001000", "001002"])] == ["001000"]
    assert store.task_counts("emea") == {TaskState.PENDING: 1200}


def test_all_tasks_are_sorted_by_key_bytewise(store: StateStore) -> None:
    store.tasks_pending("default", [wanted(a, "x_y") for a in ("b", "B", "a_", "a-", "A")], NOW)
    keys = [t["key"] for t in store.all_tasks("default")]
    assert keys == sorted(keys), "both stores sort as bytes, whatever the database's locale"


def test_tasks_come_a_page_at_a_time_in_byte_order_and_all_of_them(store: StateStore) -> None:
    accounts = ["b", "B", "a_", "a-", "A", "é", "0", "Z", "_x"]
    store.tasks_pending("emea", [wanted(a, "x_y") for a in accounts], NOW)
    store.tasks_pending("us", [wanted("A", "x_y")], NOW)
    pages = list(store.iter_tasks("emea", 4))
    assert [len(p) for p in pages] == [4, 4, 1]
    keys = [t["key"] for p in pages for t in p]
    assert keys == sorted((wanted(a, "x_y").spec.key for a in accounts), key=str.encode)
    assert [t for p in pages for t in p] == store.all_tasks("emea")
    assert {t["account_id"] for p in pages for t in p} == set(accounts)
    assert list(store.iter_tasks("nobody", 4)) == []


def test_pending_tasks_are_one_transaction(store: StateStore) -> None:
    good = wanted("001A", "review_relationship")
    broken = WantedTask(
        TaskSpec("001B/x/2026", None, None, "s", "d", TODAY),  # type: ignore[arg-type]
        "x",
        good.period,
    )
    with pytest.raises(DB_ERRORS):
        store.tasks_pending("default", [good, broken], NOW)
    assert store.task("default", good.spec.key) is None, "a failed batch records no key"


def test_ended_periods_are_due_until_renewed(store: StateStore) -> None:
    old = wanted("001A", "find_growth_point", TODAY - dt.timedelta(days=120))
    current = wanted("001B", "find_growth_point")
    store.tasks_pending("default", [old, current], NOW)
    assert store.accounts_due_for_new_period("default", TODAY) == {"001A"}
    store.mark_renewed("default", ["001A", "001B"], TODAY)
    store.mark_renewed("default", [], TODAY)
    assert store.accounts_due_for_new_period("default", TODAY) == set()
    later = TODAY + dt.timedelta(days=200)
    assert store.accounts_due_for_new_period("default", later) == {"001B"}


def test_results_are_upserted_per_account(store: StateStore) -> None:
    first = [
        {"account_id": "001B", "tier": "good", "evidence": {"complaints": 1}},
        {"account_id": "001A", "tier": "okay"},
    ]
    store.save_results("emea", first, 1, NOW)
    store.save_results("emea", [{"account_id": "001B", "tier": "poor", "name": 'O\'Brien "Ltd" ☃'}], 2, NOW)
    store.save_results("us", [{"account_id": "001A", "tier": "amazing"}], 3, NOW)
    assert store.results("emea") == [
        {"account_id": "001A", "tier": "okay"},
        {"account_id": "001B", "tier": "poor", "name": 'O\'Brien "Ltd" ☃'},
    ]
    assert store.connections() == ["emea", "us"]


def test_results_come_a_page_at_a_time_in_byte_order_and_all_of_them(store: StateStore) -> None:
    ids = ["a-1", "B-2", "b-1", "A-10", "A-9", "é-1", "Z", "_x", "0"]
    store.save_results("emea", [{"account_id": i, "tier": "good"} for i in ids], 1, NOW)
    store.save_results("us", [{"account_id": "A-95", "tier": "poor"}], 2, NOW)
    pages = list(store.results_pages("emea", 4))
    assert [len(p) for p in pages] == [4, 4, 1]
    in_bytes = sorted(ids, key=lambda i: i.encode())
    assert [r["account_id"] for p in pages for r in p] == in_bytes
    assert store.results("emea") == [r for p in pages for r in p]


def test_tier_histories_of_many_accounts_match_each_one_s(store: StateStore) -> None:
    tiers = {"001A": ["okay", "good", "poor"], "001B": ["amazing"], "001C": ["poor", "okay"]}
    for step in range(3):
        for account, path in tiers.items():
            if step < len(path):
                before = path[step - 1] if step else None
                store.record_tier_change(
                    "default",
                    account,
                    tier=path[step],
                    computed_tier=path[step],
                    previous_tier=before,
                    now=NOW + dt.timedelta(minutes=step),
                    run_id=None,
                )
    store.record_tier_change(
        "other", "001A", tier="good", computed_tier="good", previous_tier=None, now=NOW, run_id=None
    )
    many = store.tier_histories("default", ["001C", "001A", "001Z", "001B"])
    assert many == {a: store.tier_history("default", a) for a in ("001A", "001B", "001C")}
    assert [t for t, _, _ in many["001A"]] == ["okay", "good", "poor"]


def test_saving_results_is_one_transaction(store: StateStore) -> None:
    with pytest.raises(DB_ERRORS):
        store.save_results("emea", [{"account_id": "001A"}, {"account_id": None}], 1, NOW)
    assert store.results("emea") == []


def test_runs_are_logged_in_order_with_their_summary(store: StateStore) -> None:
    first = store.run_started("emea", "full", NOW)
    second = store.run_started("emea", "incremental", NOW + dt.timedelta(hours=1))
    other = store.run_started("us", "incremental", NOW)
    assert first < second and other not in (first, second)
    store.run_ended(first, "ok", {"accounts_read": 3, "failures": []}, NOW + dt.timedelta(minutes=2))
    runs = store.runs("emea")
    assert [(r["id"], r["mode"], r["status"]) for r in runs] == [
        (first, "full", "ok"),
        (second, "incremental", "running"),
    ]
    assert runs[0]["summary"] == {"accounts_read": 3, "failures": []}
    assert runs[0]["ended_at"] == "2026-11-01T09:02:00+00:00" and runs[1]["summary"] is None


def test_every_write_is_visible_to_another_process_at_once(settings: Settings, store: StateStore) -> None:
    store.set_watermark("default", "changes", "w1", NOW)
    store.tasks_pending("default", [wanted("001A", "review_relationship")], NOW)
    store.save_results("default", [{"account_id": "001A", "tier": "good"}], None, NOW)
    reader = open_state(settings)  # a second connection, while the first stays open
    try:
        assert reader.watermark("default", "changes") == "w1"
        assert len(reader.tasks_for("default", ["001A"])) == 1
        assert reader.results("default") == [{"account_id": "001A", "tier": "good"}]
    finally:
        reader.close()


def test_reopening_keeps_everything(settings: Settings, store: StateStore) -> None:
    store.set_watermark("default", "changes", "w1", NOW)
    store.close()
    again = open_state(settings)
    try:
        assert again.watermark("default", "changes") == "w1"
    finally:
        again.close()


def test_a_connection_is_bound_to_one_org_and_rebinding_forgets_only_its_state(store: StateStore) -> None:
    assert store.bound_org("emea") is None
    store.bind_org("emea", "00D000000000001AAA")
    store.bind_org("us", "00D000000000002AAA")
    for connection in ("emea", "us"):
        store.tasks_pending(connection, [wanted("001A", "review_relationship")], NOW)
        store.set_watermark(connection, "changes", NOW.isoformat(), NOW)
        store.record_tier_change(
            connection, "001A", tier="good", computed_tier="good", previous_tier=None, now=NOW, run_id=None
        )
        store.save_results(connection, [{"account_id": "001A", "tier": "good"}], None, NOW)
    run = store.run_started("emea", "full", NOW)

    store.rebind_org("emea", "00D000000000003AAA")

    assert (store.bound_org("emea"), store.bound_org("us")) == ("00D000000000003AAA", "00D000000000002AAA")
    assert store.all_tasks("emea") == [] and store.watermark("emea", "changes") is None
    assert store.tier_history("emea", "001A") == [] and store.results("emea") == []
    assert [r["id"] for r in store.runs("emea")] == [run], "the run log stays"
    assert len(store.all_tasks("us")) == 1 and store.watermark("us", "changes") == NOW.isoformat()
    assert store.tier_history("us", "001A") == [("good", None, NOW.isoformat())]


def tier_change(store: StateStore, account: str, tier: str) -> None:
    store.record_tier_change(
        "default", account, tier=tier, computed_tier=tier, previous_tier=None, now=NOW, run_id=1
    )


def test_a_page_commits_its_writes_together_when_it_ends(settings: Settings, store: StateStore) -> None:
    reader = open_state(settings)
    try:
        with store.page():
            store.save_results("default", [{"account_id": "001A", "tier": "good"}], 1, NOW)
            tier_change(store, "001A", "good")
            store.task_finished("default", "nothing/yet", TaskState.DONE, NOW)
            store.set_watermark("default", "backfill_cursor", "001A", NOW)
            assert reader.results("default") == [] and reader.tier_history("default", "001A") == []
            assert reader.watermark("default", "backfill_cursor") is None
        assert reader.results("default") == [{"account_id": "001A", "tier": "good"}]
        assert reader.tier_history("default", "001A") == [("good", None, NOW.isoformat())]
        assert reader.watermark("default", "backfill_cursor") == "001A"
    finally:
        reader.close()


def test_task_keys_are_durable_before_their_page_ends(settings: Settings, store: StateStore) -> None:
    review = wanted("001A", "review_relationship")
    reader = open_state(settings)
    try:
        with store.page():
            store.save_results("default", [{"account_id": "001A"}], 1, NOW)
            store.tasks_pending("default", [review], NOW)
            seen = reader.task("default", review.spec.key)
            assert seen is not None and seen.status == TaskState.PENDING, "written ahead of the send"
            store.task_confirmed("default", review.spec.key, "00T1")
            seen = reader.task("default", review.spec.key)
            assert seen is not None and seen.status == TaskState.PENDING
        seen = reader.task("default", review.spec.key)
        assert seen is not None and (seen.status, seen.crm_id) == (TaskState.OPEN, "00T1")
    finally:
        reader.close()


def test_a_page_marked_for_redo_stays_marked_until_the_page_commits(
    settings: Settings, store: StateStore
) -> None:
    reader = open_state(settings)
    try:
        with store.page():
            store.mark_redo("default", ["001A", "001B"], NOW)
            assert reader.accounts_to_redo("default") == {"001A", "001B"}, "written ahead of the CRM writes"
            store.clear_redo("default", ["001A", "001B"])
            assert reader.accounts_to_redo("default") == {"001A", "001B"}, "cleared with the page"
        assert reader.accounts_to_redo("default") == set()
        store.mark_redo("default", ["001C"], NOW)
        store.mark_redo("default", ["001C"], NOW + dt.timedelta(hours=1))  # a mark twice is one mark
        store.mark_redo("emea", ["001D"], NOW)
        assert (reader.accounts_to_redo("default"), reader.accounts_to_redo("emea")) == ({"001C"}, {"001D"})
        store.rebind_org("default", "00Dnew")
        assert reader.accounts_to_redo("default") == set(), "another org's accounts are not redone"
        assert reader.accounts_to_redo("emea") == {"001D"}
    finally:
        reader.close()


def three_open_tasks(store: StateStore) -> tuple[WantedTask, WantedTask, WantedTask]:
    """Tasks of 001A, 001B and 001C, sent and open in the CRM as 00T0, 00T1 and 00T2."""
    tasks = tuple(wanted(a, "review_relationship") for a in ("001A", "001B", "001C"))
    store.tasks_pending("default", tasks, NOW)
    for number, task in enumerate(tasks):
        store.task_confirmed("default", task.spec.key, f"00T{number}")
    return tasks[0], tasks[1], tasks[2]


def test_task_ends_are_held_with_the_page_and_win_over_a_read_back_s_done(
    settings: Settings, store: StateStore
) -> None:
    closing, deleting, other = three_open_tasks(store)
    reader = open_state(settings)
    try:
        store.mark_task_ends("default", [closing.spec.key], TaskState.CLOSED, NOW)
        assert reader.task_ends("default") == {closing.spec.key: TaskState.CLOSED}, "outside a page: at once"
        with store.page():
            store.clear_task_ends("default", [closing.spec.key])
            store.mark_task_ends("default", [deleting.spec.key], TaskState.DONE, NOW)
            assert reader.task_ends("default") == {closing.spec.key: TaskState.CLOSED}, "held by the page"
        assert reader.task_ends("default") == {deleting.spec.key: TaskState.DONE}
        store.mark_task_ends("default", [closing.spec.key], TaskState.DONE, NOW)
        store.mark_task_ends(
            "default", [closing.spec.key], TaskState.CLOSED, NOW
        )  # marked again: the new one
        store.mark_task_ends("emea", [other.spec.key], TaskState.CLOSED, NOW)

        # a sync reads the three tasks back finished: the two a cleanup marked are its own
        store.tasks_finished_by_crm_id("default", ["00T0", "00T1", "00T2"], TaskState.DONE, NOW)
        found = {t.key: t.status for t in reader.tasks_for("default", ["001A", "001B", "001C"])}
        assert found == {
            closing.spec.key: TaskState.CLOSED,
            deleting.spec.key: TaskState.DONE,
            other.spec.key: TaskState.DONE,
        }, "another connection's mark does not count"
        store.rebind_org("emea", "00Dnew")
        assert reader.task_ends("emea") == {}
        assert len(reader.task_ends("default")) == 2
    finally:
        reader.close()


def test_a_sync_s_marks_commit_ahead_of_its_page_and_are_dropped_once_recorded(
    settings: Settings, store: StateStore
) -> None:
    closing, theirs, open_one = three_open_tasks(store)
    store.mark_task_ends("default", [theirs.spec.key, open_one.spec.key], TaskState.CLOSED, NOW)
    reader = open_state(settings)
    try:
        with store.page():
            tier_change(store, "001A", "good")
            with store.write_ahead():
                store.mark_task_ends("default", [closing.spec.key], TaskState.CLOSED, NOW, MarkedBy.SYNC)
            assert reader.task_ends("default", MarkedBy.SYNC) == {closing.spec.key: TaskState.CLOSED}
            assert reader.tier_history("default", "001A") == [], "the page's own writes stay held"
        assert [t for t, _, _ in reader.tier_history("default", "001A")] == ["good"]
        assert set(reader.task_ends("default")) == {theirs.spec.key, open_one.spec.key}, "a cleanup's apart"

        with store.page():  # the next sync: two read back finished, one still open
            store.tasks_finished_by_crm_id("default", ["00T0", "00T1"], TaskState.DONE, NOW)
            store.tasks_seen_open("default", ["00T2"])
        found = {t.key: t.status for t in reader.tasks_for("default", ["001A", "001B", "001C"])}
        assert found == {
            closing.spec.key: TaskState.CLOSED,
            theirs.spec.key: TaskState.CLOSED,
            open_one.spec.key: TaskState.OPEN,
        }
        assert reader.task_ends("default", MarkedBy.SYNC) == {}, "the sync's mark is recorded: dropped"
        assert reader.task_ends("default") == {theirs.spec.key: TaskState.CLOSED}, (
            "the cleanup counts its own"
        )
    finally:
        reader.close()


def test_a_page_ended_by_an_error_still_keeps_what_it_recorded(store: StateStore) -> None:
    def page_that_fails() -> None:
        with store.page():
            tier_change(store, "001A", "good")
            raise RuntimeError("the CRM went away after the tier was written")

    with pytest.raises(RuntimeError):
        page_that_fails()
    assert [t for t, _, _ in store.tier_history("default", "001A")] == ["good"]


def test_a_page_whose_writes_fail_keeps_none_of_them(store: StateStore) -> None:
    def page_with_a_bad_row() -> None:
        with store.page():
            tier_change(store, "001A", "good")
            store.save_results("default", [{"account_id": None}], 1, NOW)

    with pytest.raises(DB_ERRORS):
        page_with_a_bad_row()
    assert store.tier_history("default", "001A") == [] and store.results("default") == []
    tier_change(store, "001B", "okay")  # the store is usable afterwards
    assert len(store.tier_history("default", "001B")) == 1


def test_a_page_inside_a_page_is_part_of_it(settings: Settings, store: StateStore) -> None:
    reader = open_state(settings)
    try:
        with store.page():
            with store.page():
                tier_change(store, "001A", "good")
            assert reader.tier_history("default", "001A") == []
        assert len(reader.tier_history("default", "001A")) == 1
    finally:
        reader.close()
