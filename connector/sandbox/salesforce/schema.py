"""The org's object catalog: which sObjects and fields exist, their types, and how describe shows them.

Names are matched case-insensitively like the API does; every answer uses the canonical spelling.
Fields created through the Tooling API are ``gated``: the API user sees them only once field
permissions are granted (see ``org.Org.readable``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    ID = "id"
    STRING = "string"
    TEXTAREA = "textarea"
    PICKLIST = "picklist"
    MULTIPICKLIST = "multipicklist"
    COMBOBOX = "combobox"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    DOUBLE = "double"
    CURRENCY = "currency"
    PERCENT = "percent"
    INT = "int"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    REFERENCE = "reference"
    COMPLEX = "complexvalue"
    """Tooling ``Metadata``: selectable, never filterable."""


TEXT_TYPES = frozenset(
    {
        FieldType.STRING,
        FieldType.TEXTAREA,
        FieldType.PICKLIST,
        FieldType.MULTIPICKLIST,
        FieldType.COMBOBOX,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.URL,
    }
)
NUMBER_TYPES = frozenset({FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT, FieldType.INT})
ID_TYPES = frozenset({FieldType.ID, FieldType.REFERENCE})

_SOAP_TYPES = {
    FieldType.ID: "tns:ID",
    FieldType.REFERENCE: "tns:ID",
    FieldType.BOOLEAN: "xsd:boolean",
    FieldType.DOUBLE: "xsd:double",
    FieldType.CURRENCY: "xsd:double",
    FieldType.PERCENT: "xsd:double",
    FieldType.INT: "xsd:int",
    FieldType.DATE: "xsd:date",
    FieldType.DATETIME: "xsd:dateTime",
    FieldType.COMPLEX: "urn:address",
}


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    required: bool = False
    """Missing on create -> REQUIRED_FIELD_MISSING (describe shows ``nillable: false``)."""
    createable: bool = True
    updateable: bool = True
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: Any = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    gated: bool = False
    """Created through Tooling: invisible to the API user until FieldPermissions grant it."""
    visible_lines: int | None = None
    metadata: dict[str, Any] | None = None
    """The Tooling ``Metadata`` a gated field was created with (returned by tooling reads)."""

    @property
    def missing(self) -> Any:
        """What a row without this key reads as: checkboxes are never null in Salesforce."""
        return False if self.type is FieldType.BOOLEAN else None

    @property
    def id_lookup(self) -> bool:
        return self.type is FieldType.ID or self.external_id

    def describe(self) -> dict[str, Any]:
        is_text = self.type in TEXT_TYPES
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type.value,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.id_lookup,
            "nillable": not self.required
            and self.type is not FieldType.BOOLEAN
            and self.type is not FieldType.ID,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.default is not None or self.type is FieldType.BOOLEAN,
            "defaultValue": self.default,
            "calculated": False,
            "autoNumber": False,
            "caseSensitive": False,
            "filterable": self.type is not FieldType.COMPLEX and self.type is not FieldType.TEXTAREA,
            "sortable": self.type is not FieldType.COMPLEX and self.type is not FieldType.TEXTAREA,
            "length": self.length if is_text else 0,
            "byteLength": self.length * 3 if is_text else (18 if self.type in ID_TYPES else 0),
            "precision": self.precision,
            "scale": self.scale,
            "digits": 9 if self.type is FieldType.INT else 0,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": value, "validFor": None, "value": value}
                for value in self.picklist
            ],
            "restrictedPicklist": self.restricted,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "htmlFormatted": False,
            "inlineHelpText": None,
        }


Deriver = Callable[[dict[str, Any]], None]


@dataclass
class ObjectDef:
    name: str
    key_prefix: str
    label: str
    label_plural: str
    custom: bool = False
    fields: dict[str, FieldDef] = field(default_factory=dict)
    derive: Deriver | None = None
    """Recomputes read-only fields after every write (Task.IsClosed from Status)."""
    durable_id: str | None = None
    """``TableEnumOrId`` in Tooling: the object name for standard objects, an ``01I`` Id for custom ones."""
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, repr=False)
    _by_relationship: dict[str, FieldDef] = field(default_factory=dict, repr=False)
    defaults: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    """``(field, default)`` of each field with a default, kept with the fields (read per seeded row)."""

    def __post_init__(self) -> None:
        self._reindex()

    def _reindex(self) -> None:
        self._by_lower = {name.lower(): f for name, f in self.fields.items()}
        self._by_relationship = {
            f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name
        }
        self.defaults = tuple((f.name, f.default) for f in self.fields.values() if f.default is not None)

    def add_field(self, new: FieldDef) -> None:
        self.fields[new.name] = new
        self._reindex()

    def remove_field(self, name: str) -> None:
        self.fields.pop(name, None)
        self._reindex()

    def field(self, name: str) -> FieldDef | None:
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        return self._by_relationship.get(name.lower())

    @property
    def table_enum_or_id(self) -> str:
        return self.durable_id or self.name

    def describe(self, visible: Iterable[FieldDef], base: str) -> dict[str, Any]:
        return {
            **self.summary(base),
            "customSetting": False,
            "searchable": False,
            "retrieveable": True,
            "layoutable": True,
            "fields": [f.describe() for f in visible],
            "childRelationships": [],
            "recordTypeInfos": [],
        }

    def summary(self, base: str) -> dict[str, Any]:
        url = f"{base}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "custom": self.custom,
            "keyPrefix": self.key_prefix,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
            "urls": {"sobject": url, "describe": f"{url}/describe", "rowTemplate": f"{url}/{{ID}}"},
        }


def _text(name: str, length: int = 255, **kw: Any) -> FieldDef:
    return FieldDef(name, FieldType.STRING, length=length, custom=name.endswith("__c"), **kw)


def _pick(name: str, values: Iterable[str], **kw: Any) -> FieldDef:
    return FieldDef(
        name, FieldType.PICKLIST, length=255, picklist=tuple(values), custom=name.endswith("__c"), **kw
    )


def _number(name: str, precision: int = 18, scale: int = 2, **kw: Any) -> FieldDef:
    return FieldDef(
        name, FieldType.DOUBLE, precision=precision, scale=scale, custom=name.endswith("__c"), **kw
    )


def _flag(name: str, **kw: Any) -> FieldDef:
    return FieldDef(name, FieldType.BOOLEAN, default=False, custom=name.endswith("__c"), **kw)


def _date(name: str, **kw: Any) -> FieldDef:
    return FieldDef(name, FieldType.DATE, custom=name.endswith("__c"), **kw)


def _ref(name: str, target: str, relationship: str, **kw: Any) -> FieldDef:
    return FieldDef(
        name,
        FieldType.REFERENCE,
        reference_to=(target,),
        relationship_name=relationship,
        custom=name.endswith("__c"),
        **kw,
    )


def _system_fields(owner: bool) -> list[FieldDef]:
    read_only: dict[str, Any] = {"createable": False, "updateable": False}
    fields = [
        FieldDef("Id", FieldType.ID, label="Record ID", **read_only),
        FieldDef("IsDeleted", FieldType.BOOLEAN, label="Deleted", **read_only),
        FieldDef("CreatedDate", FieldType.DATETIME, label="Created Date", **read_only),
        _ref("CreatedById", "User", "CreatedBy", label="Created By ID", **read_only),
        FieldDef("LastModifiedDate", FieldType.DATETIME, label="Last Modified Date", **read_only),
        _ref("LastModifiedById", "User", "LastModifiedBy", label="Last Modified By ID", **read_only),
        FieldDef("SystemModstamp", FieldType.DATETIME, label="System Modstamp", **read_only),
    ]
    if owner:
        fields.append(_ref("OwnerId", "User", "Owner", label="Owner ID"))
    return fields


def _object(
    name: str,
    prefix: str,
    label: str,
    plural: str,
    fields: list[FieldDef],
    *,
    owner: bool = True,
    derive: Deriver | None = None,
    durable_id: str | None = None,
) -> ObjectDef:
    all_fields = {f.name: f for f in [*_system_fields(owner), *fields]}
    return ObjectDef(
        name,
        prefix,
        label,
        plural,
        custom=name.endswith("__c"),
        fields=all_fields,
        derive=derive,
        durable_id=durable_id,
    )


def _derive_task(row: dict[str, Any]) -> None:
    row["IsClosed"] = row.get("Status") == "Completed"


def _derive_case(row: dict[str, Any]) -> None:
    row["IsClosed"] = row.get("Status") == "Closed"


def _derive_opportunity(row: dict[str, Any]) -> None:
    stage = row.get("StageName")
    row["IsClosed"] = stage in ("Closed Won", "Closed Lost")
    row["IsWon"] = stage == "Closed Won"


READ_ONLY: dict[str, Any] = {"createable": False, "updateable": False}

CASE_TYPES = (
    "Complaint",
    "Discount Request",
    "Rush Request",
    "Deadline Request",
    "Renegotiation",
    "Question",
    "Problem",
)
EVENT_OUTCOMES = ("Scheduled", "Held", "No Show", "Declined")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
INVOICE_STATUSES = ("Open", "Paid", "Void")
GOAL_STATUSES = ("Agreed", "Refused", "Pending")


def standard_objects() -> dict[str, ObjectDef]:
    """The objects a fresh sandbox org has: the standard ones tiersync reads plus its custom evidence objects."""
    objects = [
        _object(
            "User",
            "005",
            "User",
            "Users",
            [
                _text("Name", 121, required=True),
                _text("Username", 80),
                FieldDef("Email", FieldType.EMAIL, length=128),
                _flag("IsActive"),
                _text("FederationIdentifier", 512, label="SAML Federation ID"),
            ],
            owner=False,
        ),
        _object(
            "Account",
            "001",
            "Account",
            "Accounts",
            [
                _text("Name", required=True, label="Account Name"),
                _pick(
                    "Type",
                    ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"],
                    label="Account Type",
                ),
                _pick(
                    "Industry",
                    [
                        "Agriculture",
                        "Banking",
                        "Consulting",
                        "Education",
                        "Healthcare",
                        "Manufacturing",
                        "Retail",
                        "Technology",
                        "Other",
                    ],
                ),
                _text("BillingCountry", 80, label="Billing Country"),
                FieldDef("NumberOfEmployees", FieldType.INT, label="Employees", precision=8),
                _pick(
                    "AccountSource",
                    ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"],
                    label="Account Source",
                ),
                _pick("Goals_Status__c", GOAL_STATUSES, restricted=True, label="Goals Status"),
                _date("Goals_Date__c", label="Goals Date"),
            ],
        ),
        _object(
            "Opportunity",
            "006",
            "Opportunity",
            "Opportunities",
            [
                _text("Name", 120, required=True),
                _ref("AccountId", "Account", "Account", label="Account ID"),
                FieldDef("Amount", FieldType.CURRENCY, precision=18, scale=2),
                _date("CloseDate", required=True, label="Close Date"),
                _pick(
                    "StageName",
                    ["Prospecting", "Qualification", "Negotiation/Review", "Closed Won", "Closed Lost"],
                    required=True,
                    label="Stage",
                ),
                _flag("IsClosed", **READ_ONLY),
                _flag("IsWon", **READ_ONLY),
                _ref("Referred_By__c", "Account", "Referred_By__r", label="Referred By"),
            ],
            derive=_derive_opportunity,
        ),
        _object(
            "Case",
            "500",
            "Case",
            "Cases",
            [
                _ref("AccountId", "Account", "Account", label="Account ID"),
                _pick("Type", CASE_TYPES, label="Case Type"),
                _pick("Priority", ["High", "Medium", "Low"], default="Medium"),
                _pick("Status", ["New", "Working", "Escalated", "Closed"], default="New"),
                _flag("IsClosed", **READ_ONLY),
                _flag("IsEscalated", label="Escalated"),
                _flag("Abusive_Conduct__c", label="Abusive Conduct"),
                _text("Subject"),
                FieldDef("Description", FieldType.TEXTAREA, length=32000),
            ],
            derive=_derive_case,
        ),
        _object(
            "Task",
            "00T",
            "Task",
            "Tasks",
            [
                _ref("WhatId", "Account", "What", label="Related To ID"),
                FieldDef("Subject", FieldType.COMBOBOX, length=255),
                FieldDef("Description", FieldType.TEXTAREA, length=32000, label="Comments"),
                _date("ActivityDate", label="Due Date Only"),
                _pick("Status", TASK_STATUSES, restricted=True, default="Not Started"),
                _pick("Priority", ["High", "Normal", "Low"], restricted=True, default="Normal"),
                _flag("IsClosed", **READ_ONLY),
                _flag("IsArchived", label="Archived", **READ_ONLY),
            ],
            derive=_derive_task,
        ),
        _object(
            "Event",
            "00U",
            "Event",
            "Events",
            [
                _ref("WhatId", "Account", "What", label="Related To ID"),
                FieldDef("Subject", FieldType.COMBOBOX, length=255),
                _pick("Type", ["Check-up", "Working Session", "Call", "Meeting", "Other"]),
                _date("ActivityDate", label="Due Date Only"),
                FieldDef("ActivityDateTime", FieldType.DATETIME, label="Due Date Time"),
                FieldDef("DurationInMinutes", FieldType.INT, label="Duration"),
                _flag("IsAllDayEvent", label="All-Day Event"),
                _pick("Outcome__c", EVENT_OUTCOMES, restricted=True, label="Outcome"),
                _flag("IsChild", label="Is Child", **READ_ONLY),
                _flag("IsArchived", label="Archived", **READ_ONLY),
            ],
        ),
        _object(
            "Invoice__c",
            "a0X",
            "Invoice",
            "Invoices",
            [
                _text("Name", 80, required=True, label="Invoice Number"),
                _ref("Account__c", "Account", "Account__r", label="Account"),
                FieldDef("Amount__c", FieldType.CURRENCY, precision=16, scale=2, custom=True, label="Amount"),
                _text("Currency__c", 3, label="Currency"),
                _date("Issued_Date__c", label="Issued Date"),
                _date("Due_Date__c", label="Due Date"),
                _date("Paid_Date__c", label="Paid Date"),
                _pick("Status__c", INVOICE_STATUSES, restricted=True, label="Status"),
                FieldDef(
                    "Discount__c", FieldType.CURRENCY, precision=16, scale=2, custom=True, label="Discount"
                ),
                FieldDef("Cost__c", FieldType.CURRENCY, precision=16, scale=2, custom=True, label="Cost"),
            ],
            durable_id="01I8c0000000001AAA",
        ),
        _object(
            "Survey_Response__c",
            "a0Y",
            "Survey Response",
            "Survey Responses",
            [
                _text("Name", 80, required=True, label="Survey Response Name"),
                _ref("Account__c", "Account", "Account__r", label="Account"),
                _date("Response_Date__c", label="Response Date"),
                _number("NPS__c", 2, 0, label="NPS"),
                _number("CSAT__c", 3, 2, label="CSAT"),
                _flag("Public_Complaint__c", label="Public Complaint"),
            ],
            durable_id="01I8c0000000002AAA",
        ),
        _object(
            "PermissionSet",
            "0PS",
            "Permission Set",
            "Permission Sets",
            [
                _text("Name", 80, required=True, unique=True),
                _text("Label", 80, required=True),
                FieldDef("Description", FieldType.TEXTAREA, length=255),
            ],
            owner=False,
        ),
        _object(
            "PermissionSetAssignment",
            "0Pa",
            "Permission Set Assignment",
            "Permission Set Assignments",
            [
                _ref("AssigneeId", "User", "Assignee", required=True, updateable=False),
                _ref("PermissionSetId", "PermissionSet", "PermissionSet", required=True, updateable=False),
            ],
            owner=False,
        ),
        _object(
            "FieldPermissions",
            "01k",
            "Field Permissions",
            "Field Permissions",
            [
                _ref("ParentId", "PermissionSet", "Parent", required=True, updateable=False),
                _text("SobjectType", 80, required=True, updateable=False),
                _text("Field", 255, required=True, updateable=False),
                _flag("PermissionsRead"),
                _flag("PermissionsEdit"),
            ],
            owner=False,
        ),
        _object(
            "Organization",
            "00D",
            "Organization",
            "Organizations",
            [_text("Name", 80, **READ_ONLY), _flag("IsSandbox", **READ_ONLY)],
            owner=False,
        ),
    ]
    return {o.name: o for o in objects}


def tooling_objects() -> dict[str, ObjectDef]:
    """The Tooling API tables the sandbox answers: ``CustomField`` and ``Layout``."""
    read_only: dict[str, Any] = dict(READ_ONLY)
    metadata = FieldDef("Metadata", FieldType.COMPLEX, updateable=True)
    custom_field = _object(
        "CustomField",
        "00N",
        "Custom Field Definition",
        "Custom Field Definitions",
        [
            _text("DeveloperName", 40, **read_only),
            _text("TableEnumOrId", 40, **read_only),
            _text("FullName", 255, createable=True, updateable=False),
            _text("NamespacePrefix", 15, **read_only),
            _text("ManageableState", 40, **read_only),
            metadata,
        ],
        owner=False,
    )
    layout = _object(
        "Layout",
        "00h",
        "Page Layout",
        "Page Layouts",
        [
            _text("Name", 255, **read_only),
            _text("TableEnumOrId", 40, **read_only),
            _text("FullName", 255, **read_only),
            _pick("LayoutType", ["Standard"], **read_only),
            _text("NamespacePrefix", 15, **read_only),
            metadata,
        ],
        owner=False,
    )
    return {custom_field.name: custom_field, layout.name: layout}
