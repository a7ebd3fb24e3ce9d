"""The Tooling API calls tiersync's ``setup-fields`` makes: custom fields, their query table, page layouts.

``POST tooling/sobjects/CustomField`` with ``{"FullName": "Account.X__c", "Metadata": {...}}`` adds the
field to the object for real (describe, SOQL, writes) but, like a new field in Salesforce, nobody can
see it until a ``FieldPermissions`` row grants it to a permission set assigned to the API user.
"""

from __future__ import annotations

import copy
from typing import Any

from .catalogs import ToolingCatalog
from .errors import ApiError, not_found
from .layouts import LAYOUT_KEYS
from .org import Org
from .query import attributes
from .rest import Cursors, query_more, run_query
from .schema import FieldDef, FieldType, ObjectDef
from .store import Row
from .web import Reply, Request, Router, json_reply

_SIMPLE_TYPES: dict[str, tuple[FieldType, int]] = {
    "Date": (FieldType.DATE, 0),
    "DateTime": (FieldType.DATETIME, 0),
    "Email": (FieldType.EMAIL, 80),
    "Phone": (FieldType.PHONE, 40),
    "Url": (FieldType.URL, 255),
    "TextArea": (FieldType.TEXTAREA, 255),
}
_NUMBER_TYPES = {"Number": FieldType.DOUBLE, "Currency": FieldType.CURRENCY, "Percent": FieldType.PERCENT}
_EXTERNAL_ID_TYPES = frozenset({"Text", "Number", "Email"})
ACTIVITY = "Activity"
ACTIVITY_OBJECTS = ("Task", "Event")
"""Salesforce keeps the custom fields of Task and Event on the Activity object: one definition
(``Activity.X__c``, ``TableEnumOrId = 'Activity'``), shown on both objects."""


def _integrity(message: str, fields: list[str] | None = None) -> ApiError:
    return ApiError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields or [])


def _int(metadata: dict[str, Any], key: str) -> int | None:
    value = metadata.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise _integrity(f"{key}: expected a whole number, got {value!r}", [key])
    return int(value)


def _valid_developer_name(name: str) -> bool:
    return (
        0 < len(name) <= 40
        and name[0].isalpha()
        and name.isascii()
        and all(c.isalnum() or c == "_" for c in name)
        and "__" not in name
        and not name.endswith("_")
    )


