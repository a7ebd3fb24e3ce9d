"""HubSpot's three request budgets: the rolling burst window, search's own per-second limit, the daily cap.

Burst and search windows run on real elapsed time (``time.monotonic``) because the client really waits
out ``Retry-After``; the daily counter resets when the sandbox clock's UTC date changes, so a frozen test
clock keeps one day. Any limit set to 0 is off, which is what large benchmarks want.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rejection:
    policy: str
    """``TEN_SECONDLY_ROLLING``, ``SECONDLY`` (search) or ``DAILY``."""
    message: str
    retry_after: int | None
    """Seconds for ``Retry-After``; ``None`` for the daily cap, which no short wait fixes (and urllib3,
    under the HubSpot client, would otherwise sleep until midnight before retrying a GET)."""


class RateLimiter:
    def __init__(
        self,
        *,
        burst_limit: int,
        burst_window_seconds: float,
        search_per_second: int,
        daily_limit: int,
        clock: Callable[[], dt.datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst_limit = burst_limit
        self.burst_window = burst_window_seconds
        self.search_per_second = search_per_second
        self.daily_limit = daily_limit
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._burst: deque[float] = deque()
        self._search: deque[float] = deque()
        self._day = clock().date()
        self._daily_used = 0

    def set_daily_usage(self, used: int) -> None:
        with self._lock:
            self._day = self._clock().date()
            self._daily_used = used

    def admit(self, *, search: bool) -> Rejection | None:
        """Count the request against every budget, or say which budget refuses it (nothing is counted then)."""
        with self._lock:
            now = self._monotonic()
            today = self._clock().date()
            if today != self._day:
                self._day, self._daily_used = today, 0
            if self.daily_limit and self._daily_used >= self.daily_limit:
                return Rejection("DAILY", "You have reached your daily limit.", None)
            if self.burst_limit:
                while self._burst and self._burst[0] <= now - self.burst_window:
                    self._burst.popleft()
                if len(self._burst) >= self.burst_limit:
                    wait = max(1, math.ceil(self._burst[0] + self.burst_window - now))
                    return Rejection(
                        "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.", wait
                    )
            if search and self.search_per_second:
                while self._search and self._search[0] <= now - 1.0:
                    self._search.popleft()
                if len(self._search) >= self.search_per_second:
                    return Rejection("SECONDLY", "You have reached your secondly limit.", 1)
                self._search.append(now)
            if self.burst_limit:
                self._burst.append(now)
            self._daily_used += 1
            return None

    def headers(self) -> list[tuple[str, str]]:
        with self._lock:
            headers: list[tuple[str, str]] = []
            if self.daily_limit:
                headers += [
                    ("X-HubSpot-RateLimit-Daily", str(self.daily_limit)),
                    ("X-HubSpot-RateLimit-Daily-Remaining", str(max(0, self.daily_limit - self._daily_used))),
                ]
            if self.burst_limit:
                now = self._monotonic()
                used = sum(1 for stamp in self._burst if stamp > now - self.burst_window)
                headers += [
                    ("X-HubSpot-RateLimit-Max", str(self.burst_limit)),
                    ("X-HubSpot-RateLimit-Remaining", str(max(0, self.burst_limit - used))),
                    ("X-HubSpot-RateLimit-Interval-Milliseconds", str(int(self.burst_window * 1000))),
                ]
            return headers
