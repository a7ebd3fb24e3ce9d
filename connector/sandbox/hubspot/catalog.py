"""What a fresh sandbox portal holds before any data: object types, their properties and association types.

The names, type ids and association type ids are HubSpot's own (the ids in ``ASSOCIATION_TYPES`` are the
ones ``hubspot.crm.association_type.AssociationType`` ships, plus invoice<->company 179/180 from HubSpot's
association-type table); the few that HubSpot does not publish are marked ``sandbox-assigned`` and are
listed in BEHAVIOR.md. Custom properties that a customer portal would already have (goal and survey
fields on companies, referral link on deals, escalation flags on tickets) are here too, marked
``hubspot_defined=False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ObjectType:
    name: str
    """The plural name the client puts in URLs (``companies``)."""
    type_id: str
    """HubSpot's object type id (``0-2``)."""
    singular: str
    """Used in association type names (``task_to_company``) and error messages."""
    default_properties: tuple[str, ...]
    """Returned when a read names no ``properties``."""
    required_on_create: tuple[str, ...] = ()


_ENGAGEMENT_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")

OBJECT_TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "companies",
            "0-2",
            "company",
            ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        ),
        ObjectType("contacts", "0-1", "contact", ("createdate", "email", "hs_object_id", "lastmodifieddate")),
        ObjectType(
            "deals",
            "0-3",
            "deal",
            (
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
            ),
        ),
        ObjectType(
            "tickets",
            "0-5",
            "ticket",
            ("content", "createdate", "hs_lastmodifieddate", "hs_object_id", "hs_pipeline_stage", "subject"),
        ),
        ObjectType("tasks", "0-27", "task", _ENGAGEMENT_DEFAULTS, ("hs_timestamp",)),
        ObjectType("notes", "0-46", "note", _ENGAGEMENT_DEFAULTS, ("hs_timestamp",)),
        ObjectType("meetings", "0-47", "meeting", _ENGAGEMENT_DEFAULTS, ("hs_timestamp",)),
        ObjectType("invoices", "0-53", "invoice", _ENGAGEMENT_DEFAULTS),
        ObjectType("commerce_payments", "0-101", "commerce_payment", _ENGAGEMENT_DEFAULTS),
    )
}

_ALIASES = {t.type_id: t.name for t in OBJECT_TYPES.values()} | {
    t.singular: t.name for t in OBJECT_TYPES.values()
}


def resolve_type(raw: str) -> str | None:
    """Object type name for a URL segment: HubSpot accepts the plural name or the ``0-N`` type id."""
    lowered = raw.lower()
    if lowered in OBJECT_TYPES:
        return lowered
    return _ALIASES.get(lowered)


@dataclass(frozen=True, slots=True)
class PropertySeed:
    name: str
    label: str
    type: str
    """HubSpot data type: string, number, date, datetime, enumeration, bool."""
    field_type: str
    """UI control: text, textarea, number, date, select, radio, checkbox, booleancheckbox."""
    group: str
    options: tuple[str, ...] = ()
    read_only: bool = False
    """Calculated by HubSpot: rejected in writes."""
    hubspot_defined: bool = True
    references_owner: bool = False
    """Enumeration over the portal's owners (``hubspot_owner_id``)."""
    extra: dict[str, str] = field(default_factory=dict)


def _text(name: str, group: str, *, hubspot: bool = True, area: bool = False) -> PropertySeed:
    return PropertySeed(
        name,
        name.replace("_", " ").title(),
        "string",
        "textarea" if area else "text",
        group,
        hubspot_defined=hubspot,
    )


def _number(name: str, group: str, *, hubspot: bool = True, read_only: bool = False) -> PropertySeed:
    return PropertySeed(
        name,
        name.replace("_", " ").title(),
        "number",
        "number",
        group,
        hubspot_defined=hubspot,
        read_only=read_only,
    )


def _date(name: str, group: str, *, hubspot: bool = True) -> PropertySeed:
    return PropertySeed(name, name.replace("_", " ").title(), "date", "date", group, hubspot_defined=hubspot)


def _datetime(name: str, group: str, *, read_only: bool = False) -> PropertySeed:
    return PropertySeed(name, name.replace("_", " ").title(), "datetime", "date", group, read_only=read_only)


def _enum(
    name: str, group: str, options: tuple[str, ...], *, field_type: str = "select", hubspot: bool = True
) -> PropertySeed:
    return PropertySeed(
        name,
        name.replace("_", " ").title(),
        "enumeration",
        field_type,
        group,
        options,
        hubspot_defined=hubspot,
    )