def field_from_metadata(name: str, metadata: dict[str, Any], *, activity: bool = False) -> FieldDef:
    """A field definition from CustomField Metadata, with the checks the Metadata API makes.

    ``activity``: a field of the Activity object, which may be neither External ID nor unique (the
    sandbox is stricter than the documentation says here: see BEHAVIOR.md)."""
    kind = metadata.get("type")
    label = metadata.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [label]", ["label"])
    common: dict[str, Any] = {
        "label": label,
        "custom": True,
        "gated": True,
        "required": bool(metadata.get("required", False)),
        "external_id": bool(metadata.get("externalId", False)),
        "unique": bool(metadata.get("unique", False)),
        "metadata": copy.deepcopy(metadata),
    }
    if activity and (common["external_id"] or common["unique"]):
        raise _integrity(
            "Activity custom fields cannot be External ID or unique fields", ["externalId", "unique"]
        )
    if (common["external_id"] or common["unique"]) and kind not in _EXTERNAL_ID_TYPES:
        raise _integrity(f"externalId/unique can be set only on Text, Number and Email fields, not {kind}")
    if kind == "Text":
        length = _int(metadata, "length")
        if length is None or not 1 <= length <= 255:
            raise _integrity("Length: a Text field needs a length from 1 to 255", ["length"])
        return FieldDef(name, FieldType.STRING, length=length, **common)
    if kind == "LongTextArea":
        length, lines = _int(metadata, "length"), _int(metadata, "visibleLines")
        if length is None or not 256 <= length <= 131072:
            raise _integrity("Length: a Long Text Area needs a length from 256 to 131072", ["length"])
        if lines is None or lines < 2:
            raise _integrity(
                "visibleLines: a Long Text Area needs at least 2 visible lines", ["visibleLines"]
            )
        return FieldDef(name, FieldType.TEXTAREA, length=length, visible_lines=lines, **common)
    if kind in _NUMBER_TYPES:
        precision, scale = _int(metadata, "precision"), _int(metadata, "scale")
        if precision is None or not 1 <= precision <= 18:
            raise _integrity("Precision: a number field needs a precision from 1 to 18", ["precision"])
        if scale is None or not 0 <= scale <= precision:
            raise _integrity("Scale: a number field needs a scale from 0 to its precision", ["scale"])
        return FieldDef(name, _NUMBER_TYPES[kind], precision=precision, scale=scale, **common)
    if kind == "Checkbox":
        default = str(metadata.get("defaultValue", "")).lower()
        if default not in ("true", "false"):
            raise _integrity("Default Value: a Checkbox needs defaultValue true or false", ["defaultValue"])
        return FieldDef(name, FieldType.BOOLEAN, default=default == "true", **common)
    if kind in ("Picklist", "MultiselectPicklist"):
        values, restricted = _picklist_values(metadata)
        if kind == "MultiselectPicklist":
            lines = _int(metadata, "visibleLines")
            if lines is None or lines < 3:
                raise _integrity(
                    "visibleLines: a multi-select picklist needs at least 3 visible lines", ["visibleLines"]
                )
            return FieldDef(
                name,
                FieldType.MULTIPICKLIST,
                length=4099,
                picklist=values,
                restricted=restricted,
                visible_lines=lines,
                **common,
            )
        return FieldDef(
            name, FieldType.PICKLIST, length=255, picklist=values, restricted=restricted, **common
        )
    if isinstance(kind, str) and kind in _SIMPLE_TYPES:
        field_type, length = _SIMPLE_TYPES[kind]
        return FieldDef(name, field_type, length=length, **common)
    raise _integrity(f"Field type {kind!r} is not emulated by the tiersync sandbox", ["type"])


