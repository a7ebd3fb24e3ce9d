"""``HubSpotAdapter``: the :class:`~connector.crm.base.CrmAdapter` for HubSpot.

It ties the pieces together and holds no rule of its own: what to read and write comes from the
mapping, what to do with it from the sync engine. One adapter instance caches property schemas, the
portal id, the client and the rate-limit state; create a new one per run. With a ``metadata_cache``
file and ``hubspot.properties_ttl_seconds`` / ``owners_ttl_seconds``, schemas, the portal id and owner
names outlive the run (``metadata``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from connector.config import HubSpotSettings
from connector.crm.base import AccountUpdate, ApiUsage, Outcome, ReadBatch, TaskClose, TaskSpec
from connector.crm.hubspot import check, owners, tasks, writeback
from connector.crm.hubspot.cleanup import HubSpotCleanup
from connector.crm.hubspot.client import HubSpotClient
from connector.crm.hubspot.client_read import Choice, ReadPlan
from connector.crm.hubspot.metadata import PortalMetadata
from connector.crm.hubspot.reader import Reader
from connector.crm.hubspot.schema import Schema
from connector.crm.hubspot.setup import PropertySetup
from connector.crm.mapping import Mapping
from connector.crm.retry import RetryPolicy

DEFAULT_MAPPING_FILE = "mappings/hubspot.toml"
PROPERTY_GONE = "PROPERTY_DOESNT_EXIST"
"""HubSpot's code for a write naming a property the portal does not have (any more): the error's code,
or inside the message of a ``VALIDATION_ERROR`` ("Property values were not valid: [...]")."""


class HubSpotAdapter:
    """The sync's HubSpot seam (:class:`~connector.crm.base.CrmAdapter`): companies and tasks over the
    v3 CRM APIs, through one paced, retrying client."""

    name = "hubspot"

    def __init__(
        self,
        settings: HubSpotSettings,
        mapping: Mapping,
        *,
        retry_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        mapping_file: str = DEFAULT_MAPPING_FILE,
        client_read: Choice = "auto",
        metadata_cache: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``mapping_file`` only names the file in ``check`` lines; nothing talks to HubSpot until the
        first call. ``client_read`` fixes how a full read finds the clients (``list`` or ``search``)
        instead of choosing from a count (``auto``): for benchmarks and tests. ``metadata_cache`` is
        the file that keeps portal metadata across runs (none: read once per instance), aged by
        ``clock``."""
        self._mapping = mapping
        self._mapping_file = mapping_file
        self.client = HubSpotClient(settings, policy=RetryPolicy(attempts=retry_attempts), sleep=sleep)
        self._metadata = PortalMetadata(settings, metadata_cache, self.client.portal_id, clock)
        self._schema = Schema(self.client, self._metadata.properties)
        self._reader = Reader(self.client, self._schema, mapping, mapping_file, client_read)

    def check(self) -> list[str]:
        """Every mapping problem at once (properties, write-back, tasks), so a user fixes the mapping
        in one pass."""
        return check.problems(self._schema, self._mapping, self._mapping_file)

    def setup_fields(self, trait_labels: dict[str, str], dry_run: bool) -> list[str]:
        """The schema is read afresh before (not trusted from the cache) and forgotten after a real
        setup, so the same run sees the new properties."""
        runner = PropertySetup(self.client, self._schema, self._mapping, self._mapping_file)
        self._schema.forget()  # decide what to create from the portal as it is, not from the cache
        try:
            return runner.run(trait_labels, dry_run)
        finally:
            if not dry_run:
                self._schema.forget()

    def changed_account_ids(self, since: dt.datetime) -> set[str]:
        """Companies whose own or evidence records changed since ``since``, less those whose last
        change is tiersync's own write (see BEHAVIOR.md for the floor)."""
        return self._reader.changed_account_ids(since)

    def read(
        self, account_ids: list[str] | None, page_size: int = 2000, *, after: str | None = None
    ) -> Iterator[ReadBatch]:
        """Pages in id order, which the backfill watermark relies on."""
        return self._reader.read(account_ids, page_size, after)

    @property
    def last_read_plan(self) -> ReadPlan | None:
        """How the last full read found the clients: its strategy and the counts it chose from."""
        return self._reader.last_plan

    def _written(self, outcomes: list[Outcome]) -> list[Outcome]:
        """A write refused for a property that does not exist means the schema in use is stale (it
        came from the cache): forget it, so that the next run's mapping check reads it afresh."""
        if any(PROPERTY_GONE in f"{o.error_code} {o.message}" for o in outcomes if not o.ok):
            self._schema.forget()
        return outcomes

    def write_accounts(self, updates: list[AccountUpdate]) -> list[Outcome]:
        """Batch updates of 100 companies; a 207 answer's errors become failed outcomes."""
        return self._written(writeback.write_accounts(self.client, self._mapping.writeback, updates))

    def upsert_tasks(self, tasks_: list[TaskSpec]) -> list[Outcome]:
        """Create once per key: existing keys are read first and never written."""
        return self._written(tasks.upsert_tasks(self.client, self._mapping.tasks, tasks_))

    def task_status(self, crm_ids: list[str], owners: Sequence[str] = ()) -> dict[str, str]:
        """By id in batch reads; ``owners`` is not needed, since a batch read already asks for many."""
        return tasks.task_status(self.client, self._mapping.tasks, crm_ids)

    def close_tasks(self, closes: list[TaskClose]) -> list[Outcome]:
        """The comment is appended to the existing body, never twice on a retry."""
        return self._written(tasks.close_tasks(self.client, self._mapping.tasks, closes))

    def org_id(self) -> str:
        """The portal id, which binds a state to one portal (from the cache while it is fresh)."""
        return self._metadata.portal_id()

    def usage(self) -> ApiUsage | None:
        """From the last answer's daily rate-limit headers: no call of its own."""
        return self.client.usage()

    def cleanup(self) -> HubSpotCleanup:
        """The HubSpot side of ``tiersync cleanup`` (``connector.crm.cleanup.CrmCleanup``), which
        finds what setup created from the portal as it is, not from the cache."""
        self._schema.forget()
        return HubSpotCleanup(self.client, self._schema, self._mapping)

    def owner_names(self, owner_ids: list[str]) -> dict[str, str]:
        """The owners API's names, for the plan and the report (kept for ``owners_ttl_seconds``)."""
        return owners.owner_names(self.client, owner_ids, self._metadata.owners())
