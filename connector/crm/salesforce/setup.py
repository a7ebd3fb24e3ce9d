"""``tiersync setup-fields``: the write-back fields, the task key, their permissions and a layout section.

Everything goes through the Tooling API (``tooling/sobjects/CustomField``, ``Layout``) and ordinary
REST sObjects (``PermissionSet``, ``PermissionSetAssignment``, ``FieldPermissions``) — not the SOAP
Metadata API. A new custom field is invisible to every user, the API user included, until field
permissions grant it, so the fields are granted read + edit through a ``Tiersync`` permission set
assigned to the API user. Each step first looks, then acts only on what is missing: a second run
writes nothing, and ``dry_run`` only looks.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from simple_salesforce.format import format_soql

from connector.classify.decision_settings import DEFAULT_DECISION_LABELS
from connector.classify.growth_settings import DEFAULT_GROWTH_LABELS
from connector.classify.trait_settings import DEFAULT_TRAIT_LABELS
from connector.crm.base import OVERRIDE_FIELDS, WRITEBACK_FIELDS, FatalError, RequestRejectedError
from connector.crm.mapping import Mapping
from connector.crm.salesforce import composite
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.identity import PERMISSION_SET, api_user_id
from connector.crm.salesforce.soql import in_list, select
from connector.model import Decision, GrowthPoint, Tier, Trait

LAYOUT_SECTION = "Client tier"
ACTIVITY = "Activity"
ACTIVITY_OBJECTS = ("Task", "Event")
"""Salesforce keeps the custom fields of Task and Event on the Activity object: they are created as
``Activity.X__c`` (the Tooling API refuses ``Task.X__c``), listed by ``tooling/query`` with
``TableEnumOrId = 'Activity'``, described on both Task and Event, and granted per object
(``FieldPermissions.Field`` = ``Task.X__c`` and ``Event.X__c``)."""


def definition_object(sobject: str) -> str:
    """The object a custom field of ``sobject`` is defined on (``Activity`` for Task and Event)."""
    return ACTIVITY if sobject.lower() in {o.lower() for o in ACTIVITY_OBJECTS} else sobject


@dataclass(frozen=True)
class FieldSpec:
    sobject: str
    """The object the field is defined on: ``Activity`` for a field of Task or Event."""
    name: str
    """API name, ``X__c``."""
    metadata: dict[str, Any]

    @property
    def full_name(self) -> str:
        return f"{self.sobject}.{self.name}"

    @property
    def granted_as(self) -> list[tuple[str, str]]:
        """``(SobjectType, Field)`` of each field permission the field needs."""
        objects = ACTIVITY_OBJECTS if self.sobject == ACTIVITY else (self.sobject,)
        return [(o, f"{o}.{self.name}") for o in objects]

    @property
    def developer_name(self) -> str:
        return self.name.removesuffix("__c")


def _values(pairs: list[tuple[str, str]], restricted: bool = True) -> dict[str, Any]:
    return {
        "restricted": restricted,
        "valueSetDefinition": {
            "sorted": False,
            "value": [{"fullName": value, "default": False, "label": label} for value, label in pairs],
        },
    }


def field_specs(mapping: Mapping, trait_labels: dict[str, str]) -> list[FieldSpec]:
    """The fields setup creates: eleven on the write-back object, the task key on the task object.

    The key is a plain text field. On Task it is an Activity field, which the sandbox (stricter than
    the documentation, see BEHAVIOR.md) refuses as External ID or unique, so task idempotency never
    relies on either: the engine's write-ahead log plus a lookup before a re-sent create does it."""
    tiers = _values([(t.value, t.value.capitalize()) for t in Tier])
    traits = _values(
        [(t.value, trait_labels.get(t.value) or DEFAULT_TRAIT_LABELS.get(t, t.value)) for t in Trait]
    )
    picklist = {"type": "Picklist", "valueSet": tiers}
    metadata: dict[str, dict[str, Any]] = {
        "tier": {"label": "Client tier", **picklist, "inlineHelpText": "Set by tiersync."},
        "traits": {
            "label": "Client traits",
            "type": "MultiselectPicklist",
            "visibleLines": 5,
            "valueSet": traits,
        },
        "score": {"label": "Tier score", "type": "Number", "precision": 5, "scale": 1},
        "reasons": {"label": "Tier reasons", "type": "LongTextArea", "length": 32768, "visibleLines": 5},
        "tier_changed_at": {"label": "Tier changed at", "type": "DateTime"},
        "previous_tier": {"label": "Previous tier", **picklist},
        "last_synced_at": {"label": "Tier synced at", "type": "DateTime"},
        "override_tier": {
            "label": "Tier override",
            **picklist,
            "inlineHelpText": "Pins the tier until the override expires; tiersync never writes it.",
        },
        "override_expires": {"label": "Tier override expires", "type": "Date"},
        "growth_points": {
            "label": "Growth points",
            "type": "MultiselectPicklist",
            "visibleLines": 4,
            "valueSet": _values(
                [(p.value, trait_labels.get(p.value) or DEFAULT_GROWTH_LABELS[p]) for p in GrowthPoint]
            ),
            "inlineHelpText": "Set by tiersync.",
        },
        "decision": {
            "label": "Next step",
            "type": "Picklist",
            "valueSet": _values(
                [(d.value, trait_labels.get(d.value) or DEFAULT_DECISION_LABELS[d]) for d in Decision]
            ),
            "inlineHelpText": "Set by tiersync.",
        },
    }
    writeback = mapping.writeback
    specs = [FieldSpec(writeback.object, writeback.field(name), meta) for name, meta in metadata.items()]
    key = {"label": "Tiersync key", "type": "Text", "length": 255}
    specs.append(FieldSpec(definition_object(mapping.tasks.object), mapping.tasks.key, key))
    return specs


