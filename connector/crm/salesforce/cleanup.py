"""``tiersync cleanup`` for Salesforce: find what tiersync wrote, empty it, delete or close its tasks and,
with ``--remove-setup``, take away what ``setup-fields`` made.

A custom field is tiersync's only when it has the mapped name on the mapped object (Task fields may be
Activity fields) *and* its Metadata ``type`` and ``label`` are the ones ``setup-fields`` gives it. Values
are read with ordinary SOQL, so only fields the API user can see are read; a field it can no longer see
(a resumed run whose permission set is gone) was emptied before the permission set was touched.

``--remove-setup`` works outside in, each step looking before it acts, so a run killed anywhere is
finished by the next: (1) the tiersync items and the "Client tier" section come off every page layout of
the write-back object (Tooling ``Layout`` PATCH of the whole Metadata, every other key kept); (2) the
``Tiersync`` permission set loses its field permissions on tiersync's fields, then, unless it grants
anything else, its assignments and itself; (3) the custom fields are deleted
(``DELETE tooling/sobjects/CustomField/{id}``).
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from simple_salesforce.format import format_soql

from connector.crm.base import ApiUsage, NotFoundError, Outcome, RequestRejectedError, TaskClose
from connector.crm.cleanup import AccountClear, CrmTask, MarkedAccount
from connector.crm.mapping import Mapping
from connector.crm.salesforce import composite, tasks
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.identity import PERMISSION_SET
from connector.crm.salesforce.setup import LAYOUT_SECTION, FieldSpec, definition_object, field_specs
from connector.crm.salesforce.soql import in_list, select
from connector.crm.salesforce.values import to_bool, to_text

GONE = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND"})
"""A delete answered with one of these found nothing left to delete: a retried delete that had landed."""


def _tables(sobject: str) -> set[str]:
    """The ``TableEnumOrId`` values a field of ``sobject`` may have (lower case): a Task field is
    defined on Activity."""
    return {sobject.lower(), definition_object(sobject).lower()}


class SalesforceCleanup:
    """Salesforce's :class:`~connector.crm.cleanup.CrmCleanup` (see the module docstring)."""

    def __init__(self, client: SalesforceClient, schema: Schema, mapping: Mapping) -> None:
        self._client = client
        self._schema = schema
        self._mapping = mapping
        self._owned_cache: list[tuple[FieldSpec, str, str]] | None = None

    # -- what exists ---------------------------------------------------------------------------
    def _owned(self) -> list[tuple[FieldSpec, str, str]]:
        """(spec, CustomField Id, TableEnumOrId) of each field tiersync created that exists now."""
        if self._owned_cache is None:
            specs = [s for s in field_specs(self._mapping, {}) if s.name.endswith("__c")]
            soql = select(
                "CustomField",
                ["Id", "DeveloperName", "TableEnumOrId"],
                [in_list("DeveloperName", sorted({s.developer_name for s in specs}))],
            )
            rows = list(self._client.records(soql, tooling=True))
            owned = []
            for spec in specs:
                for row in rows:
                    table = str(row["TableEnumOrId"])
                    if (
                        str(row["DeveloperName"]).lower() == spec.developer_name.lower()
                        and table.lower() in _tables(spec.sobject)
                        and self._created_by_setup(spec, str(row["Id"]))
                    ):
                        owned.append((spec, str(row["Id"]), table))
            self._owned_cache = owned
        return self._owned_cache

    def _created_by_setup(self, spec: FieldSpec, field_id: str) -> bool:
        found = self._client.tooling(f"sobjects/CustomField/{field_id}")
        metadata = (found or {}).get("Metadata") or {}
        return bool(
            metadata.get("type") == spec.metadata["type"] and metadata.get("label") == spec.metadata["label"]
        )

    def owned_fields(self) -> dict[str, str]:
        """Only fields on the write-back object that ``setup-fields`` made (by type and label)."""
        writeback = self._mapping.writeback
        names = {
            spec.name.lower()
            for spec, _, table in self._owned()
            if table.lower() in _tables(writeback.object)
        }
        return {key: name for key, name in writeback.all_fields().items() if name.lower() in names}

    def _visible(self, sobject: str, names: list[str]) -> list[str]:
        return [n for n in names if self._schema.field(sobject, n) is not None]

    # -- records -------------------------------------------------------------------------------
    def tiersync_tasks(self) -> list[CrmTask]:
        """None unless tiersync made the key field and the API user can see it: a field someone else
        made could hold other keys."""
        task_map = self._mapping.tasks
        owned_key = any(
            spec.name.lower() == task_map.key.lower() and table.lower() in _tables(task_map.object)
            for spec, _, table in self._owned()
        )
        if not owned_key or not self._visible(task_map.object, [task_map.key]):
            return []
        closed_flag = self._schema.field(task_map.object, tasks.CLOSED_FLAG) is not None
        fields = ["Id", task_map.key, task_map.status, *([tasks.CLOSED_FLAG] if closed_flag else [])]
        soql = select(task_map.object, fields, [f"{task_map.key} != null"], order_by="Id")
        found = []
        for row in self._client.records(soql):
            closed = (to_text(row.get(task_map.status)) or "").casefold() == task_map.closed_status.casefold()
            closed = closed or (closed_flag and bool(to_bool(row.get(tasks.CLOSED_FLAG))))
            found.append(CrmTask(str(row["Id"]), str(row[task_map.key]), open=not closed))
        return found

    def marked_accounts(self) -> list[MarkedAccount]:
        """Every record of the write-back object is read (a long text area cannot be filtered in SOQL,
        so the reasons field could not be part of a ``WHERE``), and those holding a value are kept."""
        writeback = self._mapping.writeback
        owned = self.owned_fields()
        visible = set(self._visible(writeback.object, list(owned.values())))
        fields = {key: name for key, name in owned.items() if name in visible}
        if not fields:
            return []
        soql = select(writeback.object, ["Id", *fields.values()], order_by="Id")
        marked = []
        for row in self._client.records(soql):
            held = frozenset(key for key, name in fields.items() if row.get(name) not in (None, ""))
            if held:
                marked.append(MarkedAccount(str(row["Id"]), held))
        return marked

    def clear_accounts(self, clears: list[AccountClear]) -> list[Outcome]:
        """sObject Collections ``PATCH`` with the fields set to null, 200 records a call."""
        owned = self.owned_fields()
        records = [
            {
                "attributes": {"type": self._mapping.writeback.object},
                "Id": c.account_id,
                **{owned[f]: None for f in c.fields if f in owned},
            }
            for c in clears
        ]
        return composite.send(
            self._client, "composite/sobjects", "PATCH", records, [c.account_id for c in clears]
        )

    def _delete(self, ids: list[str], refs: list[str]) -> list[Outcome]:
        """sObject Collections delete, 200 ids a call (``allOrNone=false``); an id already deleted counts
        as done, so a retried or resumed delete succeeds."""
        outcomes: list[Outcome] = []
        for start in range(0, len(ids), composite.MAX_RECORDS):
            chunk = ids[start : start + composite.MAX_RECORDS]
            results = self._client.rest(
                f"composite/sobjects?ids={','.join(chunk)}&allOrNone=false", method="DELETE"
            )
            for ref, result in zip(refs[start : start + composite.MAX_RECORDS], results or [], strict=True):
                outcome = composite.outcome(ref, result)
                if not outcome.ok and outcome.error_code in GONE:
                    outcome = Outcome(ref, ok=True, crm_id=outcome.crm_id)
                outcomes.append(outcome)
        return outcomes

    def delete_tasks(self, found: list[CrmTask]) -> list[Outcome]:
        """Deleted tasks go to the recycle bin, as a user's delete would."""
        return self._delete([t.crm_id for t in found], [t.key for t in found])

    def close_tasks(self, closes: list[TaskClose]) -> list[Outcome]:
        """The sync's close: the comment appended to the description, never twice on a retry."""
        return tasks.close_tasks(self._client, self._schema, self._mapping.tasks, closes)

    # -- setup ---------------------------------------------------------------------------------
    def remove_setup(self, dry_run: bool) -> list[str]:
        """Layouts, then the permission set, then the fields (outside in, see the module docstring)."""
        owned = self._owned()
        lines = self._layouts(owned, dry_run)
        lines += self._permission_set(owned, dry_run)
        for spec, field_id, table in owned:
            name = f"{table}.{spec.name}"
            if dry_run:
                lines.append(f"{name}: would delete")
                continue
            with contextlib.suppress(NotFoundError):  # a retried delete whose first try landed
                self._client.tooling(f"sobjects/CustomField/{field_id}", method="DELETE")
            lines.append(f"{name}: deleted")
        if not dry_run:
            self._owned_cache = None
            self._schema.forget()
        return lines

    def _layouts(self, owned: list[tuple[FieldSpec, str, str]], dry_run: bool) -> list[str]:
        writeback = self._mapping.writeback
        ours = {spec.name.lower() for spec, _, table in owned if table.lower() in _tables(writeback.object)}
        soql = format_soql("SELECT Id, Name FROM Layout WHERE TableEnumOrId = {}", writeback.object)
        lines = []
        for layout in self._client.records(soql, tooling=True):
            current = self._client.tooling(f"sobjects/Layout/{layout['Id']}")
            metadata: dict[str, Any] = copy.deepcopy((current or {}).get("Metadata") or {})
            removed = _without(metadata, ours)
            if not removed:
                continue
            prefix = f"Layout {layout['Name']!r}"
            if dry_run:
                lines.append(f"{prefix}: would remove {', '.join(removed)}")
                continue
            self._client.tooling(
                f"sobjects/Layout/{layout['Id']}", method="PATCH", data={"Metadata": metadata}
            )
            lines.append(f"{prefix}: removed {', '.join(removed)}")
        return lines

    def _permission_set(self, owned: list[tuple[FieldSpec, str, str]], dry_run: bool) -> list[str]:
        found = list(
            self._client.records(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET))
        )
        if not found:
            return []
        permission_set = str(found[0]["Id"])
        prefix = f"PermissionSet {PERMISSION_SET}"
        ours = {field.lower() for spec, _, _ in owned for _, field in spec.granted_as}
        grants = list(
            self._client.records(
                format_soql("SELECT Id, Field FROM FieldPermissions WHERE ParentId = {}", permission_set)
            )
        )
        mine = [g for g in grants if str(g["Field"]).lower() in ours]
        others = sorted(str(g["Field"]) for g in grants if str(g["Field"]).lower() not in ours)
        lines = []
        if mine:
            if dry_run:
                lines.append(f"{prefix}: would remove its field permissions on {len(mine)} fields")
            else:
                self._check(self._delete([str(g["Id"]) for g in mine], [str(g["Field"]) for g in mine]))
                lines.append(f"{prefix}: removed its field permissions on {len(mine)} fields")
        if others:
            return [*lines, f"{prefix}: kept, it also grants {', '.join(others)}"]
        assigned = list(
            self._client.records(
                format_soql(
                    "SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = {}", permission_set
                )
            )
        )
        if dry_run:
            return [*lines, f"{prefix}: would remove {len(assigned)} assignments and delete it"]
        self._check(self._delete([str(a["Id"]) for a in assigned], [str(a["Id"]) for a in assigned]))
        self._check(self._delete([permission_set], [PERMISSION_SET]))
        return [*lines, f"{prefix}: removed {len(assigned)} assignments and deleted it"]

    @staticmethod
    def _check(outcomes: list[Outcome]) -> None:
        problems = [f"{o.ref}: {o.error_code} {o.message}" for o in outcomes if not o.ok]
        if problems:
            raise RequestRejectedError(
                "removing the permission set failed: " + "; ".join(problems), status=400, code="DELETE_FAILED"
            )

    def usage(self) -> ApiUsage | None:
        """From the last ``Sforce-Limit-Info`` header: no call of its own."""
        return self._client.usage()


def _without(metadata: dict[str, Any], fields: set[str]) -> list[str]:
    """Take the items of ``fields`` (lower case) off the layout, and the tiersync section once empty;
    every other key stays as it was. Returns the fields taken off."""
    removed: list[str] = []
    sections = metadata.get("layoutSections") or []
    for section in sections:
        for column in section.get("layoutColumns") or []:
            items = column.get("layoutItems") or []
            kept = [i for i in items if str(i.get("field", "")).lower() not in fields]
            removed += [str(i["field"]) for i in items if i not in kept]
            if len(kept) != len(items):
                column["layoutItems"] = kept
    empty = [
        s
        for s in sections
        if s.get("label") == LAYOUT_SECTION
        and not any(column.get("layoutItems") for column in s.get("layoutColumns") or [])
    ]
    if empty:
        metadata["layoutSections"] = [s for s in sections if s not in empty]
        if not removed:
            removed.append(f"section {LAYOUT_SECTION!r}")
    return removed
