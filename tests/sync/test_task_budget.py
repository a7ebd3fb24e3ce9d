"""The workload budget and the priority: which tasks go first, and where the rest are deferred to.

Pure: classifications from hand-built clients, the state's view of earlier tasks as plain rows."""

from __future__ import annotations

import datetime as dt

from connector.classify.classifier import Classification
from connector.config import Settings
from connector.sync.budget import TaskBudget, rank, rank_name, week_of
from connector.sync.state import TaskLoad, TaskRow, TaskState
from connector.sync.task_plan import TaskDecisions, plan_tasks
from tests.roster_builder import AS_OF, Client
from tests.test_tiers import one

NEXT_MONDAY = week_of(AS_OF) + dt.timedelta(days=7)
NO_TOUCHES = {"comms": {"enabled": False}}


def settings(**tasks: object) -> Settings:
    return Settings.model_validate({**NO_TOUCHES, "tasks": tasks})


def clients() -> dict[str, Classification]:
    """One owner's book: from most to least urgent by the default priority."""
    return {
        "conduct": one(Client(id="A-conduct", abusive=2, complaints=7)),
        "payment": one(Client(id="B-payment", on_time=4, late=8)),
        "referral": one(Client(id="C-referral", referrals=2, nps=10)),
        "growth": one(Client(id="D-growth", complaints=4)),
    }


def budget(s: Settings, load: list[TaskLoad] | None = None) -> TaskBudget:
    return TaskBudget(s, AS_OF, load or [], lambda _owner: set())


def decide(s: Settings, load: list[TaskLoad] | None = None) -> TaskDecisions:
    results = sorted(clients().values(), key=lambda c: c.account_id, reverse=True)
    return plan_tasks(results, [], s, AS_OF, budget(s, load))


def test_default_priority_ranks_conduct_then_payment_then_revenue_at_risk_then_referrals() -> None:
    s = Settings()
    c = clients()
    names = {k: rank_name(rank(v, v.actions, s), s) for k, v in c.items()}
    assert names == {
        "conduct": "poor_conduct",
        "payment": "poor_payment",
        "referral": "referral_ask",
        "growth": "routine",
    }
    assert rank(c["growth"], ["comms:yearly_survey"], s) == len(s.tasks.priority)


def test_the_most_important_go_first_and_the_rest_wait_for_next_week() -> None:
    decisions = decide(settings(max_new_per_owner_per_week=2))
    sent = [s.spec.account_id for s in decisions.sends]
    assert sent == ["A-conduct", "B-payment"]
    deferred = {d.task.spec.account_id: d for d in decisions.deferrals}
    assert set(deferred) == {"C-referral", "D-growth"}
    assert {d.until for d in deferred.values()} == {NEXT_MONDAY}
    assert deferred["C-referral"].why == "workload budget (referral_ask)"


def test_deferrals_fill_the_following_weeks_in_turn() -> None:
    decisions = decide(settings(max_new_per_owner_per_week=1))
    until = {d.task.spec.account_id: d.until for d in decisions.deferrals}
    assert [s.spec.account_id for s in decisions.sends] == ["A-conduct"]
    assert until == {
        "B-payment": NEXT_MONDAY,
        "C-referral": NEXT_MONDAY + dt.timedelta(days=7),
        "D-growth": NEXT_MONDAY + dt.timedelta(days=14),
    }


def test_open_tasks_and_this_weeks_sends_count_against_the_budget() -> None:
    this_week = [TaskLoad("owner-1", "X", "X/plan/1", "00T1", TaskState.OPEN, AS_OF)]
    older_open = [
        TaskLoad("owner-1", f"Y{i}", f"Y{i}/a/1", f"00T{i}", TaskState.OPEN, AS_OF - dt.timedelta(days=30))
        for i in range(2)
    ]
    new_limited = decide(settings(max_new_per_owner_per_week=2, max_open_per_owner=0), this_week)
    assert [s.spec.account_id for s in new_limited.sends] == ["A-conduct"]
    open_limited = decide(settings(max_new_per_owner_per_week=0, max_open_per_owner=3), older_open)
    assert [s.spec.account_id for s in open_limited.sends] == ["A-conduct"]
    unlimited = decide(settings(max_new_per_owner_per_week=0, max_open_per_owner=0), older_open)
    assert len(unlimited.sends) == 4 and unlimited.deferrals == []


