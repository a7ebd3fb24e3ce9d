"""The sync engine: read → classify → plan → write, incrementally and safely, for any CRM adapter.

It is the only place that decides *what* to write. It knows nothing of any CRM: adapters implement
``connector.crm.base.CrmAdapter``. Guarantees a scheduler can rely on:

* only fields that differ from the CRM's current values are written;
* a task key is recorded before its task is sent and tasks are upserted on that key, so no crash
  can duplicate a task, and a task a user completed or deleted is not recreated in its period;
* the change watermark moves to the run's start time only after every write it covers is
  confirmed, so a run killed at any point is simply repeated by the next one;
* the run stops cleanly before ``sync.api_limit_share`` of the daily API limit.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from connector.classify.classifier import Classification, classify
from connector.config import Settings
from connector.crm.base import (
    CHANGED_SINCE_READ,
    AccountUpdate,
    ApiUsage,
    AuthError,
    CrmAdapter,
    CrmError,
    CurrentValues,
    LimitExhaustedError,
    MappingError,
    Outcome,
    ReadBatch,
    TaskClose,
    TaskSpec,
    TaskStatus,
    UnreachableError,
)
from connector.exit_codes import ExitCode
from connector.sync.budget import TaskBudget, week_of
from connector.sync.desired import changes
from connector.sync.owners import OwnerNames
from connector.sync.plan import AccountPlan, Plan, TaskChange
from connector.sync.state import MarkedBy, OrgMismatchError, State, StateStore, TaskState
from connector.sync.task_plan import Join, Send, Strike, TaskDecisions, plan_tasks
from connector.sync.tasks import WantedTask

CHANGES_SCOPE = "changes"
BACKFILL_SCOPE = "backfill_cursor"

Mode = Literal["incremental", "full"]
T = TypeVar("T")


def utc_now() -> dt.datetime:
    """The engine's default clock: aware UTC, so watermarks compare with the CRM's timestamps."""
    return dt.datetime.now(dt.UTC)


@dataclass
class RunSummary:
    """What a run did, as one JSON line for log collectors and a status for the exit code."""

    connection: str
    mode: str
    dry_run: bool
    status: str = "ok"
    """ok, partial, limit, failed, unreachable (nothing written: the CRM could not be reached)."""
    message: str = ""
    accounts_read: int = 0
    accounts_updated: int = 0
    fields_changed: int = 0
    tasks_created: int = 0
    tasks_closed: int = 0
    tasks_deferred: int = 0
    tasks_joined: int = 0
    """Open tiersync tasks that gained actions (``tasks.coalesce_days``)."""
    accounts_changed_meanwhile: int = 0
    """Accounts left unwritten because a user changed them while the run classified them: the next run
    reads them again (``CHANGED_SINCE_READ``)."""
    failures: list[dict[str, str | None]] = field(default_factory=list)
    api_calls: int | None = None
    api_used: int | None = None
    api_limit: int | None = None
    started_at: str = ""
    duration_s: float = 0.0

    @property
    def exit_code(self) -> ExitCode:
        """The process exit code for this status (README, "Exit codes"); an unknown status is partial."""
        return {
            "ok": ExitCode.OK,
            "partial": ExitCode.PARTIAL,
            "limit": ExitCode.LIMIT,
            "failed": ExitCode.PARTIAL,
            "unreachable": ExitCode.UNREACHABLE,
        }.get(self.status, ExitCode.PARTIAL)

    def json_line(self) -> str:
        """The summary as one ``tiersync.sync`` JSON event (at most 50 failures, so a line stays small)."""
        return summary_json_line("tiersync.sync", self, self.exit_code)


def summary_json_line(event: str, summary: Any, code: ExitCode) -> str:
    """One run summary dataclass as a JSON event line, shared by sync and cleanup so that log
    collectors see one shape; failures are cut to 50 so that a line stays small."""
    data = asdict(summary)
    data["failures"] = data["failures"][:50]
    return json.dumps({"event": event, **data, "exit_code": int(code)}, default=str)


def _wrote(summary: RunSummary) -> bool:
    """Whether the run changed anything in the CRM (or tried to: a failed record was sent)."""
    return bool(
        summary.accounts_updated
        or summary.tasks_created
        or summary.tasks_closed
        or summary.tasks_joined
        or summary.failures
    )


class _BudgetReachedError(Exception):
    pass


class SyncEngine:
    """One connection's sync: read pages from the adapter, classify, write what differs, keep state.

    The engine holds the rules of a run (modes, watermark, budget, write-ahead task keys) and no
    CRM detail; everything CRM-specific is behind :class:`~connector.crm.base.CrmAdapter`. One
    engine may run several times (the owner names it read are kept between runs)."""

    def __init__(
        self,
        adapter: CrmAdapter,
        settings: Settings,
        state: StateStore,
        connection: str,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        progress: Callable[[int], None] | None = None,
        keep_plan: bool = True,
        on_total: Callable[[int], None] | None = None,
    ) -> None:
        """``keep_plan=False``: a run that writes returns a plan with counts only, so that its memory does
        not grow with the org (the rows serve only the dry-run table and ``--plan-out``)."""
        self.adapter = adapter
        self.settings = settings
        self.state = state
        self.connection = connection
        self.clock = clock
        self.sleep = sleep
        self.progress = progress
        self.keep_plan = keep_plan
        self.owners = OwnerNames(adapter.owner_names)
        """Owner names, read from the CRM once per id for this engine's runs."""
        self.on_total = on_total
        """Told how many accounts the run expects to read, once known (for a progress bar's ETA)."""
        self._workload = TaskBudget(settings, dt.date(2024, 1, 1), [], lambda _owner: set())
        """The run's workload budget, counted afresh from the state at the start of each run."""
        self._read_back: dict[str, str] = {}
        """Task statuses the budget read back in this page (CRM id -> open/closed/deleted)."""
        self._redo: set[str] = set()
        """Accounts an earlier run's unfinished page wrote (``StateStore.mark_redo``): read again."""

    # -- the run -------------------------------------------------------------------------------
    def run(
        self, mode: Mode = "incremental", *, dry_run: bool = False, rebind: bool = False
    ) -> tuple[RunSummary, Plan]:
        """One sync run. Raises ``AuthError`` / ``MappingError`` before any write, and
        :class:`OrgMismatchError` when the state belongs to another org than the CRM's (``rebind``:
        start the connection's state over for this org instead); CRM failures that outlast the retries
        end the run with status ``failed`` and leave the watermark where it was."""
        started = self.clock()
        today = self._today(started)
        summary = RunSummary(self.connection, mode, dry_run, started_at=started.isoformat())
        plan = Plan()
        run_id = None if dry_run else self.state.run_started(self.connection, mode, started)
        first_usage: ApiUsage | None = None
        try:
            self._check_org(dry_run=dry_run, rebind=rebind)
            problems = self.adapter.check()
            if problems:
                raise MappingError(problems)
            first_usage = self.adapter.usage()
            self._workload = TaskBudget(
                self.settings,
                today,
                self.state.task_load(self.connection, week_of(today)),
                lambda owners: self._finished_tasks(owners, dry_run),
            )
            self._redo = self.state.accounts_to_redo(self.connection)
            unseen = set(self._redo)
            for batch in self._batches(mode, today):
                self._guard_budget()
                # stamped per page: last_synced_at says when tiersync wrote the record, which lets an
                # adapter tell tiersync's own writes from users' edits; the page's state writes are
                # one transaction (task keys still commit before their tasks are sent)
                with self.state.page():
                    self._sync_batch(batch, plan, summary, dry_run, self.clock(), today, run_id)
                if not (dry_run or self.keep_plan):
                    plan.clear()
                if mode == "full" and not dry_run and batch.roster.accounts:
                    last = batch.roster.accounts[-1].id  # pages come in the CRM's id order
                    self.state.set_watermark(self.connection, BACKFILL_SCOPE, last, started)
                if self.progress is not None:
                    self.progress(len(batch.roster.accounts))
                unseen.difference_update(a.id for a in batch.roster.accounts)
            if not dry_run:
                if unseen and mode != "full":  # deleted, or out of the accounts' where
                    self.state.clear_redo(self.connection, sorted(unseen))
                self.state.set_watermark(self.connection, CHANGES_SCOPE, started.isoformat(), started)
                if mode == "full":
                    self.state.clear_watermark(self.connection, BACKFILL_SCOPE)
            summary.status = "partial" if summary.failures else "ok"
            if self.owners.problem:
                plan.notes.append(f"{self.owners.problem}; owners are shown by id")
        except _BudgetReachedError as stop:
            summary.status = "limit"
            summary.message = str(stop)
        except Exception as exc:
            if isinstance(exc, AuthError | MappingError | OrgMismatchError):
                self._end(run_id, summary, started, "config_error")
                raise
            summary.status = "limit" if isinstance(exc, LimitExhaustedError) else "failed"
            if isinstance(exc, UnreachableError) and not _wrote(summary):
                summary.status = "unreachable"
            summary.message = str(exc) if isinstance(exc, CrmError) else f"{type(exc).__name__}: {exc}"
        self._workload.close()  # its loaded places' temporary file, if the load was large
        summary.accounts_read = plan.accounts_read
        self._usage(summary, first_usage)
        self._end(run_id, summary, started, summary.status)
        return summary, plan

    def _today(self, now: dt.datetime) -> dt.date:
        """The classification day: ``evidence.as_of`` when configured (reproducible runs), else today."""
        return self.settings.evidence.as_of or now.date()

    def _end(self, run_id: int | None, summary: RunSummary, started: dt.datetime, status: str) -> None:
        summary.duration_s = round((self.clock() - started).total_seconds(), 3)
        if run_id is not None:
            self.state.run_ended(run_id, status, asdict(summary), self.clock())

    def _usage(self, summary: RunSummary, first: ApiUsage | None) -> None:
        last = self.adapter.usage()
        if last is not None:
            summary.api_used, summary.api_limit = last.used, last.limit
            if first is not None:
                summary.api_calls = last.used - first.used

    def _guard_budget(self) -> None:
        usage = self.adapter.usage()
        share = self.settings.sync.api_limit_share
        if usage is not None and usage.share >= share:
            raise _BudgetReachedError(
                f"stopped at {usage.used} of {usage.limit} daily API calls ({share:.0%} budget); the next run resumes"
            )

    def _batches(self, mode: Mode, today: dt.date) -> Iterator[ReadBatch]:
        page = self.settings.sync.page_size
        watermark = self.state.watermark(self.connection, CHANGES_SCOPE)
        if mode == "full" or watermark is None:
            after = self.state.watermark(self.connection, BACKFILL_SCOPE) if mode == "full" else None
            self._expect(self._last_full_read())
            yield from self.adapter.read(None, page, after=after)
            return
        since = dt.datetime.fromisoformat(watermark) - dt.timedelta(
            minutes=self.settings.sync.lookback_minutes
        )
        ids = self.adapter.changed_account_ids(since)
        ids |= self.state.accounts_due_for_new_period(self.connection, today)
        ids |= self._redo
        self._expect(len(ids))
        if ids:
            yield from self.adapter.read(sorted(ids), page)

    def _expect(self, total: int | None) -> None:
        if total is not None and self.on_total is not None:
            self.on_total(total)

    def _last_full_read(self) -> int | None:
        """Accounts the last complete full read saw: a whole-org read's expected size, no API call."""
        for run in reversed(self.state.runs(self.connection)):
            summary = run.get("summary") or {}
            if run["mode"] == "full" and run["status"] in ("ok", "partial") and summary.get("accounts_read"):
                return int(summary["accounts_read"])
        return None

    # -- one page of accounts ------------------------------------------------------------------
    def _sync_batch(
        self,
        batch: ReadBatch,
        plan: Plan,
        summary: RunSummary,
        dry_run: bool,
        now: dt.datetime,
        today: dt.date,
        run_id: int | None,
    ) -> None:
        self._read_back = {}
        results = classify(batch.roster, self.settings, today)
        plan.accounts_read += len(results)
        self.owners.learn(c.owner_id for c in results)
        updates: list[tuple[Classification, AccountUpdate]] = []
        for c in results:
            current = batch.current.get(c.account_id, CurrentValues())
            values, diff = changes(c, current, self.settings, now, today)
            if dry_run or self.keep_plan:  # only a kept plan is read by people
                plan.accounts[c.account_id] = self._account_plan(c, current, values)
            if values:
                updates.append((c, AccountUpdate(c.account_id, values, batch.versions.get(c.account_id))))
                plan.fields += diff
        ids = [c.account_id for c in results]
        known = self.state.tasks_for(self.connection, ids)
        decisions = plan_tasks(results, known, self.settings, today, self._workload)
        self._workload.settle(ids)  # no later page moves these accounts
        plan.tasks += task_changes(decisions)
        summary.tasks_deferred += len({(d.task.spec.account_id, d.until) for d in decisions.deferrals})
        if dry_run:
            return
        writes = bool(updates or decisions.sends or decisions.strikes or decisions.joins)
        if writes:  # once written, the accounts look like tiersync's own writes to the change query
            self.state.mark_redo(self.connection, ids, now)
        failures = len(summary.failures)
        self._save_results(results, batch, now, run_id)
        self._write_accounts(updates, batch, summary, now, run_id)
        self._create_tasks(decisions.sends, summary, now)
        self.state.tasks_deferred(self.connection, [(d.task, d.until) for d in decisions.deferrals], now)
        for row in decisions.dropped:
            self.state.task_finished(self.connection, row.key, TaskState.CLOSED, now)
        self._close_tasks(decisions.strikes, summary, now)
        self._join_tasks(decisions.joins, summary, now)
        self.state.mark_renewed(self.connection, ids, today)
        if len(summary.failures) == failures:  # a page with a failed record is read again next run
            self.state.clear_redo(self.connection, ids if writes else [i for i in ids if i in self._redo])

    def _account_plan(self, c: Classification, current: CurrentValues, values: dict[str, Any]) -> AccountPlan:
        """What a reviewer reads about one account: owner by name, tiers, neutral labels, reasons."""
        labels = {t: self.settings.label(t) for t in c.traits}
        reasons = [f"{c.tier.value}: {c.tier_reason}" if c.tier_reason else c.tier.value]
        reasons += [f"{labels[t]}: {text}" for t, text in c.traits.items()]
        return AccountPlan(
            account_id=c.account_id,
            name=c.name,
            owner_id=c.owner_id,
            owner=self.owners.name(c.owner_id),
            tier_now=current.tier,
            tier_new=str(values["tier"]) if values.get("tier") else (current.tier or c.tier.value),
            traits=tuple(labels.values()),
            reasons=tuple(reasons),
            decision=self.settings.decision.label(c.decision),
            growth_points=tuple(self.settings.growth.label(p) for p in c.growth_points),
        )

    def _finished_tasks(self, owners: list[str], dry_run: bool) -> set[str]:
        """The CRM ids of the owners' open tasks that users completed or deleted in the CRM (the
        workload budget counts only the open ones), read in one go; recorded as done unless this is a
        dry run."""
        crm_ids = [i for owner in owners for i in self.state.open_crm_ids(self.connection, owner)]
        if not crm_ids:
            return set()
        self._guard_budget()
        statuses = self.adapter.task_status(crm_ids, owners)
        self._read_back.update(statuses)
        done = {i for i in crm_ids if statuses.get(i, TaskStatus.DELETED) != TaskStatus.OPEN}
        if done and not dry_run:
            self.state.tasks_finished_by_crm_id(self.connection, sorted(done), TaskState.DONE, self.clock())
        if not dry_run:  # a mark on an open task is stale: a user's later completion is the user's
            self.state.tasks_seen_open(self.connection, [i for i in crm_ids if i not in done])
        return done

    def _check_org(self, *, dry_run: bool, rebind: bool) -> None:
        """The state remembers tasks, tier history and watermarks of one org. Against another (a
        refreshed sandbox, a re-pointed URL) every old task would look deleted by a user and never be
        recreated: stop instead, unless told to start over."""
        org = self.adapter.org_id()
        bound = self.state.bound_org(self.connection)
        if bound == org:
            return
        if bound is not None and not rebind:
            raise OrgMismatchError(
                f"the state of connection {self.connection!r} belongs to {self.adapter.name} org {bound}, "
                f"but the credentials reach org {org}: run with --rebind to start this connection's "
                "state over for the new org, or point the config at a fresh state"
            )
        if not dry_run:
            if bound is None:
                self.state.bind_org(self.connection, org)
            else:
                self.state.rebind_org(self.connection, org)
        elif bound is not None:  # plan --rebind: plan as a fresh state would, and change nothing
            self.state = State(Path(":memory:"))

    def _save_results(
        self, results: Sequence[Classification], batch: ReadBatch, now: dt.datetime, run_id: int | None
    ) -> None:
        """Keep each account's latest result with its attributes: the report and the look-alike
        profile are built from it without another CRM read."""
        accounts = {a.id: a for a in batch.roster.accounts}
        rows = []
        for c in results:
            account = accounts[c.account_id]
            current = batch.current.get(c.account_id, CurrentValues())
            rows.append(
                result_payload(
                    c,
                    {
                        "industry": account.industry,
                        "region": account.region,
                        "employee_count": account.employee_count,
                        "source": account.source,
                        "status": account.status,
                        **account.attributes,
                    },
                    owner_name=self.owners.name(c.owner_id) if c.owner_id else None,
                    override_tier=current.override_tier,
                )
            )
        self.state.save_results(self.connection, rows, run_id, now)

    # -- writes --------------------------------------------------------------------------------
    def _with_record_retries(
        self, write: Callable[[list[T]], list[Outcome]], items: list[T], ref: Callable[[T], str]
    ) -> list[Outcome]:
        """Retry only the records that failed with a retriable error (a locked row), with backoff."""
        final: dict[str, Outcome] = {}
        pending = items
        attempts = self.settings.sync.record_retry_attempts
        for attempt in range(attempts):
            if not pending:
                break
            if attempt:
                self.sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
            outcomes = write(pending)
            retry = []
            for item, outcome in zip(pending, outcomes, strict=True):
                if outcome.ok or not outcome.retriable or attempt == attempts - 1:
                    final[ref(item)] = outcome
                else:
                    retry.append(item)
            pending = retry
        return [final[ref(item)] for item in items]

    def _fail(self, summary: RunSummary, outcome: Outcome, what: str) -> None:
        summary.failures.append(
            {"record": outcome.ref, "what": what, "error": outcome.error_code, "message": outcome.message}
        )

    def _write_accounts(
        self,
        updates: list[tuple[Classification, AccountUpdate]],
        batch: ReadBatch,
        summary: RunSummary,
        now: dt.datetime,
        run_id: int | None,
    ) -> None:
        if not updates:
            return
        self._guard_budget()
        outcomes = self._with_record_retries(
            self.adapter.write_accounts, [u for _, u in updates], lambda u: u.account_id
        )
        for (c, update), outcome in zip(updates, outcomes, strict=True):
            if outcome.error_code == CHANGED_SINCE_READ:
                summary.accounts_changed_meanwhile += 1
                continue
            if not outcome.ok:
                self._fail(summary, outcome, "account update")
                continue
            summary.accounts_updated += 1
            summary.fields_changed += len(update.values)
            if "tier" in update.values:
                self.state.record_tier_change(
                    self.connection,
                    c.account_id,
                    tier=str(update.values["tier"]),
                    computed_tier=c.tier.value,
                    previous_tier=update.values.get("previous_tier"),
                    now=now,
                    run_id=run_id,
                )

    def _create_tasks(self, sends: list[Send], summary: RunSummary, now: dt.datetime) -> None:
        """Record every action of every task as pending (write-ahead), send the tasks, then confirm
        or forget each action by its task's outcome."""
        if not sends:
            return
        self._guard_budget()
        self.state.tasks_pending(self.connection, [w for s in sends for w in s.items], now)
        sent: set[str] = set()

        def send(specs: list[TaskSpec]) -> list[Outcome]:
            # a retried create may have landed the first time: the adapter looks it up before creating
            again = [replace(s, resend=True) if s.key in sent else s for s in specs]
            sent.update(s.key for s in specs)
            return self.adapter.upsert_tasks(again)

        outcomes = self._with_record_retries(send, [s.spec for s in sends], lambda s: s.key)
        for task, outcome in zip(sends, outcomes, strict=True):
            summary.tasks_created += self._settle(summary, outcome, task.items, outcome.crm_id, "task create")

    def _settle(
        self,
        summary: RunSummary,
        outcome: Outcome,
        items: Sequence[WantedTask],
        crm_id: str | None,
        what: str,
    ) -> bool:
        """The pending keys a task write carried: confirmed on that task when it landed, forgotten
        when it failed (so the next run sends them again). True when it landed."""
        if outcome.ok:
            for item in items:
                self.state.task_confirmed(self.connection, item.spec.key, crm_id)
        else:
            self._fail(summary, outcome, what)
            for item in items:
                self.state.task_forgotten(self.connection, item.spec.key)
        return outcome.ok

    def _close_tasks(self, strikes: list[Strike], summary: RunSummary, now: dt.datetime) -> None:
        """Strike actions whose cause cleared from their open task (closing it when none remain);
        a task the user finished or deleted meanwhile is done, never recreated in its period."""
        if not strikes:
            return
        # the budget's read-back of this page already holds most of them: ask only for the others
        unknown = [s.crm_id for s in strikes if s.crm_id not in self._read_back]
        statuses = {**self._read_back, **(self.adapter.task_status(unknown) if unknown else {})}
        live: list[TaskClose] = []
        for strike in strikes:
            if statuses.get(strike.crm_id, TaskStatus.DELETED) == TaskStatus.OPEN:
                live.append(TaskClose(strike.crm_key, strike.crm_id, strike.comment, close=strike.close))
            else:
                self.state.tasks_finished_by_crm_id(self.connection, [strike.crm_id], TaskState.DONE, now)
        if not live:
            return
        # durable before the CRM closes them, unmarked with the page: a crash between the two leaves
        # closes that the next run's read-back records as tiersync's, not users' (mark_task_ends)
        closing = [t.key for t in live if t.close]
        with self.state.write_ahead():
            self.state.mark_task_ends(self.connection, closing, TaskState.CLOSED, now, MarkedBy.SYNC)
        by_key = {s.crm_key: s for s in strikes}
        outcomes = self._with_record_retries(self.adapter.close_tasks, live, lambda t: t.key)
        for outcome in outcomes:
            if outcome.ok:
                strike = by_key[outcome.ref]
                summary.tasks_closed += strike.close
                for row in strike.rows:
                    self.state.task_finished(self.connection, row.key, TaskState.CLOSED, now)
            else:
                self._fail(summary, outcome, "task close")
        self.state.clear_task_ends(self.connection, closing)

    def _join_tasks(self, joins: list[Join], summary: RunSummary, now: dt.datetime) -> None:
        """Add actions to their account's open task: recorded as pending first (write-ahead), then
        the body gains them and the due date moves to the earliest; a task gone meanwhile forgets
        them, so the next run sends them as a new task."""
        if not joins:
            return
        self._guard_budget()
        self.state.tasks_pending(self.connection, [w for j in joins for w in j.items], now)
        writes = [TaskClose(j.crm_key, j.crm_id, j.comment, close=False, due=j.due) for j in joins]
        outcomes = self._with_record_retries(self.adapter.close_tasks, writes, lambda t: t.key)
        by_key = {j.crm_key: j for j in joins}
        for outcome in outcomes:
            join = by_key[outcome.ref]
            summary.tasks_joined += self._settle(summary, outcome, join.items, join.crm_id, "task join")


