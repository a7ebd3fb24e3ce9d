"""The call ledger: every request the sandbox answered, so tests and benchmarks count API calls exactly."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Call:
    seq: int
    crm: str
    """``salesforce`` or ``hubspot``."""
    method: str
    path: str
    status: int
    records: int
    """Records read or written by the call (0 when it touched none)."""
    write: bool
    """True when the call changed CRM data; a POST that only reads (search, batch read, query) is False."""
    fault: str | None
    at: float


class Ledger:
    """Thread-safe, append-only record of calls; reset between test phases."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._cpu = 0.0
        self._cpu_calls = 0

    def record(
        self,
        *,
        crm: str,
        method: str,
        path: str,
        status: int,
        records: int = 0,
        write: bool | None = None,
        fault: str | None = None,
    ) -> Call:
        with self._lock:
            call = Call(
                seq=len(self._calls) + 1,
                crm=crm,
                method=method,
                path=path,
                status=status,
                records=records,
                write=method in WRITE_METHODS if write is None else write,
                fault=fault,
                at=time.time(),
            )
            self._calls.append(call)
            return call

    def calls(self, *, crm: str | None = None, write: bool | None = None) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self._calls
                if (crm is None or c.crm == crm) and (write is None or c.write == write)
            ]

    def count(self, *, crm: str | None = None, write: bool | None = None, path_contains: str = "") -> int:
        return sum(1 for c in self.calls(crm=crm, write=write) if path_contains in c.path)

    def add_cpu(self, seconds: float) -> None:
        """CPU one API request cost the serving thread (``time.thread_time``), for benchmarks."""
        with self._lock:
            self._cpu += seconds
            self._cpu_calls += 1

    def cpu(self) -> tuple[float, int]:
        """``(CPU seconds, requests)`` the sandbox spent serving API requests since the last reset."""
        with self._lock:
            return self._cpu, self._cpu_calls

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._cpu, self._cpu_calls = 0.0, 0

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.calls()]
