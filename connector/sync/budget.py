"""The workload budget: how many new tiersync tasks an owner gets per week and how many stay open,
and which go first when more are due (``[tasks]``).

Weeks are calendar weeks (Monday first) of the classification day. What does not fit is deferred,
never dropped: each deferred task gets the first later week with room (counting the tasks already
deferred to each week), and the state keeps that day, so it comes due without being decided again.
The open count comes from the state; when it stands in the way, the owner's open tasks are read back
from the CRM once per run, since users complete tasks there.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable

from connector.classify.classifier import Classification
from connector.classify.comms import TOUCH_PREFIX
from connector.config import PriorityRule, Settings
from connector.sync.deferred_places import DeferredPlaces
from connector.sync.state import TaskLoad, TaskState

MAX_WEEKS_AHEAD = 520
"""A bound on the search for a week with room (ten years of full weeks)."""
SPILL_PLACES = 50_000
"""Deferred places loaded from the state beyond which their accounts wait on disk
(:class:`~connector.sync.deferred_places.DeferredPlaces`) until their page comes."""
SPILL_BATCH = 10_000
NO_OWNER = ""


def week_of(day: dt.date) -> dt.date:
    """The Monday that starts ``day``'s calendar week."""
    return day - dt.timedelta(days=day.weekday())


def _matches(rule: PriorityRule, c: Classification, action: str) -> bool:
    if rule.tiers and c.tier not in rule.tiers:
        return False
    if rule.traits and not any(t in c.traits for t in rule.traits):
        return False
    if rule.reasons and not any(r in c.tier_codes or r in c.trait_codes for r in rule.reasons):
        return False
    return not rule.actions or action in rule.actions or action.removeprefix(TOUCH_PREFIX) in rule.actions


def rank(c: Classification, actions: Iterable[str], settings: Settings) -> int:
    """The index of the first priority rule any of these actions matches (lower goes first); actions
    no rule matches come last."""
    rules = settings.tasks.priority
    best = len(rules)
    for action in actions:
        for index, rule in enumerate(rules[:best]):
            if _matches(rule, c, action):
                best = index
                break
    return best


def rank_name(index: int, settings: Settings) -> str:
    """The ``[[tasks.priority]]`` rule name of ``rank``'s ``index`` (``routine`` past the last rule)."""
    rules = settings.tasks.priority
    return rules[index].name if index < len(rules) else "routine"


