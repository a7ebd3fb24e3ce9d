"""What a :class:`~connector.crm.base.TaskClose` does to an open task, the same in every CRM: its comment
appended to the task's text, and its due date moved earlier (never later).

The engine may send a close again after a crash or a retried call, so appending must be idempotent: a
text that already ends with the comment is left as it is. The CRM's field length is a hard limit, and
the comment is the news: when both do not fit, the original text is cut, not the comment.
"""

from __future__ import annotations

import datetime as dt

from connector.crm.base import Outcome, TaskClose


def with_comment(existing: str | None, comment: str, limit: int) -> str:
    """``existing`` with ``comment`` appended (once, after a blank line), at most ``limit`` characters."""
    text = existing or ""
    comment = comment.strip()
    if not comment or text.rstrip().endswith(comment):
        return text
    separator = "\n\n" if text else ""
    room = limit - len(comment) - len(separator)
    if room < 0:
        return comment[:limit]
    return text[:room] + separator + comment


def earlier_due(due: dt.date, current: str) -> bool:
    """Whether ``due`` moves a task whose due date is ``current`` (ISO, empty when none) earlier: a task
    is due at its earliest action, so a joining action never makes it later."""
    return not current or due.isoformat() < current


def gone(close: TaskClose, code: str, crm: str) -> Outcome:
    """The outcome of a close whose task no longer exists in ``crm``: failed, with the CRM's own code for
    a missing record, and nothing written (a user deleted it; there is nothing left to close)."""
    return Outcome(
        ref=close.key,
        ok=False,
        crm_id=close.crm_id,
        error_code=code,
        message=f"task {close.crm_id} no longer exists (deleted in {crm})",
    )
