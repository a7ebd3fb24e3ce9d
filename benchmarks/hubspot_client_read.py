"""A full HubSpot read on a portal where a tenth of the companies are clients: listing every company
versus searching only the clients, and what the adapter's own choice (``auto``) costs.

The portal holds ``--companies`` bare companies, ``--customer-share`` of them customers (the rest
leads), seeded deterministically. Each strategy reads every client through the real adapter and
hubspot-api-client over HTTPS, with the sandbox enforcing HubSpot's burst (100 per 10 s) and search
(5 per second) limits and the adapter pacing itself to both, so the wall time is what the limits
allow. Printed per strategy: calls to the companies endpoints (list pages or searches, counts
included), company rows they returned, all calls of the read (evidence included), clients read and
seconds; then the list/search ratios, measured in the same run.
Run: ``.venv/bin/python benchmarks/hubspot_client_read.py [--companies 20000] [--customer-share 0.1]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from connector.config import HubSpotSettings
from connector.crm.hubspot import HubSpotAdapter
from connector.crm.hubspot.client_read import Choice
from connector.crm.mapping import default_mapping, load_mapping
from connector.sandbox.runtime import Sandbox, start

COMPANIES = "/crm/v3/objects/companies"


@dataclass
class Run:
    strategy: str
    chosen: str
    company_calls: int
    company_rows: int
    calls: int
    clients: list[str]
    seconds: float


def read(sandbox: Sandbox, choice: Choice) -> Run:
    info = sandbox.hubspot_settings()
    settings = HubSpotSettings.model_validate(info)
    adapter = HubSpotAdapter(settings, load_mapping(default_mapping("hubspot")), client_read=choice)
    sandbox.ledger.reset()
    t0 = time.perf_counter()
    clients = [a.id for batch in adapter.read(None, 2000) for a in batch.roster.accounts]
    seconds = time.perf_counter() - t0
    calls = sandbox.ledger.calls()
    company = [c for c in calls if c.path in (COMPANIES, COMPANIES + "/search")]
    plan = adapter.last_read_plan
    return Run(
        choice,
        plan.strategy if plan else "?",
        len(company),
        sum(c.records for c in company),
        len(calls),
        clients,
        seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=20_000)
    parser.add_argument("--customer-share", type=float, default=0.1)
    parser.add_argument("--no-limits", action="store_true", help="switch the sandbox's rate limits off")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tiersync-bench-"))
    sandbox = start("hubspot", accounts=0, workdir=workdir)
    try:
        hs = sandbox.hubspot
        hs.seed_companies(args.companies, customer_share=args.customer_share)
        hs.validate_requests = False  # the OpenAPI check costs sandbox time, not calls
        if args.no_limits:
            hs.limits.burst_limit = 0
            hs.limits.search_per_second = 0
        customers = sum(1 for c in hs.objects("companies") if c["properties"]["lifecyclestage"] == "customer")
        print(
            f"portal: {args.companies:,} companies, {customers:,} customers ({customers / args.companies:.0%}); "
            f"limits: {'off' if args.no_limits else 'burst 100/10 s, search 5/s'}"
        )
        runs = []
        for choice in ("list", "search", "auto"):
            time.sleep(1.1)  # each run paces itself alone: let the last run's search second pass
            runs.append(read(sandbox, choice))
        for run in runs:
            print(
                f"  {run.strategy:>6} ({run.chosen}): {run.company_calls:,} company calls, "
                f"{run.company_rows:,} company rows, {run.calls:,} calls in all, "
                f"{len(run.clients):,} clients, {run.seconds:.1f} s"
            )
        listed, searched, auto = runs
        assert listed.clients == searched.clients == auto.clients, "the strategies read different clients"
        print(
            f"list/search: {listed.company_calls / searched.company_calls:.1f}x company calls, "
            f"{listed.company_rows / searched.company_rows:.1f}x company rows, "
            f"{listed.calls / searched.calls:.1f}x calls in all, {listed.seconds / searched.seconds:.1f}x time"
        )
        print(f"auto chose {auto.chosen}: {auto.company_calls:,} company calls (2 of them the counts)")
    finally:
        sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
