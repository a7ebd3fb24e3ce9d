"""Writing tier results onto companies: one batch update per 100 companies, one Outcome each.

Values are translated, not judged: traits ``["a", "b"]`` -> ``"a;b"``, datetimes -> ISO 8601 UTC with
milliseconds, dates -> epoch milliseconds at midnight UTC, None and an empty traits list -> ``""``
(HubSpot clears a property given an empty string).
"""

from __future__ import annotations

from connector.crm.base import WRITEBACK_FIELDS, AccountUpdate, Outcome
from connector.crm.hubspot import batch
from connector.crm.hubspot.client import HubSpotClient
from connector.crm.hubspot.values import to_hubspot
from connector.crm.mapping import WritebackMapping


def write_accounts(
    client: HubSpotClient, writeback: WritebackMapping, updates: list[AccountUpdate]
) -> list[Outcome]:
    names = {writeback.field(name): f"{writeback.field(name)} ({name})" for name in WRITEBACK_FIELDS}
    inputs: list[batch.UpdateInput] = []
    for update in updates:
        properties: dict[str, str] = {}
        for name, value in update.values.items():
            if name not in WRITEBACK_FIELDS:
                raise ValueError(f"{name!r} is not a write-back field (one of {', '.join(WRITEBACK_FIELDS)})")
            properties[writeback.field(name)] = to_hubspot(value)
        inputs.append(batch.UpdateInput(ref=update.account_id, id=update.account_id, properties=properties))
    return batch.update(client, writeback.object, inputs, label=lambda name: names.get(name, name))