def test_completed_tasks_read_back_from_the_crm_free_room() -> None:
    load = [
        TaskLoad("owner-1", f"Y{i}", f"Y{i}/a/1", f"00T{i}", TaskState.OPEN, AS_OF - dt.timedelta(days=30))
        for i in range(3)
    ]
    asked: list[list[str]] = []

    def finished(owners: list[str]) -> set[str]:
        asked.append(owners)
        return {"00T0", "00T1"}

    s = settings(max_new_per_owner_per_week=0, max_open_per_owner=3)
    results = sorted(clients().values(), key=lambda c: c.account_id)
    decisions = plan_tasks(results, [], s, AS_OF, TaskBudget(s, AS_OF, load, finished))
    assert asked == [["owner-1"]], "read back once per owner and run"
    assert [x.spec.account_id for x in decisions.sends] == ["A-conduct", "B-payment"]


def test_a_deferred_task_comes_due_on_its_day_without_being_decided_again() -> None:
    s = settings(max_new_per_owner_per_week=1)
    growth = clients()["growth"]
    first = plan_tasks(
        [growth], [], s, AS_OF, budget(s, [TaskLoad("owner-1", "Z", "Z/a/1", None, "open", AS_OF)])
    )
    assert first.deferrals and len({d.until for d in first.deferrals}) == 1, "one task, deferred whole"
    until = first.deferrals[0].until
    rows = [
        TaskRow(
            d.task.spec.key,
            growth.account_id,
            d.task.action,
            d.task.period.start,
            d.task.period.end,
            None,
            TaskState.DEFERRED,
            defer_until=d.until,
        )
        for d in first.deferrals
    ]
    waiting = plan_tasks([growth], rows, s, until - dt.timedelta(days=1), budget(s))
    assert waiting.sends == [] and waiting.deferrals == []
    due = plan_tasks([growth], rows, s, until, budget(s))
    (task,) = due.sends
    assert {w.spec.key for w in task.items} == {d.task.spec.key for d in first.deferrals}


def test_one_task_per_action_when_asked() -> None:
    s = settings(max_new_per_owner_per_week=0, max_open_per_owner=0, one_task_per_action=True)
    conduct = clients()["conduct"]
    decisions = plan_tasks([conduct], [], s, AS_OF, budget(s))
    assert len(decisions.sends) == len(conduct.actions) > 1
    grouped = plan_tasks([conduct], [], settings(max_new_per_owner_per_week=0), AS_OF, budget(s))
    (task,) = grouped.sends
    assert task.spec.subject == f"[tiersync] Client plan: {len(conduct.actions)} actions"
    assert {w.action for w in task.items} == set(conduct.actions)


def test_a_poor_clients_growth_point_action_keeps_the_rank_of_the_review_it_replaces() -> None:
    s = Settings()
    poor = one(Client(id="E-poor", complaints=7))
    assert poor.actions == ("fix_communication",)
    okay = clients()["growth"]
    assert rank_name(rank(poor, poor.actions, s), s) == "poor_relationship"
    assert rank(poor, poor.actions, s) < rank(clients()["referral"], ["ask_for_referral"], s)
    assert rank_name(rank(okay, okay.actions, s), s) == "routine"


def test_the_owners_a_page_expects_are_read_back_in_one_go() -> None:
    load = [
        TaskLoad(owner, f"K{n}", f"K{n}/a/1", f"00T{n}", TaskState.OPEN, AS_OF - dt.timedelta(days=30))
        for n, owner in enumerate(["owner-1", "owner-2", "owner-3"])
    ]
    asked: list[list[str]] = []

    def finished(owners: list[str]) -> set[str]:
        asked.append(owners)
        return {"00T1"}

    b = TaskBudget(settings(), AS_OF, load, finished)
    b.expect(["owner-2", None, "owner-1"])
    assert not b.is_finished("00T0", "owner-1")
    assert b.is_finished("00T1", "owner-2")
    assert b.open_count("owner-2") == 0
    assert not b.is_finished("00T2", "owner-3")  # not expected: asked on its own
    assert asked == [["owner-1", "owner-2"], ["owner-3"]]


