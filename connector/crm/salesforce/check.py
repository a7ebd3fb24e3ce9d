"""Mapping problems against the org's describe, one actionable line each (the ``tiersync doctor`` backend).

Every line names the object and field, then the mapping file, table and key that named it, so the
fix is obvious: ``Invoice__c.Amount_X__c: no such field (mappings/salesforce.toml [invoices.fields] amount)``.
"""

from __future__ import annotations

from collections.abc import Iterator

from connector.crm.base import OVERRIDE_FIELDS, FatalError
from connector.crm.mapping import Condition, Mapping, SourceMapping
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.soql import select

SETUP_HINT = "run `tiersync setup-fields`"


def _source_fields(kind: str, source: SourceMapping) -> Iterator[tuple[str, str]]:
    """``(CRM field, "[table] key")`` for every field a source reads."""
    yield source.id, f"[{kind}] id"
    yield source.account, f"[{kind}] account"
    for name, field_source in source.fields.items():
        path = field_source.field if isinstance(field_source, Condition) else field_source
        yield path, f"[{kind}.fields] {name}"
    for name, path in source.attributes.items():
        yield path, f"[{kind}.attributes] {name}"


def source_problems(schema: Schema, mapping: Mapping, mapping_file: str) -> list[str]:
    """Missing objects and fields of the evidence sources (what ``read`` needs)."""
    problems: list[str] = []
    for kind, source in mapping.sources().items():
        if schema.object(source.object) is None:
            problems.append(f"{source.object}: no such object ({mapping_file} [{kind}] object)")
            continue
        for path, key in _source_fields(kind, source):
            if schema.field(source.object, path) is None:
                problems.append(f"{source.object}.{path}: no such field ({mapping_file} {key})")
    return list(dict.fromkeys(problems))


def where_problems(
    client: SalesforceClient, schema: Schema, mapping: Mapping, mapping_file: str
) -> list[str]:
    """Each source's ``where``, tried with ``LIMIT 1``: a typo fails here, not mid-sync.

    One query per object (its conditions joined with ``OR``; only when that fails, one per condition,
    to name the one at fault), and none for a condition that already ran against the same describe
    (``Schema.where_checked``: cached across runs with the describes)."""
    problems: list[str] = []
    pending: dict[str, list[tuple[str, str]]] = {}
    for kind, source in mapping.sources().items():
        if not source.where or schema.object(source.object) is None:
            continue
        if not schema.where_checked(source.object, source.where):
            pending.setdefault(source.object, []).append((kind, source.where))
    for sobject, wheres in pending.items():
        conditions = list(dict.fromkeys(where for _, where in wheres))
        tries = [conditions] if len(conditions) == 1 else [conditions, *([c] for c in conditions)]
        failed: dict[str, str] = {}
        for attempt in tries:
            joined = " OR ".join(f"({c})" for c in attempt)
            try:
                next(client.query_pages(select(sobject, ["Id"], [joined]) + " LIMIT 1"), None)
            except FatalError as error:
                if len(attempt) == 1:
                    failed[attempt[0]] = str(error)
                continue
            for where in attempt:
                schema.where_passed(sobject, where)
            if attempt is conditions:
                break  # all of them hold: no need to try each
        for kind, where in wheres:
            if where in failed:
                problems.append(
                    f"{sobject}: the where condition fails ({failed[where]}) ({mapping_file} [{kind}] where)"
                )
    return problems


def writeback_problems(schema: Schema, mapping: Mapping, mapping_file: str) -> list[str]:
    writeback = mapping.writeback
    if schema.object(writeback.object) is None:
        return [f"{writeback.object}: no such object ({mapping_file} [writeback] object)"]
    problems: list[str] = []
    if writeback.object.lower() != mapping.accounts.object.lower():
        problems.append(
            f"{writeback.object}: the write-back object must be the accounts object "
            f"{mapping.accounts.object} ({mapping_file} [writeback] object)"
        )
    missing: list[str] = []
    for name, crm_field in writeback.all_fields().items():
        info = schema.field(writeback.object, crm_field)
        if info is None:
            missing.append(crm_field)
        elif name not in OVERRIDE_FIELDS and not info.updateable:
            problems.append(
                f"{writeback.object}.{crm_field}: readable but not editable by the API user "
                f"({mapping_file} [writeback] {name}); {SETUP_HINT} to grant edit"
            )
    if missing:
        problems.insert(
            0,
            f"{writeback.object}: write-back fields not created yet or not granted to the API user: "
            f"{', '.join(missing)} ({mapping_file} [writeback]); {SETUP_HINT}",
        )
    return problems


def task_problems(schema: Schema, mapping: Mapping, mapping_file: str) -> list[str]:
    tasks = mapping.tasks
    info = schema.object(tasks.object)
    if info is None:
        return [f"{tasks.object}: no such object ({mapping_file} [tasks] object)"]
    problems: list[str] = []
    key = info.field(tasks.key)
    if key is None:
        problems.append(
            f"{tasks.object}.{tasks.key}: task key field not created yet or not granted to the API user "
            f"({mapping_file} [tasks] key); {SETUP_HINT}"
        )
    for name in ("account", "owner", "subject", "description", "due", "status"):
        crm_field: str = getattr(tasks, name)
        if info.field(crm_field) is None:
            problems.append(f"{tasks.object}.{crm_field}: no such field ({mapping_file} [tasks] {name})")
    status = info.field(tasks.status)
    if status is not None and status.picklist and tasks.closed_status not in status.picklist:
        problems.append(
            f"{tasks.object}.{tasks.status}: no value {tasks.closed_status!r} "
            f"({mapping_file} [tasks] closed_status)"
        )
    return problems
