"""Salesforce-style record Ids: 15-character bodies with the 3-character case-safe checksum suffix.

Adapters keep whatever Id the API returns, so the sandbox hands out the same 18-character shape
(key prefix + body + checksum) and accepts 15-character Ids where Salesforce does.
"""

from __future__ import annotations

import itertools
import threading

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


_UPPER_BITS = str.maketrans({chr(c): "1" if "A" <= chr(c) <= "Z" else "0" for c in range(128)})
"""Each ASCII character -> ``1`` for an upper-case letter, else ``0`` (one C pass per Id, not a loop)."""


def to_18(id15: str) -> str:
    """Append the documented checksum: one character per 5-character chunk, a bit per upper-case letter
    (the chunk's first character is the lowest bit)."""
    bits = id15[:15].translate(_UPPER_BITS)
    return (
        id15 + _SUFFIX[int(bits[4::-1], 2)] + _SUFFIX[int(bits[9:4:-1], 2)] + _SUFFIX[int(bits[14:9:-1], 2)]
    )


def normalize(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character Id, or None when ``value`` is not Id-shaped."""
    if len(value) not in (15, 18) or not value.isascii() or not value.isalnum():
        return None
    return to_18(value[:15])


_PAIRS = [high + low for high in _BASE62 for low in _BASE62]
"""Every two-digit base-62 number, so an Id's digits come two at a time."""


def _base62(number: int, width: int) -> str:
    pairs = []
    while number:
        number, rest = divmod(number, 3844)
        pairs.append(_PAIRS[rest])
    return "".join(reversed(pairs)).lstrip("0").rjust(width, "0")


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