def test_settled_pages_keep_their_places_and_a_later_page_still_moves_its_own() -> None:
    """A sync settles each page (the budget keeps counts for it, not ids): the weeks come out as one
    budget deciding page after page, and a deferral loaded from the state for an account of a later
    page still gives its place up when that page moves it."""
    s = settings(max_new_per_owner_per_week=1)
    c = clients()
    held = [TaskLoad("owner-1", "D-growth", "D-growth/plan/1", None, TaskState.DEFERRED, NEXT_MONDAY)]
    b = budget(s, held)
    first = plan_tasks([c["conduct"], c["payment"], c["referral"]], [], s, AS_OF, b)
    b.settle(["A-conduct", "B-payment", "C-referral"])
    second = plan_tasks([c["growth"]], [], s, AS_OF, b)
    b.settle(["D-growth"])
    assert [d.spec.account_id for d in first.sends] == ["A-conduct"]
    until = {d.task.spec.account_id: d.until for d in [*first.deferrals, *second.deferrals]}
    assert until == {
        "B-payment": NEXT_MONDAY + dt.timedelta(days=7),  # next week held by D's loaded deferral
        "C-referral": NEXT_MONDAY + dt.timedelta(days=14),
        "D-growth": NEXT_MONDAY,  # D's own place, given up and taken again
    }
    # a settled week stays full: a new account of a later page goes past all three
    late = plan_tasks([one(Client(id="E-late", abusive=2, complaints=7))], [], s, AS_OF, b)
    assert {d.until for d in late.deferrals} == {NEXT_MONDAY + dt.timedelta(days=21)}


def _places(budget: TaskBudget) -> dict[tuple[str, dt.date], int]:
    """Places held per owner and week, by accounts still movable and by settled ones."""
    held: dict[tuple[str, dt.date], int] = {}
    for owner, weeks in budget._reserved.items():
        for week, ids in weeks.items():
            held[(owner, week)] = held.get((owner, week), 0) + len(ids)
    for owner, counts in budget._settled.items():
        for week, count in counts.items():
            held[(owner, week)] = held.get((owner, week), 0) + count
    return {key: count for key, count in held.items() if count}


def test_a_budget_whose_loaded_places_wait_on_disk_decides_as_one_that_keeps_them() -> None:
    """A large org's deferred places from earlier runs wait in a temporary file until their page
    comes (``spill``); seeded runs of pages that admit, join, reserve and settle decide the same days
    and end with the same places as the budget that holds every place in memory."""
    import random

    owners = ["005A", "005B", "005C"]
    for seed in range(60):
        rng = random.Random(seed)
        s = settings(
            max_new_per_owner_per_week=rng.choice([1, 2, 3, 10]), max_open_per_owner=rng.choice([0, 5])
        )
        accounts = [f"001{n:015d}" for n in range(rng.randint(20, 200))]
        load = [
            TaskLoad(
                rng.choice(owners),
                rng.choice(accounts),
                f"L{n}",
                None,
                TaskState.DEFERRED if n == 0 or rng.random() < 0.8 else TaskState.OPEN,
                AS_OF + dt.timedelta(days=rng.randint(-14, 300)),
            )
            for n in range(rng.randint(10, 400))
        ]
        kept = TaskBudget(s, AS_OF, iter(load), lambda _owner: set())
        deferred = sum(row.status == TaskState.DEFERRED for row in load)
        spill = rng.randrange(deferred)
        spilt = TaskBudget(s, AS_OF, iter(load), lambda _owner: set(), spill=spill)
        assert (kept._places, spilt._places is not None) == (None, True)
        for first in range(0, len(accounts), 25):
            page = accounts[first : first + 25]
            for step in range(rng.randint(5, 60)):
                owner, account = rng.choice([*owners, None]), rng.choice(page)
                roll = rng.random()
                if roll < 0.6:
                    key = f"{first}-{step}"
                    assert kept.admit(owner, key, account) == spilt.admit(owner, key, account), (seed, key)
                elif roll < 0.8:
                    kept.joined(owner, account)
                    spilt.joined(owner, account)
                else:
                    day = AS_OF + dt.timedelta(days=rng.randint(0, 300))
                    kept.reserve(owner, account, day)
                    spilt.reserve(owner, account, day)
            kept.settle(page)
            spilt.settle(page)
        assert _places(kept) == _places(spilt), seed
        spilt.close()
