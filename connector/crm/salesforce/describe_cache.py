"""Describes kept across runs in a JSON file, for ``salesforce.describe_ttl_seconds``.

Every run otherwise starts with one describe per mapped object (seven on the default mapping), a
fixed cost that dominates a small incremental sync. An org's schema changes rarely and mostly through
``tiersync setup-fields`` / ``cleanup``, which clear this file, so a describe younger than the TTL is
reused. Entries are keyed by org, user and API version (field-level security differs per user), and
hold only what :class:`~connector.crm.salesforce.describe.FieldInfo` reads.

Beside each describe the mapping ``where`` conditions that a ``LIMIT 1`` query proved valid against it
are kept (``checked``): they stay valid as long as that describe does, so a warm run re-checks none,
and a new describe that differs drops them. The API user's Id and the owners' names are kept the same
way (``fact``, ``facts``): a username names one user for good and a user is rarely renamed, so looking
them up once per TTL is enough.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KEPT_FIELD_KEYS = (
    "name",
    "type",
    "length",
    "updateable",
    "idLookup",
    "picklistValues",
    "referenceTo",
    "relationshipName",
)


class DescribeCache:
    """``object name -> describe`` (None: the org has no such object) younger than ``ttl`` seconds."""

    def __init__(self, path: Path, ttl: float, scope: str, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._ttl = ttl
        self._scope = scope
        self._clock = clock

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # absent or damaged: describe again
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_name(self._path.name + ".tmp")
        partial.write_text(json.dumps(data), encoding="utf-8")
        os.replace(partial, self._path)  # a crash mid-write leaves the old file, never half a file

    def get(self, name: str) -> tuple[bool, dict[str, Any] | None]:
        """``(True, describe)`` when a fresh entry exists, else ``(False, None)``."""
        entry = self._load().get(self._scope, {}).get(name.lower())
        if not isinstance(entry, dict) or self._clock() - float(entry.get("at", 0)) >= self._ttl:
            return False, None
        described = entry.get("describe")
        return True, described if isinstance(described, dict) else None

    def put(self, name: str, described: dict[str, Any] | None) -> None:
        kept = (
            None
            if described is None
            else {
                "name": described.get("name", name),
                "fields": [{k: f[k] for k in KEPT_FIELD_KEYS if k in f} for f in described.get("fields", [])],
            }
        )
        data = self._load()
        entries = data.setdefault(self._scope, {})
        old = entries.get(name.lower())
        entry: dict[str, Any] = {"at": self._clock(), "describe": kept}
        if isinstance(old, dict) and old.get("describe") == kept and kept is not None:
            entry["checked"] = old.get("checked", [])  # the same metadata: what held against it still holds
        entries[name.lower()] = entry
        self._save(data)

    def checked(self, name: str) -> set[str]:
        """The ``where`` conditions proved valid against the object's fresh cached describe."""
        hit, described = self.get(name)
        if not hit or described is None:
            return set()
        entry = self._load().get(self._scope, {}).get(name.lower(), {})
        return {str(w) for w in entry.get("checked", [])}

    def add_checked(self, name: str, where: str) -> None:
        """Remember that ``where`` ran on the object (only beside its describe: nothing outlives that)."""
        data = self._load()
        entry = data.get(self._scope, {}).get(name.lower())
        if isinstance(entry, dict) and entry.get("describe") is not None:
            entry["checked"] = sorted({*entry.get("checked", []), where})
            self._save(data)

    def fact(self, key: str) -> str | None:
        """A value looked up once per TTL (the API user's Id), or None when absent or stale."""
        return self.facts([key]).get(key)

    def facts(self, keys: list[str]) -> dict[str, str]:
        """The fresh ones of ``keys`` (``owner:<Id>`` names, ``api_user``) with their values."""
        entries = self._load().get(self._scope, {})
        found: dict[str, str] = {}
        for key in keys:
            entry = entries.get(f"@{key}")
            fresh = isinstance(entry, dict) and self._clock() - float(entry.get("at", 0)) < self._ttl
            if fresh and entry.get("value"):
                found[key] = str(entry["value"])
        return found

    def remember(self, key: str, value: str) -> None:
        self.remember_all({key: value})

    def remember_all(self, values: dict[str, str]) -> None:
        if not values:
            return
        data = self._load()
        entries = data.setdefault(self._scope, {})
        for key, value in values.items():
            entries[f"@{key}"] = {"at": self._clock(), "value": value}
        self._save(data)

    def clear(self) -> None:
        """Forget this org's entries (after fields or permissions change)."""
        data = self._load()
        if data.pop(self._scope, None) is not None:
            self._save(data)
