"""The seam between the CRM-independent sync engine and each CRM adapter.

Adapters only translate (CRM records <-> canonical model, CRM errors <-> this module's taxonomy);
the engine alone decides what to write. Everything crossing the seam is canonical: account ids are
the CRM's own ids, write-back values use the names in ``WRITEBACK_FIELDS``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from connector.model import Roster

WRITEBACK_FIELDS = (
    "tier",
    "traits",
    "score",
    "reasons",
    "tier_changed_at",
    "previous_tier",
    "last_synced_at",
    "growth_points",
    "decision",
)
"""What the sync writes on an account. ``traits`` and ``growth_points`` are sorted lists of codes."""

OVERRIDE_FIELDS = ("override_tier", "override_expires")
"""What only users write: tiersync reads these and never writes them."""


@dataclass(frozen=True)
class CurrentValues:
    """What the CRM holds now in an account's write-back and override fields (None = empty)."""

    tier: str | None = None
    traits: tuple[str, ...] = ()
    score: float | None = None
    reasons: str | None = None
    previous_tier: str | None = None
    tier_changed_at: dt.datetime | None = None
    last_synced_at: dt.datetime | None = None
    override_tier: str | None = None
    override_expires: dt.date | None = None
    growth_points: tuple[str, ...] = ()
    decision: str | None = None


@dataclass
class ReadBatch:
    """One page of accounts with all their evidence records and their current write-back values."""

    roster: Roster
    current: dict[str, CurrentValues] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    """Each account's last-modified stamp as read (Salesforce ``SystemModstamp``), when the adapter
    keeps one: the write sends it back so that the adapter can tell an edit made since the read."""


@dataclass(frozen=True)
class AccountUpdate:
    """The write-back values that differ from the CRM's for one account (only those are sent)."""

    account_id: str
    values: dict[str, Any]
    """Write-back field name -> value (str, float, list[str] for traits, dt.datetime, or None to clear)."""
    read_version: str | None = None
    """The account's ``ReadBatch.versions`` stamp: the values were computed from the record as it was then."""


CHANGED_SINCE_READ = "CHANGED_SINCE_READ"
"""The ``Outcome.error_code`` of an account left unwritten because someone changed it after it was read:
its values came from the record before that change. Not a failure: the change is the account's last
one, not tiersync's own, so the next run's change query finds it and classifies it again."""


@dataclass(frozen=True)
class TaskSpec:
    """A playbook task to create once: ``key`` is unique per (account, action, period)."""

    key: str
    account_id: str
    owner_id: str | None
    subject: str
    description: str
    due: dt.date
    resend: bool = False
    """True when an earlier run recorded this key but may have crashed before the CRM confirmed it:
    the task may exist already. A first send (False) needs no lookup before the create."""


@dataclass(frozen=True)
class TaskClose:
    """A tiersync task to close (or only comment on) because its action no longer applies."""

    key: str
    crm_id: str
    comment: str
    close: bool = True
    """False: only append the comment (an action struck from a task that still holds others)."""
    due: dt.date | None = None
    """When set, the task is due no later than this (an action joining an open task)."""


@dataclass(frozen=True)
class Outcome:
    """The result of writing one record; ``ref`` is the account id or the task key."""

    ref: str
    ok: bool
    crm_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    retriable: bool = False


@dataclass(frozen=True)
class ApiUsage:
    """The CRM's daily API allowance as it last reported it, for the run's budget guard."""

    used: int
    limit: int

    @property
    def share(self) -> float:
        """Fraction of the daily limit used (0 when the CRM reports no limit)."""
        return self.used / self.limit if self.limit else 0.0


class TaskStatus:
    """The task states :meth:`CrmAdapter.task_status` reports, whatever each CRM calls them."""

    OPEN = "open"
    CLOSED = "closed"
    DELETED = "deleted"


class CrmError(Exception):
    """Base of the error taxonomy. Messages never contain secrets."""