def result_payload(
    c: Classification, attributes: dict[str, Any], owner_name: str | None, override_tier: str | None
) -> dict[str, Any]:
    """One account's result as the state keeps it (``StateStore.save_results``) and the report reads it
    back (``connector.report.sources.results_frame``)."""
    return {
        "account_id": c.account_id,
        "name": c.name,
        "owner_id": c.owner_id,
        "owner_name": owner_name,
        "tier": c.tier.value,
        "override_tier": override_tier,
        "score": c.score,
        "traits": [t.value for t in c.traits],
        "trait_reasons": {t.value: text for t, text in c.traits.items()},
        "tier_codes": list(c.tier_codes),
        "tier_reason": c.tier_reason,
        "data_gaps": list(c.data_gaps),
        "actions": list(c.actions),
        "growth_points": [p.value for p in c.growth_points],
        "growth_reasons": {p.value: text for p, text in c.growth_points.items()},
        "growth_reason": c.growth_reason,
        "decision": c.decision.value,
        "decision_codes": list(c.decision_codes),
        "decision_reason": c.decision_reason,
        "trend": c.trend,
        "previous_tier": c.previous_tier.value if c.previous_tier else None,
        "evidence": c.evidence,
        "attributes": attributes,
    }


def task_changes(decisions: TaskDecisions) -> list[TaskChange]:
    """The plan's lines for the task decisions: creates with their due date, deferrals with the day
    they come due and why, strikes and closes with their comment."""
    changes = [
        TaskChange("create", s.spec.key, s.spec.account_id, s.spec.subject, f"due {s.spec.due.isoformat()}")
        for s in decisions.sends
    ]
    changes += [
        TaskChange(
            "defer",
            d.task.spec.key,
            d.task.spec.account_id,
            d.task.spec.subject,
            f"until {d.until.isoformat()}: {d.why}",
        )
        for d in decisions.deferrals
    ]
    changes += [
        TaskChange(
            "close" if s.close else "strike",
            s.crm_key,
            s.account_id,
            ", ".join(r.action for r in s.rows),
            s.comment,
        )
        for s in decisions.strikes
    ]
    changes += [
        TaskChange(
            "join",
            j.crm_key,
            j.account_id,
            ", ".join(w.action for w in j.items),
            f"due by {j.due.isoformat()}: added to the open tiersync task",
        )
        for j in decisions.joins
    ]
    return changes


def describe_failures(summary: RunSummary) -> list[str]:
    """One line per failed record: which record, what was attempted, the CRM's code and message."""
    return [
        f"{f['record']}: {f['what']} failed: {f['error'] or 'error'}: {f['message'] or ''}".rstrip(": ")
        for f in summary.failures
    ]
