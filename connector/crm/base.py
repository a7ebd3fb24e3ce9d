"""The seam between the CRM-independent sync engine and each CRM adapter.

Adapters only translate (CRM records <-> canonical model, CRM errors <-> this module's taxonomy);
the engine alone decides what to write. Everything crossing the seam is canonical: account ids are
the CRM's own ids, write-back values use the names in ``WRITEBACK_FIELDS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from connector.model import Roster

WRITEBACK_FIELDS = (
    "tier",
    "traits",
    "score",
    "reasons",
    "tier_changed_at",
    "previous_tier",
    "last_synced_at",
)
"""What the sync writes on an account. ``traits`` is a sorted list of trait codes."""

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


@dataclass
class ReadBatch:
    """One page of accounts with all their evidence records and their current write-back values."""

    roster: Roster
    current: dict[str, CurrentValues] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountUpdate:
    account_id: str
    values: dict[str, Any]
    """Write-back field name -> value (str, float, list[str] for traits, dt.datetime, or None to clear)."""


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
    key: str
    crm_id: str
    comment: str


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
    used: int
    limit: int

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 0.0


class TaskStatus:
    OPEN = "open"
    CLOSED = "closed"
    DELETED = "deleted"


class CrmError(Exception):
    """Base of the error taxonomy. Messages never contain secrets."""


class RetriableError(CrmError):
    """Worth retrying after a pause: 429, 5xx, dropped connection, a locked row."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(CrmError):
    """Retrying will not help: bad request, validation, permissions."""


class AuthError(FatalError):
    """Credentials are missing, wrong or expired."""


class LimitExhaustedError(FatalError):
    """The CRM's daily API allowance is spent."""


class MappingError(FatalError):
    """The mapping names objects or fields the CRM does not have; one problem per line."""

    def __init__(self, problems: list[str]) -> None:
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

    def write_accounts(self, updates: list[AccountUpdate]) -> list[Outcome]: ...

    def upsert_tasks(self, tasks: list[TaskSpec]) -> list[Outcome]:
        """Create each task by upsert on its key, never touching the status of one that exists."""
        ...

    def task_status(self, crm_ids: list[str]) -> dict[str, str]:
        """``TaskStatus`` per task id; a task missing from the CRM is ``deleted``."""
        ...

    def close_tasks(self, closes: list[TaskClose]) -> list[Outcome]: ...

    def usage(self) -> ApiUsage | None:
        """The daily API usage last reported by the CRM, if it reports one."""
        ...
