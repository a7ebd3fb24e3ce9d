"""Mapping problems against the portal's properties, one actionable line each (the ``tiersync doctor`` backend).

Every line names the object type and property, then the mapping file, table and key that named it:
``invoices.hs_amount_x: no such property (mappings/hubspot.toml [invoices.fields] amount)``. Cost: one
properties call per mapped object type (cached for the adapter's life, and with
``hubspot.properties_ttl_seconds`` across runs: ``schema``).
"""

from __future__ import annotations

from collections.abc import Iterator

from connector.crm.base import OVERRIDE_FIELDS
from connector.crm.hubspot.links import parse_link
from connector.crm.hubspot.schema import Schema
from connector.crm.hubspot.setup import mismatch, task_key_spec, writeback_specs
from connector.crm.hubspot.where import WhereSyntaxError, parse_where
from connector.crm.mapping import Condition, Mapping, SourceMapping

SETUP_HINT = "run `tiersync setup-fields`"


def _source_properties(kind: str, source: SourceMapping) -> Iterator[tuple[str, str]]:
    """``(property, "[table] key")`` for every property a source reads."""
    yield source.id, f"[{kind}] id"
    link = parse_link(source.account)
    if link.property_name is not None:
        yield link.property_name, f"[{kind}] account"
    for name, field_source in source.fields.items():
        yield (
            (field_source.field if isinstance(field_source, Condition) else field_source),
            f"[{kind}.fields] {name}",
        )
    for name, path in source.attributes.items():
        yield path, f"[{kind}.attributes] {name}"
    if source.where:
        try:
            where = parse_where(source.where)
        except WhereSyntaxError:
            return
        for name in where.properties:
            yield name, f"[{kind}] where"


def problems(schema: Schema, mapping: Mapping, mapping_file: str) -> list[str]:
    """Every problem of the mapping against ``schema``: sources, write-back, tasks."""
    found = source_problems(schema, mapping, mapping_file)
    found += writeback_problems(schema, mapping, mapping_file)
    return found + task_problems(schema, mapping, mapping_file)


def source_problems(schema: Schema, mapping: Mapping, mapping_file: str) -> list[str]:
    """Missing object types and properties of the evidence sources, bad links and conditions."""
    problems: list[str] = []
    accounts = mapping.accounts.object
    for kind, source in mapping.sources().items():
        link = parse_link(source.account)
        if link.association is not None and link.association != accounts:
            problems.append(
                f"{source.object}: links through association:{link.association}, but accounts are "
                f"{accounts}: use association:{accounts} ({mapping_file} [{kind}] account)"
            )
        if kind == "accounts" and link.property_name != source.id:
            problems.append(
                f"{source.object}: accounts link to themselves: account = {source.id!r} ({mapping_file} [accounts] account)"
            )
        if source.where:
            try:
                parse_where(source.where)
            except WhereSyntaxError as error:
                problems.append(
                    f"{source.object}: the where condition {error} ({mapping_file} [{kind}] where)"
                )
        properties = schema.object(source.object)
        if properties is None:
            problems.append(f"{source.object}: no such object type ({mapping_file} [{kind}] object)")
            continue
        for name, key in _source_properties(kind, source):
            if name not in properties:
                problems.append(f"{source.object}.{name}: no such property ({mapping_file} {key})")
    return list(dict.fromkeys(problems))


def writeback_problems(schema: Schema, mapping: Mapping, mapping_file: str) -> list[str]:
    writeback = mapping.writeback
    properties = schema.object(writeback.object)
    if properties is None:
        return [f"{writeback.object}: no such object type ({mapping_file} [writeback] object)"]
    problems: list[str] = []
    if writeback.object != mapping.accounts.object:
        problems.append(
            f"{writeback.object}: the write-back object must be the accounts object "
            f"{mapping.accounts.object} ({mapping_file} [writeback] object)"
        )
    missing: list[str] = []
    for spec in writeback_specs(mapping, {}):
        have = properties.get(spec.name)
        key = spec.mapping_key.removeprefix("[writeback] ")
        if have is None:
            missing.append(spec.name)
            continue
        problem = mismatch(have, spec)
        if problem is not None:
            problems.append(f"{spec.full_name}: it {problem} ({mapping_file} {spec.mapping_key})")
        elif have.read_only and key not in OVERRIDE_FIELDS:
            problems.append(
                f"{spec.full_name}: read-only (calculated) in HubSpot; map [writeback] {key} to "
                f"another property ({mapping_file} {spec.mapping_key})"
            )
    if missing:
        problems.insert(
            0,
            f"{writeback.object}: write-back properties not created yet: {', '.join(missing)} "
            f"({mapping_file} [writeback]); {SETUP_HINT}",
        )
    return problems


def task_problems(schema: Schema, mapping: Mapping, mapping_file: str) -> list[str]:
    tasks = mapping.tasks
    properties = schema.object(tasks.object)
    if properties is None:
        return [f"{tasks.object}: no such object type ({mapping_file} [tasks] object)"]
    problems: list[str] = []
    key_spec = task_key_spec(mapping)
    key = properties.get(tasks.key)
    if key is None:
        problems.append(
            f"{tasks.object}.{tasks.key}: task key property not created yet ({mapping_file} [tasks] key); "
            f"{SETUP_HINT}"
        )
    elif (problem := mismatch(key, key_spec)) is not None:
        problems.append(f"{tasks.object}.{tasks.key}: it {problem} ({mapping_file} [tasks] key)")
    link = parse_link(tasks.account)
    if link.association != mapping.accounts.object:
        problems.append(
            f"{tasks.object}: tasks must link to accounts by association:{mapping.accounts.object}, "
            f"not {tasks.account!r} ({mapping_file} [tasks] account)"
        )
    for name in ("owner", "subject", "description", "due", "status"):
        crm_name: str = getattr(tasks, name)
        if crm_name not in properties:
            problems.append(f"{tasks.object}.{crm_name}: no such property ({mapping_file} [tasks] {name})")
    status = properties.get(tasks.status)
    if status is not None and status.options and tasks.closed_status not in status.options:
        problems.append(
            f"{tasks.object}.{tasks.status}: no option {tasks.closed_status!r} ({mapping_file} [tasks] closed_status)"
        )
    return problems
