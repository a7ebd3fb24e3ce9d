"""Salesforce-style record Ids: 15-character bodies with the 3-character case-safe checksum suffix.

Adapters keep whatever Id the API returns, so the sandbox hands out the same 18-character shape
(key prefix + body + checksum) and accepts 15-character Ids where Salesforce does.
"""

from __future__ import annotations

import itertools
import threading

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def to_18(id15: str) -> str:
    """Append the documented checksum: one character per 5-character chunk, a bit per upper-case letter."""
    suffix = []
    for chunk in range(3):
        flags = 0
        for position in range(5):
            char = id15[chunk * 5 + position]
            if "A" <= char <= "Z":
                flags |= 1 << position
        suffix.append(_SUFFIX[flags])
    return id15 + "".join(suffix)


def normalize(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character Id, or None when ``value`` is not Id-shaped."""
    if len(value) not in (15, 18) or not value.isascii() or not value.isalnum():
        return None
    return to_18(value[:15])


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


class IdFactory:
    """Hands out unique Ids per key prefix (thread-safe); the pod part is constant like in one org."""

    def __init__(self, start: int = 1) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count(start)

    def new(self, key_prefix: str) -> str:
        with self._lock:
            number = next(self._counter)
        return to_18(f"{key_prefix}8c0{_base62(number, 9)}")

    def skip_past(self, number: int) -> None:
        """Continue numbering after ``number`` (used when a persisted org is loaded back)."""
        with self._lock:
            self._counter = itertools.count(number + 1)

    @staticmethod
    def number_of(record_id: str) -> int:
        body = record_id[6:15]
        total = 0
        for char in body:
            total = total * 62 + _BASE62.index(char)
        return total
