"""API calls of a full sync, a no-change re-sync and a 1% change against the sandbox CRM, versus the minimum.

Full sync: the minimum for the data is every record read once in pages of the CRM's maximum page size,
every changed account and every new task written once in batches of the CRM's maximum batch size. The
ratio (actual / minimum) is the figure to watch; describe/setup calls are reported apart. On HubSpot,
where the API's shape decides what "read once" costs, the read minimum is:

* the clients: the cheaper of listing every company (100 a call) and searching the clients (200 a
  call; the adapter does whichever costs less);
* per associated evidence type (invoices, tickets, meetings): ``ceil(clients / 1000)`` association
  reads and ``ceil(records associated with a client / 100)`` batch reads; only those records, since an
  invoice or meeting of a lead is never asked for;
* records linked by a property (referral deals): ``ceil(those naming a client / 200)``, a search page.

1% change (the goal line, at 20,000 accounts): after the full sync, a user logs one complaint for every
100th client, then ``tiersync sync`` runs as it does on a schedule: a fresh adapter per run, the
metadata cache warm (``salesforce.describe_ttl_seconds``, ``hubspot.properties_ttl_seconds`` and
``hubspot.owners_ttl_seconds`` 3600, filled by the run before). Every call of the run counts, fixed
ones included (org check, describes or property definitions, mapping check, API user, owners). The
minimum counts no fixed call, only what the data needs, computed from the sandbox's own rows (not from
the ledger):

* finding the changed rows: per mapped object, ``max(1, ceil(changed rows / page))``: neither REST
  API offers a cross-object change feed, so each object is asked once even when nothing changed;
  HubSpot also needs ``ceil(changed evidence rows / 1000)`` association reads to map them to companies;
* reading what the classifier needs for the changed accounts: per object (an object two sources share,
  such as Case, once), ``ceil(rows of those accounts / page)``; HubSpot also ``ceil(accounts / 1000)``
  association reads per associated object type and ``ceil(accounts / 100)`` searches for a link held
  in a property (``IN`` takes 100 values);
* the task budget's read-back (Salesforce): when a changed account has an open tiersync task, the run
  must learn which of its owners' open tasks users finished: ``ceil(those open tasks / page)``. On
  HubSpot the run's task read-back counts, but its minimum leaves it out (a stricter ratio). Owner
  names are not counted (they can be kept between runs, and are);
* writes: ``ceil(accounts updated / batch) + ceil(tasks created / batch) + ceil(tasks closed / batch)``.

Pages are 2,000 rows on Salesforce REST, 100 (batch read, list) or 200 (search) on HubSpot; batches
200 on Salesforce, 100 on HubSpot. The ratio printed is all calls of the run / that minimum.
Run: ``.venv/bin/python benchmarks/sync_calls.py [--accounts 20000] [--crm salesforce|hubspot]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
import simple_salesforce

from connector.config import Settings
from connector.crm.factory import make_adapter, mapping_path
from connector.crm.hubspot import HubSpotAdapter
from connector.crm.mapping import load_mapping
from connector.crm.salesforce import SalesforceAdapter
from connector.model import Trait
from connector.sandbox.runtime import start
from connector.sync.engine import SyncEngine
from connector.sync.state import State

AS_OF = dt.date(2026, 11, 1)
LIMITS = {"salesforce": {"page": 2000, "write": 200}, "hubspot": {"page": 100, "write": 100}}
SF_SOURCES = {  # object -> filter on stored rows matching the default mapping
    "Account": lambda r: r.get("Type") != "Prospect",
    "Invoice__c": lambda r: True,
    "Case": lambda r: True,
    "Opportunity": lambda r: r.get("StageName") == "Closed Won" and r.get("Referred_By__c"),
    "Survey_Response__c": lambda r: True,
    "Event": lambda r: True,
}


HS_SEARCH_PAGE, HS_BATCH, HS_ASSOCIATIONS, HS_IN_VALUES = 200, 100, 1000, 100
HS_EVIDENCE = {  # object type -> linked to companies by association (None) or by this property
    "invoices": None,
    "tickets": None,
    "meetings": None,
    "deals": "referred_by_company_id",
}


def minimum_reads(sandbox: Any, crm: str) -> int:
    page = LIMITS[crm]["page"]
    if crm == "salesforce":
        total = 0
        for obj, keep in SF_SOURCES.items():
            rows = sum(1 for r in sandbox.salesforce.records(obj) if keep(r) and not r.get("IsDeleted"))
            total += math.ceil(rows / page)
        return total
    hs = sandbox.hubspot
    companies = hs.objects("companies")
    clients = [c["id"] for c in companies if c["properties"].get("lifecyclestage") == "customer"]
    # the cheaper way to the clients (the adapter chooses alike: benchmarks/hubspot_client_read.py)
    total = min(math.ceil(len(companies) / page), math.ceil(len(clients) / HS_SEARCH_PAGE))
    for kind, prop in HS_EVIDENCE.items():
        if prop is None:  # associated evidence: 1,000-id association reads, then the records
            linked = {r for c in clients for r in hs.associations("companies", c, kind)}
            total += math.ceil(len(clients) / HS_ASSOCIATIONS) + math.ceil(len(linked) / HS_BATCH)
        else:  # linked by a property: searched, 200 a page
            wanted = set(clients)
            rows = sum(1 for d in hs.objects(kind) if d["properties"].get(prop) in wanted)
            total += math.ceil(rows / HS_SEARCH_PAGE)
    return total


def fixed_calls(sandbox: Any, settings: Settings, workdir: Path) -> None:
    """The calls every run pays before reading (describes + the mapping check), on a fresh adapter
    as ``tiersync sync`` builds one per run: without the cross-run describe cache, then with it warm."""
    cache = workdir / "describes.json"
    for ttl in (0.0, 3600.0):
        sf = settings.salesforce.model_copy(update={"describe_ttl_seconds": ttl})
        for _ in range(2):  # the second fresh adapter finds the cache warm (when there is one)
            sandbox.ledger.reset()
            SalesforceAdapter(sf, load_mapping(mapping_path(settings)), describe_cache=cache).check()
        calls = sandbox.ledger.calls()
        described = sum(1 for c in calls if "/describe" in c.path)
        print(
            f"fixed calls per run (describe_ttl_seconds={ttl:g}): {len(calls)} "
            f"({described} describes, {len(calls) - described} mapping-check queries)"
        )


def hs_fixed_calls(sandbox: Any, settings: Settings, workdir: Path) -> None:
    """HubSpot's calls before reading (which portal, property definitions for the mapping check), on
    a fresh adapter per run: without the cross-run cache, then with it warm."""
    cache = workdir / "fixed.properties.json"
    for ttl in (0.0, 3600.0):
        hs = settings.hubspot.model_copy(update={"properties_ttl_seconds": ttl})
        for _ in range(2):  # the second fresh adapter finds the cache warm (when there is one)
            sandbox.ledger.reset()
            adapter = HubSpotAdapter(hs, load_mapping(mapping_path(settings)), metadata_cache=cache)
            adapter.org_id()
            adapter.check()
        calls = sandbox.ledger.calls()
        properties = sum(1 for c in calls if c.path.startswith("/crm/v3/properties"))
        print(
            f"fixed calls per run (properties_ttl_seconds={ttl:g}): {len(calls)} "
            f"({properties} properties, {len(calls) - properties} account details)"
        )


def bulk_minimum(sandbox: Any, full: Any, page: int) -> tuple[int, int]:
    """Bulk API 2.0's least calls for the same data: per query job create, one status poll and a
    results page per ``page`` rows; per ingest job create, upload, close, one poll and one results
    read; one ingest job per object written per page of ``page`` accounts."""
    reads = 0
    for obj, keep in SF_SOURCES.items():
        rows = sum(1 for r in sandbox.salesforce.records(obj) if keep(r) and not r.get("IsDeleted"))
        reads += 2 + max(1, math.ceil(rows / page))
    jobs = math.ceil(full.accounts_read / page)
    writes = 5 * (jobs if full.accounts_updated else 0) + 5 * (jobs if full.tasks_created else 0)
    return reads, writes


def log_complaints(sandbox: Any, crm: str, settings: Settings, share: float) -> tuple[list[str], int]:
    """A user logs one complaint for every ``1/share``-th client, through the CRM's API (one batch
    call per 200 or 100; the ledger is reset after). Returns the changed account ids and the new rows."""
    ids = sorted(sandbox.account_ids[crm].values(), key=lambda i: (len(i), i))
    changed = ids[:: round(1 / share)]
    if crm == "salesforce":
        session = requests.Session()
        session.trust_env = False
        session.verify = settings.salesforce.ca_bundle
        sf = simple_salesforce.Salesforce(
            instance_url=settings.salesforce.instance_url,
            session_id=settings.salesforce.session_id.get_secret_value(),
            session=session,
            version=settings.salesforce.api_version,
        )
        for start in range(0, len(changed), 200):
            records = [
                {
                    "attributes": {"type": "Case"},
                    "AccountId": a,
                    "Type": "Complaint",
                    "Subject": "Late delivery",
                }
                for a in changed[start : start + 200]
            ]
            answer = sf.restful(
                "composite/sobjects", method="POST", json={"allOrNone": True, "records": records}
            )
            assert all(r["success"] for r in answer), answer
    else:
        session = requests.Session()
        session.trust_env = False
        session.verify = settings.hubspot.ca_bundle
        session.headers["Authorization"] = f"Bearer {settings.hubspot.access_token.get_secret_value()}"
        for start in range(0, len(changed), 100):
            inputs = [
                {
                    "properties": {
                        "subject": "Late delivery",
                        "hs_pipeline": "0",
                        "hs_pipeline_stage": "1",
                        "hs_ticket_category": "COMPLAINT",
                    },
                    "associations": [
                        {
                            "to": {"id": a},
                            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 339}],
                        }
                    ],
                }
                for a in changed[start : start + 100]
            ]
            answer = session.post(
                f"{settings.hubspot.host}/crm/v3/objects/tickets/batch/create", json={"inputs": inputs}
            )
            assert answer.status_code == 201, answer.text
    sandbox.ledger.reset()
    return changed, len(changed)


def sf_change_minimum(sandbox: Any, settings: Settings, changed: list[str], new_rows: int) -> int:
    """Reads a 1% change needs on Salesforce REST (see the module docstring), from the org's rows."""
    page = LIMITS["salesforce"]["page"]
    mapping = load_mapping(mapping_path(settings))
    wanted = set(changed)
    links: dict[str, set[str]] = {}
    for source in mapping.sources().values():
        links.setdefault(source.object, set()).add(source.account)
    detect = sum(max(1, math.ceil((new_rows if obj == "Case" else 0) / page)) for obj in links)
    read = 0
    for obj, fields in links.items():
        keep = SF_SOURCES[obj]
        rows = sum(
            1
            for r in sandbox.salesforce.records(obj)
            if not r.get("IsDeleted") and keep(r) and any(r.get(f) in wanted for f in fields)
        )
        read += math.ceil(rows / page)
    tasks = mapping.tasks
    open_tasks = [
        t
        for t in sandbox.salesforce.records(tasks.object)
        if t.get(tasks.key) and not t.get("IsDeleted") and t.get(tasks.status) != tasks.closed_status
    ]
    owners = {t.get(tasks.owner) for t in open_tasks if t.get("WhatId") in wanted}
    read += math.ceil(sum(1 for t in open_tasks if t.get(tasks.owner) in owners) / page)
    return detect + read


