"""``tiersync cleanup`` for HubSpot: find what tiersync wrote, empty it, archive its tasks and, with
``--remove-setup``, archive the properties and the ``tiersync`` property group ``setup-fields`` made.

A property is tiersync's only when it has the mapped name, is not HubSpot-defined, sits in the
``tiersync`` group and has the type ``setup-fields`` gives it. Tasks and marked companies are found by
windowed searches (``HAS_PROPERTY``), so the 10,000-result cap never hides one. Tasks are archived with
``POST /crm/v3/objects/tasks/batch/archive`` (100 a call); properties with
``DELETE /crm/v3/properties/{objectType}/{propertyName}`` and the group with
``DELETE /crm/v3/properties/{objectType}/groups/{groupName}``, after its properties, and only when no
property of someone else's is left in it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hubspot.crm.objects import BatchInputSimplePublicObjectId

from connector.crm.base import ApiUsage, Outcome, RequestRejectedError, TaskClose
from connector.crm.cleanup import AccountClear, CrmTask, MarkedAccount
from connector.crm.hubspot import batch, search, tasks
from connector.crm.hubspot.batch import OBJECT_ID
from connector.crm.hubspot.client import HubSpotClient
from connector.crm.hubspot.schema import PropertyInfo, Schema
from connector.crm.hubspot.setup import GROUP, PropertySpec, property_specs
from connector.crm.mapping import Mapping

FILTER_GROUPS = 5
"""HubSpot's most filter groups (ORed) in one search."""