class RetriableError(CrmError):
    """Worth retrying after a pause: 429, 5xx, dropped connection, a locked row."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """``retry_after``: the pause in seconds the CRM asked for (None: the backoff decides)."""
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(CrmError):
    """Retrying will not help: bad request, validation, permissions."""


class RequestRejectedError(FatalError):
    """The CRM refused the request itself (400, 404, 409, …): sending it again will not help.

    One class for every CRM, so that callers branch on the same fields: ``code`` is the CRM's error code
    for the request (Salesforce ``errorCode``, HubSpot ``category``), ``fields`` the fields it names
    (Salesforce ``fields``, HubSpot ``errors[].context.propertyName``), ``field_codes`` the per-field
    codes where the CRM gives them (HubSpot ``errors[].code``; Salesforce gives none)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        fields: Sequence[str] = (),
        field_codes: Sequence[str] = (),
    ) -> None:
        """``message`` is the one line a user reads; the rest is for callers that branch on it."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.fields = tuple(fields)
        self.field_codes = tuple(field_codes)


class NotFoundError(RequestRejectedError):
    """404: no such object, record, property or endpoint."""


class AuthError(FatalError):
    """Credentials are missing, wrong or expired."""


class SettingError(AuthError):
    """A setting is wrong: a file that does not exist, a CA that does not match the server's
    certificate, a host name that cannot be one. The message starts with the key (exit 2)."""


class UnreachableError(RetriableError):
    """The CRM could not be reached at all (connection refused, unknown host, connect timeout).
    Retried like any retriable error; a run that never reached the CRM exits 5, nothing written."""


class LimitExhaustedError(FatalError):
    """The CRM's daily API allowance is spent."""


class MappingError(FatalError):
    """The mapping names objects or fields the CRM does not have; one problem per line."""

    def __init__(self, problems: list[str]) -> None:
        """One message of all ``problems``; the list itself stays in ``problems`` for line-by-line output."""
        super().__init__("; ".join(problems))
        self.problems = problems


class CrmAdapter(Protocol):
    """What the sync engine needs from a CRM. Write methods take any number of records and batch
    them to the CRM's limit themselves; they return one :class:`Outcome` per input, in input order."""

    name: str

    def check(self) -> list[str]:
        """Mapping problems (missing objects/fields, missing write-back fields), one line each."""
        ...

    def setup_fields(self, trait_labels: dict[str, str], dry_run: bool) -> list[str]:
        """Create missing write-back fields, permissions and layout; returns what was (or would be) done."""
        ...

    def changed_account_ids(self, since: dt.datetime) -> set[str]:
        """Accounts whose own record or any evidence record changed at or after ``since``, not counting
        tiersync's own write-back (otherwise every run would re-read what the previous one wrote)."""
        ...

    def read(
        self, account_ids: list[str] | None, page_size: int, *, after: str | None = None
    ) -> Iterator[ReadBatch]:
        """All client accounts (``None``, in id order, starting after the id ``after`` when given) or the
        given ones, in pages, with their evidence and current values."""
        ...

    def write_accounts(self, updates: list[AccountUpdate]) -> list[Outcome]:
        """Write each account's values; one :class:`Outcome` per update, a failed record never fails
        the others."""
        ...

    def upsert_tasks(self, tasks: list[TaskSpec]) -> list[Outcome]:
        """Create each task by upsert on its key, never touching the status of one that exists."""
        ...

    def task_status(self, crm_ids: list[str], owners: Sequence[str] = ()) -> dict[str, str]:
        """``TaskStatus`` per task id; a task missing from the CRM is ``deleted``. ``owners``, when
        given, are the owners of those tasks: an adapter may read their open tasks instead of a long
        id list, for the same answer."""
        ...

    def close_tasks(self, closes: list[TaskClose]) -> list[Outcome]:
        """Append each close's comment and, when ``close``, mark the task done; one Outcome per close."""
        ...

    def usage(self) -> ApiUsage | None:
        """The daily API usage last reported by the CRM, if it reports one."""
        ...

    def owner_names(self, owner_ids: list[str]) -> dict[str, str]:
        """The person's name for each owner id the CRM can name; ids it cannot are left out."""
        ...

    def org_id(self) -> str:
        """The org the credentials reach (Salesforce Organization Id, HubSpot portal id): the state
        belongs to one org, and the engine compares it with the one it was bound to."""
        ...


