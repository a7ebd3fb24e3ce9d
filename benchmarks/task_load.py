"""Task load per account manager over half a year: does the workload budget hold, and does every
account still get its actions?

Syncs the sandbox org (2,000 accounts by default), then moves ``as_of`` forward a week at a time for
26 weeks, re-syncing each week. Between weeks the owners complete tasks through the CRM's API, seeded
and realistic: a task past its due date is done that week with probability 0.6, one not yet due with
0.2. After the 26 weeks the same weekly routine goes on (up to ``--drain`` weeks) until every action
that came due in the 26 weeks has been delivered or its cause has cleared.

Delivery is counted per action and period (``Obligations``): an action is owed from the week it comes
due (a first touch spread to a later period is not due before that period) until a task carries it.
An action whose cause cleared while it waited is resolved (the sync dropped its deferral), and said so;
one that leaves the state with neither a task nor such a drop is counted lost. Every action still
waiting at the end is printed with its account, owner, since when, the state's rows and the plan's
lines for it (why it was deferred), and what blocks it now (owner at the open cap, an open task).

Prints, per owner: new tasks per week (mean and max), open tasks (max, right after each sync) and
deferred tasks (accounts with a due action held back: max and at the end); then the goal (at most 10
new per owner per week, at most 30 open) and the delivery counts.
Run: ``.venv/bin/python benchmarks/task_load.py [--accounts 2000] [--weeks 26] [--crm salesforce]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import hubspot
import requests
import simple_salesforce
from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput

from connector.config import Settings
from connector.crm.factory import make_adapter
from connector.model import Trait
from connector.sandbox.runtime import Sandbox, start
from connector.sync.engine import SyncEngine
from connector.sync.state import State, TaskRow, TaskState

AS_OF = dt.date(2026, 11, 2)
"""A Monday: each weekly sync opens a new budget week."""
CONNECTION = "bench"
DONE_IF_DUE = 0.6
DONE_IF_NOT_DUE = 0.2
GOAL_NEW, GOAL_OPEN = 10, 30


class Owners:
    """The account managers' side: they read their open tiersync tasks and complete some, through the
    CRM's own API with the real client library."""

    def __init__(self, sandbox: Sandbox, crm: str, seed: int) -> None:
        self.sandbox, self.crm, self.rng = sandbox, crm, random.Random(seed)
        if crm == "salesforce":
            info = sandbox.salesforce_settings()
            session = requests.Session()
            session.trust_env = False
            session.verify = info["ca_bundle"]
            self.sf = simple_salesforce.Salesforce(
                instance_url=info["instance_url"],
                session_id=info["session_id"],
                session=session,
                version="60.0",
            )
        else:
            info = sandbox.hubspot_settings()
            self.hs = hubspot.HubSpot(access_token=info["access_token"], host=info["host"])

    def open_tasks(self) -> list[dict[str, Any]]:
        """Every open tiersync task: id, owner, due date (the sandbox's own records are the oracle)."""
        if self.crm == "salesforce":
            return [
                {"id": t["Id"], "owner": t.get("OwnerId"), "due": t.get("ActivityDate")}
                for t in self.sandbox.salesforce.records("Task")
                if t.get("Tiersync_Key__c") and not t.get("IsDeleted") and t.get("Status") != "Completed"
            ]
        return [
            {
                "id": t["id"],
                "owner": t["properties"].get("hubspot_owner_id"),
                "due": (t["properties"].get("hs_timestamp") or "")[:10],
            }
            for t in self.sandbox.hubspot.objects("tasks")
            if not t["archived"]
            and t["properties"].get("tiersync_task_key")
            and t["properties"].get("hs_task_status") != "COMPLETED"
        ]

    def work(self, today: dt.date) -> int:
        """Complete this week's share of the open tasks; returns how many."""
        chosen = [
            t["id"]
            for t in sorted(self.open_tasks(), key=lambda t: t["id"])
            if self.rng.random() < (DONE_IF_DUE if str(t["due"]) <= today.isoformat() else DONE_IF_NOT_DUE)
        ]
        for start_at in range(0, len(chosen), 100):
            chunk = chosen[start_at : start_at + 100]
            if self.crm == "salesforce":
                records = [{"attributes": {"type": "Task"}, "id": i, "Status": "Completed"} for i in chunk]
                self.sf.restful(
                    "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records}
                )
            else:
                inputs = [
                    SimplePublicObjectBatchInput(id=i, properties={"hs_task_status": "COMPLETED"})
                    for i in chunk
                ]
                self.hs.crm.objects.batch_api.update(
                    "tasks", BatchInputSimplePublicObjectBatchInput(inputs=inputs)
                )
        return len(chosen)


