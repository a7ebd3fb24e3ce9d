"""Playbook tasks: created once per key, their status read, closed with a comment.

The key field is a plain text field (on Task an Activity field, which is never an External ID in
tiersync's setup), so there is no upsert by key. "Upsert" is: for keys an earlier run recorded but may
not have seen confirmed (``TaskSpec.resend``, the engine's write-ahead log) one ``queryAll`` lookup by
key, then a create of only the keys not found. A first send needs no lookup. A task found deleted keeps
its id, so the status read sees it deleted and it is not recreated in its period. The create never
sends Status (a new task gets the org's default status). More than ``salesforce.bulk_threshold``
creates go as one Bulk API 2.0 ``insert`` job (REST when Bulk is refused). Closing keeps the task's
existing description and appends the comment (one query per chunk of ids to read it), and does not
append the same comment twice when a close is retried.
A strike (``TaskClose.close`` false) appends the comment and leaves the status alone. An action
joining an open task appends its text the same way and, with ``TaskClose.due``, moves ActivityDate
earlier (never later: the task is due at its earliest action).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simple_salesforce.format import format_soql

from connector.crm.base import Outcome, RetriableError, TaskClose, TaskSpec, TaskStatus
from connector.crm.mapping import TaskMapping
from connector.crm.salesforce import bulk_write, composite
from connector.crm.salesforce.bulk import BulkGate
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.soql import chunked, in_list, is_record_id, select
from connector.crm.salesforce.values import to_bool, to_text
from connector.crm.salesforce.writeback import fit
from connector.crm.task_close import earlier_due, gone, with_comment

CLOSED_FLAG = "IsClosed"
"""Salesforce's derived Task field; used when the task object has it, besides ``closed_status``."""


def _short(record_id: str) -> str:
    """The case-sensitive 15-character form: 15- and 18-character ids of one record share it."""
    return record_id[:15]


def _existing(client: SalesforceClient, tasks: TaskMapping, keys: list[str]) -> dict[str, str]:
    """Key -> Id of the tasks that already carry one of ``keys`` (deleted ones too: ``queryAll``)."""
    found: dict[str, str] = {}
    for row in client.records_in(
        lambda chunk: select(tasks.object, ["Id", tasks.key], [in_list(tasks.key, chunk)]),
        keys,
        include_deleted=True,
    ):
        key = to_text(row.get(tasks.key))
        if key is not None:
            found.setdefault(key, str(row["Id"]))
    return found


def upsert_tasks(
    client: SalesforceClient,
    schema: Schema,
    tasks: TaskMapping,
    specs: list[TaskSpec],
    bulk: BulkGate,
) -> list[Outcome]:
    unique: dict[str, TaskSpec] = {}
    for spec in specs:
        unique.setdefault(spec.key, spec)
    existing = _existing(client, tasks, [key for key, spec in unique.items() if spec.resend])
    by_key = {key: Outcome(key, ok=True, crm_id=crm_id) for key, crm_id in existing.items()}
    records: list[dict[str, Any]] = []
    refs: list[str] = []
    for key, spec in unique.items():
        if key in existing:
            continue
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
        refs.append(key)
    for outcome in _create(client, tasks, records, refs, bulk):
        by_key[outcome.ref] = outcome
    return [by_key[spec.key] for spec in specs]


def _create(
    client: SalesforceClient,
    tasks: TaskMapping,
    records: list[dict[str, Any]],
    refs: list[str],
    bulk: BulkGate,
) -> list[Outcome]:
    return bulk.either(
        len(records),
        lambda: bulk_write.ingest(bulk.jobs, tasks.object, "insert", records, refs, ref_column=tasks.key),
        lambda: _create_rest(client, records, refs),
    )


