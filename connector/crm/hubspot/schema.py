"""What the portal has, from the properties API: one ``GET /crm/v3/properties/{type}`` per object type
per adapter instance.

A read names its properties and HubSpot silently leaves out the ones that do not exist, so a typo in
the mapping would read as "no data" rather than fail. The reader therefore checks the mapping against
this schema before its first read; ``setup_fields`` clears the cache after creating properties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.crm.base import RequestRejectedError
from connector.crm.hubspot.client import HubSpotClient

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


class Schema:
    def __init__(self, client: HubSpotClient) -> None:
        self._client = client
        self._objects: dict[str, dict[str, PropertyInfo] | None] = {}

    def object(self, object_type: str) -> dict[str, PropertyInfo] | None:
        """The type's properties by name, or None when the portal has no such object type."""
        key = object_type.lower()
        if key not in self._objects:
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
                self._objects[key] = None
            else:
                self._objects[key] = {
                    str(p["name"]): PropertyInfo.from_json(p)
                    for p in answer.get("results") or []
                    if not p.get("archived")
                }
        return self._objects[key]

    def property(self, object_type: str, name: str) -> PropertyInfo | None:
        properties = self.object(object_type)
        return None if properties is None else properties.get(name)

    def forget(self) -> None:
        """Drop every cached schema (after properties were created or changed)."""
        self._objects.clear()