def hs_change_minimum(sandbox: Any, changed: list[str], new_rows: int) -> int:
    """Reads a 1% change needs on HubSpot (see the module docstring), from the portal's records."""
    hs = sandbox.hubspot
    wanted = set(changed)
    detect = 1  # companies: none changed, but asked
    detect += sum(
        max(1, math.ceil((new_rows if t == "tickets" else 0) / HS_SEARCH_PAGE)) for t in HS_EVIDENCE
    )
    detect += math.ceil(new_rows / HS_ASSOCIATIONS)  # the new tickets' companies
    read = math.ceil(len(changed) / HS_BATCH)  # the companies, surveys and goals on them included
    for kind, prop in HS_EVIDENCE.items():
        if prop is None:
            rows = sum(len(hs.associations("companies", c, kind)) for c in changed)
            read += math.ceil(len(changed) / HS_ASSOCIATIONS) + math.ceil(rows / HS_BATCH)
        else:
            rows = sum(1 for d in hs.objects(kind) if d["properties"].get(prop) in wanted)
            read += max(math.ceil(len(changed) / HS_IN_VALUES), math.ceil(rows / HS_SEARCH_PAGE))
    return detect + read


def one_percent(sandbox: Any, crm: str, settings: Settings, workdir: Path, label: str, bulk: bool) -> None:
    """The goal line: a 1% change, synced by a fresh adapter with the describe cache warm."""
    changed, new_rows = log_complaints(sandbox, crm, settings, 0.01)
    state = State(workdir / "state.sqlite")
    engine = SyncEngine(make_adapter(settings), settings, state, "bench")
    run, _ = engine.run("incremental")
    state.close()
    calls = sandbox.ledger.calls()
    if crm == "salesforce":
        reads = sf_change_minimum(sandbox, settings, changed, new_rows)
        batch = LIMITS["salesforce"]["write"]
    else:
        reads = hs_change_minimum(sandbox, changed, new_rows)
        batch = LIMITS["hubspot"]["write"]
    per_write = 5 if bulk else 1  # a Bulk 2.0 ingest job: create, upload, close, poll, results
    writes = per_write * sum(
        math.ceil(n / batch) for n in (run.accounts_updated, run.tasks_created, run.tasks_closed)
    )
    minimum = reads + writes
    accounts = len(sandbox.account_ids[crm])
    describes = sum(1 for c in calls if "/describe" in c.path or c.path.startswith("/crm/v3/properties"))
    print(
        f"GOAL 1% change at {accounts:,} accounts, {label}: {run.status}, {len(changed):,} accounts changed, "
        f"{run.accounts_read:,} read, {run.accounts_updated:,} updated, {run.tasks_created:,} tasks created"
    )
    print(
        f"  API calls: {len(calls)} all included ({describes} describe/properties); minimum {minimum} "
        f"({reads} read, {writes} write, no fixed call)"
    )
    print(f"  ratio: {len(calls) / minimum:.2f}x the minimum, fixed overhead included (goal <= 1.2x)")
    shown = Counter(f"{c.method} {c.path.split('/v60.0')[-1]}" for c in calls)
    print("  calls: " + ", ".join(f"{n} {what}" for what, n in shown.items()))


