"""The CRM-independent retry layer: what it retries, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from connector.crm.base import AuthError, FatalError, RetriableError
from connector.crm.retry import RetryPolicy, call_with_retry, retrying


class Flaky:
    """Fails with the given errors in turn, then answers ``"ok"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_retriable_errors_are_retried_until_the_call_succeeds() -> None:
    fn, sleeps = Flaky(RetriableError("429"), RetriableError("reset")), Sleeps()
    assert call_with_retry(fn, sleep=sleeps) == "ok"
    assert fn.calls == 3 and len(sleeps) == 2


def test_retry_after_is_a_floor_on_the_pause() -> None:
    fn, sleeps = (
        Flaky(RetriableError("429", retry_after=7.0), RetriableError("503", retry_after=0.0)),
        Sleeps(),
    )
    call_with_retry(fn, sleep=sleeps, initial_wait=0.1, max_wait=1.0)
    assert sleeps[0] >= 7.0
    assert 0.2 <= sleeps[1] <= 1.0 + 0.5, "without a Retry-After the backoff applies"


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter() -> None:
    fn, sleeps = Flaky(*[RetriableError("500") for _ in range(5)]), Sleeps()
    call_with_retry(fn, sleep=sleeps, attempts=6, initial_wait=1.0, max_wait=4.0, max_total=1000)
    floors = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(floor <= pause <= floor + 0.5 for floor, pause in zip(floors, sleeps, strict=True))


def test_attempts_are_bounded_and_the_last_error_propagates() -> None:
    errors = [RetriableError(f"500 #{i}") for i in range(10)]
    fn, sleeps = Flaky(*errors), Sleeps()
    with pytest.raises(RetriableError, match="500 #2"):
        call_with_retry(fn, attempts=3, sleep=sleeps)
    assert fn.calls == 3 and len(sleeps) == 2


def test_a_pause_past_the_total_budget_is_not_taken() -> None:
    fn, sleeps = Flaky(RetriableError("429", retry_after=3600.0)), Sleeps()
    with pytest.raises(RetriableError):
        call_with_retry(fn, max_total=60, sleep=sleeps)
    assert fn.calls == 1 and sleeps == []


def test_injected_sleeps_count_against_the_total_budget() -> None:
    fn, sleeps = Flaky(*[RetriableError("429", retry_after=25.0) for _ in range(10)]), Sleeps()
    with pytest.raises(RetriableError):
        call_with_retry(fn, attempts=10, max_total=60, sleep=sleeps)
    assert sleeps == [pytest.approx(25.0, abs=0.5)] * 2
    assert fn.calls == 3


@pytest.mark.parametrize("error", [FatalError("400 MALFORMED_QUERY"), AuthError("401"), ValueError("bug")])
def test_everything_else_propagates_at_once(error: Exception) -> None:
    fn, sleeps = Flaky(error), Sleeps()
    with pytest.raises(type(error)):
        call_with_retry(fn, sleep=sleeps)
    assert fn.calls == 1 and sleeps == []


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(max_wait=-1)


def test_retrying_runs_a_callable_with_arguments() -> None:
    sleeps = Sleeps()
    fn = Flaky(RetriableError("busy"))
    assert retrying(RetryPolicy(attempts=2), sleep=sleeps)(fn) == "ok"
