"""Which ``User`` the adapter acts as: needed to assign the permission set and to recognise its own writes.

simple_salesforce keeps no user id from any login flow (and the session id flow has none), so the
API user is found with the settings' ``username`` when given, else as the creator of the
``Tiersync`` permission set, which ``setup-fields`` creates as the API user. When an admin created
that permission set by hand, set ``salesforce.username``.
"""

from __future__ import annotations

from simple_salesforce.format import format_soql

from connector.crm.base import FatalError
from connector.crm.salesforce.client import SalesforceClient

PERMISSION_SET = "Tiersync"


def api_user_id(client: SalesforceClient, username: str | None) -> str | None:
    """The API user's ``User`` Id, or None when neither clue is available yet."""
    if username:
        soql = format_soql("SELECT Id FROM User WHERE Username = {}", username)
    else:
        soql = format_soql("SELECT CreatedById FROM PermissionSet WHERE Name = {}", PERMISSION_SET)
    for row in client.records(soql):
        found = row.get("Id") if username else row.get("CreatedById")
        return str(found) if found else None
    return None


def organization_id(client: SalesforceClient) -> str:
    """The org's 18-character Organization Id: the one row of ``Organization`` (Object Reference
    "Organization"). A refreshed sandbox gets a new one, even when its records keep their ids."""
    for row in client.records("SELECT Id FROM Organization"):
        return str(row["Id"])
    raise FatalError("Salesforce answered no Organization row: the API user cannot see its org")
