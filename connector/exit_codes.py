"""Process exit codes: stable, documented in the README, for cron and orchestrators to branch on."""

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    PARTIAL = 1
    """Some records failed; the rest were written. The summary lists each failure."""
    USAGE = 2
    """Bad configuration, credentials or input: nothing was written."""
    LOCKED = 3
    """Another run holds the lock; this one did nothing."""
    LIMIT = 4
    """Stopped before the configured share of the daily API limit; the next run resumes."""
    UNREACHABLE = 5
    """The CRM could not be reached (refused, unknown host, timeout): nothing was written."""


SEVERITY = (
    ExitCode.OK,
    ExitCode.PARTIAL,
    ExitCode.LOCKED,
    ExitCode.LIMIT,
    ExitCode.UNREACHABLE,
    ExitCode.USAGE,
)
"""Least to most severe, for a run over several connections: what needs a person (2) first, then a
CRM that could not be reached (5), then work left undone until the API allowance resets (4), then a
run skipped for an overlap (3), then single records that failed (1)."""


def worst(codes: Iterable[ExitCode]) -> ExitCode:
    """The exit code of a run over several connections: the most severe of theirs (0 when none)."""
    return max(codes, key=SEVERITY.index, default=ExitCode.OK)