def _picklist_values(metadata: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    value_set = metadata.get("valueSet")
    definition = value_set.get("valueSetDefinition") if isinstance(value_set, dict) else None
    entries = definition.get("value") if isinstance(definition, dict) else None
    if not isinstance(entries, list) or not entries:
        raise _integrity("valueSet: a picklist needs valueSet.valueSetDefinition.value entries", ["valueSet"])
    values = []
    for entry in entries:
        name = entry.get("fullName") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise _integrity("valueSet: every value needs a fullName", ["valueSet"])
        values.append(name)
    if len({v.lower() for v in values}) != len(values):
        raise ApiError(400, "DUPLICATE_VALUE", "valueSet: duplicate picklist value", ["valueSet"])
    assert isinstance(value_set, dict)
    return tuple(values), bool(value_set.get("restricted", False))


def activity_targets(org: Org) -> list[ObjectDef | None]:
    """The objects an Activity field appears on."""
    return [org.sobject(name) for name in ACTIVITY_OBJECTS]


class ToolingApi:
    def __init__(self, org: Org, cursors: Cursors) -> None:
        self.org = org
        self.catalog = ToolingCatalog(org)
        self.cursors = cursors

    def register(self, router: Router) -> None:
        base = "/services/data/v{version}/tooling"
        router.add("GET", f"{base}/query", self.query)
        router.add("GET", f"{base}/query/{{locator}}", self.query_more)
        router.add("GET", f"{base}/sobjects", self.describe_global)
        router.add("GET", f"{base}/sobjects/{{sobject}}/describe", self.describe)
        router.add("POST", f"{base}/sobjects/{{sobject}}", self.create, writes=True)
        router.add("GET", f"{base}/sobjects/{{sobject}}/{{id}}", self.retrieve)
        router.add("PATCH", f"{base}/sobjects/{{sobject}}/{{id}}", self.update, writes=True)
        router.add("DELETE", f"{base}/sobjects/{{sobject}}/{{id}}", self.delete, writes=True)

    def query(self, request: Request, params: dict[str, str]) -> Reply:
        return run_query(
            request,
            params["version"],
            self.catalog,
            self.cursors,
            endpoint="tooling/query",
            include_deleted=False,
        )

    def query_more(self, request: Request, params: dict[str, str]) -> Reply:
        return query_more(params["locator"], params["version"], self.cursors)

    def _object(self, name: str) -> ObjectDef:
        obj = self.org.tooling.object(name)
        if obj is None:
            raise not_found()
        return obj

    def describe_global(self, request: Request, params: dict[str, str]) -> Reply:
        base = f"/services/data/v{params['version']}/tooling"
        objects = [o.summary(base) for o in self.org.tooling.objects.values()]
        return json_reply(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})

    def describe(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        base = f"/services/data/v{params['version']}/tooling"
        return json_reply(200, obj.describe(obj.fields.values(), base))

    def _row(self, obj: ObjectDef, record_id: str) -> Row:
        row = self.org.tooling.get(obj.name, record_id)
        if row is None:
            raise not_found()
        return row

    def retrieve(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        row = self._row(obj, params["id"])
        body: dict[str, Any] = {"attributes": attributes(obj, row, self.catalog, params["version"])}
        for fd in obj.fields.values():
            body[fd.name] = row.get(fd.name, fd.missing)
        return json_reply(200, body, records=1)

    def create(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        if obj.name != "CustomField":
            raise ApiError(
                400, "INVALID_TYPE", f"Creating {obj.name} is not emulated by the tiersync sandbox"
            )
        payload = request.json_object()
        full_name, metadata = payload.get("FullName"), payload.get("Metadata")
        if not isinstance(full_name, str) or not isinstance(metadata, dict):
            raise ApiError(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [FullName, Metadata]",
                ["FullName", "Metadata"],
            )
        record_id = self.create_custom_field(full_name, metadata)
        body = {"id": record_id, "success": True, "errors": [], "warnings": [], "infos": []}
        return json_reply(201, body, records=1, changed=True)

    def create_custom_field(self, full_name: str, metadata: dict[str, Any]) -> str:
        object_name, _, field_name = full_name.partition(".")
        if object_name.lower() in {o.lower() for o in ACTIVITY_OBJECTS}:
            # Task and Event are no custom-field targets of their own: their fields are Activity fields.
            raise ApiError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"TableEnumOrId: bad value for restricted picklist field: {object_name}",
                ["FullName"],
            )
        activity = object_name.lower() == ACTIVITY.lower()
        targets = activity_targets(self.org) if activity else [self.org.sobject(object_name)]
        if any(t is None for t in targets):
            raise _integrity(f"FullName: no sObject named {object_name}", ["FullName"])
        resolved = [t for t in targets if t is not None]
        if not field_name.endswith("__c") or not _valid_developer_name(field_name[:-3]):
            raise _integrity(
                "The Field Name field can only contain underscores and alphanumeric characters. It must be "
                "unique, begin with a letter, not include spaces, not end with an underscore, and not contain "
                "two consecutive underscores.",
                ["FullName"],
            )
        developer_name = field_name[:-3]
        owner = ACTIVITY if activity else resolved[0].name
        if any(t.field(field_name) is not None for t in resolved):
            raise ApiError(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {developer_name} on {owner}.",
                ["FullName"],
            )
        fd = field_from_metadata(field_name, metadata, activity=activity)
        for target in resolved:
            target.add_field(fd)
            if fd.unique or fd.external_id:
                self.org.data.ensure_index(target, fd)
        return self.org.insert_raw(
            "CustomField",
            {
                "DeveloperName": developer_name,
                "TableEnumOrId": ACTIVITY if activity else resolved[0].table_enum_or_id,
                "FullName": f"{owner}.{field_name}",
                "ManageableState": "unmanaged",
                "Metadata": {**copy.deepcopy(metadata), "fullName": None},
            },
            tooling=True,
        )

    def update(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        row = self._row(obj, params["id"])
        metadata = request.json_object().get("Metadata")
        if not isinstance(metadata, dict):
            raise ApiError(
                400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]", ["Metadata"]
            )
        if obj.name == "CustomField":
            targets, fd = self._field_of(row)
            replacement = field_from_metadata(fd.name, metadata, activity=row["TableEnumOrId"] == ACTIVITY)
            for target in targets:
                target.add_field(replacement)
                if replacement.unique or replacement.external_id:
                    self.org.data.ensure_index(target, replacement)
        else:
            self._check_layout(row, metadata)
        now = self.org.now()
        self.org.tooling.put(
            obj.name,
            {**row, "Metadata": copy.deepcopy(metadata), "LastModifiedDate": now, "SystemModstamp": now},
        )
        return Reply(204, records=1, changed=True)

    def delete(self, request: Request, params: dict[str, str]) -> Reply:
        obj = self._object(params["sobject"])
        row = self._row(obj, params["id"])
        if obj.name != "CustomField":
            raise ApiError(
                400, "INVALID_TYPE", f"Deleting {obj.name} is not emulated by the tiersync sandbox"
            )
        targets, fd = self._field_of(row)
        for target in targets:
            target.remove_field(fd.name)
            self.org.data.drop_index(target.name, fd.name)
            for data_row in list(self.org.data.rows(target.name)):
                if fd.name in data_row:
                    self.org.data.put(target.name, {k: v for k, v in data_row.items() if k != fd.name})
            full_name = f"{target.name}.{fd.name}".lower()
            for permission in list(self.org.data.rows("FieldPermissions")):
                if str(permission.get("Field", "")).lower() == full_name:
                    self.org.data.remove("FieldPermissions", permission["Id"])
        self.org.tooling.remove(obj.name, row["Id"])
        return Reply(204, records=1, changed=True)

    def _field_of(self, row: Row) -> tuple[list[ObjectDef], FieldDef]:
        object_name, _, field_name = str(row["FullName"]).partition(".")
        found = activity_targets(self.org) if object_name == ACTIVITY else [self.org.sobject(object_name)]
        targets = [t for t in found if t is not None and t.field(field_name) is not None]
        if not targets or len(targets) != len(found):
            raise not_found()
        fd = targets[0].field(field_name)
        assert fd is not None
        return targets, fd

    def _check_layout(self, row: Row, metadata: dict[str, Any]) -> None:
        target = self.org.sobject(str(row["TableEnumOrId"]))
        unknown = sorted(set(metadata) - LAYOUT_KEYS - {"fullName"})
        if unknown:
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                f"No such column '{unknown[0]}' on entity 'LayoutMetadata'",
                ["Metadata"],
            )
        sections = metadata.get("layoutSections")
        if target is None or not isinstance(sections, list):
            raise _integrity("Metadata.layoutSections must be a list", ["Metadata"])
        placed: set[str] = set()
        for section in sections:
            columns = section.get("layoutColumns") if isinstance(section, dict) else None
            if (
                not isinstance(section, dict)
                or not isinstance(section.get("label"), str)
                or not isinstance(columns, list)
            ):
                raise _integrity("Every layout section needs a label and layoutColumns", ["Metadata"])
            for column in columns:
                items = column.get("layoutItems", []) if isinstance(column, dict) else None
                if not isinstance(items, list):
                    raise _integrity("layoutColumns[].layoutItems must be a list", ["Metadata"])
                for item in items:
                    name = item.get("field") if isinstance(item, dict) else None
                    if name is None:
                        continue
                    if not isinstance(name, str) or target.field(name) is None:
                        raise _integrity(f"Field {name} does not exist on {target.name}", ["Metadata"])
                    placed.add(name.lower())
        required = [fd.name for fd in target.fields.values() if fd.required and fd.name.lower() not in placed]
        if required:
            raise _integrity(
                f"Layout must contain an item for required field(s): {', '.join(required)}", ["Metadata"]
            )