class HubSpotCleanup:
    """HubSpot's :class:`~connector.crm.cleanup.CrmCleanup` (see the module docstring)."""

    def __init__(self, client: HubSpotClient, schema: Schema, mapping: Mapping) -> None:
        self._client = client
        self._schema = schema
        self._mapping = mapping
        self._specs = {(s.object_type, s.name): s for s in property_specs(mapping, {})}

    # -- what exists ---------------------------------------------------------------------------
    def _properties(self, object_type: str) -> list[PropertyInfo]:
        return list((self._schema.object(object_type) or {}).values())

    def _owned(self, object_type: str) -> list[PropertySpec]:
        found = []
        for prop in self._properties(object_type):
            spec = self._specs.get((object_type, prop.name))
            if (
                spec is not None
                and not prop.hubspot_defined
                and prop.group == GROUP
                and prop.type == spec.type
            ):
                found.append(spec)
        return found

    def owned_fields(self) -> dict[str, str]:
        """Only properties that ``setup-fields`` made: the mapped name, in the ``tiersync`` group, with
        its type, and not HubSpot-defined."""
        writeback = self._mapping.writeback
        owned = {s.name for s in self._owned(writeback.object)}
        return {key: name for key, name in writeback.all_fields().items() if name in owned}

    def _owns_task_key(self) -> bool:
        task_map = self._mapping.tasks
        return any(s.name == task_map.key for s in self._owned(task_map.object))

    # -- records -------------------------------------------------------------------------------
    def tiersync_tasks(self) -> list[CrmTask]:
        """None unless tiersync made the key property; found by windowed searches, so the
        10,000-result cap hides none."""
        task_map = self._mapping.tasks
        if not self._owns_task_key():
            return []
        found = []
        for page in search.windows(
            self._client,
            task_map.object,
            [search.condition(task_map.key, "HAS_PROPERTY")],
            [task_map.key, task_map.status],
        ):
            for row in page:
                closed = str(row.get(task_map.status) or "").casefold() == task_map.closed_status.casefold()
                found.append(CrmTask(row[OBJECT_ID], str(row[task_map.key]), open=not closed))
        return found

    def marked_accounts(self) -> list[MarkedAccount]:
        """One windowed search per five owned properties (HubSpot's filter-group limit), merged by id."""
        owned = self.owned_fields()
        by_name = {name: key for key, name in owned.items()}
        names = list(by_name)
        marked: dict[str, set[str]] = {}
        for start in range(0, len(names), FILTER_GROUPS):
            chunk = names[start : start + FILTER_GROUPS]
            for page in search.windows(
                self._client,
                self._mapping.writeback.object,
                [],
                names,
                any_of=[search.condition(name, "HAS_PROPERTY") for name in chunk],
            ):
                for row in page:
                    held = {by_name[n] for n in names if row.get(n) not in (None, "")}
                    marked.setdefault(row[OBJECT_ID], set()).update(held)
        return [MarkedAccount(i, frozenset(f)) for i, f in sorted(marked.items(), key=lambda p: int(p[0]))]

    def clear_accounts(self, clears: list[AccountClear]) -> list[Outcome]:
        """Batch updates with the properties set to ``""``, which is how HubSpot empties a property."""
        owned = self.owned_fields()
        inputs = [
            batch.UpdateInput(
                ref=c.account_id, id=c.account_id, properties={owned[f]: "" for f in c.fields if f in owned}
            )
            for c in clears
        ]
        return batch.update(self._client, self._mapping.writeback.object, inputs)

    def delete_tasks(self, found: list[CrmTask]) -> list[Outcome]:
        """Batch archive, 100 a call. HubSpot answers 204 with no per-record result, and archiving an
        id already archived is not an error, so every input of a call that succeeded is done."""
        object_type = self._mapping.tasks.object
        outcomes: list[Outcome] = []
        for chunk in batch.chunks(found, batch.BATCH_LIMIT):
            body = BatchInputSimplePublicObjectId(inputs=[{"id": t.crm_id} for t in chunk])
            self._client.call(
                f"batch archive {object_type}",
                self._client.objects_batch.archive_with_http_info,
                object_type,
                body,
            )
            outcomes += [Outcome(t.key, ok=True, crm_id=t.crm_id) for t in chunk]
        return outcomes

    def close_tasks(self, closes: list[TaskClose]) -> list[Outcome]:
        """The sync's close: the comment appended to the body, never twice on a retry."""
        return tasks.close_tasks(self._client, self._mapping.tasks, closes)

    # -- setup ---------------------------------------------------------------------------------
    def remove_setup(self, dry_run: bool) -> list[str]:
        """Each owned property, then the group once nothing of someone else's is left in it."""
        lines: list[str] = []
        object_types = dict.fromkeys(object_type for object_type, _ in self._specs)
        for object_type in object_types:
            owned = self._owned(object_type)
            for spec in owned:
                lines.append(self._archive_property(spec, dry_run))
            lines.append(self._archive_group(object_type, {s.name for s in owned}, dry_run))
        self._schema.forget()
        return [line for line in lines if line]

    def _archive(self, what: str, method: Callable[..., Any], *args: str) -> None:
        """One archive call; a 404 is a retried archive whose first try landed."""
        try:
            self._client.call(what, method, *args)
        except RequestRejectedError as error:
            if error.status != 404:
                raise

    def _archive_property(self, spec: PropertySpec, dry_run: bool) -> str:
        if dry_run:
            return f"{spec.full_name}: would delete"
        self._archive(
            f"archive property {spec.full_name}",
            self._client.properties_core.archive_with_http_info,
            spec.object_type,
            spec.name,
        )
        return f"{spec.full_name}: deleted"

    def _archive_group(self, object_type: str, leaving: set[str], dry_run: bool) -> str:
        prefix = f"{object_type} property group {GROUP}"
        answer = self._client.call(
            f"property groups of {object_type}",
            self._client.properties_groups.get_all_with_http_info,
            object_type,
        )
        if not any(g.get("name") == GROUP for g in answer.get("results") or []):
            return ""
        others = sorted(
            p.name for p in self._properties(object_type) if p.group == GROUP and p.name not in leaving
        )
        if others:
            return f"{prefix}: kept, it also holds {', '.join(others)}"
        if dry_run:
            return f"{prefix}: would delete"
        self._archive(
            f"archive property group {object_type}.{GROUP}",
            self._client.properties_groups.archive_with_http_info,
            object_type,
            GROUP,
        )
        return f"{prefix}: deleted"

    def usage(self) -> ApiUsage | None:
        """From the last answer's daily rate-limit headers: no call of its own."""
        return self._client.usage()