def one_path(crm: str, accounts: int, bulk: bool) -> None:
    """A full sync then a no-change re-sync on a freshly seeded sandbox, by REST or by Bulk 2.0."""
    workdir = Path(tempfile.mkdtemp(prefix="tiersync-bench-"))
    t0 = time.perf_counter()
    sandbox = start(crm, accounts=accounts, seed=3, as_of=AS_OF, workdir=workdir)
    print(
        f"== {crm} {'Bulk 2.0' if bulk else 'REST'}: seeded {accounts:,} accounts in {time.perf_counter() - t0:.1f} s"
    )
    if crm == "hubspot":
        # the sandbox's emulated rate limits and OpenAPI checks cost wall time, not calls
        sandbox.hubspot.limits.burst_limit = 0
        sandbox.hubspot.limits.search_per_second = 0
        sandbox.hubspot.validate_requests = False
    crm_settings = sandbox.salesforce_settings() if crm == "salesforce" else sandbox.hubspot_settings()
    if crm == "salesforce":  # one path per run: Bulk for every read and write, or never
        crm_settings = {**crm_settings, "bulk_threshold": 0 if bulk else 10**9}
    settings = Settings.model_validate(
        {
            "crm": crm,
            crm: crm_settings,
            "state_path": str(workdir / "state.sqlite"),
            "evidence": {"as_of": str(AS_OF)},
            # seeded seconds before the first run on this machine's clock: no skew to look back over,
            # or the re-sync would re-read the whole freshly seeded org
            "sync": {"lookback_minutes": 0},
        }
    )
    if crm == "salesforce":  # as a scheduled job would run: describes kept between runs
        settings = settings.model_copy(
            update={"salesforce": settings.salesforce.model_copy(update={"describe_ttl_seconds": 3600.0})}
        )
    else:  # the same for HubSpot: property definitions, the portal id and owner names
        kept = {"properties_ttl_seconds": 3600.0, "owners_ttl_seconds": 3600.0}
        settings = settings.model_copy(update={"hubspot": settings.hubspot.model_copy(update=kept)})
    adapter = make_adapter(settings)
    adapter.setup_fields({t.value: t.value for t in Trait}, False)
    time.sleep(1.1)  # change queries floor the watermark to the second: keep the seeding out of it
    sandbox.ledger.reset()
    state = State(workdir / "state.sqlite")
    engine = SyncEngine(adapter, settings, state, "bench")

    t0 = time.perf_counter()
    full, _ = engine.run("full")
    elapsed = time.perf_counter() - t0
    calls = sandbox.ledger.calls()
    kinds = Counter("write" if c.write else "read" for c in calls)
    describes = sum(
        1
        for c in calls
        if "/describe" in c.path
        or c.path.endswith("/v60.0/sobjects")
        or c.path.startswith("/crm/v3/properties")
    )
    limits = LIMITS[crm]
    if bulk:
        min_reads, min_writes = bulk_minimum(sandbox, full, settings.salesforce.bulk_page_size)
        unit = f"Bulk 2.0 job calls, result pages of {settings.salesforce.bulk_page_size:,}"
    else:
        min_reads = minimum_reads(sandbox, crm)
        min_writes = math.ceil(full.accounts_updated / limits["write"]) + math.ceil(
            full.tasks_created / limits["write"]
        )
        unit = f"read pages of {limits['page']}, writes of {limits['write']}"
    minimum = min_reads + min_writes
    actual = len(calls) - describes
    print(
        f"full sync: {full.status}, {full.accounts_read:,} accounts, {full.accounts_updated:,} updated, "
        f"{full.tasks_created:,} tasks, {elapsed:.1f} s ({full.accounts_read / elapsed:,.0f} accounts/s)"
    )
    print(
        f"  API calls: {len(calls):,} ({kinds['read']:,} read, {kinds['write']:,} write; {describes} describe/metadata)"
    )
    print(f"  theoretical minimum: {minimum:,} ({min_reads:,} read, {min_writes:,} write; {unit})")
    print(f"  ratio: {actual / minimum:.3f}x its own minimum (describe/metadata excluded)")

    sandbox.ledger.reset()
    t0 = time.perf_counter()
    again, _ = engine.run("incremental")
    calls = sandbox.ledger.calls()
    writes = sum(1 for c in calls if c.write)
    rows = sum(c.records for c in calls if not c.write)
    print(
        f"no-change re-sync: {again.status}, {again.accounts_read:,} accounts re-read, {len(calls):,} API calls, "
        f"{rows:,} rows read ({rows / accounts:.1%} of {accounts:,} accounts), {writes} writes "
        f"(must be 0), {time.perf_counter() - t0:.1f} s"
    )
    state.close()
    one_percent(sandbox, crm, settings, workdir, "Bulk 2.0 path" if bulk else "REST", bulk)
    if crm == "salesforce":
        fixed_calls(sandbox, settings, workdir)
    else:
        hs_fixed_calls(sandbox, settings, workdir)
    sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--crm", default="salesforce", choices=["salesforce", "hubspot"])
    args = parser.parse_args()
    for bulk in (False, True) if args.crm == "salesforce" else (False,):
        one_path(args.crm, args.accounts, bulk)
    print(
        f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB (sandbox included)"
    )


if __name__ == "__main__":
    main()