def _bool(name: str, group: str, *, hubspot: bool = True) -> PropertySeed:
    return PropertySeed(
        name,
        name.replace("_", " ").title(),
        "bool",
        "booleancheckbox",
        group,
        ("true", "false"),
        hubspot_defined=hubspot,
    )


def _owner(group: str) -> PropertySeed:
    return PropertySeed("hubspot_owner_id", "Owner", "enumeration", "select", group, references_owner=True)


def _system(created: str) -> tuple[PropertySeed, ...]:
    """Properties HubSpot maintains on every object; all read-only."""
    return (
        _datetime(created, "system", read_only=True),
        _datetime("hs_lastmodifieddate", "system", read_only=True),
        _number("hs_object_id", "system", read_only=True),
    )


_CO = "companyinformation"
_DEAL = "dealinformation"
_TICKET = "ticketinformation"
_ENG = "engagement"

PROPERTY_SEEDS: dict[str, tuple[PropertySeed, ...]] = {
    "companies": (
        *_system("createdate"),
        _text("name", _CO),
        _text("domain", _CO),
        _owner(_CO),
        _enum("industry", _CO, ("COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL")),
        _text("country", _CO),
        _number("numberofemployees", _CO),
        _enum(
            "lifecyclestage",
            _CO,
            (
                "subscriber",
                "lead",
                "marketingqualifiedlead",
                "salesqualifiedlead",
                "opportunity",
                "customer",
                "evangelist",
                "other",
            ),
            field_type="radio",
        ),
        PropertySeed(
            "hs_analytics_source",
            "Original Source Type",
            "enumeration",
            "select",
            "analyticsinformation",
            (
                "ORGANIC_SEARCH",
                "PAID_SEARCH",
                "EMAIL_MARKETING",
                "SOCIAL_MEDIA",
                "REFERRALS",
                "OTHER_CAMPAIGNS",
                "DIRECT_TRAFFIC",
                "OFFLINE",
                "PAID_SOCIAL",
            ),
            read_only=True,
        ),
        _enum("goals_status", _CO, ("agreed", "refused", "pending"), hubspot=False),
        _date("goals_date", _CO, hubspot=False),
        _number("latest_nps", _CO, hubspot=False),
        _number("latest_csat", _CO, hubspot=False),
        _date("last_survey_date", _CO, hubspot=False),
        _bool("public_complaint", _CO, hubspot=False),
    ),
    "contacts": (
        *_system("createdate"),
        _text("email", "contactinformation"),
        _text("firstname", "contactinformation"),
        _text("lastname", "contactinformation"),
        _owner("contactinformation"),
    ),
    "deals": (
        *_system("createdate"),
        _text("dealname", _DEAL),
        _number("amount", _DEAL),
        _datetime("closedate", _DEAL),
        _enum(
            "dealstage",
            _DEAL,
            (
                "appointmentscheduled",
                "qualifiedtobuy",
                "presentationscheduled",
                "decisionmakerboughtin",
                "contractsent",
                "closedwon",
                "closedlost",
            ),
        ),
        _enum("pipeline", _DEAL, ("default",)),
        _owner(_DEAL),
        _number("referred_by_company_id", _DEAL, hubspot=False),
    ),
    "tickets": (
        *_system("createdate"),
        _text("subject", _TICKET),
        _text("content", _TICKET, area=True),
        _enum("hs_pipeline", _TICKET, ("0",)),
        _enum("hs_pipeline_stage", _TICKET, ("1", "2", "3", "4")),
        _enum(
            "hs_ticket_category",
            _TICKET,
            (
                "COMPLAINT",
                "DISCOUNT_REQUEST",
                "RUSH_REQUEST",
                "DEADLINE_REQUEST",
                "RENEGOTIATION",
                "GENERAL_INQUIRY",
                "PRODUCT_ISSUE",
            ),
        ),
        _enum("hs_ticket_priority", _TICKET, ("LOW", "MEDIUM", "HIGH", "URGENT")),
        _owner(_TICKET),
        _bool("escalated_to_management", _TICKET, hubspot=False),
        _bool("abusive_conduct", _TICKET, hubspot=False),
    ),
    "tasks": (
        *_system("hs_createdate"),
        _datetime("hs_timestamp", "task"),
        _text("hs_task_subject", "task"),
        _text("hs_task_body", "task", area=True),
        _enum("hs_task_status", "task", ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")),
        _enum("hs_task_priority", "task", ("NONE", "LOW", "MEDIUM", "HIGH")),
        _enum("hs_task_type", "task", ("TODO", "CALL", "EMAIL")),
        _owner("task"),
    ),
    "notes": (
        *_system("hs_createdate"),
        _datetime("hs_timestamp", _ENG),
        _text("hs_note_body", _ENG, area=True),
        _owner(_ENG),
    ),
    "meetings": (
        *_system("hs_createdate"),
        _datetime("hs_timestamp", "meeting"),
        _text("hs_meeting_title", "meeting"),
        _text("hs_meeting_body", "meeting", area=True),
        _datetime("hs_meeting_start_time", "meeting"),
        _datetime("hs_meeting_end_time", "meeting"),
        _enum(
            "hs_meeting_outcome", "meeting", ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED")
        ),
        _enum("hs_activity_type", "meeting", ("Check-up", "Working Session")),
        _owner("meeting"),
    ),
    "invoices": (
        *_system("hs_createdate"),
        _text("hs_number", "invoiceinformation"),
        _text("hs_currency", "invoiceinformation"),
        _number("hs_amount_billed", "invoiceinformation"),
        _number("hs_amount_paid", "invoiceinformation"),
        _number("hs_balance_due", "invoiceinformation", read_only=True),
        _date("hs_invoice_date", "invoiceinformation"),
        _date("hs_due_date", "invoiceinformation"),
        _date("hs_payment_date", "invoiceinformation"),
        _enum("hs_invoice_status", "invoiceinformation", ("draft", "open", "paid", "voided")),
        _number("discount_amount", "invoiceinformation", hubspot=False),
        _number("delivery_cost", "invoiceinformation", hubspot=False),
    ),
    "commerce_payments": (
        *_system("hs_createdate"),
        _number("hs_initial_amount", "paymentinformation"),
        _datetime("hs_initiated_date", "paymentinformation"),
        _text("hs_currency_code", "paymentinformation"),
        _enum("hs_latest_status", "paymentinformation", ("succeeded", "refunded", "processing", "failed")),
    ),
}

GROUP_LABELS: dict[str, str] = {
    "system": "System information",
    _CO: "Company information",
    "analyticsinformation": "Web analytics history",
    "contactinformation": "Contact information",
    _DEAL: "Deal information",
    _TICKET: "Ticket information",
    "task": "Task information",
    _ENG: "Engagement information",
    "meeting": "Meeting information",
    "invoiceinformation": "Invoice information",
    "paymentinformation": "Payment information",
}


@dataclass(frozen=True, slots=True)
class AssociationKind:
    from_type: str
    to_type: str
    type_id: int
    category: str = "HUBSPOT_DEFINED"
    label: str | None = None
    """``None`` for the unlabelled default association; ``Primary`` for the primary-company ones."""
    default: bool = False
    sandbox_assigned: bool = False


def _pair(a: str, b: str, a_to_b: int, b_to_a: int, *, sandbox: bool = False) -> tuple[AssociationKind, ...]:
    return (
        AssociationKind(a, b, a_to_b, default=True, sandbox_assigned=sandbox),
        AssociationKind(b, a, b_to_a, default=True, sandbox_assigned=sandbox),
    )


def _primary(a: str, b: str, a_to_b: int, b_to_a: int) -> tuple[AssociationKind, ...]:
    return (AssociationKind(a, b, a_to_b, label="Primary"), AssociationKind(b, a, b_to_a, label="Primary"))


ASSOCIATION_TYPES: tuple[AssociationKind, ...] = (
    *_pair("contacts", "companies", 279, 280),
    *_primary("contacts", "companies", 1, 2),
    *_pair("deals", "companies", 341, 342),
    *_primary("deals", "companies", 5, 6),
    *_pair("tickets", "companies", 339, 340),
    *_primary("tickets", "companies", 26, 25),
    *_pair("tasks", "companies", 192, 191),
    *_pair("notes", "companies", 190, 189),
    *_pair("meetings", "companies", 188, 187),
    *_pair("invoices", "companies", 179, 180),
    *_pair("deals", "contacts", 3, 4),
    *_pair("tasks", "contacts", 204, 203),
    *_pair("tasks", "deals", 216, 215),
    *_pair("notes", "deals", 214, 213),
    *_pair("invoices", "deals", 175, 176),
    *_pair("commerce_payments", "invoices", 900_001, 900_002, sandbox=True),
    *_pair("commerce_payments", "companies", 900_003, 900_004, sandbox=True),
)
"""Every association type the sandbox knows, both directions (HubSpot's types are one-way)."""
