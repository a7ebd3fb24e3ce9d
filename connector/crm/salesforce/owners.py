"""Owner names: ``User.Name`` for the owner ids the accounts carry, so that people read names, not ids.

One query per chunk of ids (``Id IN (…)``, each id quoted with ``format_soql``, chunks sized to stay
under the URL limit like every other id list); ids that are not well-formed Salesforce ids are never
sent, and ids the org does not return (a deleted user, no read access on User) are simply absent.
"""

from __future__ import annotations

from collections.abc import Sequence

from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.soql import chunked, in_list, is_record_id, select


def owner_names(client: SalesforceClient, owner_ids: Sequence[str]) -> dict[str, str]:
    """``{owner id: User.Name}`` for the ids the org returns a name for."""
    ids = sorted({i for i in owner_ids if is_record_id(i)})
    names: dict[str, str] = {}
    for _, soql in chunked(lambda chunk: select("User", ["Id", "Name"], [in_list("Id", chunk)]), ids):
        for row in client.records(soql):
            if row.get("Id") and row.get("Name"):
                names[str(row["Id"])] = str(row["Name"])
    return names