@dataclass(frozen=True)
class WriteCost:
    """API calls (and Bulk jobs and batches among them) a backfill's writes would take."""

    calls: int
    jobs: int = 0
    """Bulk jobs among the calls' work (0 when every write goes through the REST API)."""
    batches: int = 0
    """Bulk batches the jobs count against the CRM's daily batch allocation."""


@dataclass(frozen=True)
class BackfillEstimate:
    """What one full backfill would cost in API calls, from the CRM's record counts.

    The read side follows from the counts alone. The write side depends on how many accounts change and
    how many tasks the playbook wants, which only classifying tells: :meth:`write_cost` takes both as
    rates per account (the CLI measures them on ``sample``, the first page)."""

    crm: str
    counts: dict[str, int]
    """Records per mapped source (``accounts``, ``invoices``, ...) that the backfill reads."""
    accounts: int
    bulk: bool
    """True when the backfill reads through bulk jobs (else page by page through the REST API)."""
    read_calls: int
    """Every read call of the run: the checks a run starts with, queries, job creation, polls, results."""
    bulk_jobs: int
    """Bulk query jobs the read creates (0 without bulk)."""
    restart_calls: int
    """Calls a resumed run pays again before its first page (its checks; with bulk, the jobs' fixed calls)."""
    page_accounts: int
    """Accounts per page the sync engine processes: each page's writes are one write call's worth."""
    write_batch: int
    """Records per REST write call."""
    bulk_write_threshold: int | None
    """One write call of more records than this goes as a bulk job; None when the CRM has none."""
    update_job_calls: int = 0
    """Calls of one bulk update job (create, upload, close, status polls)."""
    upsert_job_calls: int = 0
    """Calls of one bulk upsert job (as an update, plus the results that carry the new ids)."""
    batch_records: int = 10_000
    """Records the CRM counts as one bulk batch."""
    usage: ApiUsage | None = None
    """The daily API allowance as the CRM reports it now."""
    allowances: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Other daily allocations the backfill draws on: name -> (max, remaining)."""
    own_calls: int = 0
    """Calls the estimate itself made (counts, limits, the sample page)."""
    sample: ReadBatch | None = None
    """The first page of accounts with their evidence, read through REST, to measure the write rates on."""

    @property
    def pages(self) -> int:
        """Pages of ``page_accounts`` the backfill reads (the engine writes once per page)."""
        return math.ceil(self.accounts / self.page_accounts) if self.page_accounts else 0

    def write_cost(self, per_account: float, job_calls: int) -> WriteCost:
        """Calls for writing ``per_account`` records per account, page by page as the engine does."""
        full, rest = divmod(self.accounts, self.page_accounts) if self.page_accounts else (0, 0)
        cost = WriteCost(0)
        for pages, accounts in ((full, self.page_accounts), (1 if rest else 0, rest)):
            records = round(accounts * per_account)
            if not pages or not records:
                continue
            threshold = self.bulk_write_threshold
            if threshold is not None and records > threshold:
                page = WriteCost(job_calls, 1, math.ceil(records / self.batch_records))
            else:
                page = WriteCost(math.ceil(records / self.write_batch))
            cost = WriteCost(
                cost.calls + pages * page.calls,
                cost.jobs + pages * page.jobs,
                cost.batches + pages * page.batches,
            )
        return cost


@runtime_checkable
class BackfillPlanner(Protocol):
    """An adapter that can estimate a full backfill's API cost before it runs (``backfill --plan``)."""

    def estimate_backfill(self, page_size: int) -> BackfillEstimate:
        """The backfill's cost at ``page_size`` accounts per page, from counts and one sample page."""
        ...
