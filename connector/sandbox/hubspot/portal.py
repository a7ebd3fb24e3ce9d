"""The state one sandbox portal holds, shared by every endpoint handler."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.faults import FaultInjector, RecordFault
from connector.sandbox.hubspot.associations import AssociationStore
from connector.sandbox.hubspot.catalog import OBJECT_TYPES, resolve_type
from connector.sandbox.hubspot.errors import ApiError, item_error
from connector.sandbox.hubspot.properties import PropertyRegistry
from connector.sandbox.hubspot.search import Search
from connector.sandbox.hubspot.store import ObjectStore, iso

BATCH_LIMIT = 100
"""Inputs per CRM object batch call (create, read, update, upsert, archive)."""
LIST_LIMIT = 100
"""``limit`` of a list call."""


@dataclass
class Portal:
    faults: FaultInjector
    clock: Callable[[], dt.datetime]
    portal_id: int = 146_001_001
    """The Hub ID ``/account-info/v3/details`` reports; another portal is another number."""
    store: ObjectStore = field(default_factory=ObjectStore)
    associations: AssociationStore = field(default_factory=AssociationStore)
    registry: PropertyRegistry = field(init=False)
    search: Search = field(init=False)

    def __post_init__(self) -> None:
        self.registry = PropertyRegistry(owner_exists=lambda owner_id: owner_id in self.store.owners)
        self.search = Search(self.store, self.registry)

    def now(self) -> dt.datetime:
        return self.clock()

    def object_type(self, raw: str) -> str:
        resolved = resolve_type(raw)
        if resolved is None:
            raise ApiError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {raw}")
        return resolved

    def singular(self, object_type: str) -> str:
        return OBJECT_TYPES[object_type].singular

    def record_fault(self, object_type: str, key: str) -> dict[str, Any] | None:
        """The per-item error an injected record fault turns into, or ``None``.

        A lock is reported as category ``LOCKED`` (retry the input later); an injected validation rule
        as ``VALIDATION_ERROR`` (do not retry), mirroring the two Salesforce record faults.
        """
        fault = self.faults.record_fault(key)
        if fault is RecordFault.LOCK_ROW:
            return item_error(
                "LOCKED",
                f"{self.singular(object_type)} {key} is locked by a concurrent write; retry this input.",
                ids=[key],
            )
        if fault is RecordFault.VALIDATION:
            return item_error(
                "VALIDATION_ERROR",
                f"Property values were not valid: a validation rule rejected {self.singular(object_type)} {key}.",
                ids=[key],
            )
        return None

    def batch_body(
        self, started: dt.datetime, results: list[Any], errors: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """``BatchResponse…`` / ``…WithErrors``: the caller picks 200/201 or 207 from ``errors``."""
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "requestedAt": iso(started),
            "startedAt": iso(started),
            "completedAt": iso(self.now()),
        }
        if errors:
            body["errors"] = errors
            body["numErrors"] = len(errors)
        return body
