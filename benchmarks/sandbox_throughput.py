"""Requests per second the sandbox CRM answers, and its CPU per call as the org grows.

Benchmarks of the sync count API calls against the sandbox; this shows the sandbox is not what limits
them. Without ``--sizes`` it prints requests per second through the real client libraries.

With ``--sizes`` it prints, per CRM, a table of the sandbox's CPU per call on orgs and portals of each
size (seeded alike, seed 1), for the calls a sync makes, and the ratio largest ÷ smallest per call.
**Flat** means that ratio is at most ``FLAT`` (1.3): a call then costs what it returns, not the org's
size, so a 200k-account run is bound by tiersync, not by the sandbox. A row above it is flagged
``NOT FLAT``, and so is a row whose calls return a different number of records at different sizes (the
shapes would differ); the exit status is then 1.

How it measures, so that noise does not decide:

- CPU, not wall time: *sandbox* is the serving thread's ``time.thread_time`` per request (summed by the
  ledger), the sandbox's own work; *process* is ``time.process_time`` of this whole process over the
  same calls (client library, TLS and sandbox), shown beside it as a cross-check.
- Interleaved: the smallest org stays up while each larger one is measured against it in the same
  rounds (the order alternating), so the machine's load (shared by others) drifts over both alike;
  each figure is the median of ``--rounds`` rounds of ``--calls`` calls.
- Same call shapes at every size: the same number of ids per call, pages from the middle of the id
  order, and ids picked so that each returns the same number of children (``rows`` shows it).
- One full ``gc.collect()`` after seeding: collecting the seeding's garbage is no call's cost.

Run (``nice``: the machine is shared):
``nice .venv/bin/python benchmarks/sandbox_throughput.py --sizes 5000,20000,50000 [--check 200000]``
(``--check`` adds a larger Salesforce org to the same table; a HubSpot portal of 200k needs ~15 GB).

With ``--seed-sizes`` it seeds a Salesforce org of each size, each in a fresh child process (so one
size's freed memory is not the next one's RSS), and prints per size: the records the generator's
normal evidence density gives, the seconds per 1,000 accounts (generating the roster and seeding the
org), the child's RSS once seeded and its peak, and the sandbox's CPU per written row for the two
write paths a sync uses: a composite sObject collections update of 200 accounts and a Bulk 2.0 ingest
job updating 10,000 (after a change query, so the ``SystemModstamp`` index each write moves exists).
Then the ratio largest ÷ smallest of each per-1,000 and per-row figure: **linear** (seeding, judged
on CPU seconds; wall seconds are shown, but the machine is shared) and **flat** (writes) when at most
``FLAT``. A 1M-account org needs ~10 GB: check ``free -m`` first.
``nice .venv/bin/python benchmarks/sandbox_throughput.py --seed-sizes 1000000,50000,200000`` (largest first).

With ``--index-writes 100000,1000000`` it prints, in this process, the CPU per write that moves
``SystemModstamp`` in a store of each size whose rows each have their own stamp: the index's sorted
values take O(log n) per write, so the figure stays flat (exit 1 if not).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests
import simple_salesforce

from connector.sandbox.runtime import Sandbox, start

FLAT = 1.3
"""Largest ÷ smallest CPU per call at most this: flat."""

Work = dict[str, Callable[[], object]]


def rate(call: Callable[[], object], seconds: float, threads: int) -> float:
    done = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            call()
            done[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done) / seconds


def _session(ca_bundle: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # this machine's CA bundle variables would win over verify=
    session.verify = ca_bundle
    return session


def _with_children(parents: Sequence[str], counts: Counter[str], how_many: int, each: int) -> list[str]:
    """``how_many`` parents from the middle of ``parents`` on (wrapping) holding exactly ``each``
    children, so that a call by these parents returns the same rows at every org size."""
    middle = len(parents) // 2
    picked = [p for p in itertools.chain(parents[middle:], parents[:middle]) if counts[p] == each]
    if len(picked) < how_many:
        raise SystemExit(f"only {len(picked)} parents with {each} children; seed a larger org")
    return picked[:how_many]


def _range_holding(parents: Sequence[str], counts: Counter[str], rows: int) -> tuple[str, str]:
    """The first run of consecutive parents from the middle on whose children add up to exactly
    ``rows``: the bounds of a page's evidence query (``AccountId >= a AND AccountId <= b``)."""
    first, total = len(parents) // 2, 0
    for last in range(first, len(parents)):
        total += counts[parents[last]]
        while total > rows:
            total -= counts[parents[first]]
            first += 1
        if total == rows:
            return parents[first], parents[last]
    raise SystemExit(f"no run of parents with {rows} children after the middle; seed a larger org")


