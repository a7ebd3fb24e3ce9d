"""Pacing calls so that HubSpot's rate limits are rarely hit, and reading the daily usage it reports.

HubSpot limits a private app per rolling window (``X-HubSpot-RateLimit-Max`` calls per
``-Interval-Milliseconds``, what is left in ``-Remaining``) and search on its own, to a few requests per
second per token, with no header to say how much is left. A 429 is still handled by the retry layer;
pacing only avoids provoking one:

* burst: when the last answer left at most :data:`BURST_RESERVE_SHARE` of the window (at least one
  call), wait until this process's oldest call in the window has aged out, so the window has room
  again (other apps of the portal may share the budget: the reserve is theirs);
* search: at most :data:`SEARCHES_PER_SECOND` searches in any :data:`SEARCH_WINDOW_SECONDS`, counted
  here because HubSpot sends no header for it.

Waits go through the injected ``sleep``; the time after a wait is taken as ``now + wait`` so that a
recording ``sleep`` (tests) cannot make this loop.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping

from connector.crm.base import ApiUsage
from connector.crm.hubspot.errors import header

BURST_RESERVE_SHARE = 0.1
DEFAULT_BURST = (100, 10.0)
"""Calls per seconds assumed before an answer's headers say (HubSpot's lowest private-app burst limit)."""
SEARCHES_PER_SECOND = 4
"""HubSpot documents five per second per token; one less leaves room for clock differences."""
SEARCH_WINDOW_SECONDS = 1.05


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class Pacer:
    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        searches_per_second: int = SEARCHES_PER_SECOND,
    ) -> None:
        self._sleep = sleep
        self._monotonic = monotonic
        self._searches_per_second = searches_per_second
        self._calls: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._remaining: int | None = None
        self._max: int | None = None
        self._interval: float | None = None
        self._daily: int | None = None
        self._daily_remaining: int | None = None
        self.waited = 0.0
        """Seconds spent pacing so far (for logs and benchmarks)."""

    def before(self, *, search: bool) -> None:
        """Wait, if needed, before sending one call (``search`` for a search call)."""
        now = self._monotonic()
        wait = max(self._burst_wait(now), self._search_wait(now) if search else 0.0)
        if wait > 0:
            self._sleep(wait)
            self.waited += wait
            now += wait
        self._calls.append(now)
        if search:
            self._searches.append(now)

    def _burst_wait(self, now: float) -> float:
        if self._remaining is None or not self._max or not self._interval:
            return 0.0
        while self._calls and self._calls[0] <= now - self._interval:
            self._calls.popleft()
        if self._remaining > max(1, int(self._max * BURST_RESERVE_SHARE)):
            return 0.0
        if self._calls:
            return max(0.0, self._calls[0] + self._interval - now)
        return self._interval / self._max  # the budget is used by others: spread our calls out

    def _search_wait(self, now: float) -> float:
        while self._searches and self._searches[0] <= now - SEARCH_WINDOW_SECONDS:
            self._searches.popleft()
        if len(self._searches) < self._searches_per_second:
            return 0.0
        return max(0.0, self._searches[-self._searches_per_second] + SEARCH_WINDOW_SECONDS - now)

    def search_weight(self) -> float:
        """Wall time of one search call at its pace, in ordinary calls at the burst pace (at least 1).

        With the documented 100 calls per 10 s and 4 searches per 1.05 s here, a search costs about 2.6
        calls; a portal with a higher burst limit (its headers say) makes listing relatively cheaper."""
        calls, seconds = (self._max, self._interval) if self._max and self._interval else DEFAULT_BURST
        per_search = SEARCH_WINDOW_SECONDS / self._searches_per_second
        return max(1.0, per_search / (seconds / calls))

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Remember the rate-limit headers of an answer (error answers included)."""
        remaining = _int(header(headers, "X-HubSpot-RateLimit-Remaining"))
        if remaining is not None:
            self._remaining = remaining
            self._max = _int(header(headers, "X-HubSpot-RateLimit-Max"))
            interval = _int(header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"))
            self._interval = interval / 1000 if interval else None
        daily = _int(header(headers, "X-HubSpot-RateLimit-Daily"))
        daily_remaining = _int(header(headers, "X-HubSpot-RateLimit-Daily-Remaining"))
        if daily is not None and daily_remaining is not None:
            self._daily, self._daily_remaining = daily, daily_remaining

    def usage(self) -> ApiUsage | None:
        """Daily calls used and allowed, from the last answer that reported them."""
        if self._daily is None or self._daily_remaining is None:
            return None
        return ApiUsage(used=max(0, self._daily - self._daily_remaining), limit=self._daily)