def settings_at(base: dict[str, Any], as_of: dt.date) -> Settings:
    return Settings.model_validate({**base, "evidence": {"as_of": as_of.isoformat()}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--drain", type=int, default=13, help="more weeks, at most, to deliver the backlog")
    parser.add_argument("--crm", default="salesforce", choices=["salesforce", "hubspot"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--full-every", type=int, default=4, help="a full sync every N weeks, incremental between"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tiersync-taskload-"))
    t0 = time.perf_counter()
    sandbox = start(args.crm, accounts=args.accounts, seed=args.seed, as_of=AS_OF, workdir=workdir)
    if args.crm == "hubspot":
        sandbox.hubspot.limits.burst_limit = 0
        sandbox.hubspot.limits.search_per_second = 0
        sandbox.hubspot.validate_requests = False
    crm_settings = sandbox.salesforce_settings() if args.crm == "salesforce" else sandbox.hubspot_settings()
    base = {
        "crm": args.crm,
        args.crm: crm_settings,
        "state_path": str(workdir / "state.sqlite"),
        "sync": {"lookback_minutes": 0},
    }
    first = settings_at(base, AS_OF)
    make_adapter(first).setup_fields({t.value: first.label(t) for t in Trait}, False)
    time.sleep(1.1)  # change queries floor the watermark to the second: keep the seeding out of it
    state = State(workdir / "state.sqlite")
    owners = Owners(sandbox, args.crm, args.seed)
    print(f"seeded {args.accounts:,} accounts ({args.crm}) in {time.perf_counter() - t0:.1f} s")

    new: dict[str, list[int]] = defaultdict(list)
    open_max: Counter[str] = Counter()
    deferred_max: Counter[str] = Counter()
    owed = Obligations()
    later: set[str] = set()
    """First touches spread to a period that starts after the measured weeks."""
    account_owner: dict[str, str] = {}
    rows: list[TaskRow] = []
    lines: dict[tuple[str, str], list[tuple[dt.date, str, str]]] = defaultdict(list)
    """Per (account, action): each plan line the product printed for it (day, kind, detail)."""
    open_now: Counter[str] = Counter()
    last_week = args.weeks
    week = 0
    while True:
        today = AS_OF + dt.timedelta(weeks=week)
        if week:
            owners.work(today)
        s = settings_at(base, today)
        engine = SyncEngine(make_adapter(s), s, state, CONNECTION)
        mode = "full" if week % args.full_every == 0 else "incremental"
        summary, plan = engine.run(mode)
        assert summary.status == "ok", summary.message
        for change in plan.tasks:
            for action in _actions_of(change.kind, change.key, change.subject):
                lines[(change.account_id, action)].append((today, change.kind, change.detail))
        if not account_owner:
            account_owner = {r["account_id"]: r["owner_id"] or "" for r in state.results(CONNECTION)}
        rows = state.tasks_for(CONNECTION, list(account_owner))
        # a task is new in the week it was created: actions joining it later (coalesce_days) do not count
        first_sent: dict[tuple[str, str], dt.date] = {}
        for r in rows:
            if r.sent_on is not None:
                task = (account_owner[r.account_id], r.crm_key)
                first_sent[task] = min(first_sent.get(task, r.sent_on), r.sent_on)
        per_owner = Counter(owner for (owner, _), day in first_sent.items() if day == today)
        for owner in set(account_owner.values()):
            new[owner].append(per_owner[owner])
        open_now = Counter(t["owner"] for t in owners.open_tasks())
        for owner, n in open_now.items():
            open_max[owner] = max(open_max[owner], n)
        deferred_now = _held(rows, account_owner, today)
        for owner, n in deferred_now.items():
            deferred_max[owner] = max(deferred_max[owner], n)
        owed.week(rows, today, measured=week <= last_week)
        if week == last_week:
            later = {r.key for r in rows if r.status == TaskState.DEFERRED and r.period_start > today}
        print(
            f"week {week:2d} {today} {mode:11s}: {summary.tasks_created:4d} new, {summary.tasks_joined:3d} joined, "
            f"{summary.tasks_closed:3d} closed, "
            f"{sum(deferred_now.values()):5d} accounts deferred, {sum(open_now.values()):4d} open, "
            f"{summary.duration_s:5.1f} s"
        )
        week += 1
        if week > last_week and (not owed.waiting or week > last_week + args.drain):
            break

    print(
        f"\nper owner over weeks 0-{last_week} (new per week: mean / max; open: max; deferred accounts: max / end)"
    )
    end_deferred = _held(rows, account_owner, AS_OF + dt.timedelta(weeks=week - 1))
    for owner in sorted(new):
        weekly = new[owner][: last_week + 1]
        print(
            f"  {owner or '(none)':10s} new {statistics.mean(weekly):5.2f} / {max(weekly):3d}   "
            f"open {open_max[owner]:3d}   deferred {deferred_max[owner]:3d} / {end_deferred[owner]:3d}"
        )
    worst_new = max(max(v[: last_week + 1]) for v in new.values())
    worst_open = max(open_max.values(), default=0)
    print(
        f"\ngoal: new per owner per week <= {GOAL_NEW}: max {worst_new} -> {'met' if worst_new <= GOAL_NEW else 'MISSED'}; "
        f"open per owner <= {GOAL_OPEN}: max {worst_open} -> {'met' if worst_open <= GOAL_OPEN else 'MISSED'}"
    )
    final = AS_OF + dt.timedelta(weeks=week - 1)
    _explain(owed, rows, account_owner, open_now, lines, final, first)
    waits = [w for _, w in owed.delivered]
    print(
        f"delivery: {owed.opened:,} actions came due in weeks 0-{last_week}; {len(owed.delivered):,} delivered "
        f"(after {week - 1 - last_week} drain weeks; weeks from due to delivery: mean "
        f"{statistics.mean(waits or [0]):.2f}, max {max(waits or [0])}); {owed.cleared:,} resolved without a "
        f"task: their cause cleared while they waited, so the deferral was dropped; {len(later):,} first "
        f"touches spread to a period starting after week {last_week} (not due in the measured weeks); "
        f"{len(owed.lost):,} lost (no task, no drop); {len(owed.waiting):,} still waiting -> "
        f"{'every action delivered or resolved' if not (owed.waiting or owed.lost) else 'NOT all delivered'}"
    )
    for (account, action), since in owed.lost:
        print(f"  lost: {account} owner {account_owner.get(account) or '(none)'} {action}, due since {since}")
    state.close()
    sandbox.stop()
    shutil.rmtree(workdir, ignore_errors=True)


class Obligations:
    """Each action's wait, per (account, action), counted from the week it came due until a task
    carries it (created, or joined to an open one) or its cause clears.

    An action is due once the state holds it deferred with its period started (a first touch spread
    to a later period is not due before that period). Delivery is a row of the same account and
    action sent on or after the day it came due, so a deferral carried over to the next period and
    delivered there counts, while an earlier period's delivery does not hide a later wait. Only
    waits that begin in the measured weeks are counted; the drain weeks only finish them.
    """

    def __init__(self) -> None:
        self.since: dict[tuple[str, str], dt.date] = {}
        self.delivered: list[tuple[tuple[str, str], int]] = []
        """(pair, whole weeks from due to delivery)."""
        self.cleared = 0
        self.lost: list[tuple[tuple[str, str], dt.date]] = []
        """Waits that ended with neither a task nor a drop of the product's own (a closed deferral)."""
        self.opened = 0

    @property
    def waiting(self) -> dict[tuple[str, str], dt.date]:
        return self.since

    def week(self, rows: list[TaskRow], today: dt.date, *, measured: bool) -> None:
        due: set[tuple[str, str]] = set()
        dropped: set[tuple[str, str]] = set()
        sent: dict[tuple[str, str], dt.date] = {}
        for r in rows:
            pair = (r.account_id, r.action)
            if r.status == TaskState.DEFERRED and r.period_start <= today:
                due.add(pair)
            if r.status == TaskState.CLOSED and r.crm_id is None:
                dropped.add(pair)
            if r.sent_on is not None:
                sent[pair] = max(sent.get(pair, r.sent_on), r.sent_on)
        for pair, since in list(self.since.items()):
            if pair in sent and sent[pair] >= since:
                self.delivered.append((pair, (sent[pair] - since).days // 7))
                del self.since[pair]
            elif pair not in due:
                if pair in dropped:
                    self.cleared += 1  # the product dropped the deferral: its cause cleared
                else:
                    self.lost.append((pair, since))
                del self.since[pair]
        if not measured:
            return
        for pair, day in sent.items():
            if day == today and pair not in self.since:
                self.opened += 1  # came due and went out in the same sync
                self.delivered.append((pair, 0))
        for pair in due - set(self.since):
            if sent.get(pair) != today:
                self.opened += 1
                self.since[pair] = today


def _actions_of(kind: str, key: str, subject: str) -> list[str]:
    """The actions a plan line is about: a create or defer names one action key, a join, strike or
    close lists its actions in the subject."""
    if kind in ("create", "defer"):
        parts = key.split("/")
        return [parts[1]] if len(parts) == 3 and parts[1] != "plan" else []
    return [a.strip() for a in subject.split(",") if a.strip()]


def _explain(
    owed: Obligations,
    rows: list[TaskRow],
    account_owner: dict[str, str],
    open_now: Counter[str],
    lines: dict[tuple[str, str], list[tuple[dt.date, str, str]]],
    final: dt.date,
    settings: Settings,
) -> None:
    """One paragraph per action still waiting: who, since when, and why it was not delivered, from the
    state and from the plan lines the product printed for it."""
    waiting = owed.waiting
    if not waiting:
        return
    cap = settings.tasks.max_open_per_owner
    print(f"\nstill waiting at {final} ({len(waiting)}):")
    for account, action in sorted(waiting):
        owner = account_owner.get(account, "")
        mine = sorted(
            (r for r in rows if r.account_id == account and r.action == action), key=lambda r: r.key
        )
        account_open = {r.crm_key for r in rows if r.account_id == account and r.status in TaskState.UNSENT}
        since = waiting[(account, action)]
        print(f"  {account} owner {owner or '(none)'} {action}: due and waiting since {since}")
        for r in mine:
            print(
                f"    state {r.key}: {r.status}, period {r.period_start}..{r.period_end}, "
                f"defer_until {r.defer_until}, sent_on {r.sent_on}"
            )
        why = []
        if cap and open_now[owner] >= cap:
            why.append(f"owner at open cap ({open_now[owner]}/{cap})")
        if account_open:
            why.append(f"account has open task ({', '.join(sorted(account_open))})")
        later = [r.defer_until for r in mine if r.status == TaskState.DEFERRED and r.defer_until]
        if later and max(later) > final:
            why.append(f"deferred until {max(later)}")
        history = lines.get((account, action), [])
        kinds = Counter(f"{kind}: {detail.split(': ', 1)[-1]}" for _, kind, detail in history)
        print(f"    now: {'; '.join(why) or 'no blocker found in the state'}")
        print(f"    plan lines ({len(history)}): " + "; ".join(f"{k} x{n}" for k, n in kinds.most_common()))
        for day, kind, detail in history[-3:]:
            print(f"      {day} {kind}: {detail}")


def _held(rows: list[TaskRow], account_owner: dict[str, str], today: dt.date) -> Counter[str]:
    """Accounts per owner with a deferred action that is due (not a first touch waiting for its period)."""
    held = {r.account_id for r in rows if r.status == TaskState.DEFERRED and r.period_start <= today}
    return Counter(account_owner[a] for a in held)


if __name__ == "__main__":
    main()
