"""``tiersync cleanup``: undo what tiersync wrote to a CRM, plan first, resumable, with sync's exit codes.

What it does, in this order:

1. **Tasks.** Every open task carrying a tiersync key is deleted (the default) or closed with a comment
   (``tasks="close"``). A closed task is a user's work and is kept, unless the state says tiersync itself
   closed it (its cause cleared): with ``delete`` those go too, since tiersync made them and ended them.
2. **Fields.** The write-back fields are emptied on every account holding a value. The override fields
   are the users' own: they are emptied only with ``clear_overrides``.
3. **Setup** (``remove_setup``, and only once 1 and 2 are complete): the fields, the permission set and
   the layout section (HubSpot: the properties and their group) that ``setup-fields`` created. Deleting
   the override fields would delete users' overrides, so while any account holds one and
   ``clear_overrides`` is not given, the run refuses before writing anything (exit 2).

Everything is found in the CRM on each run, never from a list an earlier run saved, so a run killed at
any point is finished by the next one, and a run with nothing left to do writes nothing and says so.
The state only says whose a closed task is: before a page of tasks is closed or deleted, its keys are
marked in the state with the status it will record, and the page's commit unmarks them, so tasks a
killed run finished in the CRM are recorded and counted by the next run as tiersync's (see ``plan``).
Writes go in pages with the daily-allowance guard between them (exit 4 stops cleanly; the next run
resumes). A record the CRM refuses is listed and the run ends partial (exit 1); the next run retries it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from connector.config import Settings
from connector.crm.base import (
    AuthError,
    CrmError,
    FatalError,
    LimitExhaustedError,
    MappingError,
    Outcome,
    TaskClose,
)
from connector.crm.cleanup import (
    CLEARED_FIELDS,
    AccountClear,
    Cleanable,
    CrmCleanup,
    CrmTask,
    MarkedAccount,
)
from connector.crm.factory import make_adapter
from connector.exit_codes import ExitCode
from connector.sync.engine import BACKFILL_SCOPE, CHANGES_SCOPE, summary_json_line, utc_now
from connector.sync.lock import run_lock_for
from connector.sync.runner import failure_or_partial
from connector.sync.state import MarkedBy, StateStore, TaskState, open_state

TaskMode = Literal["delete", "close"]
OVERRIDES = ("override_tier", "override_expires")
PAGE = 200
"""Records per write step: the API allowance is checked between steps."""
T = TypeVar("T")


@dataclass(frozen=True)
class CleanupOptions:
    """The ``tiersync cleanup`` flags: delete or close open tasks, clear overrides, remove the setup."""

    tasks: TaskMode = "delete"
    clear_overrides: bool = False
    remove_setup: bool = False


@dataclass
class CleanupPlan:
    """What a cleanup would do; ``setup`` holds one line per setup item to remove."""

    delete: list[CrmTask] = field(default_factory=list)
    close: list[CrmTask] = field(default_factory=list)
    kept_tasks: int = 0
    """Tasks users completed: never touched."""
    clears: list[AccountClear] = field(default_factory=list)
    overrides_kept: int = 0
    """Accounts whose override values stay (no ``clear_overrides``)."""
    setup: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Why the run must not write at all (exit 2), one line each."""
    ended: dict[str, str] = field(default_factory=dict)
    """CRM key -> status to record, of the tasks an interrupted cleanup closed or deleted in the CRM
    before its page's state committed (see :meth:`CleanupEngine.plan`)."""
    marked: dict[str, str] = field(default_factory=dict)
    """Every CRM key an interrupted cleanup left marked, with the mark's status: this run settles
    and unmarks them."""

    @property
    def fields_to_clear(self) -> int:
        """Field values, not accounts: what the plan's count line reports."""
        return sum(len(c.fields) for c in self.clears)

    @property
    def records_empty(self) -> bool:
        """No record left to touch: the condition for removing the setup."""
        return not (self.delete or self.close or self.clears)

    @property
    def empty(self) -> bool:
        """Nothing at all to do, so the run writes nothing and says so."""
        return self.records_empty and not self.setup and not self.ended

    def lines(self, limit: int = 20) -> list[str]:
        """The plan for people: counts first, then the first ``limit`` records of each kind."""
        out = [
            f"tasks: {len(self.delete)} to delete, {len(self.close)} to close, "
            f"{self.kept_tasks} completed by users kept",
            f"accounts: {len(self.clears)} to clear ({self.fields_to_clear} field values)"
            + (f", {self.overrides_kept} keep their manual override" if self.overrides_kept else ""),
        ]
        if self.ended:
            out.append(f"tasks: {len(self.ended)} finished in the CRM by an interrupted cleanup, to record")
        out += [f"  delete task {t.key} ({t.crm_id})" for t in self.delete[:limit]]
        out += [f"  close task {t.key} ({t.crm_id})" for t in self.close[:limit]]
        out += [f"  clear {c.account_id}: {', '.join(c.fields)}" for c in self.clears[:limit]]
        out += [f"setup: {line}" for line in self.setup]
        return out


