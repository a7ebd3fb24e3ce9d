"""How a mapped record finds its company: the HubSpot reading of the mapping's ``account`` key.

* ``"association:companies"`` — the record is associated with the company (tickets, invoices,
  meetings, tasks). Read with associations v4 from the company side; a record associated with two
  companies of a page is evidence for both.
* any other value is a property of the record holding the company's id (``referred_by_company_id`` on
  deals, or ``hs_object_id`` for properties kept on the company itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from hubspot.crm.association_type import AssociationType

from connector.crm.base import FatalError

ASSOCIATION_PREFIX = "association:"


@dataclass(frozen=True)
class Link:
    association: str | None
    """The associated object type (``companies``) for an association link."""
    property_name: str | None
    """The property holding the company id for a property link."""

    @property
    def text(self) -> str:
        return f"{ASSOCIATION_PREFIX}{self.association}" if self.association else str(self.property_name)


def parse_link(value: str) -> Link:
    if value.startswith(ASSOCIATION_PREFIX):
        target = value.removeprefix(ASSOCIATION_PREFIX).strip()
        return Link(association=target or None, property_name=None)
    return Link(association=None, property_name=value)


_SINGULAR = {
    "companies": "COMPANY",
    "contacts": "CONTACT",
    "deals": "DEAL",
    "tickets": "TICKET",
    "tasks": "TASK",
}


def default_association_type(from_type: str, to_type: str) -> int:
    """HubSpot's unlabelled association type id from one object type to another (task -> company: 192),
    as the client ships them in ``hubspot.crm.association_type.AssociationType``."""
    name = f"{_SINGULAR.get(from_type, from_type.upper())}_TO_{_SINGULAR.get(to_type, to_type.upper())}"
    type_id = getattr(AssociationType, name, None)
    if not isinstance(type_id, int):
        raise FatalError(f"no HubSpot-defined association type from {from_type} to {to_type} ({name})")
    return type_id
