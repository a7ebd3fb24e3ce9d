"""Owner names for what people read (plan, report, plan-comms, explain), looked up once per run.

People know their colleagues by name, not by ``0058c000000000CAAQ``. The CRM is asked only for ids it
has not been asked about yet in this run; an id it cannot name (a deleted user, no read access) is
shown as the id itself, and a failed lookup never stops a sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from connector.crm.base import CrmError, LimitExhaustedError

NO_OWNER = "(no owner)"


class OwnerNames:
    """``owner id -> name``, filled from ``lookup`` (an adapter's ``owner_names``) as ids come up."""

    def __init__(
        self, lookup: Callable[[list[str]], dict[str, str]] | None = None, known: dict[str, str] | None = None
    ) -> None:
        self._lookup = lookup
        self._names: dict[str, str] = dict(known or {})
        self._asked: set[str] = set(self._names)
        self.problem: str | None = None
        """Why names could not be read, when a lookup failed (the ids are shown instead)."""

    def learn(self, owner_ids: Iterable[str | None]) -> None:
        """Ask the CRM, once, about every id not asked about yet."""
        new = sorted({i for i in owner_ids if i} - self._asked)
        if not new or self._lookup is None:
            return
        self._asked.update(new)
        try:
            self._names.update(self._lookup(new))
        except LimitExhaustedError:
            raise
        except CrmError as exc:
            self.problem = f"owner names could not be read: {exc}"

    def name(self, owner_id: str | None) -> str:
        """The owner's name; the id when no name could be read; ``(no owner)`` without one."""
        if not owner_id:
            return NO_OWNER
        return self._names.get(owner_id) or owner_id

    def known(self) -> dict[str, str]:
        """A copy of the names read so far, so a caller cannot change the cache."""
        return dict(self._names)
