"""What the portal has, from the properties API: one ``GET /crm/v3/properties/{type}`` per object type
per adapter instance (and, with ``hubspot.properties_ttl_seconds``, reused across runs from the portal's
:class:`~connector.crm.metadata_cache.MetadataCache`, trimmed to what :class:`PropertyInfo` reads).

A read names its properties and HubSpot silently leaves out the ones that do not exist, so a typo in
the mapping would read as "no data" rather than fail. The reader therefore checks the mapping against
this schema before its first read; ``setup_fields`` and ``cleanup`` clear both caches after changing
properties. A definition cached before someone deleted the property is caught by the reader: HubSpot
answers every requested property that exists, ``null`` when empty, so a row without a property this
schema claims is a stale schema (:meth:`Schema.stale`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connector.crm.base import RequestRejectedError
from connector.crm.hubspot.client import HubSpotClient
from connector.crm.metadata_cache import MetadataCache

KEPT_KEYS = ("name", "type", "fieldType", "hasUniqueValue", "calculated", "groupName", "hubspotDefined")
"""What :meth:`PropertyInfo.from_json` reads, besides options and the read-only flag (trimmed below)."""
MULTI_VALUE_FIELD_TYPE = "checkbox"
"""An enumeration shown as checkboxes holds many values (``a;b``); select and radio hold one."""


@dataclass(frozen=True)
class PropertyInfo:
    name: str
    type: str
    """HubSpot data type: string, number, date, datetime, enumeration, bool."""
    field_type: str
    options: dict[str, str]
    """Enumeration value -> label, in HubSpot's order."""
    unique: bool
    read_only: bool
    group: str = ""
    """The property group it sits in."""
    hubspot_defined: bool = False
    """True for HubSpot's own properties (never archivable)."""

    @property
    def shape(self) -> str:
        return f"{self.type}/{self.field_type}"

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PropertyInfo:
        return cls(
            name=str(body["name"]),
            type=str(body.get("type") or ""),
            field_type=str(body.get("fieldType") or ""),
            options={str(o["value"]): str(o.get("label", o["value"])) for o in body.get("options") or []},
            unique=bool(body.get("hasUniqueValue")),
            read_only=bool(body.get("calculated"))
            or bool((body.get("modificationMetadata") or {}).get("readOnlyValue")),
            group=str(body.get("groupName") or ""),
            hubspot_defined=bool(body.get("hubspotDefined")),
        )


def _kept(body: dict[str, Any]) -> dict[str, Any]:
    """A property definition trimmed to what :meth:`PropertyInfo.from_json` reads (for the cache)."""
    kept = {k: body[k] for k in KEPT_KEYS if k in body}
    if body.get("options"):
        kept["options"] = [
            {"value": o["value"], "label": o.get("label", o["value"])} for o in body["options"]
        ]
    if (body.get("modificationMetadata") or {}).get("readOnlyValue"):
        kept["modificationMetadata"] = {"readOnlyValue": True}
    return kept


class Schema:
    """Property definitions, at most one read per object type per instance; reused across runs when
    ``cache()`` gives the portal's cache (it is asked lazily: the portal id takes a call to learn)."""

    def __init__(
        self, client: HubSpotClient, cache: Callable[[], MetadataCache | None] | None = None
    ) -> None:
        self._client = client
        self._cache = cache or (lambda: None)
        self._objects: dict[str, dict[str, PropertyInfo] | None] = {}

    def object(self, object_type: str) -> dict[str, PropertyInfo] | None:
        """The type's properties by name, or None when the portal has no such object type."""
        key = object_type.lower()
        if key not in self._objects:
            cache = self._cache()
            hit, kept = (False, None) if cache is None else cache.get(key)
            if not hit:
                kept = self._read(object_type)
                if cache is not None:
                    cache.put(key, kept)
            self._objects[key] = (
                None
                if kept is None
                else {str(p["name"]): PropertyInfo.from_json(p) for p in kept.get("results") or []}
            )
        return self._objects[key]

    def _read(self, object_type: str) -> dict[str, Any] | None:
        try:
            answer = self._client.call(
                f"properties of {object_type}",
                self._client.properties_core.get_all_with_http_info,
                object_type,
            )
        except RequestRejectedError as error:
            # HubSpot answers an unknown object type with 400 ("Unable to infer object type") or 404.
            if error.status not in (400, 404):
                raise
            return None
        return {"results": [_kept(p) for p in answer.get("results") or [] if not p.get("archived")]}

    def property(self, object_type: str, name: str) -> PropertyInfo | None:
        properties = self.object(object_type)
        return None if properties is None else properties.get(name)

    def stale(self, object_type: str, asked: Iterable[str], row: dict[str, Any]) -> list[str]:
        """The ``asked`` properties this schema says ``object_type`` has but ``row`` (an answer to a
        read that asked for them) lacks: HubSpot leaves out only properties that do not exist."""
        known = self._objects.get(object_type.lower()) or {}
        return [name for name in dict.fromkeys(asked) if name in known and name not in row]

    def forget(self) -> None:
        """Drop every cached schema, in memory and across runs (after properties were created,
        changed or found gone)."""
        self._objects.clear()
        cache = self._cache()
        if cache is not None:
            cache.clear()
