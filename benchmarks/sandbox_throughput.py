"""Requests per second the sandbox CRM answers through the real client libraries.

Benchmarks of the sync count API calls against the sandbox; this shows the sandbox is not what
limits them. With ``--sizes`` it also prints the sandbox's own CPU per call (the serving thread's
``time.thread_time``, summed by the ledger) on orgs and portals of each size, for the calls a sync
makes on each CRM, and the ratio largest/smallest: flat (about 1; goal <= 1.5) means a 200k-account
run is bound by tiersync, not by the sandbox.
Run: ``.venv/bin/python benchmarks/sandbox_throughput.py [--seconds 3] [--sizes 5000,20000,50000]``.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
import simple_salesforce

from connector.sandbox.runtime import Sandbox, start


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


def cpu_per_call(accounts: int, calls: int = 40) -> dict[str, float]:
    """Server CPU (ms) per call of the calls a sync makes, on a Salesforce org of ``accounts``."""
    sandbox = start(
        "salesforce", accounts=accounts, seed=1, workdir=Path(tempfile.mkdtemp(prefix="tiersync-cpu-"))
    )
    try:
        info = sandbox.salesforce_settings()
        session = requests.Session()
        session.trust_env = False
        session.verify = info["ca_bundle"]
        sf = simple_salesforce.Salesforce(
            instance_url=info["instance_url"], session_id=info["session_id"], session=session, version="60.0"
        )
        every = sorted(sandbox.account_ids["salesforce"].values())
        ids = every[:200]
        middle = every[len(every) // 2]
        quoted = ", ".join(f"'{i}'" for i in ids)
        work: dict[str, Callable[[], object]] = {
            "get Account by id": lambda: sf.Account.get(ids[0]),
            "Account WHERE Id IN (200)": lambda: sf.query(
                f"SELECT Id, Name FROM Account WHERE Id IN ({quoted})"
            ),
            "Case WHERE AccountId IN (200)": lambda: sf.query(
                f"SELECT Id, Status FROM Case WHERE AccountId IN ({quoted})"
            ),
            "Account page (LIMIT 2000)": lambda: sf.query(
                "SELECT Id, Name FROM Account ORDER BY Id LIMIT 2000"
            ),
            "Account page after an Id (LIMIT 2000)": lambda: sf.query(
                f"SELECT Id, Name FROM Account WHERE Id > '{middle}' ORDER BY Id LIMIT 2000"
            ),
        }
        return measure(sandbox, work, calls)
    finally:
        sandbox.stop()


def measure(sandbox: Sandbox, work: dict[str, Callable[[], object]], calls: int) -> dict[str, float]:
    """Server CPU (ms) per call of each call, after one warming call (indexes are made on first use)."""
    result: dict[str, float] = {}
    for name, call in work.items():
        call()
        sandbox.ledger.reset()
        for _ in range(calls):
            call()
        seconds, served = sandbox.ledger.cpu()
        result[name] = 1000 * seconds / served
    return result


def hubspot_cpu_per_call(accounts: int, calls: int = 40) -> dict[str, float]:
    """Server CPU (ms) per call of the calls a sync makes, on a HubSpot portal of ``accounts``."""
    sandbox = start(
        "hubspot", accounts=accounts, seed=1, workdir=Path(tempfile.mkdtemp(prefix="tiersync-cpu-"))
    )
    try:
        hs = sandbox.hubspot
        hs.limits.burst_limit = 0  # the server's work, not the emulated rate limits
        hs.limits.search_per_second = 0
        info = sandbox.hubspot_settings()
        session = requests.Session()
        session.trust_env = False
        session.verify = info["ca_bundle"]
        session.headers["Authorization"] = f"Bearer {info['access_token']}"
        host = info["host"]
        every = sorted(sandbox.account_ids["hubspot"].values(), key=int)
        page = every[:100]
        middle = every[len(every) // 2]
        time.sleep(0.01)  # past the seeding's last millisecond: only the renames below changed since
        since = str(int(time.time() * 1000))
        chunks = itertools.cycle([every[n : n + 100] for n in range(0, len(every) - 99, 100)])
        counter = itertools.count()
        for company in every[:: max(1, len(every) // 50)]:  # a few changed companies for the change query
            answer = session.patch(
                f"{host}/crm/v3/objects/companies/{company}",
                json={"properties": {"name": f"Renamed {company}"}},
            )
            assert answer.status_code == 200, answer.text

        def post(path: str, body: dict[str, object]) -> object:
            answer = session.post(f"{host}{path}", json=body)
            assert answer.status_code in (200, 207), answer.text
            return answer

        def search(object_type: str, filters: list[dict[str, object]]) -> object:
            sort = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
            return post(
                f"/crm/v3/objects/{object_type}/search",
                {"filterGroups": [{"filters": filters}], "sorts": sort, "limit": 200},
            )

        work: dict[str, Callable[[], object]] = {
            "get company by id": lambda: session.get(f"{host}/crm/v3/objects/companies/{middle}"),
            "list companies page (100, mid-portal)": lambda: session.get(
                f"{host}/crm/v3/objects/companies", params={"limit": 100, "after": middle}
            ),
            "batch read 100 companies": lambda: post(
                "/crm/v3/objects/companies/batch/read",
                {"inputs": [{"id": i} for i in page], "properties": ["name"]},
            ),
            "associations companies->tickets (100)": lambda: post(
                "/crm/v4/associations/companies/tickets/batch/read", {"inputs": [{"id": i} for i in page]}
            ),
            # each search differs from the one before: the sandbox caches a search's matches per
            # store version, and a cache hit would measure nothing
            "search deals referred_by IN (100)": lambda: search(
                "deals",
                [{"propertyName": "referred_by_company_id", "operator": "IN", "values": next(chunks)}],
            ),
            "search companies modified since (window)": lambda: search(
                "companies",
                [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": str(next(counter))},
                ],
            ),
        }
        return measure(sandbox, work, calls)
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--sizes", default="", help="comma-separated org sizes for CPU per call, e.g. 5000,50000"
    )
    parser.add_argument("--crm", default="both", choices=["salesforce", "hubspot", "both"])
    args = parser.parse_args()
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
        for crm, measure_at in (("salesforce", cpu_per_call), ("hubspot", hubspot_cpu_per_call)):
            if args.crm not in (crm, "both"):
                continue
            measured = {n: measure_at(n) for n in sizes}
            for name in measured[sizes[0]]:
                cells = ", ".join(f"{n:,}: {measured[n][name]:.2f} ms" for n in sizes)
                ratio = measured[sizes[-1]][name] / measured[sizes[0]][name]
                print(
                    f"{crm} sandbox CPU per call, {name}: {cells} "
                    f"(ratio {sizes[-1]:,}/{sizes[0]:,}: {ratio:.2f}x)",
                    flush=True,
                )
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
