"""``SalesforceAdapter``: the :class:`~connector.crm.base.CrmAdapter` for Salesforce.

It ties the pieces together and holds no rule of its own: what to read and write comes from the
mapping, what to do with it from the sync engine. One adapter instance caches describes and the
logged-in client; create a new one per run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from connector.config import SalesforceSettings
from connector.crm.base import (
    AccountUpdate,
    ApiUsage,
    BackfillEstimate,
    Outcome,
    ReadBatch,
    TaskClose,
    TaskSpec,
)
from connector.crm.mapping import Mapping
from connector.crm.retry import RetryPolicy
from connector.crm.salesforce import check, estimate, identity, owners, setup, tasks, writeback
from connector.crm.salesforce.bulk import BulkGate, BulkJobs
from connector.crm.salesforce.cleanup import SalesforceCleanup
from connector.crm.salesforce.client import SalesforceClient
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.describe_cache import DescribeCache
from connector.crm.salesforce.reader import Reader

DEFAULT_MAPPING_FILE = "mappings/salesforce.toml"


class SalesforceAdapter:
    """The sync's Salesforce seam (:class:`~connector.crm.base.CrmAdapter`): REST, with Bulk API 2.0
    above ``salesforce.bulk_threshold`` records; every call goes through one retrying client."""

    name = "salesforce"

    def __init__(
        self,
        settings: SalesforceSettings,
        mapping: Mapping,
        *,
        retry_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        mapping_file: str = DEFAULT_MAPPING_FILE,
        describe_cache: Path | None = None,
    ) -> None:
        """``mapping_file`` only names the file in ``check`` lines; nothing talks to Salesforce until
        the first call (the login happens then). ``describe_cache`` is the file that keeps describes
        across runs for ``settings.describe_ttl_seconds`` (none: describe once per instance)."""
        self._settings = settings
        self._mapping = mapping
        self._mapping_file = mapping_file
        self.client = SalesforceClient(settings, policy=RetryPolicy(attempts=retry_attempts), sleep=sleep)
        cache = None
        if describe_cache is not None and settings.describe_ttl_seconds > 0:
            scope = f"{settings.instance_url or settings.domain}|{settings.username}|{settings.api_version}"
            cache = DescribeCache(describe_cache, settings.describe_ttl_seconds, scope)
        self._schema = Schema(self.client, cache)
        self.bulk = BulkGate(
            BulkJobs(self.client, timeout=settings.bulk_poll_timeout),
            threshold=settings.bulk_threshold,
            page_size=settings.bulk_page_size,
        )
        self._reader = Reader(self.client, self._schema, mapping, mapping_file, self._api_user, self.bulk)
        self._api_user_id: tuple[str | None] | None = None

    def _api_user(self) -> str | None:
        """The API user's Id, looked up once per adapter (None when it cannot be told)."""
        if self._api_user_id is None:
            self._api_user_id = (
                self._schema.api_user(lambda: identity.api_user_id(self.client, self._settings.username)),
            )
        return self._api_user_id[0]

    def check(self) -> list[str]:
        """Every mapping problem at once (fields, the ``where`` filter, write-back, tasks), so a user
        fixes the mapping in one pass."""
        problems = check.source_problems(self._schema, self._mapping, self._mapping_file)
        problems += check.where_problems(self.client, self._schema, self._mapping, self._mapping_file)
        problems += check.writeback_problems(self._schema, self._mapping, self._mapping_file)
        problems += check.task_problems(self._schema, self._mapping, self._mapping_file)
        return problems

    def setup_fields(self, trait_labels: dict[str, str], dry_run: bool) -> list[str]:
        """The describes are forgotten after a real setup, so the same run sees the new fields."""
        runner = setup.FieldSetup(self.client, self._mapping, self._settings.username)
        try:
            return runner.run(trait_labels, dry_run)
        finally:
            if not dry_run:
                self._schema.forget()

    def changed_account_ids(self, since: dt.datetime) -> set[str]:
        """Accounts whose own or evidence rows changed since ``since``; the API user's own writes to
        the write-back object are left out in the query, or every run would re-read the last one's."""
        return self._reader.changed_account_ids(since)

    def read(
        self, account_ids: list[str] | None, page_size: int = 2000, *, after: str | None = None
    ) -> Iterator[ReadBatch]:
        """Pages in Id order, which the backfill watermark relies on."""
        return self._reader.read(account_ids, page_size, after)

    def write_accounts(self, updates: list[AccountUpdate]) -> list[Outcome]:
        """sObject Collections, or one Bulk job above the threshold (REST when Bulk is refused)."""
        return writeback.write_accounts(
            self.client, self._schema, self._mapping.writeback, updates, self.bulk
        )

    def upsert_tasks(self, tasks_: list[TaskSpec]) -> list[Outcome]:
        """Create once per key: a resent key is looked up first, never created twice."""
        return tasks.upsert_tasks(self.client, self._schema, self._mapping.tasks, tasks_, self.bulk)

    def task_status(self, crm_ids: list[str], owners: Sequence[str] = ()) -> dict[str, str]:
        """Asked by owner first when ``owners`` are given (one query for their open tasks), then by
        id for the rest."""
        return tasks.task_status(self.client, self._schema, self._mapping.tasks, crm_ids, owners)

    def close_tasks(self, closes: list[TaskClose]) -> list[Outcome]:
        """The comment is appended to the existing description, never twice on a retry."""
        return tasks.close_tasks(self.client, self._schema, self._mapping.tasks, closes)

    def org_id(self) -> str:
        """The Organization Id, which binds a state to one org."""
        return identity.organization_id(self.client)

    def usage(self) -> ApiUsage | None:
        """From the last ``Sforce-Limit-Info`` header: no call of its own."""
        return self.client.usage()

    def owner_names(self, owner_ids: list[str]) -> dict[str, str]:
        """Kept in the describe cache when one is set, so a re-run asks only for owners it has not seen."""
        return self._schema.owner_names(owner_ids, lambda ids: owners.owner_names(self.client, ids))

    def estimate_backfill(self, page_size: int) -> BackfillEstimate:
        """What a full backfill would cost (``BackfillPlanner``); see ``estimate.py``."""
        return estimate.estimate(self.client, self._schema, self._mapping, self._reader, self.bulk, page_size)

    def cleanup(self) -> SalesforceCleanup:
        """The Salesforce side of ``tiersync cleanup`` (``connector.crm.cleanup.CrmCleanup``)."""
        return SalesforceCleanup(self.client, self._schema, self._mapping)
