"""One emulated org: its data, its Tooling tables, field-level security, and every DML rule.

All writes (REST, composite, Bulk, seed) go through :class:`Org` so that validation, defaults,
timestamps, external-Id uniqueness and injected record faults behave the same on every path.
Callers hold the sandbox lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from ..faults import FaultInjector, RecordFault
from . import ids
from .errors import ApiError, RecordError
from .ids import IdFactory
from .layouts import default_account_layout
from .schema import FieldDef, FieldType, ObjectDef, standard_objects, tooling_objects
from .store import Row, Store
from .values import coerce, format_datetime

Clock = Callable[[], dt.datetime]

EDITOR_USERNAME = "editor@tiersync.local"
"""A second, human user of the org: tests sign in as it to edit records the way a person would."""

REQUEST_LEVEL_CODES = frozenset({"INVALID_FIELD", "JSON_PARSER_ERROR"})
"""Per-record errors that Salesforce raises while reading the request, failing the whole collection call."""

_FAULT_ERRORS = {
    RecordFault.LOCK_ROW: (
        "UNABLE_TO_LOCK_ROW",
        "unable to obtain exclusive access to this record or 1 records: {key}",
    ),
    RecordFault.VALIDATION: (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Record rejected by a validation rule (injected fault)",
    ),
}


class Org:
    def __init__(
        self, *, clock: Clock, faults: FaultInjector, username: str, editor_username: str = EDITOR_USERNAME
    ) -> None:
        self.clock = clock
        self._now, self._now_moment = "", dt.datetime.min
        """The last timestamp handed out and its millisecond: rows written in the same millisecond share
        one string (a seeded million-account org writes 24 million rows, three timestamps each)."""
        self.faults = faults
        self.username = username
        self.id_factory = IdFactory()
        self.data = Store(standard_objects(), self.id_factory)
        self.tooling = Store(tooling_objects(), self.id_factory)
        self._grants_cache: tuple[tuple[int, int], frozenset[str], frozenset[str]] | None = None
        now = self.now()
        self.org_id = self.data.new_id(self.data.objects["Organization"])
        self.api_user_id = self.data.new_id(self.data.objects["User"])
        self.insert_raw(
            "User",
            {
                "Id": self.api_user_id,
                "Name": "Tiersync Integration",
                "Username": username,
                "Email": username,
                "IsActive": True,
            },
            created=now,
        )
        self.editor_user_id = self.insert_raw(
            "User",
            {
                "Name": "Casey Editor",
                "Username": editor_username,
                "Email": editor_username,
                "IsActive": True,
            },
            created=now,
        )
        self.acting_user_id = self.api_user_id
        """The ``User`` the current request authenticated as: every DML stamps it into ``CreatedById`` /
        ``LastModifiedById`` (and a new record's default ``OwnerId``), as Salesforce does."""
        self.insert_raw(
            "Organization", {"Id": self.org_id, "Name": "Tiersync Sandbox", "IsSandbox": True}, created=now
        )
        layout_id = self.tooling.new_id(self.tooling.objects["Layout"])
        self.insert_raw(
            "Layout",
            {
                "Id": layout_id,
                "Name": "Account Layout",
                "TableEnumOrId": "Account",
                "FullName": "Account-Account Layout",
                "LayoutType": "Standard",
                "Metadata": default_account_layout(),
            },
            created=now,
            tooling=True,
        )

    def reset_caches(self) -> None:
        self._grants_cache = None

    def now(self) -> str:
        value = self.clock()
        moment = value.replace(microsecond=value.microsecond - value.microsecond % 1000)
        if moment != self._now_moment:
            self._now, self._now_moment = format_datetime(moment), moment
        return self._now

    # -- schema and field-level security --------------------------------------------------------
    def sobject(self, name: str) -> ObjectDef | None:
        return self.data.object(name)

    def _grants(self) -> tuple[frozenset[str], frozenset[str]]:
        """``Object.Field`` names the API user may read / edit through its assigned permission sets."""
        version = (self.data.versions["FieldPermissions"], self.data.versions["PermissionSetAssignment"])
        if self._grants_cache is not None and self._grants_cache[0] == version:
            return self._grants_cache[1], self._grants_cache[2]
        assigned = {
            row["PermissionSetId"]
            for row in self.data.rows("PermissionSetAssignment")
            if row.get("AssigneeId") == self.api_user_id and not row.get("IsDeleted")
        }
        read: set[str] = set()
        edit: set[str] = set()
        for row in self.data.rows("FieldPermissions"):
            if row.get("IsDeleted") or row.get("ParentId") not in assigned:
                continue
            if row.get("PermissionsRead"):
                read.add(row["Field"].lower())
            if row.get("PermissionsEdit"):
                edit.add(row["Field"].lower())
        self._grants_cache = (version, frozenset(read), frozenset(edit))
        return self._grants_cache[1], self._grants_cache[2]

    def readable(self, obj: ObjectDef, fd: FieldDef) -> bool:
        return not fd.gated or f"{obj.name}.{fd.name}".lower() in self._grants()[0]

    def editable(self, obj: ObjectDef, fd: FieldDef) -> bool:
        return not fd.gated or f"{obj.name}.{fd.name}".lower() in self._grants()[1]

    def visible_field(self, obj: ObjectDef, name: str) -> FieldDef | None:
        fd = obj.field(name)
        return fd if fd is not None and self.readable(obj, fd) else None

    def visible_fields(self, obj: ObjectDef) -> list[FieldDef]:
        return [fd for fd in obj.fields.values() if self.readable(obj, fd)]

    def exists(self, targets: tuple[str, ...], record_id: str) -> bool:
        obj = self.data.object_for_id(record_id)
        if obj is None or obj.name not in targets:
            return False
        row = self.data.get(obj.name, record_id)
        return row is not None and not row.get("IsDeleted")

    # -- DML ------------------------------------------------------------------------------------
    def check_record_fault(self, key: str) -> None:
        fault = self.faults.record_fault(key)
        if fault is not None:
            code, message = _FAULT_ERRORS[fault]
            raise RecordError(code, message.format(key=key))

    def create(self, obj: ObjectDef, values: dict[str, Any], *, fault_key: str | None = None) -> str:
        key = fault_key if fault_key is not None else str(values.get("Name") or values.get("Subject") or "")
        self.check_record_fault(key)
        row = self._apply(obj, None, values)
        self.data.put(obj.name, row)
        return str(row["Id"])

    def update(self, obj: ObjectDef, record_id: str, values: dict[str, Any]) -> str:
        current = self._live_row(obj, record_id)
        self.check_record_fault(current["Id"])
        row = self._apply(obj, current, values)
        self.data.put(obj.name, row)
        return str(row["Id"])

    def upsert(self, obj: ObjectDef, field_name: str, value: Any, values: dict[str, Any]) -> tuple[str, bool]:
        """Create or update by an external-Id field (or ``Id``); returns (Id, created)."""
        fd = self.visible_field(obj, field_name)
        if fd is None or not fd.id_lookup:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )
        if fd.type is FieldType.ID:
            if value in (None, ""):
                return self.create(obj, values), True
            return self.update(obj, str(value), values), False
        if value in (None, ""):
            raise RecordError("MISSING_ARGUMENT", f"{fd.name} not specified", [fd.name])
        self.check_record_fault(str(value))
        stored = coerce(fd, value)
        matches = self.data.lookup(obj, fd, stored)
        if len(matches) > 1:
            raise RecordError(
                "DUPLICATE_EXTERNAL_ID",
                f"{fd.name}: more than one record found for external id field: {sorted(matches)}",
                [fd.name],
            )
        body = {k: v for k, v in values.items() if k.lower() != fd.name.lower()}
        if matches:
            current = self._live_row(obj, next(iter(matches)))
            row = self._apply(obj, current, body)
            self.data.put(obj.name, row)
            return str(row["Id"]), False
        row = self._apply(obj, None, {**body, fd.name: value})
        self.data.put(obj.name, row)
        return str(row["Id"]), True

    def delete(self, record_id: str) -> tuple[ObjectDef, str]:
        normalized = ids.normalize(record_id)
        obj = self.data.object_for_id(normalized) if normalized else None
        if normalized is None or obj is None:
            raise RecordError("MALFORMED_ID", f"malformed id {record_id}")
        row = self.data.get(obj.name, normalized)
        if row is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if row.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        self.check_record_fault(normalized)
        children = self._delete_rules(obj, normalized)
        for child_object, child in [(obj.name, row), *children]:
            self._soft_delete(child_object, child)
        return obj, normalized

    def _soft_delete(self, obj: str, row: Row) -> None:
        now = self.now()
        self.data.put(
            obj,
            {
                **row.to_dict(),
                "IsDeleted": True,
                "LastModifiedDate": now,
                "SystemModstamp": now,
                "LastModifiedById": self.acting_user_id,
            },
        )

    def _delete_rules(self, obj: ObjectDef, record_id: str) -> list[tuple[str, Row]]:
        """What deleting a setup record takes with it, or why it is refused: a permission set still
        assigned to a user cannot be deleted (remove the assignments first); its field permissions,
        child records of the permission set, go with it."""
        if obj.name != "PermissionSet":
            return []

        def live(name: str, key: str) -> list[Row]:
            return [r for r in self.data.rows(name) if r.get(key) == record_id and not r.get("IsDeleted")]

        if live("PermissionSetAssignment", "PermissionSetId"):
            raise RecordError(
                "DELETE_FAILED",
                "This permission set is assigned to users; remove its assignments before you delete it.",
            )
        return [("FieldPermissions", r) for r in live("FieldPermissions", "ParentId")]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Callable[[], None]]:
        """Yields ``rollback``: the changes made inside stay unless it is called (``allOrNone``)."""
        self.data.begin()
        rolled_back = False

        def rollback() -> None:
            nonlocal rolled_back
            rolled_back = True
            self.data.rollback()

        try:
            yield rollback
        except BaseException:
            if not rolled_back:
                self.data.rollback()
                rolled_back = True
            raise
        finally:
            if not rolled_back:
                self.data.commit()

    def _live_row(self, obj: ObjectDef, record_id: str) -> Row:
        normalized = ids.normalize(record_id)
        if normalized is None or normalized[:3] != obj.key_prefix:
            raise RecordError(
                "MALFORMED_ID", f"{obj.name} ID: id value of incorrect type: {record_id}", ["Id"]
            )
        row = self.data.get(obj.name, normalized)
        if row is None:
            raise RecordError("NOT_FOUND", "The requested resource does not exist")
        if row.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        return row

    def _apply(self, obj: ObjectDef, current: Row | None, values: dict[str, Any]) -> dict[str, Any]:
        creating = current is None
        row: dict[str, Any] = current.to_dict() if current is not None else {}
        for key, value in values.items():
            if key == "attributes":
                continue
            fd = self.visible_field(obj, key)
            if fd is None:
                raise RecordError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key]
                )
            if fd.type is FieldType.ID and current is not None and ids.normalize(str(value)) == current["Id"]:
                continue
            allowed = fd.createable if creating else fd.updateable
            if not allowed or not self.editable(obj, fd):
                raise RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {fd.name}. Please check the security settings of this "
                    "field and verify that it is read/write for your profile or permission set.",
                    [fd.name],
                )
            stored = coerce(fd, value, exists=self.exists)
            if stored is None:
                row.pop(fd.name, None)
            else:
                row[fd.name] = stored
        if creating:
            for fd in obj.fields.values():
                if fd.default is not None and fd.name not in row:
                    row[fd.name] = fd.default
            if "OwnerId" in obj.fields and "OwnerId" not in row:
                row["OwnerId"] = self.acting_user_id
        missing = [fd.name for fd in obj.fields.values() if fd.required and row.get(fd.name) in (None, "")]
        if missing:
            raise RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        record_id = row.get("Id") or self.data.new_id(obj)
        self._check_unique(obj, row, record_id)
        self._check_object_rules(obj, row, record_id)
        if obj.derive is not None:
            obj.derive(row)
        now = self.now()
        if creating:
            row.update(Id=record_id, IsDeleted=False, CreatedDate=now, CreatedById=self.acting_user_id)
        row.update(LastModifiedDate=now, LastModifiedById=self.acting_user_id, SystemModstamp=now)
        return row

    def _check_unique(self, obj: ObjectDef, row: dict[str, Any], record_id: str) -> None:
        for fd in obj.fields.values():
            if not fd.unique or row.get(fd.name) is None:
                continue
            others = self.data.lookup(obj, fd, row[fd.name]) - {record_id}
            if others:
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {fd.name} duplicates value on record with id: {min(others)}",
                    [fd.name],
                )

    def _check_object_rules(self, obj: ObjectDef, row: dict[str, Any], record_id: str) -> None:
        """The few setup-object rules tiersync's setup step runs into."""
        if obj.name == "FieldPermissions":
            target = self.data.object(str(row["SobjectType"]))
            object_name, _, field_name = str(row["Field"]).partition(".")
            fd = target.field(field_name) if target is not None else None
            if target is None or object_name.lower() != target.name.lower() or fd is None or not fd.custom:
                raise RecordError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Field Name: bad value for restricted picklist field: {row['Field']}",
                    ["Field"],
                )
            row["SobjectType"], row["Field"] = target.name, f"{target.name}.{fd.name}"
            if row.get("PermissionsEdit") and not row.get("PermissionsRead"):
                raise RecordError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Permission Edit depends on permission(s): Read",
                    ["PermissionsRead"],
                )
            self._check_pair(obj, row, record_id, ("ParentId", "Field"))
        elif obj.name == "PermissionSetAssignment":
            self._check_pair(obj, row, record_id, ("AssigneeId", "PermissionSetId"))

    def _check_pair(self, obj: ObjectDef, row: dict[str, Any], record_id: str, keys: tuple[str, str]) -> None:
        wanted = tuple(str(row.get(k)).lower() for k in keys)
        for other in self.data.rows(obj.name):
            same = tuple(str(other.get(k)).lower() for k in keys) == wanted
            if same and other["Id"] != record_id and not other.get("IsDeleted"):
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {keys[1]} duplicates value on record with id: {other['Id']}",
                    list(keys),
                )

    # -- unvalidated inserts for seeding and bootstrapping ------------------------------------------
    def insert_raw(
        self,
        obj: str,
        values: dict[str, Any],
        *,
        created: str | None = None,
        tooling: bool = False,
    ) -> str:
        """Insert trusted data (seed, bootstrap) without validation; ``created`` backdates CreatedDate."""
        store = self.tooling if tooling else self.data
        definition = store.objects[obj]
        now = self.now()
        row: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        row.setdefault("Id", store.new_id(definition))
        if "OwnerId" in definition.fields:
            row.setdefault("OwnerId", self.api_user_id)
        for name, default in definition.defaults:
            row.setdefault(name, default)
        if definition.derive is not None:
            definition.derive(row)
        row.update(
            IsDeleted=False,
            CreatedDate=created or now,
            CreatedById=self.api_user_id,
            LastModifiedDate=now,
            LastModifiedById=self.api_user_id,
            SystemModstamp=now,
        )
        store.put(obj, row)
        return str(row["Id"])
