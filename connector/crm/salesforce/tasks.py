"""Playbook tasks: upsert by the unique key field, read their status, close them with a comment.

More than ``salesforce.bulk_threshold`` upserts go as one Bulk API 2.0 ``upsert`` job on the key field
(REST when Bulk is refused). The upsert never sends Status, so re-upserting a key (after a crash, or a re-run) cannot reopen a
task a user completed; a new task gets the org's default status. Closing keeps the task's existing
description and appends the comment (one query per chunk of ids to read it), and does not append
the same comment twice when a close is retried.
"""

from __future__ import annotations

from typing import Any

from connector.crm.base import Outcome, TaskClose, TaskSpec, TaskStatus
from connector.crm.mapping import TaskMapping
from connector.crm.salesforce import bulk_write, composite
from connector.crm.salesforce.bulk import BulkGate, BulkUnavailableError
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.soql import chunked, in_list, is_record_id, select
from connector.crm.salesforce.values import to_bool, to_text
from connector.crm.salesforce.writeback import fit

CLOSED_FLAG = "IsClosed"
"""Salesforce's derived Task field; used when the task object has it, besides ``closed_status``."""


def _short(record_id: str) -> str:
    """The case-sensitive 15-character form: 15- and 18-character ids of one record share it."""
    return record_id[:15]


def upsert_tasks(
    client: SalesforceClient,
    schema: Schema,
    tasks: TaskMapping,
    specs: list[TaskSpec],
    bulk: BulkGate | None = None,
) -> list[Outcome]:
    records: list[dict[str, Any]] = []
    for spec in specs:
        record: dict[str, Any] = {
            "attributes": {"type": tasks.object},
            tasks.key: spec.key,
            tasks.account: spec.account_id,
            tasks.subject: fit(schema, tasks.object, tasks.subject, spec.subject),
            tasks.description: fit(schema, tasks.object, tasks.description, spec.description),
            tasks.due: spec.due.isoformat(),
        }
        if spec.owner_id:
            record[tasks.owner] = spec.owner_id
        records.append(record)
    refs = [s.key for s in specs]
    if bulk is not None and bulk.wanted(len(records)):
        try:
            return bulk_write.ingest(
                bulk.jobs,
                tasks.object,
                "upsert",
                [{k: v for k, v in r.items() if k != "attributes"} for r in records],
                refs,
                ref_column=tasks.key,
                external_id=tasks.key,
            )
        except BulkUnavailableError as error:
            bulk.refuse(str(error))
    return composite.send(client, f"composite/sobjects/{tasks.object}/{tasks.key}", "PATCH", records, refs)


def task_status(
    client: SalesforceClient, schema: Schema, tasks: TaskMapping, crm_ids: list[str]
) -> dict[str, str]:
    """Every id -> open / closed / deleted; an id Salesforce does not return (or a malformed one) is deleted."""
    result = dict.fromkeys(crm_ids, TaskStatus.DELETED)
    if not crm_ids:
        return result
    wanted: dict[str, list[str]] = {}
    for crm_id in crm_ids:
        if is_record_id(crm_id):
            wanted.setdefault(_short(crm_id), []).append(crm_id)
    closed_flag = schema.field(tasks.object, CLOSED_FLAG) is not None
    fields = ["Id", "IsDeleted", tasks.status, *([CLOSED_FLAG] if closed_flag else [])]
    ids = list(dict.fromkeys(ids[0] for ids in wanted.values()))
    for _, soql in chunked(lambda chunk: select(tasks.object, fields, [in_list("Id", chunk)]), ids):
        for row in client.records(soql, include_deleted=True):
            if to_bool(row.get("IsDeleted")):
                state = TaskStatus.DELETED
            elif (to_text(row.get(tasks.status)) or "").casefold() == tasks.closed_status.casefold() or (
                closed_flag and to_bool(row.get(CLOSED_FLAG))
            ):
                state = TaskStatus.CLOSED
            else:
                state = TaskStatus.OPEN
            for crm_id in wanted.get(_short(str(row["Id"])), []):
                result[crm_id] = state
    return result


def _with_comment(existing: str | None, comment: str, limit: int) -> str:
    """The description with ``comment`` appended (once), cut from the original text when too long."""
    text = existing or ""
    comment = comment.strip()
    if not comment or text.rstrip().endswith(comment):
        return text
    separator = "\n\n" if text else ""
    room = limit - len(comment) - len(separator)
    if room < 0:
        return comment[:limit]
    return text[:room] + separator + comment


def close_tasks(
    client: SalesforceClient, schema: Schema, tasks: TaskMapping, closes: list[TaskClose]
) -> list[Outcome]:
    if not closes:
        return []
    described = schema.field(tasks.object, tasks.description)
    limit = described.length if described is not None and described.length else 32_000
    live = [c.crm_id for c in closes if is_record_id(c.crm_id)]
    descriptions: dict[str, str | None] = {}
    for _, soql in chunked(
        lambda chunk: select(tasks.object, ["Id", tasks.description], [in_list("Id", chunk)]),
        list(dict.fromkeys(live)),
    ):
        for row in client.records(soql):
            descriptions[_short(str(row["Id"]))] = to_text(row.get(tasks.description))
    outcomes: list[Outcome | None] = []
    records: list[dict[str, Any]] = []
    refs: list[str] = []
    for close in closes:
        short = _short(close.crm_id)
        if not is_record_id(close.crm_id) or short not in descriptions:
            outcomes.append(
                Outcome(
                    ref=close.key,
                    ok=False,
                    crm_id=close.crm_id,
                    error_code="ENTITY_IS_DELETED",
                    message=f"task {close.crm_id} no longer exists (deleted in Salesforce)",
                )
            )
            continue
        outcomes.append(None)
        records.append(
            {
                "attributes": {"type": tasks.object},
                "Id": close.crm_id,
                tasks.status: tasks.closed_status,
                tasks.description: _with_comment(descriptions[short], close.comment, limit),
            }
        )
        refs.append(close.key)
    sent = iter(composite.send(client, "composite/sobjects", "PATCH", records, refs))
    return [o if o is not None else next(sent) for o in outcomes]
