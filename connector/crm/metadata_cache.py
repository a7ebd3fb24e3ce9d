"""CRM metadata kept across runs in a JSON file beside the state, for a TTL set in config.

Every run otherwise starts by reading the CRM's schema (Salesforce describes, HubSpot property
definitions) and a few facts (the API user, owner names, the portal a token reaches): a fixed cost that
dominates a small incremental sync, for metadata that changes rarely and mostly through ``tiersync
setup-fields`` / ``cleanup``, which clear it. An entry younger than the TTL is reused.

Entries live under a *scope* the adapter chooses (an org and user, a portal), so two orgs never share
one. Each named entry (``get``/``put``) holds a JSON object the adapter already trimmed to what it
reads; beside it, ``checked`` keeps what was proved valid against that entry (Salesforce ``where``
conditions), dropped when a new entry differs. Facts (``fact``/``facts``/``remember``) are single
strings under ``@key``, each with its own age, and may be read with a shorter TTL of their own.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class MetadataCache:
    """``name -> JSON object`` (None: the CRM has no such object) younger than ``ttl`` seconds."""

    def __init__(self, path: Path, ttl: float, scope: str, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._ttl = ttl
        self._scope = scope
        self._clock = clock

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # absent or damaged: read the CRM again
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_name(self._path.name + ".tmp")
        partial.write_text(json.dumps(data), encoding="utf-8")
        os.replace(partial, self._path)  # a crash mid-write leaves the old file, never half a file

    def _fresh(self, entry: Any, ttl: float | None = None) -> bool:
        limit = self._ttl if ttl is None else ttl
        return isinstance(entry, dict) and self._clock() - float(entry.get("at", 0)) < limit

    def get(self, name: str) -> tuple[bool, dict[str, Any] | None]:
        """``(True, value)`` when a fresh entry exists, else ``(False, None)``."""
        entry = self._load().get(self._scope, {}).get(name.lower())
        if not self._fresh(entry):
            return False, None
        value = entry.get("describe")
        return True, value if isinstance(value, dict) else None

    def put(self, name: str, value: dict[str, Any] | None) -> None:
        """Keep ``value`` (as given: trim it first) under ``name`` from now on."""
        data = self._load()
        entries = data.setdefault(self._scope, {})
        old = entries.get(name.lower())
        # "describe": the key of the first (Salesforce-only) version, so its files stay readable
        entry: dict[str, Any] = {"at": self._clock(), "describe": value}
        if isinstance(old, dict) and old.get("describe") == value and value is not None:
            entry["checked"] = old.get("checked", [])  # the same metadata: what held against it still holds
        entries[name.lower()] = entry
        self._save(data)

    def checked(self, name: str) -> set[str]:
        """What was proved valid against the fresh entry ``name`` (``add_checked``)."""
        entry = self._load().get(self._scope, {}).get(name.lower())
        if not self._fresh(entry) or not isinstance(entry.get("describe"), dict):
            return set()
        return {str(w) for w in entry.get("checked", [])}

    def add_checked(self, name: str, what: str) -> None:
        """Remember that ``what`` held against entry ``name`` (only beside it: nothing outlives that)."""
        data = self._load()
        entry = data.get(self._scope, {}).get(name.lower())
        if isinstance(entry, dict) and entry.get("describe") is not None:
            entry["checked"] = sorted({*entry.get("checked", []), what})
            self._save(data)

    def fact(self, key: str, ttl: float | None = None) -> str | None:
        """A value looked up once per TTL (``ttl``, else the cache's), or None when absent or stale."""
        return self.facts([key], ttl).get(key)

    def facts(self, keys: list[str], ttl: float | None = None) -> dict[str, str]:
        """The fresh ones of ``keys`` (``owner:<Id>`` names, ``api_user``) with their values."""
        entries = self._load().get(self._scope, {})
        found: dict[str, str] = {}
        for key in keys:
            entry = entries.get(f"@{key}")
            if self._fresh(entry, ttl) and entry.get("value"):
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
        """Forget this scope's entries (after fields, properties or permissions change)."""
        data = self._load()
        if data.pop(self._scope, None) is not None:
            self._save(data)
