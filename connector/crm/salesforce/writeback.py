"""Writing tier results onto accounts: one sObject Collections update per 200 accounts, or one Bulk API 2.0
``update`` job when there are more than ``salesforce.bulk_threshold`` (REST when Bulk is refused).

Values are translated, not judged: traits ``["a", "b"]`` -> ``"a;b"`` (empty -> null), datetimes ->
``2026-11-26T06:50:00.000Z``, dates -> ``2026-11-26``, None -> null (clears the field). Text longer
than the field holds is cut to its describe length rather than failing the record.
"""

from __future__ import annotations

import logging
from typing import Any

from simple_salesforce.format import format_soql

from connector.crm.base import CHANGED_SINCE_READ, WRITEBACK_FIELDS, AccountUpdate, Outcome
from connector.crm.mapping import WritebackMapping
from connector.crm.salesforce import bulk_write, composite
from connector.crm.salesforce.bulk import BulkGate
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.soql import MODSTAMP, datetime_literal, select
from connector.crm.salesforce.values import to_datetime, to_salesforce

log = logging.getLogger(__name__)

TEXT_TYPES = frozenset({"string", "textarea"})


def fit(schema: Schema, sobject: str, field: str, value: Any) -> Any:
    """``value`` cut to the field's length when it is text longer than the field holds."""
    if not isinstance(value, str):
        return value
    info = schema.field(sobject, field)
    if info is None or info.type not in TEXT_TYPES or not info.length or len(value) <= info.length:
        return value
    return value[: info.length - 1] + "…"


def changed_since_read(client: SalesforceClient, sobject: str, updates: list[AccountUpdate]) -> set[str]:
    """The accounts of ``updates`` that someone changed after they were read (``SystemModstamp`` moved
    past its ``read_version``), in one query of the few rows stamped since.

    Why: the change query leaves out rows last modified by the API user, so a user's edit that lands
    between tiersync's read and its write would be hidden by that write for good. Every row's stamp as
    read is at or before the moment of the read, so a later change is stamped at or after the newest
    of them: ``Id`` between the first and last id, ``SystemModstamp >=`` that newest stamp, compared
    per row. What remains is the one request between this query and the write landing."""
    read = {u.account_id: to_datetime(u.read_version) for u in updates if u.read_version}
    versions = {account_id: stamp for account_id, stamp in read.items() if stamp is not None}
    if not versions:
        return set()
    ids = sorted(versions)
    soql = select(
        sobject,
        ["Id", MODSTAMP],
        [
            format_soql("Id >= {} AND Id <= {}", ids[0], ids[-1]),
            f"{MODSTAMP} >= {datetime_literal(max(versions.values()))}",
        ],
    )
    changed = set()
    for row in client.records(soql):
        account_id = str(row.get("Id"))
        if account_id in versions and to_datetime(row.get(MODSTAMP)) != versions[account_id]:
            changed.add(account_id)
    return changed


def write_accounts(
    client: SalesforceClient,
    schema: Schema,
    writeback: WritebackMapping,
    updates: list[AccountUpdate],
    bulk: BulkGate,
) -> list[Outcome]:
    """Write each update, except accounts changed since they were read (:func:`changed_since_read`):
    those answer ``CHANGED_SINCE_READ`` and keep the user's change as their last one."""
    raced = changed_since_read(client, writeback.object, updates)
    if raced:
        log.info(
            "%s accounts changed in Salesforce while tiersync classified them; the next run reads them again",
            len(raced),
        )
    outcomes = {
        account_id: Outcome(
            account_id,
            ok=False,
            error_code=CHANGED_SINCE_READ,
            message="changed in Salesforce after tiersync read it; classified again next run",
        )
        for account_id in raced
    }
    sent = _write(client, schema, writeback, [u for u in updates if u.account_id not in raced], bulk)
    outcomes.update((outcome.ref, outcome) for outcome in sent)
    return [outcomes[u.account_id] for u in updates]


def _write(
    client: SalesforceClient,
    schema: Schema,
    writeback: WritebackMapping,
    updates: list[AccountUpdate],
    bulk: BulkGate,
) -> list[Outcome]:
    if not updates:
        return []
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
