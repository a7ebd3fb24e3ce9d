"""Retrying CRM calls: exponential backoff with jitter, ``Retry-After`` honoured, attempts and time bounded.

CRM-independent: it retries :class:`~connector.crm.base.RetriableError` and nothing else, so each
adapter decides what is retriable in the one place where it translates its client's exceptions.
Every pause is at least the server's ``Retry-After``; the run gives up (re-raising the last error)
when the attempts are spent or when the next pause would cross the total time budget, so a CRM that
asks for an hour's pause fails the call now instead of hanging the sync.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from connector.crm.base import RetriableError

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    """Calls in all, the first included."""
    initial_wait: float = 0.5
    """The first backoff pause; each later one doubles, plus up to ``jitter`` seconds."""
    max_wait: float = 30.0
    """The longest backoff pause before jitter (a larger ``Retry-After`` still wins)."""
    max_total: float = 120.0
    """Time budget for one call, pauses included; a pause that would cross it is not taken."""
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.initial_wait, self.max_wait, self.max_total, self.jitter) < 0:
            raise ValueError("waits must not be negative")


class _WaitAtLeastRetryAfter(wait_base):
    """``initial * 2**(n-1)`` capped at ``max_wait``, plus up to ``jitter`` seconds so that clients
    retrying together spread out — but never shorter than the ``Retry-After`` the server sent."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def __call__(self, retry_state: RetryCallState) -> float:
        policy = self._policy
        exponent = min(retry_state.attempt_number - 1, 32)
        pause = min(policy.max_wait, policy.initial_wait * 2.0**exponent) + random.uniform(0, policy.jitter)
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetriableError) and error.retry_after is not None:
            pause = max(pause, error.retry_after)
        return pause


class _TotalBudget(stop_base):
    """Stops before a pause that would end past ``max_total``.

    Counts the larger of wall-clock time and the pauses taken so far, so an injected ``sleep`` (tests)
    is bounded the same way a real one is.
    """

    def __init__(self, max_total: float) -> None:
        self._max_total = max_total

    def __call__(self, retry_state: RetryCallState) -> bool:
        spent = max(retry_state.seconds_since_start or 0.0, retry_state.idle_for)
        return spent + retry_state.upcoming_sleep > self._max_total


def _log_retry(what: str) -> Callable[[RetryCallState], None]:
    def before_sleep(retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        log.warning(
            "%s failed (%s); attempt %d, retrying in %.1fs",
            what,
            error,
            retry_state.attempt_number,
            retry_state.upcoming_sleep,
        )
        cause = error.__cause__ if error is not None else None
        if cause is not None:  # the library's own account, often a long chain: at -v only
            log.info("%s: the client library said: %s: %s", what, type(cause).__name__, cause)

    return before_sleep


def retrying(
    policy: RetryPolicy | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "CRM call",
) -> Retrying:
    """A tenacity ``Retrying`` for ``policy``; ``retrying(...)(fn)`` runs ``fn`` under it."""
    policy = policy or RetryPolicy()
    return Retrying(
        retry=retry_if_exception_type(RetriableError),
        wait=_WaitAtLeastRetryAfter(policy),
        stop=stop_after_attempt(policy.attempts) | _TotalBudget(policy.max_total),
        sleep=sleep,
        reraise=True,
        before_sleep=_log_retry(what),
    )


def call_with_retry(
    fn: Callable[[], T],
    *,
    attempts: int = 6,
    max_wait: float = 30.0,
    max_total: float = 120.0,
    initial_wait: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "CRM call",
) -> T:
    """Run ``fn``, retrying :class:`RetriableError`; the last error propagates when retries are spent."""
    policy = RetryPolicy(attempts=attempts, initial_wait=initial_wait, max_wait=max_wait, max_total=max_total)
    return retrying(policy, sleep=sleep, what=what)(fn)