def _create_rest(client: SalesforceClient, records: list[dict[str, Any]], refs: list[str]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for start in range(0, len(records), composite.MAX_RECORDS):
        chunk, chunk_refs = (
            records[start : start + composite.MAX_RECORDS],
            refs[start : start + composite.MAX_RECORDS],
        )
        try:
            # Sent once: a create whose answer was lost may have landed, and a blind resend would
            # duplicate it. The engine re-sends these keys marked ``resend``, which looks them up first.
            outcomes += composite.send(client, "composite/sobjects", "POST", chunk, chunk_refs, once=True)
        except RetriableError as error:
            outcomes += [
                Outcome(
                    ref=ref,
                    ok=False,
                    error_code="CREATE_UNCONFIRMED",
                    message=f"the create may not have reached Salesforce ({error}); looked up and sent again",
                    retriable=True,
                )
                for ref in chunk_refs
            ]
    return outcomes


def task_status(
    client: SalesforceClient,
    schema: Schema,
    tasks: TaskMapping,
    crm_ids: list[str],
    owners: Sequence[str] = (),
) -> dict[str, str]:
    """Every id -> open / closed / deleted; an id Salesforce does not return (or a malformed one) is deleted.

    When the ids need more than one ``Id IN`` query (the URI bound) and their ``owners`` are known, the
    owners' open tiersync tasks are read in one query first and only the ids not among them are asked
    by id: the answer is the same, in one call where users completed nothing."""
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
    if owners and _needs_chunks(fields, tasks, ids):
        for row in client.records_in(
            lambda chunk: select(
                tasks.object, ["Id"], [in_list(tasks.owner, chunk), *_open(tasks, closed_flag)]
            ),
            list(dict.fromkeys(owners)),
        ):
            for crm_id in wanted.pop(_short(str(row["Id"])), []):
                result[crm_id] = TaskStatus.OPEN
        ids = [i for i in ids if _short(i) in wanted]
    for row in client.records_in(
        lambda chunk: select(tasks.object, fields, [in_list("Id", chunk)]), ids, include_deleted=True
    ):
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


def _needs_chunks(fields: list[str], tasks: TaskMapping, ids: list[str]) -> bool:
    """Whether asking for ``ids`` by ``Id IN`` takes more than one query."""

    def build(chunk: Sequence[str]) -> str:
        return select(tasks.object, fields, [in_list("Id", chunk)])

    return sum(1 for _ in chunked(build, ids)) > 1


def _open(tasks: TaskMapping, closed_flag: bool) -> list[str]:
    """Conditions for an open tiersync task: keyed, not in the closed status (nor ``IsClosed``)."""
    return [
        f"{tasks.key} != null",
        format_soql(f"{tasks.status} != {{}}", tasks.closed_status),
        *([f"{CLOSED_FLAG} = false"] if closed_flag else []),
    ]


def close_tasks(
    client: SalesforceClient, schema: Schema, tasks: TaskMapping, closes: list[TaskClose]
) -> list[Outcome]:
    if not closes:
        return []
    described = schema.field(tasks.object, tasks.description)
    limit = described.length if described is not None and described.length else 32_000
    live = [c.crm_id for c in closes if is_record_id(c.crm_id)]
    descriptions: dict[str, str | None] = {}
    dues: dict[str, str] = {}
    for row in client.records_in(
        lambda chunk: select(tasks.object, ["Id", tasks.description, tasks.due], [in_list("Id", chunk)]),
        list(dict.fromkeys(live)),
    ):
        descriptions[_short(str(row["Id"]))] = to_text(row.get(tasks.description))
        dues[_short(str(row["Id"]))] = str(row.get(tasks.due) or "")
    outcomes: list[Outcome | None] = []
    records: list[dict[str, Any]] = []
    refs: list[str] = []
    for close in closes:
        short = _short(close.crm_id)
        if not is_record_id(close.crm_id) or short not in descriptions:
            outcomes.append(gone(close, "ENTITY_IS_DELETED", "Salesforce"))
            continue
        outcomes.append(None)
        record = {
            "attributes": {"type": tasks.object},
            "Id": close.crm_id,
            tasks.description: with_comment(descriptions[short], close.comment, limit),
        }
        if close.close:
            record[tasks.status] = tasks.closed_status
        if close.due is not None and earlier_due(close.due, dues[short]):
            record[tasks.due] = close.due.isoformat()  # joined by an earlier action: due at the earliest
        records.append(record)
        refs.append(close.key)
    sent = iter(composite.send(client, "composite/sobjects", "PATCH", records, refs))
    return [o if o is not None else next(sent) for o in outcomes]
