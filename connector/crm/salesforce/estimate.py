"""The backfill estimate behind ``tiersync backfill --plan``: ``SELECT COUNT()`` per mapped source, the
daily allocations from the ``limits`` resource, and the reader's and writers' call arithmetic.

The arithmetic mirrors what a full backfill does, call by call: the checks a run starts with (one
describe per object, one ``LIMIT 1`` query per ``where``), then either the REST read (account query
pages of ``batchSize``; per page and evidence source one range query paged at 2,000 rows) or the Bulk
read (the first REST page that reveals the size, then per object one job: create, status polls, result
pages of 50,000), plus one change check per page of accounts written. Evidence is assumed spread evenly
over the accounts.
"""

from __future__ import annotations

import math

from connector.crm.base import ApiUsage, BackfillEstimate
from connector.crm.mapping import Mapping
from connector.crm.salesforce import bulk
from connector.crm.salesforce.bulk import BulkGate
from connector.crm.salesforce.client import DEFAULT_BATCH_SIZE, SalesforceClient
from connector.crm.salesforce.composite import MAX_RECORDS
from connector.crm.salesforce.describe import Schema
from connector.crm.salesforce.reader import Reader, account_batch_size, evidence_scope
from connector.crm.salesforce.soql import select

UPDATE_JOB_CALLS = 3 + bulk.STATUS_POLLS
"""Create, upload, close, polls: an update whose records all succeed needs no results file."""
UPSERT_JOB_CALLS = UPDATE_JOB_CALLS + 1
"""The successful-results file carries the ids of created tasks."""
ALLOWANCES = ("DailyBulkV2QueryJobs", "DailyBulkApiBatches")


def _count(
    client: SalesforceClient, sobject: str, conditions: list[str | None], every_row: bool = False
) -> int:
    soql = select(sobject, ["COUNT()"], conditions)
    answer = client.call("count", lambda sf: sf.query(soql, include_deleted=every_row))
    return int(answer.get("totalSize") or 0)


def _job_calls(records: int) -> int:
    return 1 + bulk.STATUS_POLLS + max(1, math.ceil(records / bulk.RESULT_PAGE_RECORDS))


def estimate(
    client: SalesforceClient,
    schema: Schema,
    mapping: Mapping,
    reader: Reader,
    gate: BulkGate,
    page_size: int,
) -> BackfillEstimate:
    accounts_source = mapping.accounts
    accounts = _count(client, accounts_source.object, [accounts_source.where])
    first = client.usage()
    counts = {"accounts": accounts}
    counts.update(dict.fromkeys(reader.folded, accounts))
    for kind, source in reader.queried:
        scope, every_row = evidence_scope(schema, source.object)
        counts[kind] = _count(
            client, source.object, [source.where, f"{source.account} != null", *scope], every_row
        )
    reader.validate()
    schema.object(mapping.writeback.object)
    schema.object(mapping.tasks.object)
    checks = schema.described + sum(1 for source in mapping.sources().values() if source.where)
    uses_bulk = gate.wanted(accounts)
    page_accounts = max(page_size, gate.page_size) if uses_bulk else page_size
    if uses_bulk:
        jobs = 1 + len(reader.queried)
        reads = 1 + _job_calls(accounts) + sum(_job_calls(counts[kind]) for kind, _ in reader.queried)
    else:
        jobs = 0
        reads = max(1, math.ceil(accounts / account_batch_size(page_size)))
        full, rest = divmod(accounts, page_accounts)
        for kind, _ in reader.queried:
            per_account = counts[kind] / accounts if accounts else 0.0
            for pages, size in ((full, page_accounts), (1 if rest else 0, rest)):
                reads += pages * max(1, math.ceil(per_account * size / DEFAULT_BATCH_SIZE))
    # before writing a page, one query asks which of its accounts changed since they were read
    # (``writeback.changed_since_read``); in a backfill every page is written
    reads += math.ceil(accounts / page_accounts) if accounts else 0
    limits = client.rest("limits")
    daily = limits.get("DailyApiRequests") or {}
    usage = (
        ApiUsage(used=int(daily["Max"]) - int(daily["Remaining"]), limit=int(daily["Max"]))
        if "Max" in daily and "Remaining" in daily
        else client.usage()
    )
    sample = reader.read_rest_page(page_size)
    last = client.usage()
    return BackfillEstimate(
        crm="salesforce",
        counts=counts,
        accounts=accounts,
        bulk=uses_bulk,
        read_calls=checks + reads,
        bulk_jobs=jobs,
        restart_calls=checks + (1 + jobs * (1 + bulk.STATUS_POLLS) if uses_bulk else 0),
        page_accounts=page_accounts,
        write_batch=MAX_RECORDS,
        bulk_write_threshold=gate.threshold if gate.refused is None else None,
        update_job_calls=UPDATE_JOB_CALLS,
        upsert_job_calls=UPSERT_JOB_CALLS,
        usage=usage,
        allowances={
            name: (int(limits[name]["Max"]), int(limits[name]["Remaining"]))
            for name in ALLOWANCES
            if isinstance(limits.get(name), dict)
        },
        own_calls=last.used - first.used + 1 if first is not None and last is not None else 0,
        sample=sample,
    )