@dataclass
class CleanupSummary:
    """What one cleanup run did, printed as its JSON line; ``exit_code`` follows sync's codes."""

    connection: str
    crm: str
    dry_run: bool
    options: dict[str, str | bool]
    status: str = "ok"
    """ok, nothing (nothing left to undo), partial, limit, failed, refused."""
    message: str = ""
    tasks_deleted: int = 0
    tasks_closed: int = 0
    tasks_kept: int = 0
    accounts_cleared: int = 0
    fields_cleared: int = 0
    setup_removed: list[str] = field(default_factory=list)
    failures: list[dict[str, str | None]] = field(default_factory=list)
    api_calls: int | None = None
    started_at: str = ""

    @property
    def exit_code(self) -> ExitCode:
        """``nothing`` is a success (a finished cleanup run again), ``refused`` a usage error."""
        return {
            "ok": ExitCode.OK,
            "nothing": ExitCode.OK,
            "limit": ExitCode.LIMIT,
            "refused": ExitCode.USAGE,
        }.get(self.status, ExitCode.PARTIAL)

    def json_line(self) -> str:
        """The summary as one ``tiersync.cleanup`` JSON event, in the same shape as sync's."""
        return summary_json_line("tiersync.cleanup", self, self.exit_code)


class _BudgetReachedError(Exception):
    pass


def _key(task: CrmTask) -> str:
    return task.key


