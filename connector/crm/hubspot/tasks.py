"""Playbook tasks: created once per key, their status read, closed with a comment.

HubSpot has no upsert that leaves a property alone on update, so "upsert" is: batch read the keys
(``idProperty`` = the unique key property, 100 a call), then a traced batch create of only the missing
ones — with the key, subject, body, due time, owner, status ``NOT_STARTED`` and the association to the
company in the same call. An existing task is never written: a re-run, or a crash between sending and
confirming, can neither duplicate a task (the key is unique; a create that collides answers
``CONFLICT`` with the existing id, read as success) nor reopen one a user completed.

Closing keeps the task's body and appends the comment (one batch read per 100 ids to get it), and does
not append the same comment twice when a close is retried.
A strike (``TaskClose.close`` false) appends the comment and leaves the status alone. An action
joining an open task appends its text the same way and, with ``TaskClose.due``, moves the due time
earlier (never later: the task is due at its earliest action).
"""

from __future__ import annotations

import datetime as dt
import logging

from connector.crm.base import Outcome, TaskClose, TaskSpec, TaskStatus
from connector.crm.hubspot import batch
from connector.crm.hubspot.batch import OBJECT_ID
from connector.crm.hubspot.client import HubSpotClient, Json
from connector.crm.hubspot.links import default_association_type, parse_link
from connector.crm.hubspot.values import iso_datetime
from connector.crm.mapping import TaskMapping
from connector.crm.task_close import earlier_due, gone, with_comment

log = logging.getLogger(__name__)

OPEN_STATUS = "NOT_STARTED"
"""HubSpot's status of a new task; set on create only."""
DUE_TIME = dt.time(12)
"""A due date becomes noon UTC, which is the same calendar day from UTC-11 to UTC+11."""
BODY_LIMIT = 65_536
"""HubSpot's limit for a text property value."""


def _association(tasks: TaskMapping, company_id: str) -> Json:
    """The task -> company association created with the task (``PublicAssociationsForObject``)."""
    target = str(parse_link(tasks.account).association)
    type_id = default_association_type(tasks.object, target)
    return {
        "to": {"id": company_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }


def _create_input(tasks: TaskMapping, spec: TaskSpec) -> batch.CreateInput:
    properties = {
        tasks.key: spec.key,
        tasks.subject: spec.subject,
        tasks.description: spec.description,
        tasks.due: iso_datetime(dt.datetime.combine(spec.due, DUE_TIME, tzinfo=dt.UTC)),
        tasks.status: OPEN_STATUS,
    }
    if spec.owner_id:
        properties[tasks.owner] = spec.owner_id
    return batch.CreateInput(
        ref=spec.key, properties=properties, associations=[_association(tasks, spec.account_id)]
    )


def upsert_tasks(client: HubSpotClient, tasks: TaskMapping, specs: list[TaskSpec]) -> list[Outcome]:
    unique: dict[str, TaskSpec] = {}
    for spec in specs:
        unique.setdefault(spec.key, spec)
    # only a re-send after a crash may find its task already created; a first send skips the lookup
    # (and the unique key property still turns a surprise duplicate into a CONFLICT, handled below)
    maybe_there = [key for key, spec in unique.items() if spec.resend]
    existing = {
        str(row[tasks.key]): row[OBJECT_ID]
        for row in batch.read(client, tasks.object, maybe_there, [tasks.key], id_property=tasks.key)
        if row.get(tasks.key)
    }
    missing = [spec for key, spec in unique.items() if key not in existing]
    created = batch.create(
        client,
        tasks.object,
        [_create_input(tasks, spec) for spec in missing],
        ref_of=lambda row: row.get(tasks.key),
    )
    by_key = {key: Outcome(key, ok=True, crm_id=crm_id) for key, crm_id in existing.items()}
    for outcome in created:
        if not outcome.ok and outcome.error_code == "CONFLICT" and outcome.crm_id:
            log.info(
                "task %s already existed as %s (a concurrent or repeated create)", outcome.ref, outcome.crm_id
            )
            outcome = Outcome(outcome.ref, ok=True, crm_id=outcome.crm_id)
        by_key[outcome.ref] = outcome
    return [by_key[spec.key] for spec in specs]


def task_status(client: HubSpotClient, tasks: TaskMapping, crm_ids: list[str]) -> dict[str, str]:
    """Every id -> open / closed / deleted; an id HubSpot does not return (archived, or not an id) is deleted."""
    result = dict.fromkeys(crm_ids, TaskStatus.DELETED)
    for row in batch.read(client, tasks.object, [i for i in crm_ids if i.isdigit()], [tasks.status]):
        closed = str(row.get(tasks.status) or "").casefold() == tasks.closed_status.casefold()
        result[row[OBJECT_ID]] = TaskStatus.CLOSED if closed else TaskStatus.OPEN
    return result


def close_tasks(client: HubSpotClient, tasks: TaskMapping, closes: list[TaskClose]) -> list[Outcome]:
    if not closes:
        return []
    read = batch.read(
        client,
        tasks.object,
        [c.crm_id for c in closes if c.crm_id.isdigit()],
        [tasks.description, tasks.due],
    )
    bodies = {row[OBJECT_ID]: row.get(tasks.description) for row in read}
    dues = {row[OBJECT_ID]: str(row.get(tasks.due) or "")[:10] for row in read}
    outcomes: list[Outcome | None] = []
    inputs: list[batch.UpdateInput] = []
    for close in closes:
        if close.crm_id not in bodies:
            outcomes.append(gone(close, "OBJECT_NOT_FOUND", "HubSpot"))
            continue
        outcomes.append(None)
        body = with_comment(bodies[close.crm_id], close.comment, BODY_LIMIT)
        properties = {tasks.description: body}
        if close.close:
            properties[tasks.status] = tasks.closed_status
        if close.due is not None and earlier_due(close.due, dues[close.crm_id]):
            properties[tasks.due] = iso_datetime(dt.datetime.combine(close.due, DUE_TIME, tzinfo=dt.UTC))
        inputs.append(batch.UpdateInput(ref=close.key, id=close.crm_id, properties=properties))
    sent = iter(batch.update(client, tasks.object, inputs))
    return [o if o is not None else next(sent) for o in outcomes]