class TaskBudget:
    """The counts of one run, kept in memory as the run admits and defers tasks."""

    def __init__(
        self,
        settings: Settings,
        today: dt.date,
        load: Iterable[TaskLoad],
        refresh: Callable[[list[str]], set[str]],
        *,
        spill: int = SPILL_PLACES,
    ) -> None:
        """``refresh(owners)`` reads the owners' open tasks back from the CRM (in one go: the call count
        then does not grow with the owners of a page) and returns the CRM ids of those users have
        completed or deleted. Beyond ``spill`` deferred places in ``load``, their accounts wait on disk
        and only their counts stay in memory: each account's places come back (:meth:`begin`) before
        the budget decides anything for it, so the decisions are the same."""
        self.max_new = settings.tasks.max_new_per_owner_per_week
        self.max_open = settings.tasks.max_open_per_owner
        self.week = week_of(today)
        self._refresh = refresh
        self._refreshed: set[str] = set()
        self._expected: set[str] = set()
        self.finished: set[str] = set()
        self._sent: dict[str, set[str]] = defaultdict(set)
        self._open: dict[str, dict[str, str | None]] = defaultdict(dict)
        self._reserved: dict[str, dict[dt.date, set[str]]] = defaultdict(lambda: defaultdict(set))
        """Per owner and week, the accounts whose deferred task holds a place there (a later page may
        still move them)."""
        self._settled: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
        """Per owner and week, how many places accounts of finished pages hold (see :meth:`settle`)."""
        self._room_from: dict[str, dt.date] = {}
        """Per owner, the first week that may have room for a deferred task: every week before it
        (after this one) is full (places only leave a week through :meth:`_discard`, which moves it back)."""
        self._places: DeferredPlaces | None = None
        """The loaded places of accounts no page has reached yet, when there were more than ``spill``:
        counted in ``_settled`` until :meth:`begin` moves them into ``_reserved``."""
        self._begun: set[str] = set()
        """Accounts of the current page whose places were taken back from ``_places``."""
        # ``load`` may stream one row per account of the org: each row leaves only the strings the
        # counts keep. A task is new in the week it was created: actions that joined it later (a row
        # of the same task sent this week) do not make it new, so a row sent before this week marks
        # its task as old for good
        old: dict[str, set[str]] = defaultdict(set)
        loaded = 0
        held: list[tuple[str, dt.date, str]] = []
        for row in load:
            if row.status == TaskState.DEFERRED:
                if row.day is None:
                    continue
                if self._places is not None:
                    held.append((row.owner_id, week_of(row.day), row.account_id))
                    if len(held) >= SPILL_BATCH:
                        self._places.add(held)
                        held.clear()
                    continue
                self._reserved[row.owner_id][week_of(row.day)].add(row.account_id)
                loaded += 1
                if loaded > spill:
                    self._spill()
                continue
            if row.status in TaskState.UNSENT:
                self._open[row.owner_id][row.crm_key] = row.crm_id
            if row.day is None:
                continue
            if row.day < self.week:
                old[row.owner_id].add(row.crm_key)
                if row.owner_id in self._sent:
                    self._sent[row.owner_id].discard(row.crm_key)
            elif row.crm_key not in old.get(row.owner_id, ()):
                self._sent[row.owner_id].add(row.crm_key)
        if self._places is not None:
            self._places.add(held)
            for owner, week, count in self._places.counts():
                self._settled[owner][week] += count

    def _spill(self) -> None:
        """Move the places loaded so far to disk; the rest of the load goes there too."""
        self._places = DeferredPlaces()
        for owner, weeks in self._reserved.items():
            for week, accounts in weeks.items():
                self._places.add((owner, week, account) for account in accounts)
        self._reserved.clear()

    def begin(self, account_ids: Iterable[str]) -> None:
        """A page of these accounts is about to be decided: their loaded places (on disk for a large
        org) come back as places of accounts a page may still move. Idempotent; :meth:`admit`,
        :meth:`joined`, :meth:`reserve` and :meth:`settle` call it for an account not begun."""
        if self._places is None:
            return
        ids = [a for a in dict.fromkeys(account_ids) if a not in self._begun]
        if not ids:
            return
        self._begun.update(ids)
        for owner, week, account in self._places.take(ids):
            self._settled[owner][week] -= 1
            self._reserved[owner][week].add(account)

    def close(self) -> None:
        """Remove the temporary file of loaded places, if any."""
        if self._places is not None:
            self._places.close()

    def open_count(self, owner: str) -> int:
        """The owner's open tasks as the budget counts them now: those users finished drop out once
        read back, those this run sent come in."""
        return len(self._open[owner])

    def is_finished(self, crm_id: str | None, owner: str) -> bool:
        """Whether the user completed or deleted this task (read back once per owner and run)."""
        self.refresh(owner)
        return crm_id is not None and crm_id in self.finished

    def expect(self, owners: Iterable[str | None]) -> None:
        """Owners a page may need read back: the first read-back of the page asks for all of them."""
        self._expected.update(o for o in owners if o and o != NO_OWNER)

    def refresh(self, owner: str) -> None:
        """Read back, once per run, which of the owner's open tasks users finished; the owners a page
        announced (:meth:`expect`) come along in the same read."""
        if owner in self._refreshed or owner == NO_OWNER:
            return
        batch = sorted({owner, *self._expected} - self._refreshed)
        self._refreshed.update(batch)
        self._expected.clear()
        done = self._refresh(batch)
        self.finished |= done
        for who in batch:
            self._open[who] = {k: i for k, i in self._open[who].items() if i is None or i not in done}

    def _fits(self, owner: str) -> bool:
        new_ok = not self.max_new or len(self._sent[owner]) < self.max_new
        return new_ok and (not self.max_open or self.open_count(owner) < self.max_open)

    def admit(self, owner: str | None, key: str, account_id: str) -> dt.date | None:
        """Take one new task for ``owner`` now (None), or say the day it is deferred to."""
        who = owner or NO_OWNER
        if who == NO_OWNER:
            return None
        self.begin([account_id])
        if not self._fits(who) and self.max_open and self.open_count(who) >= self.max_open:
            self.refresh(who)
        if self._fits(who):
            self._sent[who].add(key)
            self._open[who][key] = None
            self._discard(who, account_id)
            return None
        return self._defer(who, account_id)

    def _defer(self, owner: str, account_id: str) -> dt.date:
        """The first week after this one with room (the last one searched when none has), from the
        owner's first week that may have room: the weeks before it are full, so a run deferring one
        task per account does not search the same full weeks again for each (quadratic in the org)."""
        reserved = self._reserved[owner]
        self._discard(owner, account_id)
        step = dt.timedelta(days=7)
        last = self.week + step * MAX_WEEKS_AHEAD
        week = max(self._room_from.get(owner, self.week + step), self.week + step)
        settled = self._settled[owner]
        while week < last and self.max_new:
            if len(reserved.get(week, ())) + settled.get(week, 0) < self.max_new:
                break
            week += step
        self._room_from[owner] = week
        reserved[week].add(account_id)
        return week

    def _discard(self, owner: str, account_id: str) -> None:
        """The account's places in the owner's weeks are free again (and those weeks may have room)."""
        for week, accounts in self._reserved[owner].items():
            if account_id in accounts:
                accounts.remove(account_id)
                if week < self._room_from.get(owner, week):
                    self._room_from[owner] = week

    def joined(self, owner: str | None, account_id: str) -> None:
        """The account's actions joined its open task: its reservations in later weeks are free."""
        self.begin([account_id])
        self._discard(owner or NO_OWNER, account_id)

    def reserve(self, owner: str | None, account_id: str, day: dt.date) -> None:
        """Count a task deferred for another reason (a spread-out first touch) in its week."""
        if owner:
            self.begin([account_id])
            self._reserved[owner][week_of(day)].add(account_id)

    def settle(self, account_ids: Iterable[str]) -> None:
        """The page of these accounts is done: a run reads each account once, so nothing moves their
        places again, and each week keeps only the count of them. The budget then holds ids only
        for the pages to come, not one per deferred account of the whole run."""
        done = set(account_ids)
        self.begin(done)
        self._begun -= done
        for owner, weeks in self._reserved.items():
            for week, accounts in list(weeks.items()):
                finished = accounts & done
                if finished:
                    self._settled[owner][week] += len(finished)
                    if finished == accounts:
                        del weeks[week]  # a set keeps its table when emptied: drop it
                    else:
                        accounts -= finished
