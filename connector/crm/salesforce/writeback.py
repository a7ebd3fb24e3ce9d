"""Writing tier results onto accounts: one sObject Collections update per 200 accounts, or one Bulk API 2.0
``update`` job when there are more than ``salesforce.bulk_threshold`` (REST when Bulk is refused).

Values are translated, not judged: traits ``["a", "b"]`` -> ``"a;b"`` (empty -> null), datetimes ->
``2026-11-26T06:50:00.000Z``, dates -> ``2026-11-26``, None -> null (clears the field). Text longer
than the field holds is cut to its describe length rather than failing the record.
"""

from __future__ import annotations

from typing import Any

from connector.crm.base import WRITEBACK_FIELDS, AccountUpdate, Outcome
from connector.crm.mapping import WritebackMapping
from connector.crm.salesforce import bulk_write, composite
from connector.crm.salesforce.bulk import BulkGate
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.values import to_salesforce

TEXT_TYPES = frozenset({"string", "textarea"})


def fit(schema: Schema, sobject: str, field: str, value: Any) -> Any:
    """``value`` cut to the field's length when it is text longer than the field holds."""
    if not isinstance(value, str):
        return value
    info = schema.field(sobject, field)
    if info is None or info.type not in TEXT_TYPES or not info.length or len(value) <= info.length:
        return value
    return value[: info.length - 1] + "…"


def write_accounts(
    client: SalesforceClient,
    schema: Schema,
    writeback: WritebackMapping,
    updates: list[AccountUpdate],
    bulk: BulkGate,
) -> list[Outcome]:
    names = {writeback.field(name).lower(): f"{writeback.field(name)} ({name})" for name in WRITEBACK_FIELDS}

    def label(field: str) -> str:
        return names.get(field.lower(), field)

    records: list[dict[str, Any]] = []
    for update in updates:
        record: dict[str, Any] = {"attributes": {"type": writeback.object}, "Id": update.account_id}
        for name, value in update.values.items():
            if name not in WRITEBACK_FIELDS:
                raise ValueError(f"{name!r} is not a write-back field (one of {', '.join(WRITEBACK_FIELDS)})")
            crm_field = writeback.field(name)
            record[crm_field] = fit(schema, writeback.object, crm_field, to_salesforce(value))
        records.append(record)
    refs = [u.account_id for u in updates]
    return bulk.either(
        len(records),
        lambda: bulk_write.ingest(
            bulk.jobs, writeback.object, "update", records, refs, ref_column="Id", label=label, need_ids=False
        ),
        lambda: composite.send(client, "composite/sobjects", "PATCH", records, refs, label=label),
    )
