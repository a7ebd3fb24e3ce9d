"""Property definitions per object type, and the rules HubSpot applies to every value written.

Every write goes through :meth:`PropertyRegistry.coerce`, which turns client input into the strings
HubSpot stores (dates as ``YYYY-MM-DD``, datetimes as ISO with milliseconds, booleans lower-cased) and
rejects what HubSpot rejects: unknown properties (``PROPERTY_DOESNT_EXIST``), options that are not on
the list (``INVALID_OPTION``), a date given as epoch milliseconds that is not midnight UTC
(``INVALID_DATE``), calculated properties (``READ_ONLY_VALUE``). A product that passes the sandbox
therefore writes values the real portal accepts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.sandbox.hubspot.catalog import GROUP_LABELS, OBJECT_TYPES, PROPERTY_SEEDS, PropertySeed
from connector.sandbox.hubspot.errors import ApiError, validation
from connector.sandbox.hubspot.store import iso

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "html", "phonenumber", "file"}),
    "number": frozenset({"number", "calculation_equation"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "bool": frozenset({"booleancheckbox"}),
    "phone_number": frozenset({"phonenumber", "text"}),
}


@dataclass(slots=True)
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    options: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    has_unique_value: bool = False
    hubspot_defined: bool = True
    read_only: bool = False
    references_owner: bool = False
    display_order: int = -1
    hidden: bool = False
    form_field: bool = False
    archived: bool = False
    created_at: dt.datetime = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    updated_at: dt.datetime = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

    @property
    def option_values(self) -> set[str]:
        return {str(option["value"]) for option in self.options}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            # "Read all properties": every option carries a description ("" when none was given).
            "options": [{"description": "", **option} for option in self.options],
            "displayOrder": self.display_order,
            "calculated": self.read_only,
            "externalOptions": self.references_owner,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "hubspotDefined": self.hubspot_defined,
            "formField": self.form_field,
            "archived": self.archived,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
                "readOnlyOptions": self.hubspot_defined,
            },
        }
        if self.references_owner:
            body["referencedObjectType"] = "OWNER"
        if self.archived:
            body["archivedAt"] = iso(self.updated_at)
        return body


def _option(value: str, order: int) -> dict[str, Any]:
    return {"label": value, "value": value, "displayOrder": order, "hidden": False}


def _from_seed(seed: PropertySeed) -> PropertyDef:
    return PropertyDef(
        name=seed.name,
        label=seed.label,
        type=seed.type,
        field_type=seed.field_type,
        group_name=seed.group,
        options=[_option(value, order) for order, value in enumerate(seed.options)],
        hubspot_defined=seed.hubspot_defined,
        read_only=seed.read_only,
        references_owner=seed.references_owner,
    )


@dataclass(frozen=True, slots=True)
class ValueProblem:
    name: str
    code: str
    message: str


class PropertyRegistry:
    """The portal's property schema; owner ids are looked up through ``owner_exists``."""

    def __init__(self, owner_exists: Callable[[str], bool]) -> None:
        self._owner_exists = owner_exists
        self.defs: dict[str, dict[str, PropertyDef]] = {
            object_type: {seed.name: _from_seed(seed) for seed in PROPERTY_SEEDS[object_type]}
            for object_type in OBJECT_TYPES
        }
        self.groups: dict[str, dict[str, dict[str, Any]]] = {}
        for object_type, defs in self.defs.items():
            names = sorted({d.group_name for d in defs.values()})
            self.groups[object_type] = {
                name: {
                    "name": name,
                    "label": GROUP_LABELS.get(name, name),
                    "displayOrder": -1,
                    "archived": False,
                }
                for name in names
            }

    def get(self, object_type: str, name: str) -> PropertyDef | None:
        found = self.defs[object_type].get(name)
        return None if found is None or found.archived else found

    def ensure_option(self, object_type: str, name: str, value: str) -> None:
        """Add ``value`` to an enumeration's options (an admin configuring the portal; seeding uses it)."""
        definition = self.defs[object_type][name]
        if value not in definition.option_values:
            definition.options.append(_option(value, len(definition.options)))

    # -- values ---------------------------------------------------------------------------------
    def coerce(self, object_type: str, values: dict[str, Any], *, creating: bool) -> dict[str, str]:
        """HubSpot-stored strings for ``values``, or :class:`ApiError` 400 naming every bad property."""
        problems: list[ValueProblem] = []
        stored: dict[str, str] = {}
        for name, raw in values.items():
            definition = self.get(object_type, name)
            if definition is None:
                problems.append(
                    ValueProblem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            if definition.read_only:
                problems.append(
                    ValueProblem(
                        name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
                    )
                )
                continue
            value = "" if raw is None else str(raw)
            problem, normal = self._normal(definition, value)
            if problem is not None:
                problems.append(problem)
            else:
                stored[name] = normal
        if creating:
            for name in OBJECT_TYPES[object_type].required_on_create:
                if not stored.get(name):
                    problems.append(ValueProblem(name, "REQUIRED_PROPERTY", f"{name} is required"))
        if problems:
            raise property_error(problems)
        return stored

    def _normal(self, definition: PropertyDef, value: str) -> tuple[ValueProblem | None, str]:
        if value == "":
            return None, ""
        name = definition.name
        if definition.references_owner:
            if not self._owner_exists(value):
                return ValueProblem(name, "INVALID_OWNER_ID", f"{value} is not a valid owner id"), ""
            return None, value
        if definition.type == "number":
            try:
                Decimal(value)
            except InvalidOperation:
                return ValueProblem(name, "INVALID_DECIMAL", f"{value} was not a valid number."), ""
            return None, value
        if definition.type == "bool":
            if value.lower() not in ("true", "false"):
                return ValueProblem(name, "INVALID_BOOLEAN", f"{value} was not a valid boolean."), ""
            return None, value.lower()
        if definition.type == "enumeration":
            allowed = definition.option_values
            chosen = value.split(";") if definition.field_type == "checkbox" else [value]
            bad = [part for part in chosen if part not in allowed]
            if bad:
                return ValueProblem(
                    name,
                    "INVALID_OPTION",
                    f"{bad[0]} was not one of the allowed options: {sorted(allowed)}",
                ), ""
            return None, value
        if definition.type == "date":
            return _date_value(name, value)
        if definition.type == "datetime":
            return _datetime_value(name, value)
        return None, value

    # -- definitions ----------------------------------------------------------------------------
    def create(self, object_type: str, body: dict[str, Any], at: dt.datetime) -> PropertyDef:
        name = str(body["name"])
        existing = self.defs[object_type].get(name)
        if existing is not None and not existing.archived:
            raise ApiError(409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists.")
        if not _NAME.match(name):
            raise validation(
                f"Property name '{name}' is invalid: use lower-case letters, digits and underscores, "
                "starting with a letter."
            )
        definition = PropertyDef(
            name=name,
            label=str(body["label"]),
            type=str(body["type"]),
            field_type=str(body["fieldType"]),
            group_name=str(body["groupName"]),
            options=[dict(option) for option in body.get("options") or []],
            description=str(body.get("description") or ""),
            has_unique_value=bool(body.get("hasUniqueValue", False)),
            hubspot_defined=False,
            display_order=int(body.get("displayOrder", -1)),
            hidden=bool(body.get("hidden", False)),
            form_field=bool(body.get("formField", False)),
            created_at=at,
            updated_at=at,
        )
        self._check(object_type, definition)
        self.defs[object_type][name] = definition
        return definition

    def update(self, object_type: str, name: str, body: dict[str, Any], at: dt.datetime) -> PropertyDef:
        definition = self.get(object_type, name)
        if definition is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for {object_type}.")
        changed = dataclasses.replace(definition, options=list(definition.options))
        for key, attribute in (
            ("label", "label"),
            ("description", "description"),
            ("groupName", "group_name"),
            ("fieldType", "field_type"),
            ("type", "type"),
            ("displayOrder", "display_order"),
            ("hidden", "hidden"),
            ("formField", "form_field"),
        ):
            if key in body:
                setattr(changed, attribute, body[key])
        if "options" in body:
            changed.options = [dict(option) for option in body["options"]]
        if definition.hubspot_defined and (changed.type, changed.field_type) != (
            definition.type,
            definition.field_type,
        ):
            raise validation(f"The type of HubSpot-defined property {name} cannot be changed.")
        self._check(object_type, changed)
        changed.updated_at = at
        self.defs[object_type][name] = changed
        return changed

    def archive(self, object_type: str, name: str, at: dt.datetime) -> None:
        definition = self.get(object_type, name)
        if definition is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for {object_type}.")
        if definition.hubspot_defined:
            raise validation(f"HubSpot-defined property {name} cannot be archived.")
        definition.archived = True
        definition.updated_at = at

    def _check(self, object_type: str, definition: PropertyDef) -> None:
        if definition.group_name not in self.groups[object_type]:
            raise validation(f"Property group '{definition.group_name}' does not exist for {object_type}.")
        allowed = _FIELD_TYPES.get(definition.type)
        if allowed is None or definition.field_type not in allowed:
            raise validation(
                f"fieldType '{definition.field_type}' is not valid for a property of type '{definition.type}'."
            )
        if definition.type == "enumeration":
            values = [str(option.get("value")) for option in definition.options]
            if not values:
                raise validation(f"Enumeration property {definition.name} needs at least one option.")
            if len(set(values)) != len(values):
                raise validation(f"Enumeration property {definition.name} has duplicate option values.")
        if definition.has_unique_value and definition.type not in ("string", "number"):
            raise validation("Only single-line text and number properties can require unique values.")

    def create_group(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body["name"])
        if name in self.groups[object_type]:
            raise ApiError(409, "OBJECT_ALREADY_EXISTS", f"Property group named '{name}' already exists.")
        if not _NAME.match(name):
            raise validation(f"Property group name '{name}' is invalid.")
        group = {
            "name": name,
            "label": str(body["label"]),
            "displayOrder": int(body.get("displayOrder", -1)),
            "archived": False,
        }
        self.groups[object_type][name] = group
        return group


def property_error(problems: list[ValueProblem]) -> ApiError:
    """HubSpot's ``Property values were not valid`` body, with one ``errors`` entry per property."""
    detail = [
        {
            "isValid": False,
            "message": p.message,
            "error": p.code,
            "name": p.name,
            "localizedErrorMessage": p.message,
        }
        for p in problems
    ]
    return validation(
        f"Property values were not valid: {json.dumps(detail)}",
        errors=[
            {"message": p.message, "code": p.code, "context": {"propertyName": [p.name]}} for p in problems
        ],
    )


def _epoch_ms(value: str) -> dt.datetime | None:
    if value.lstrip("-").isdigit():
        return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
    return None


def _date_value(name: str, value: str) -> tuple[ValueProblem | None, str]:
    moment = _epoch_ms(value)
    if moment is not None:
        if moment.time() != dt.time(0):
            return ValueProblem(
                name, "INVALID_DATE", f"{value} is at {moment.time().isoformat()} UTC, not midnight!"
            ), ""
        return None, moment.date().isoformat()
    try:
        return None, dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return ValueProblem(name, "INVALID_DATE", f"{value} is not a valid date."), ""


def _datetime_value(name: str, value: str) -> tuple[ValueProblem | None, str]:
    moment = _epoch_ms(value)
    if moment is None:
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return ValueProblem(name, "INVALID_DATETIME", f"{value} is not a valid datetime."), ""
    return None, iso(moment)


def parse_datetime(value: str) -> dt.datetime | None:
    """A stored datetime/date property or a filter value (epoch ms or ISO) as an aware datetime."""
    moment = _epoch_ms(value)
    if moment is not None:
        return moment
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