def salesforce_work(sandbox: Sandbox) -> Work:
    """The calls a Salesforce sync makes, on this org: by id, by parent, pages of accounts."""
    assert sandbox.salesforce is not None
    info = sandbox.salesforce_settings()
    sf = simple_salesforce.Salesforce(
        instance_url=info["instance_url"],
        session_id=info["session_id"],
        session=_session(info["ca_bundle"]),
        version="60.0",
    )
    org = sandbox.salesforce.org
    every = sorted(sandbox.account_ids["salesforce"].values())
    ids = every[len(every) // 2 :][:200]
    middle = every[len(every) // 2]
    quoted = ", ".join(f"'{i}'" for i in ids)
    cases = Counter(str(r["AccountId"]) for r in org.data.rows("Case") if r.get("AccountId"))
    events = Counter(str(r["WhatId"]) for r in org.data.rows("Event") if r.get("WhatId"))
    with_cases = ", ".join(f"'{i}'" for i in _with_children(every, cases, 200, 2))
    with_events = ", ".join(f"'{i}'" for i in _with_children(every, events, 200, 4))
    low, high = _range_holding(every, cases, 1500)
    runs = itertools.count()

    def update_accounts() -> object:
        run = next(runs)
        records = [{"attributes": {"type": "Account"}, "id": i, "Name": f"Account {i} {run}"} for i in ids]
        answer = sf.restful(
            "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records}
        )
        assert all(r["success"] for r in answer), answer
        return answer

    # the change query's window opens at the next whole second (SOQL datetimes are to the second),
    # after the seeding: only the 200 accounts the update call writes changed since
    time.sleep(1.001 - time.time() % 1)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    update_accounts()
    return {
        "get Account by id": lambda: sf.Account.get(middle),
        "Account WHERE Id IN (200)": lambda: sf.query(f"SELECT Id, Name FROM Account WHERE Id IN ({quoted})"),
        "Case WHERE AccountId IN (200 x 2 cases)": lambda: sf.query(
            f"SELECT Id, Status FROM Case WHERE AccountId IN ({with_cases})"
        ),
        "Case WHERE AccountId range (1500 cases)": lambda: sf.query(
            f"SELECT Id, Status FROM Case WHERE (AccountId >= '{low}' AND AccountId <= '{high}')"
        ),
        "Event queryAll WhatId IN (200 x 4 events)": lambda: sf.query_all(
            f"SELECT Id, ActivityDate FROM Event WHERE (WhatId IN ({with_events})) AND (IsDeleted = false)",
            include_deleted=True,
        ),
        "Account page ORDER BY Id LIMIT 2000": lambda: sf.query(
            "SELECT Id, Name FROM Account ORDER BY Id LIMIT 2000"
        ),
        "Account page after an Id LIMIT 2000": lambda: sf.query(
            f"SELECT Id, Name FROM Account WHERE Id > '{middle}' ORDER BY Id LIMIT 2000"
        ),
        "change query SystemModstamp >= t (200)": lambda: sf.query(
            f"SELECT Id FROM Account WHERE SystemModstamp >= {since}"
        ),
        "composite update 200 Accounts": update_accounts,
    }


def hubspot_work(sandbox: Sandbox) -> Work:
    """The calls a HubSpot sync makes, on this portal: get, list, batch read, associations, search."""
    hs = sandbox.hubspot
    hs.limits.burst_limit = 0  # the server's work, not the emulated rate limits
    hs.limits.search_per_second = 0
    info = sandbox.hubspot_settings()
    session = _session(info["ca_bundle"])
    session.headers["Authorization"] = f"Bearer {info['access_token']}"
    host = info["host"]
    every = sorted(sandbox.account_ids["hubspot"].values(), key=int)
    page = every[len(every) // 2 :][:100]
    middle = every[len(every) // 2]
    tickets = Counter({c: len(hs.portal.associations.targets("companies", c, "tickets")) for c in every})
    with_tickets = _with_children(every, tickets, 100, 2)
    referred = Counter(
        str(d.properties.get("referred_by_company_id"))
        for d in hs.portal.store.live("deals")
        if d.properties.get("referred_by_company_id")
    )
    referrers = _with_children(every, referred, 50, 1)
    time.sleep(0.01)  # past the seeding's last millisecond: only the renames below changed since
    since = str(int(time.time() * 1000))
    renamed = every[:50]  # the change query's window on hs_object_id holds these 50 changes
    for company in renamed:
        answer = session.patch(
            f"{host}/crm/v3/objects/companies/{company}",
            json={"properties": {"name": f"Renamed {company}"}},
        )
        assert answer.status_code == 200, answer.text
    # every search differs from the one before (the sandbox caches a search's matches per store
    # version, and a hit would measure nothing) by an hs_object_id > n every record meets (ids > 1000)
    counter, runs = itertools.count(), itertools.count()

    def post(path: str, body: dict[str, object]) -> object:
        answer = session.post(f"{host}{path}", json=body)
        assert answer.status_code == 200, answer.text
        return answer

    def search(object_type: str, filters: list[dict[str, object]]) -> object:
        fresh = {"propertyName": "hs_object_id", "operator": "GT", "value": str(next(counter) % 1000)}
        return post(
            f"/crm/v3/objects/{object_type}/search",
            {
                "filterGroups": [{"filters": [*filters, fresh]}],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "limit": 200,
            },
        )

    def get(path: str, params: dict[str, str | int] | None = None) -> object:
        answer = session.get(f"{host}{path}", params=params)
        assert answer.status_code == 200, answer.text
        return answer

    return {
        "get company by id": lambda: get(f"/crm/v3/objects/companies/{middle}"),
        "list companies page (100, mid-portal)": lambda: get(
            "/crm/v3/objects/companies", {"limit": 100, "after": middle}
        ),
        "batch read 100 companies": lambda: post(
            "/crm/v3/objects/companies/batch/read",
            {"inputs": [{"id": i} for i in page], "properties": ["name"]},
        ),
        "associations companies->tickets (100 x 2)": lambda: post(
            "/crm/v4/associations/companies/tickets/batch/read", {"inputs": [{"id": i} for i in with_tickets]}
        ),
        "search deals referred_by IN (50 x 1)": lambda: search(
            "deals", [{"propertyName": "referred_by_company_id", "operator": "IN", "values": referrers}]
        ),
        "search companies modified since (50)": lambda: search(
            "companies",
            [
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since},
                {"propertyName": "hs_object_id", "operator": "LTE", "value": renamed[-1]},
            ],
        ),
        "batch update 100 companies": lambda: post(
            "/crm/v3/objects/companies/batch/update",
            {"inputs": [{"id": i, "properties": {"name": f"Company {i} {next(runs)}"}} for i in page]},
        ),
    }


@dataclass
class Figures:
    """One call's samples at one size: ms per call for each round, and the records it returned."""

    sandbox: list[float] = field(default_factory=list)
    process: list[float] = field(default_factory=list)
    records: set[int] = field(default_factory=set)


def _run(sandbox: Sandbox, call: Callable[[], object], calls: int, into: Figures) -> None:
    sandbox.ledger.reset()
    began = time.process_time()
    for _ in range(calls):
        call()
    spent = time.process_time() - began
    seconds, served = sandbox.ledger.cpu()
    assert served == calls, f"{served} requests for {calls} calls"
    into.sandbox.append(1000 * seconds / served)
    into.process.append(1000 * spent / calls)
    into.records.update(c.records for c in sandbox.ledger.calls())


def _start(crm: str, accounts: int) -> Sandbox:
    sandbox = start(crm, accounts=accounts, seed=1, workdir=Path(tempfile.mkdtemp(prefix="tiersync-cpu-")))
    gc.collect()  # the seeding's garbage, collected once here rather than inside a measured call
    return sandbox


def measure(crm: str, sizes: Sequence[int], rounds: int, calls: int) -> dict[str, dict[int, Figures]]:
    """Figures per call and size; each larger size is measured in rounds interleaved with the smallest."""
    build = salesforce_work if crm == "salesforce" else hubspot_work
    smallest = min(sizes)
    base = _start(crm, smallest)
    figures: dict[str, dict[int, Figures]] = {}
    try:
        base_work = build(base)
        for name, call in base_work.items():
            call()  # indexes are made on a field's first use
            figures[name] = {n: Figures() for n in sizes}
        for size in sorted(n for n in sizes if n != smallest):
            other = _start(crm, size)
            try:
                other_work = build(other)
                for call in other_work.values():
                    call()
                for turn in range(rounds):
                    pair = [(base, base_work, smallest), (other, other_work, size)]
                    for sandbox, work, n in pair if turn % 2 == 0 else pair[::-1]:
                        for name, call in work.items():
                            _run(sandbox, call, calls, figures[name][n])
            finally:
                other.stop()
                del other, other_work
                gc.collect()
        if len(sizes) == 1:
            for _ in range(rounds):
                for name, call in base_work.items():
                    _run(base, call, calls, figures[name][smallest])
    finally:
        base.stop()
    return figures


def report(crm: str, figures: dict[str, dict[int, Figures]], sizes: Sequence[int]) -> list[str]:
    """Print the table; returns the calls that are not flat."""
    ordered = sorted(sizes)
    low, high = ordered[0], ordered[-1]
    width = max(len(name) for name in figures)
    heads = "  ".join(f"{n:>8,}" for n in ordered)
    print(
        f"\n{crm} sandbox CPU per call, ms (median of rounds; sandbox = serving thread, process = whole process)"
    )
    print(
        f"{'call':<{width}}  {'rows':>11}  sandbox {heads}  {f'{high:,}/{low:,}':>7}  process {heads}  ratio"
    )
    bad: list[str] = []
    for name, per_size in figures.items():
        sandbox = {n: statistics.median(per_size[n].sandbox) for n in ordered}
        process = {n: statistics.median(per_size[n].process) for n in ordered}
        ratio, process_ratio = sandbox[high] / sandbox[low], process[high] / process[low]
        rows = sorted(set().union(*(per_size[n].records for n in ordered)))
        shape = "/".join(str(r) for r in rows)
        flags = []
        if ratio > FLAT or process_ratio > FLAT:
            flags.append("NOT FLAT")
        if len(rows) > 1:
            flags.append("rows differ by size")
        if flags:
            bad.append(name)
        print(
            f"{name:<{width}}  {shape:>11}  sandbox {'  '.join(f'{sandbox[n]:8.3f}' for n in ordered)}"
            f"  {ratio:6.2f}x  process {'  '.join(f'{process[n]:8.3f}' for n in ordered)}"
            f"  {process_ratio:4.2f}x  {' '.join(flags) or 'flat'}",
            flush=True,
        )
    return bad


WRITE_ROWS = 10_000
"""Accounts the Bulk 2.0 ingest job of ``--seed-sizes`` updates."""


def _memory_mb() -> tuple[float, float]:
    """This process's resident set and its peak, MB (``VmRSS``, ``VmHWM``)."""
    status = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def _write_costs(sandbox: Sandbox, account_ids: Sequence[str]) -> dict[str, float]:
    """Sandbox CPU ms per row of a composite update of 200 accounts and of a Bulk 2.0 ingest job."""
    info = sandbox.salesforce_settings()
    session = _session(info["ca_bundle"])
    session.headers["Authorization"] = f"Bearer {info['session_id']}"
    base = f"{info['instance_url']}/services/data/v60.0"
    middle = len(account_ids) // 2
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    answer = session.get(
        f"{base}/query", params={"q": f"SELECT Id FROM Account WHERE SystemModstamp >= {since} LIMIT 1"}
    )
    assert answer.status_code == 200, answer.text  # the change query: its index exists from here on
    costs: dict[str, float] = {}
    batch = account_ids[middle : middle + 200]
    sandbox.ledger.reset()
    for run in range(5):
        records = [{"attributes": {"type": "Account"}, "id": i, "Name": f"Renamed {i} {run}"} for i in batch]
        answer = session.patch(f"{base}/composite/sobjects", json={"allOrNone": False, "records": records})
        assert answer.status_code == 200 and all(r["success"] for r in answer.json()), answer.text
    seconds, _ = sandbox.ledger.cpu()
    costs["composite update"] = 1000 * seconds / (5 * len(batch))
    rows = account_ids[: WRITE_ROWS // 2] + account_ids[-WRITE_ROWS // 2 :]
    job = session.post(
        f"{base}/jobs/ingest",
        json={"object": "Account", "operation": "update", "contentType": "CSV", "lineEnding": "LF"},
    ).json()
    body = "Id,Name\n" + "".join(f"{i},Bulk {i}\n" for i in rows)
    answer = session.put(
        f"{base}/jobs/ingest/{job['id']}/batches", data=body.encode(), headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 201, answer.text
    sandbox.ledger.reset()
    answer = session.patch(f"{base}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert answer.status_code == 200, answer.text
    seconds, _ = sandbox.ledger.cpu()
    costs["bulk ingest update"] = 1000 * seconds / len(rows)
    return costs


def _seed_one(accounts: int) -> None:
    """The child of ``--seed-sizes``: seed one org, print its figures as one JSON line."""
    baseline, _ = _memory_mb()
    began, cpu = time.perf_counter(), time.process_time()
    sandbox = start(
        "salesforce", accounts=accounts, seed=1, workdir=Path(tempfile.mkdtemp(prefix="tiersync-seed-"))
    )
    seeded, cpu = time.perf_counter() - began, time.process_time() - cpu
    gc.collect()
    rss, peak = _memory_mb()
    try:
        assert sandbox.salesforce is not None
        org = sandbox.salesforce.org
        rows = {name: len(table) for name, table in org.data.tables.items() if len(table) > 100}
        writes = _write_costs(sandbox, sorted(sandbox.account_ids["salesforce"].values()))
    finally:
        sandbox.stop()
    print(
        json.dumps(
            {
                "accounts": accounts,
                "seconds": seeded,
                "cpu": cpu,
                "rss": rss,
                "peak": peak,
                "baseline": baseline,
                "rows": rows,
                **writes,
            }
        )
    )


def index_writes(sizes: Sequence[int], writes: int = 5000) -> bool:
    """CPU per write that moves ``SystemModstamp`` in a store of each size whose rows each carry their
    own stamp (a million-entry index), in this process: a list index paid a move of the entries after
    the old value per write (O(n)); a sorted list pays O(log n). True when flat."""
    from connector.sandbox.salesforce.ids import IdFactory
    from connector.sandbox.salesforce.schema import standard_objects
    from connector.sandbox.salesforce.store import Store

    def stamp(at: int) -> str:
        second, milli = divmod(at, 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_767_225_600 + second)) + f".{milli:03d}+0000"

    per_row: dict[int, float] = {}
    for size in sizes:
        store = Store(standard_objects(), IdFactory())
        ids = [store.new_id(store.objects["Account"]) for _ in range(size)]
        for at, record_id in enumerate(ids):
            store.put(
                "Account",
                {"Id": record_id, "Name": f"A{at}", "IsDeleted": False, "SystemModstamp": stamp(at)},
            )
        store.seek("Account", "SystemModstamp", low=(stamp(size), True))  # the change query makes the index
        later = stamp(size + 10)
        began = time.process_time()
        for record_id in ids[size // 4 : size // 4 + writes]:
            row = store.get("Account", record_id)
            assert row is not None
            store.put("Account", {**row, "SystemModstamp": later})
        per_row[size] = 1e6 * (time.process_time() - began) / writes
        print(f"{size:>9,} rows, {size:,} stamps: {per_row[size]:7.1f} us CPU per write row", flush=True)
        del store, ids
        gc.collect()
    ratio = per_row[max(sizes)] / per_row[min(sizes)]
    print(
        f"write per row {max(sizes):,} / {min(sizes):,}: {ratio:.2f}x  {'flat' if ratio <= FLAT else 'NOT FLAT'}"
    )
    return ratio <= FLAT


def seed_sizes(sizes: Sequence[int]) -> bool:
    """Seed an org of each size in a child process; print the table; True when linear and flat."""
    allocator = os.environ.get("_RJEM_MALLOC_CONF")
    if allocator:
        print(f"polars' jemalloc: _RJEM_MALLOC_CONF={allocator}")
    results = []
    for size in sizes:  # in the order given: the largest first shows its figures soonest
        child = subprocess.run(
            [sys.executable, __file__, "--seed-one", str(size)], capture_output=True, text=True, check=False
        )
        if child.returncode != 0:
            raise SystemExit(f"seeding {size:,} accounts failed:\n{child.stderr[-3000:]}")
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        figures = results[-1]
        print(
            f"{size:>9,} accounts: seeded in {figures['seconds']:7.1f} s = {1000 * figures['seconds'] / size:6.3f} s"
            f" per 1,000 (CPU {1000 * figures['cpu'] / size:6.3f} s); RSS {figures['rss']:8,.0f} MB (peak {figures['peak']:8,.0f}) ="
            f" {1024 * (figures['rss'] - figures['baseline']) / size:5.1f} KB per account above the"
            f" {figures['baseline']:,.0f} MB before seeding; sandbox CPU per written row:"
            f" composite {figures['composite update']:.3f} ms, Bulk ingest {figures['bulk ingest update']:.3f} ms",
            flush=True,
        )
        print("           rows: " + ", ".join(f"{name} {count:,}" for name, count in figures["rows"].items()))
    results.sort(key=lambda figures: int(figures["accounts"]))
    low, high = results[0], results[-1]
    ok = True
    for label, key, scale in (
        ("seconds per 1,000 accounts", "seconds", True),
        ("CPU seconds per 1,000 accounts", "cpu", True),
        ("RSS per account", "rss", True),
        ("composite update, ms per row", "composite update", False),
        ("Bulk ingest update, ms per row", "bulk ingest update", False),
    ):
        floor = low["baseline"] if key == "rss" else 0.0
        small = (low[key] - floor) / low["accounts"] if scale else low[key]
        floor = high["baseline"] if key == "rss" else 0.0
        large = (high[key] - floor) / high["accounts"] if scale else high[key]
        ratio = large / small
        verdict = "flat" if ratio <= FLAT else "NOT FLAT"
        ok = ok and (ratio <= FLAT or key in ("rss", "seconds"))  # wall time: the machine is shared
        print(f"{label:<32} {high['accounts']:,} / {low['accounts']:,}: {ratio:5.2f}x  {verdict}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--sizes", default="", help="comma-separated org sizes for CPU per call, e.g. 5000,50000"
    )
    parser.add_argument("--crm", default="both", choices=["salesforce", "hubspot", "both"])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per size (median)")
    parser.add_argument("--calls", type=int, default=20, help="calls per round and size")
    parser.add_argument("--check", type=int, default=0, help="a larger Salesforce org added to the table")
    parser.add_argument(
        "--seed-sizes",
        default="",
        help="comma-separated Salesforce org sizes to seed, e.g. 50000,200000,1000000: seconds per 1,000 "
        "accounts, RSS and CPU per written row at each",
    )
    parser.add_argument("--seed-one", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--index-writes",
        default="",
        help="comma-separated store sizes, e.g. 100000,1000000: CPU per write that moves SystemModstamp",
    )
    args = parser.parse_args()
    if args.seed_one:
        _seed_one(args.seed_one)
        return
    if args.index_writes:
        if not index_writes([int(n) for n in args.index_writes.split(",")]):
            sys.exit(1)
        return
    if args.seed_sizes:
        if not seed_sizes([int(n) for n in args.seed_sizes.split(",")]):
            print(f"\nnot linear or not flat (> {FLAT}x)")
            sys.exit(1)
        print(f"\nseeding linear and writes flat (largest/smallest <= {FLAT}x)")
        return
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
        bad: list[str] = []
        for crm in ("salesforce", "hubspot"):
            if args.crm not in (crm, "both"):
                continue
            measured = [*sizes, args.check] if args.check and crm == "salesforce" else sizes
            bad += report(crm, measure(crm, measured, args.rounds, args.calls), measured)
        if bad:
            print(f"\nnot flat (> {FLAT}x) or not the same shape: {', '.join(bad)}")
            sys.exit(1)
        print(f"\nevery call flat (largest/smallest <= {FLAT}x)")
        return
    sandbox = start("both", accounts=200, seed=1, workdir=Path(tempfile.mkdtemp(prefix="tiersync-tp-")))
    try:
        info = sandbox.salesforce_settings()
        local = threading.local()

        def sf() -> simple_salesforce.Salesforce:
            if not hasattr(local, "sf"):
                session = requests.Session()
                session.trust_env = False
                session.verify = info["ca_bundle"]
                local.sf = simple_salesforce.Salesforce(
                    instance_url=info["instance_url"],
                    session_id=info["session_id"],
                    session=session,
                    version="60.0",
                )
            return local.sf

        query = "SELECT Id, Name FROM Account ORDER BY Id LIMIT 1"
        for threads in (1, 4):
            print(
                f"salesforce query (1 row), {threads} client thread(s): {rate(lambda: sf().query(query), args.seconds, threads):,.0f} req/s"
            )
        if sandbox.hubspot is not None:
            import hubspot

            hs_info = sandbox.hubspot_settings()
            company = next(iter(sandbox.account_ids["hubspot"].values()))

            def hs() -> object:
                if not hasattr(local, "hs"):
                    local.hs = hubspot.HubSpot(
                        access_token=hs_info["access_token"],
                        host=hs_info["host"],
                        ssl_ca_cert=hs_info["ca_bundle"],
                    )
                return local.hs.crm.companies.basic_api.get_by_id(company)

            sandbox.hubspot.limits.burst_limit = 0  # measure the server, not the emulated rate limit
            sandbox.hubspot.validate_requests = (
                False  # as in the sync benchmarks; validation costs ~4 ms a call
            )
            for threads in (1, 4):
                print(
                    f"hubspot get company, {threads} client thread(s): {rate(hs, args.seconds, threads):,.0f} req/s"
                )
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
