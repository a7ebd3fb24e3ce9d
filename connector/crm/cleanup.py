"""The seam for ``tiersync cleanup``: what the cleanup engine needs from a CRM to undo tiersync's writes.

Each adapter's ``cleanup()`` returns an object with these methods (``connector/crm/<crm>/cleanup.py``).
Everything is read from the CRM itself on every run, never from a list saved by an earlier run, so a
run killed midway is finished by the next one and a finished one finds nothing left to do.

"Tiersync's" is judged narrowly: a field or property counts only when it has the name the mapping
gives it *and* the type and label ``setup-fields`` creates it with (HubSpot: also the ``tiersync``
property group); a task only when it carries a value in the task-key field. Nothing else is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from connector.crm.base import WRITEBACK_FIELDS, ApiUsage, Outcome, TaskClose

CLEARED_FIELDS = WRITEBACK_FIELDS
"""The fields cleanup empties on every account; the override fields only when asked."""


@dataclass(frozen=True)
class CrmTask:
    """A task carrying a tiersync key, as the CRM holds it now."""

    crm_id: str
    key: str
    open: bool
    """False when its status is the closed one (completed by a user, or closed by tiersync)."""


@dataclass(frozen=True)
class MarkedAccount:
    """An account holding a value in at least one of tiersync's fields."""

    account_id: str
    fields: frozenset[str]
    """Canonical names (``tier``, ``override_tier``...) of the fields that hold a value."""


@dataclass(frozen=True)
class AccountClear:
    """One account's fields to empty: only those holding a value, so a resumed run sends less."""

    account_id: str
    fields: tuple[str, ...]
    """Canonical names of the fields to empty."""


class CrmCleanup(Protocol):
    """One CRM's side of ``tiersync cleanup``. Write methods return one :class:`Outcome` per input, in
    input order, and batch to the CRM's limits themselves."""

    def owned_fields(self) -> dict[str, str]:
        """Canonical name -> CRM field name, for the write-back and override fields that exist and
        that tiersync created (see the module docstring)."""
        ...

    def tiersync_tasks(self) -> list[CrmTask]:
        """Every task with a value in the task-key field (none when that field does not exist)."""
        ...

    def marked_accounts(self) -> list[MarkedAccount]:
        """Accounts holding a value in any owned field, in id order."""
        ...

    def clear_accounts(self, clears: list[AccountClear]) -> list[Outcome]:
        """Empty the fields; ``Outcome.ref`` is the account id."""
        ...

    def delete_tasks(self, tasks: list[CrmTask]) -> list[Outcome]:
        """Delete (HubSpot: archive) the tasks; ``Outcome.ref`` is the task key."""
        ...

    def close_tasks(self, closes: list[TaskClose]) -> list[Outcome]:
        """Close with the comment, as the sync closes a task whose cause cleared; ``Outcome.ref`` is
        the task key."""
        ...

    def remove_setup(self, dry_run: bool) -> list[str]:
        """Remove what ``setup-fields`` created and still exists; one line per item done (or, with
        ``dry_run``, to do). Each step looks first, so a second run does nothing and says so."""
        ...

    def usage(self) -> ApiUsage | None:
        """The daily API usage last reported, for the guard checked between pages."""
        ...


@runtime_checkable
class Cleanable(Protocol):
    """An adapter that can undo its own writes (``tiersync cleanup``)."""

    def cleanup(self) -> CrmCleanup:
        """The CRM's cleanup side, sharing the adapter's client (pacing, retries, cached describes)."""
        ...
