"""Person names for the sandbox's users and owners, derived from the canonical owner id.

A real org's users have names, and tiersync shows them instead of ids: the sandbox seeds names too,
so that the demo and the tests read like an org. The same owner id always gives the same name.
"""

from __future__ import annotations

import re
import zlib

FIRST_NAMES = (
    "Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kavya", "Lars", "Maya", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Samir", "Tara",
)  # fmt: skip
LAST_NAMES = (
    "Almeida", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova",
    "Jensen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Silva",
    "Tanaka", "Urban", "Vargas", "Weber", "Yilmaz", "Zielinski",
)  # fmt: skip


def person_name(owner_key: str) -> tuple[str, str]:
    """(first name, last name) for a canonical owner id such as ``owner-07``: ids that end in a number
    up to 480 get distinct names (the number picks the pair), any other id a name from its checksum."""
    number = re.search(r"(\d+)$", owner_key)
    n = int(number.group(1)) if number else zlib.crc32(owner_key.encode("utf-8"))
    return FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // len(FIRST_NAMES) + 5 * n) % len(LAST_NAMES)]


def full_name(owner_key: str) -> str:
    first, last = person_name(owner_key)
    return f"{first} {last}"
