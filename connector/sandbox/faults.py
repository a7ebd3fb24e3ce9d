"""Fault injection: which request gets a 429, a 500, a reset connection, a slow answer, a locked row.

Decisions come from a seeded RNG or an exact schedule, so a failing fault test replays identically.
Request-level faults are decided before the request is served (nothing is applied); record-level
faults (``UNABLE_TO_LOCK_ROW``, validation errors, 207 items) are decided per record inside a batch.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum


class Fault(StrEnum):
    RATE_LIMIT = "rate_limit"
    """429 with ``Retry-After``."""
    SERVER_ERROR = "server_error"
    """500."""
    UNAVAILABLE = "unavailable"
    """503."""
    RESET = "reset"
    """Connection closed with a TCP reset before any response byte."""
    SLOW = "slow"
    """The answer is delayed by ``FaultPlan.slow_seconds``."""
    CONCURRENT_LIMIT = "concurrent_limit"
    """Salesforce: 403 ``REQUEST_LIMIT_EXCEEDED`` "ConcurrentPerOrgLongTxn Limit exceeded." (too many
    long requests at once, not the daily allowance). HubSpot has no such answer and serves a 500."""


class RecordFault(StrEnum):
    LOCK_ROW = "lock_row"
    """Salesforce ``UNABLE_TO_LOCK_ROW`` (retriable) / HubSpot per-item 409-like error in a 207."""
    VALIDATION = "validation"
    """Salesforce ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` / HubSpot per-item ``VALIDATION_ERROR`` in a 207."""


@dataclass
class FaultPlan:
    """What to inject. All probabilities are per request (or per record for record faults)."""

    seed: int = 0
    request_rates: dict[Fault, float] = field(default_factory=dict)
    record_rates: dict[RecordFault, float] = field(default_factory=dict)
    schedule: dict[int, Fault] = field(default_factory=dict)
    """Exact faults by 1-based request number (counted over requests that reach fault decisions)."""
    failing_records: dict[str, RecordFault] = field(default_factory=dict)
    """Record ids that always fail with the given record fault (e.g. a validation rule)."""
    retry_after_seconds: int = 1
    slow_seconds: float = 0.5
    only_writes: bool = False
    """Inject request faults only on writing calls (reads stay clean)."""
    answer_late: bool = False
    """``SLOW`` delays the answer after the request was served, not before: a write is applied while
    its answer is still on the way (the window in which a client killed never learns it landed)."""


PROFILES: dict[str, FaultPlan] = {
    "none": FaultPlan(),
    "flaky": FaultPlan(
        request_rates={Fault.RATE_LIMIT: 0.07, Fault.SERVER_ERROR: 0.07, Fault.RESET: 0.06},
        retry_after_seconds=0,
    ),
    "locks": FaultPlan(record_rates={RecordFault.LOCK_ROW: 0.1}),
    "slow": FaultPlan(request_rates={Fault.SLOW: 0.2}, slow_seconds=0.2),
}
"""Named plans for ``tiersync sandbox serve --faults PROFILE``."""


class FaultInjector:
    """Thread-safe decision maker over a :class:`FaultPlan`; swap plans between test phases."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(plan or FaultPlan())

    def configure(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)
            self._count = 0

    def request_fault(self, *, write: bool) -> Fault | None:
        with self._lock:
            plan = self.plan
            if plan.only_writes and not write:
                return None
            self._count += 1
            if self._count in plan.schedule:
                return plan.schedule[self._count]
            roll = self._rng.random()
            edge = 0.0
            for fault, rate in plan.request_rates.items():
                edge += rate
                if roll < edge:
                    return fault
            return None

    def record_fault(self, record_id: str) -> RecordFault | None:
        with self._lock:
            plan = self.plan
            if record_id in plan.failing_records:
                return plan.failing_records[record_id]
            roll = self._rng.random()
            edge = 0.0
            for fault, rate in plan.record_rates.items():
                edge += rate
                if roll < edge:
                    return fault
            return None