class CleanupEngine:
    """Plans and applies one connection's cleanup; the CRM specifics are behind ``CrmCleanup``."""

    def __init__(
        self,
        crm: CrmCleanup,
        settings: Settings,
        state: StateStore,
        connection: str,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.crm = crm
        self.settings = settings
        self.state = state
        self.connection = connection
        self.clock = clock

    def plan(self, options: CleanupOptions) -> CleanupPlan:
        """Read the CRM (and the state, for the tasks tiersync closed itself); write nothing.

        A cleanup killed between the CRM's answer and its page's commit left that page's tasks
        marked (:meth:`StateStore.mark_task_ends`) and open in the state. A marked task the CRM holds
        closed was closed by that run, one it no longer holds was deleted by it (or by a user: either
        way it is done): their ends go in ``ended``, to be recorded and counted by this run, since the
        killed run's summary was never printed. A marked task still open was never reached: it is
        planned as any other. A task a killed sync marked (:class:`MarkedBy`) and the CRM holds
        closed is tiersync's close, not a user's: a delete cleanup takes it; the sync that reads it
        back records it."""
        plan = CleanupPlan()
        # a sync killed after the CRM closed tasks left them marked and open in the state: its closes
        closed_by_tiersync = self._closed_by_tiersync() | set(
            self.state.task_ends(self.connection, MarkedBy.SYNC)
        )
        ends = plan.marked = self.state.task_ends(self.connection)
        found = set()
        for task in self.crm.tiersync_tasks():
            found.add(task.key)
            if task.open:
                (plan.delete if options.tasks == "delete" else plan.close).append(task)
            elif task.key in closed_by_tiersync or ends.get(task.key) == TaskState.CLOSED:
                if options.tasks == "delete":
                    plan.delete.append(task)
                elif task.key in ends:
                    plan.ended[task.key] = TaskState.CLOSED
            else:
                plan.kept_tasks += 1
        plan.ended.update({key: TaskState.DONE for key in ends if key not in found})
        plan.clears, plan.overrides_kept = self._clears(self.crm.marked_accounts(), options)
        if options.remove_setup:
            if plan.overrides_kept:
                plan.refused.append(
                    f"{plan.overrides_kept} accounts hold a manual override tier or expiry, which deleting the "
                    "override fields would lose: pass --clear-overrides to remove them too, or run without "
                    "--remove-setup"
                )
            plan.setup = self.crm.remove_setup(dry_run=True)
        return plan

    def _closed_by_tiersync(self) -> set[str]:
        """The CRM keys of tasks tiersync closed itself: every action the task carries was closed
        (a task a user completed after tiersync struck some of its actions holds ``done`` rows too)."""
        closed: dict[str, bool] = {}
        for page in self.state.iter_tasks(self.connection):
            for row in page:
                key = str(row["group_key"] or row["key"])
                closed[key] = closed.get(key, True) and row["status"] == TaskState.CLOSED
        return {key for key, every in closed.items() if every}

    @staticmethod
    def _clears(marked: list[MarkedAccount], options: CleanupOptions) -> tuple[list[AccountClear], int]:
        wanted = CLEARED_FIELDS + (OVERRIDES if options.clear_overrides else ())
        clears = []
        kept = 0
        for account in marked:
            fields = tuple(f for f in wanted if f in account.fields)
            if fields:
                clears.append(AccountClear(account.account_id, fields))
            if not options.clear_overrides and account.fields & set(OVERRIDES):
                kept += 1
        return clears, kept

    def run(self, options: CleanupOptions, *, dry_run: bool = True) -> tuple[CleanupSummary, CleanupPlan]:
        """Plan, then (without ``dry_run``) apply. CRM failures that outlast the retries end the run
        ``failed`` (exit 1); ``AuthError``/``MappingError`` propagate before any write."""
        started = self.clock()
        summary = CleanupSummary(
            self.connection,
            self.settings.crm,
            dry_run,
            {
                "tasks": options.tasks,
                "clear_overrides": options.clear_overrides,
                "remove_setup": options.remove_setup,
            },
            started_at=started.isoformat(),
        )
        first = self.crm.usage()
        plan = CleanupPlan()
        try:
            plan = self.plan(options)
            summary.tasks_kept = plan.kept_tasks
            if plan.refused:
                summary.status, summary.message = "refused", "; ".join(plan.refused)
            elif plan.empty:
                summary.status = "nothing"
                summary.message = (
                    "nothing to clean up: no open tiersync task and no tiersync value on a record"
                    + (
                        ", and nothing setup-fields created is left"
                        if options.remove_setup
                        else " (the fields setup-fields created stay: --remove-setup deletes them)"
                    )
                )
            elif not dry_run:
                self._apply(plan, options, summary, started)
                summary.status = "partial" if summary.failures else "ok"
                if summary.failures and options.remove_setup:
                    summary.message = "the setup stays until every record is cleaned up: run cleanup again"
        except _BudgetReachedError as stop:
            summary.status, summary.message = "limit", str(stop)
        except (AuthError, MappingError):
            raise
        except CrmError as exc:
            summary.status = "limit" if isinstance(exc, LimitExhaustedError) else "failed"
            summary.message = f"{type(exc).__name__}: {exc}"
        last = self.crm.usage()
        if first is not None and last is not None:
            summary.api_calls = last.used - first.used
        return summary, plan

    # -- applying ------------------------------------------------------------------------------
    def _guard_budget(self) -> None:
        usage = self.crm.usage()
        share = self.settings.sync.api_limit_share
        if usage is not None and usage.share >= share:
            raise _BudgetReachedError(
                f"stopped at {usage.used} of {usage.limit} daily API calls ({share:.0%} budget); the next run resumes"
            )

    def _fail(self, summary: CleanupSummary, outcome: Outcome, what: str) -> None:
        summary.failures.append(
            {"record": outcome.ref, "what": what, "error": outcome.error_code, "message": outcome.message}
        )

    def _each_page(
        self,
        items: Sequence[T],
        send: Callable[[list[T]], list[Outcome]],
        done: Callable[[list[Outcome]], None],
        summary: CleanupSummary,
        what: str,
        ends: tuple[Callable[[T], str], str] | None = None,
    ) -> None:
        """``send`` every page of ``items``, the allowance checked before each; ``done`` gets a page's
        successes as soon as it is answered, and the state writes it makes are one transaction, so a
        run stopped later keeps what it did.

        With ``ends`` (an item's CRM key, the status ``done`` records), a page's tasks are marked
        with that status before the CRM write and unmarked in the page's transaction: a kill between
        the CRM's answer and that commit leaves the marks, which tell the next run that tiersync
        finished those tasks (see :meth:`plan`). The next page's marks ride in the same transaction,
        which commits before that page is sent, so marking costs one commit per run, not per page;
        a run stopped before sending it leaves marks on open tasks, which the next run plans again."""
        now = self.clock()

        def marked(start: int) -> list[str]:
            return [ends[0](item) for item in items[start : start + PAGE]] if ends else []

        for start in range(0, len(items), PAGE):
            self._guard_budget()
            page = list(items[start : start + PAGE])
            keys = marked(start)
            if ends and start == 0:
                self.state.mark_task_ends(self.connection, keys, ends[1], now)
            succeeded = []
            for outcome in send(page):
                if outcome.ok:
                    succeeded.append(outcome)
                else:
                    self._fail(summary, outcome, what)
            with self.state.page():
                done(succeeded)
                if ends:
                    self.state.clear_task_ends(self.connection, keys)
                    if start + PAGE < len(items):
                        self.state.mark_task_ends(self.connection, marked(start + PAGE), ends[1], now)

    def _record_ended(self, plan: CleanupPlan, summary: CleanupSummary, now: dt.datetime) -> None:
        """What an interrupted cleanup finished in the CRM, recorded and unmarked in one transaction;
        counted here, since the interrupted run's summary was never printed. A marked task that is
        gone counts as deleted only when the mark was a delete's (a close's may be a user's delete).
        The marks of tasks planned again are dropped too: their pages mark them anew."""
        if not plan.marked:
            return
        closed = [k for k, status in plan.ended.items() if status == TaskState.CLOSED]
        gone = [k for k, status in plan.ended.items() if status == TaskState.DONE]
        with self.state.page():
            self.state.tasks_finished_by_crm_key(self.connection, closed, TaskState.CLOSED, now)
            self.state.tasks_finished_by_crm_key(self.connection, gone, TaskState.DONE, now)
            self.state.clear_task_ends(self.connection, sorted(plan.marked))
        summary.tasks_closed += len(closed)
        summary.tasks_deleted += sum(1 for k in gone if plan.marked[k] == TaskState.DONE)

    def _apply(
        self, plan: CleanupPlan, options: CleanupOptions, summary: CleanupSummary, now: dt.datetime
    ) -> None:
        comment = (
            f"Closed by tiersync cleanup on {now.date().isoformat()}: tiersync no longer manages this client."
        )

        def close(page: list[CrmTask]) -> list[Outcome]:
            return self.crm.close_tasks([TaskClose(t.key, t.crm_id, comment) for t in page])

        def deleted(page: list[Outcome]) -> None:
            summary.tasks_deleted += len(page)
            self.state.tasks_finished_by_crm_key(self.connection, [o.ref for o in page], TaskState.DONE, now)

        def closed(page: list[Outcome]) -> None:
            summary.tasks_closed += len(page)
            self.state.tasks_finished_by_crm_key(
                self.connection, [o.ref for o in page], TaskState.CLOSED, now
            )

        fields = {c.account_id: len(c.fields) for c in plan.clears}

        def cleared(page: list[Outcome]) -> None:
            summary.accounts_cleared += len(page)
            summary.fields_cleared += sum(fields.get(o.ref, 0) for o in page)

        self._record_ended(plan, summary, now)
        self._each_page(
            plan.delete, self.crm.delete_tasks, deleted, summary, "task delete", (_key, TaskState.DONE)
        )
        self._each_page(plan.close, close, closed, summary, "task close", (_key, TaskState.CLOSED))
        self._each_page(plan.clears, self.crm.clear_accounts, cleared, summary, "account clear")
        if summary.failures:
            return
        # the records are tiersync-free now: a later sync must re-read and re-write every account
        self.state.clear_watermark(self.connection, CHANGES_SCOPE)
        self.state.clear_watermark(self.connection, BACKFILL_SCOPE)
        if options.remove_setup:
            self._guard_budget()
            summary.setup_removed = self.crm.remove_setup(dry_run=False)


@dataclass
class CleanupRun:
    """How one connection's cleanup ended; ``summary`` is None when it never started."""

    connection: str
    crm: str
    exit_code: ExitCode
    summary: CleanupSummary | None = None
    plan: CleanupPlan | None = None
    problems: list[str] = field(default_factory=list)


def run_cleanup(
    connection: str,
    settings: Settings,
    options: CleanupOptions,
    *,
    dry_run: bool = True,
    clock: Callable[[], dt.datetime] = utc_now,
) -> CleanupRun:
    """Plan (``dry_run``) or apply one connection's cleanup, under the connection's run lock when it
    writes, so that it never overlaps a sync (exit 3); never raises."""
    ended = CleanupRun(connection, settings.crm, ExitCode.OK)
    try:
        adapter = make_adapter(settings)
        if not isinstance(adapter, Cleanable):
            raise FatalError(f"{settings.crm}: this CRM adapter has no cleanup")
        state = open_state(settings)
        try:
            engine = CleanupEngine(adapter.cleanup(), settings, state, connection, clock=clock)
            if dry_run:
                ended.summary, ended.plan = engine.run(options, dry_run=True)
            else:
                with run_lock_for(settings, connection):
                    ended.summary, ended.plan = engine.run(options, dry_run=False)
        finally:
            state.close()
    except Exception as exc:
        failure = failure_or_partial(exc, settings.crm)
        ended.exit_code, ended.problems = failure
        return ended
    assert ended.summary is not None
    ended.exit_code = ended.summary.exit_code
    if ended.summary.status == "refused":
        ended.problems = list(ended.plan.refused if ended.plan else [])
    return ended