def _picklist_update(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any] | None:
    """Metadata with our picklist values and labels (others' extra values kept), or None if already so."""
    if "valueSet" not in wanted:
        return None
    have = {
        str(v.get("fullName")): v
        for v in ((current.get("valueSet") or {}).get("valueSetDefinition") or {}).get("value") or []
    }
    ours = wanted["valueSet"]["valueSetDefinition"]["value"]
    if all(
        v["fullName"] in have and have[v["fullName"]].get("label", v["fullName"]) == v["label"] for v in ours
    ):
        return None
    merged = copy.deepcopy(wanted)
    names = {v["fullName"] for v in ours}
    merged["valueSet"]["valueSetDefinition"]["value"] += [v for k, v in have.items() if k not in names]
    return merged


class FieldSetup:
    def __init__(self, client: SalesforceClient, mapping: Mapping, username: str | None) -> None:
        self._client = client
        self._mapping = mapping
        self._username = username
        self._failed: dict[str, str] = {}
        """Lower-case field name -> why it could not be created."""

    def run(self, trait_labels: dict[str, str], dry_run: bool) -> list[str]:
        """Every step runs even when a field cannot be created: the permission set and the grants on
        the fields that do exist still land, so one refused field never hides all the others."""
        specs = field_specs(self._mapping, trait_labels)
        lines = self._fields(specs, dry_run)
        failed = {s.name.lower() for s in specs if s.name.lower() in self._failed}
        present = [s for s in specs if s.name.lower() not in failed]
        permission_set, line = self._permission_set(dry_run)
        lines.append(line)
        lines.append(self._assignment(permission_set, dry_run))
        lines.append(self._field_permissions(permission_set, present, dry_run))
        lines += self._layouts(dry_run, failed)
        if self._failed:
            raise FatalError(
                "; ".join(self._failed.values())
                + " (everything else was set up: run `tiersync setup-fields` again once fixed)"
            )
        return lines

    # -- custom fields ---------------------------------------------------------------------------
    def _existing_fields(self, specs: list[FieldSpec]) -> dict[tuple[str, str], str]:
        """``(object, DeveloperName)`` (lower case) -> CustomField Id, for our names on standard objects.

        ``TableEnumOrId`` is the object name only for standard objects (an ``01I`` Id for custom ones);
        on a custom object an existing field shows up as ``DUPLICATE_DEVELOPER_NAME`` at create instead.
        """
        soql = select(
            "CustomField",
            ["Id", "DeveloperName", "TableEnumOrId"],
            [in_list("DeveloperName", [s.developer_name for s in specs])],
        )
        return {
            (str(row["TableEnumOrId"]).lower(), str(row["DeveloperName"]).lower()): str(row["Id"])
            for row in self._client.records(soql, tooling=True)
        }

    def _fields(self, specs: list[FieldSpec], dry_run: bool) -> list[str]:
        existing = self._existing_fields(specs)
        lines: list[str] = []
        for spec in specs:
            kind = spec.metadata["type"]
            if not spec.name.endswith("__c"):
                lines.append(f"{spec.full_name}: not a custom field name (…__c); create it by hand")
                continue
            field_id = existing.get((spec.sobject.lower(), spec.developer_name.lower()))
            if field_id is not None:
                lines.append(self._refresh_picklist(spec, field_id, dry_run))
            elif dry_run:
                lines.append(f"{spec.full_name}: would create ({kind})")
            else:
                try:
                    lines.append(self._create_field(spec))
                except RequestRejectedError as error:
                    line = f"{spec.full_name}: not created: {error}"
                    self._failed[spec.name.lower()] = line
                    lines.append(line)
        return lines

    def _create_field(self, spec: FieldSpec) -> str:
        try:
            self._client.tooling(
                "sobjects/CustomField",
                method="POST",
                data={"FullName": spec.full_name, "Metadata": spec.metadata},
            )
        except RequestRejectedError as error:
            # A retried create whose first try had landed, or a field on a custom object.
            if error.code == "DUPLICATE_DEVELOPER_NAME":
                return f"{spec.full_name}: exists"
            raise
        return f"{spec.full_name}: created ({spec.metadata['type']})"

    def _refresh_picklist(self, spec: FieldSpec, field_id: str, dry_run: bool) -> str:
        if "valueSet" not in spec.metadata:
            return f"{spec.full_name}: exists"
        current = self._client.tooling(f"sobjects/CustomField/{field_id}")
        update = _picklist_update((current or {}).get("Metadata") or {}, spec.metadata)
        if update is None:
            return f"{spec.full_name}: exists"
        if dry_run:
            return f"{spec.full_name}: exists; would update its picklist values and labels"
        self._client.tooling(f"sobjects/CustomField/{field_id}", method="PATCH", data={"Metadata": update})
        return f"{spec.full_name}: exists; picklist values and labels updated"

    # -- permissions -----------------------------------------------------------------------------
    def _find_permission_set(self) -> str | None:
        soql = format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET)
        rows = list(self._client.records(soql))
        return str(rows[0]["Id"]) if rows else None

    def _permission_set(self, dry_run: bool) -> tuple[str | None, str]:
        found = self._find_permission_set()
        if found is not None:
            return found, f"PermissionSet {PERMISSION_SET}: exists"
        if dry_run:
            return None, f"PermissionSet {PERMISSION_SET}: would create"
        body = {
            "Name": PERMISSION_SET,
            "Label": PERMISSION_SET,
            "Description": "Lets the tiersync API user read and write the tiersync fields.",
        }
        try:
            created = self._client.rest("sobjects/PermissionSet", method="POST", json=body)
        except RequestRejectedError as error:
            found = self._find_permission_set() if error.code == "DUPLICATE_VALUE" else None
            if found is None:
                raise
            return found, f"PermissionSet {PERMISSION_SET}: exists"
        return str(created["id"]), f"PermissionSet {PERMISSION_SET}: created"

    def _assignment(self, permission_set: str | None, dry_run: bool) -> str:
        prefix = f"PermissionSet {PERMISSION_SET}"
        user = api_user_id(self._client, self._username) if permission_set or self._username else None
        who = self._username or "the API user"
        if user is None:
            if dry_run:
                return f"{prefix}: would assign to {who}"
            if self._username:
                raise FatalError(f"salesforce.username: no Salesforce user named {self._username}")
            raise FatalError(
                f"set salesforce.username (the API user's username) to assign the {PERMISSION_SET} permission set"
            )
        if permission_set is not None:
            soql = format_soql(
                "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} AND PermissionSetId = {}",
                user,
                permission_set,
            )
            if list(self._client.records(soql)):
                return f"{prefix}: already assigned to {who}"
        if dry_run or permission_set is None:
            return f"{prefix}: would assign to {who}"
        body = {"AssigneeId": user, "PermissionSetId": permission_set}
        try:
            self._client.rest("sobjects/PermissionSetAssignment", method="POST", json=body)
        except RequestRejectedError as error:
            if error.code != "DUPLICATE_VALUE":
                raise
        return f"{prefix}: assigned to {who}"

    def _field_permissions(self, permission_set: str | None, specs: list[FieldSpec], dry_run: bool) -> str:
        wanted = [s for s in specs if s.name.endswith("__c")]
        granted: dict[str, dict[str, Any]] = {}
        if permission_set is not None:
            soql = format_soql(
                "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = {}",
                permission_set,
            )
            granted = {str(row["Field"]).lower(): row for row in self._client.records(soql)}
        needed = [pair for s in wanted for pair in s.granted_as]
        create = [pair for pair in needed if pair[1].lower() not in granted]
        widen = [
            row
            for _, field in needed
            if (row := granted.get(field.lower())) is not None
            and not (row["PermissionsRead"] and row["PermissionsEdit"])
        ]
        names = [field for _, field in create] + [str(row["Field"]) for row in widen]
        if not names:
            return f"FieldPermissions: read + edit already granted on all {len(wanted)} fields"
        if dry_run or permission_set is None:
            return f"FieldPermissions: would grant read + edit on {', '.join(names)}"
        records = [
            {
                "attributes": {"type": "FieldPermissions"},
                "ParentId": permission_set,
                "SobjectType": sobject,
                "Field": field,
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
            for sobject, field in create
        ]
        failures = composite.send(
            self._client, "composite/sobjects", "POST", records, [field for _, field in create]
        )
        updates = [
            {
                "attributes": {"type": "FieldPermissions"},
                "Id": row["Id"],
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
            for row in widen
        ]
        failures += composite.send(
            self._client, "composite/sobjects", "PATCH", updates, [str(r["Field"]) for r in widen]
        )
        problems = [
            f"{o.ref}: {o.error_code} {o.message}"
            for o in failures
            if not o.ok and o.error_code != "DUPLICATE_VALUE"
        ]
        if problems:
            raise FatalError("granting field permissions failed: " + "; ".join(problems))
        return f"FieldPermissions: granted read + edit on {', '.join(names)}"

    # -- layout ----------------------------------------------------------------------------------
    def _layouts(self, dry_run: bool, failed: Collection[str] = ()) -> list[str]:
        writeback = self._mapping.writeback
        soql = format_soql("SELECT Id, Name FROM Layout WHERE TableEnumOrId = {}", writeback.object)
        layouts = list(self._client.records(soql, tooling=True))
        if not layouts:
            return [
                f"{writeback.object}: no page layout found; add the tiersync fields to its layout by hand"
            ]
        lines = []
        for layout in layouts:
            lines.append(self._layout(str(layout["Id"]), str(layout["Name"]), dry_run, failed))
        return lines

    def _layout(self, layout_id: str, name: str, dry_run: bool, failed: Collection[str]) -> str:
        writeback = self._mapping.writeback
        current = self._client.tooling(f"sobjects/Layout/{layout_id}")
        metadata: dict[str, Any] = copy.deepcopy((current or {}).get("Metadata") or {})
        sections: list[dict[str, Any]] = metadata.setdefault("layoutSections", [])
        placed = {
            str(item.get("field", "")).lower()
            for section in sections
            for column in section.get("layoutColumns") or []
            for item in column.get("layoutItems") or []
        }
        missing = {
            key: writeback.field(key)
            for key in (*WRITEBACK_FIELDS, *OVERRIDE_FIELDS)
            if writeback.field(key).lower() not in placed and writeback.field(key).lower() not in failed
        }
        prefix = f"Layout {name!r}"
        if not missing:
            return f"{prefix}: already shows the tiersync fields"
        if dry_run:
            return f"{prefix}: would add {', '.join(missing.values())} in section {LAYOUT_SECTION!r}"

        def item(key: str) -> dict[str, str]:
            # Users set the override fields; the fields tiersync writes are read-only on the page.
            return {"field": missing[key], "behavior": "Edit" if key in OVERRIDE_FIELDS else "Readonly"}

        written = [item(k) for k in WRITEBACK_FIELDS if k in missing]
        overrides = [item(k) for k in OVERRIDE_FIELDS if k in missing]
        section = next((s for s in sections if s.get("label") == LAYOUT_SECTION), None)
        if section is None:
            sections.append(
                {
                    "label": LAYOUT_SECTION,
                    "customLabel": True,
                    "detailHeading": True,
                    "editHeading": True,
                    "style": "TwoColumnsTopToBottom",
                    "layoutColumns": [{"layoutItems": written}, {"layoutItems": overrides}],
                }
            )
        else:
            columns = section.setdefault("layoutColumns", [])
            while len(columns) < 2:
                columns.append({"layoutItems": []})
            columns[0].setdefault("layoutItems", []).extend(written)
            columns[1].setdefault("layoutItems", []).extend(overrides)
        self._client.tooling(f"sobjects/Layout/{layout_id}", method="PATCH", data={"Metadata": metadata})
        return f"{prefix}: added {', '.join(missing.values())} in section {LAYOUT_SECTION!r}"
