"""Process exit codes: stable, documented in the README, for cron and orchestrators to branch on."""

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
