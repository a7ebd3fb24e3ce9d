"""A full backfill of a large org through REST and through Bulk API 2.0: API calls, wall time, peak memory.

Target size: 500,000 accounts with about 5,000,000 invoices. The sandbox holds its org in Python dicts,
so it runs in a process of its own and tiersync's peak memory (``ru_maxrss`` of the process running the
sync) is measured apart from the sandbox's. Each path gets a freshly seeded, identical org and its own
tiersync process. The roster is light: accounts and invoices (the other evidence kinds are empty
lists), built straight from the generated columns, since converting a roster record by record costs
about 2.5 ms per account.

Run: ``.venv/bin/python benchmarks/backfill.py [--accounts 50000] [--paths rest,bulk]``.
REST reads evidence with one range query per page; the sandbox answers each by scanning the whole
object, so REST above ``--rest-max`` accounts is skipped (reported) rather than run for hours.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
import urllib.request
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

AS_OF = dt.date(2026, 11, 1)
CHUNK = 25_000
SEED = 3


def light_roster(accounts: int, seed: int, prefix: str) -> Any:
    """Accounts and invoices of ``generate``, as canonical records without per-row type lookups."""
    from connector.model import Account, Invoice, InvoiceStatus, Roster
    from connector.sample_data import generate

    frames = generate(accounts, seed=seed, as_of=AS_OF, id_prefix=prefix).frames
    names = [f.name for f in dataclasses.fields(Account) if f.name != "attributes"]
    rows = frames.accounts.select(names).iter_rows()
    roster_accounts = [Account(*row) for row in rows]
    invoices = []
    assert frames.invoices is not None
    columns = [f.name for f in dataclasses.fields(Invoice)]
    for row in frames.invoices.select(columns).iter_rows():
        status = InvoiceStatus(row[-1]) if row[-1] is not None else None
        invoices.append(Invoice(*row[:-1], status))
    empty: dict[str, list[Any]] = {
        k: [] for k in ("tickets", "referrals", "surveys", "meetings", "goals", "renegotiations")
    }
    return Roster(accounts=roster_accounts, invoices=invoices, **empty)


def serve_sandbox(accounts: int, workdir: str, ready: Any, stop: Event) -> None:
    """The sandbox process: seed in chunks, serve over HTTPS with the admin API, report its peak memory."""
    from connector.sandbox.faults import FaultInjector
    from connector.sandbox.ledger import Ledger
    from connector.sandbox.runtime import SF_TOKEN, Sandbox
    from connector.sandbox.salesforce import SalesforceSandbox
    from connector.sandbox.server import serve

    started = time.perf_counter()
    ledger, faults = Ledger(), FaultInjector()
    box = Sandbox(ledger=ledger, faults=faults, workdir=Path(workdir))
    org = SalesforceSandbox(ledger, faults, session_id=SF_TOKEN, daily_api_limit=10**9)
    invoices = 0
    for index, start in enumerate(range(0, accounts, CHUNK)):
        roster = light_roster(min(CHUNK, accounts - start), SEED + index, f"B{index}-")
        invoices += len(roster.invoices or [])
        org.seed(roster)
    box.salesforce = org
    box.salesforce_server = serve(
        box.admin("salesforce", org.wsgi_app, SF_TOKEN), tls=True, workdir=Path(workdir)
    )
    ready.put({**box.salesforce_settings(), "seconds": time.perf_counter() - started, "invoices": invoices})
    stop.wait()
    ready.put({"sandbox_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    box.stop()


def admin(info: dict[str, Any], method: str, path: str) -> Any:
    import ssl

    context = ssl.create_default_context(cafile=info["ca_bundle"])
    request = urllib.request.Request(
        f"{info['instance_url']}/_sandbox/{path}",
        method=method,
        headers={"Authorization": f"Bearer {info['session_id']}"},
    )
    with urllib.request.urlopen(request, context=context) as answer:
        return json.loads(answer.read())


def run_tiersync(info: dict[str, Any], path: str, workdir: str, bulk_page_size: int, result: Any) -> None:
    """The tiersync process: set up the fields, backfill, report calls, time and its own peak memory."""
    from connector.config import Settings
    from connector.crm.factory import make_adapter
    from connector.model import Trait
    from connector.sync.engine import SyncEngine
    from connector.sync.state import State

    threshold = 0 if path == "bulk" else 10**12
    salesforce = {k: info[k] for k in ("instance_url", "session_id", "ca_bundle")}
    settings = Settings.model_validate(
        {
            "crm": "salesforce",
            "salesforce": {**salesforce, "bulk_threshold": threshold, "bulk_page_size": bulk_page_size},
            "state_path": str(Path(workdir) / "state.sqlite"),
            "evidence": {"as_of": str(AS_OF)},
            "sync": {"page_size": 2000, "lookback_minutes": 0},
        }
    )
    make_adapter(settings).setup_fields({t.value: t.value for t in Trait}, False)
    admin(info, "POST", "ledger/reset")
    state = State(Path(workdir) / "state.sqlite")
    engine = SyncEngine(make_adapter(settings), settings, state, "bench", keep_plan=False)
    started = time.perf_counter()
    summary, _ = engine.run("full")
    seconds = time.perf_counter() - started
    state.close()
    calls = admin(info, "GET", "ledger")
    kinds: dict[str, int] = {}
    for call in calls:
        kind = call["path"].split("/v60.0/")[-1].split("/")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    result.put(
        {
            "status": summary.status,
            "message": summary.message,
            "accounts": summary.accounts_read,
            "updated": summary.accounts_updated,
            "tasks": summary.tasks_created,
            "calls": len(calls),
            "kinds": kinds,
            "seconds": seconds,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def one_path(accounts: int, path: str, bulk_page_size: int) -> dict[str, Any]:
    context = mp.get_context("spawn")
    workdir = tempfile.mkdtemp(prefix=f"tiersync-bench-{path}-")
    ready, stop = context.Queue(), context.Event()
    sandbox = context.Process(target=serve_sandbox, args=(accounts, workdir, ready, stop))
    sandbox.start()
    try:
        info = ready.get(timeout=3600)
        print(
            f"  {path}: seeded {accounts:,} accounts, {info['invoices']:,} invoices in {info['seconds']:.0f} s"
        )
        result = context.Queue()
        worker = context.Process(target=run_tiersync, args=(info, path, workdir, bulk_page_size, result))
        worker.start()
        outcome: dict[str, Any] = result.get(timeout=6 * 3600)
        worker.join()
        stop.set()
        outcome.update(ready.get(timeout=60))
        return outcome
    finally:
        stop.set()
        sandbox.join(timeout=60)
        if sandbox.is_alive():
            sandbox.terminate()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=500_000)
    parser.add_argument("--paths", default="rest,bulk", help="rest, bulk or both (comma-separated)")
    parser.add_argument("--rest-max", type=int, default=100_000, help="skip REST above this many accounts")
    parser.add_argument("--bulk-page-size", type=int, default=25_000)
    args = parser.parse_args()
    print(f"backfill of {args.accounts:,} accounts (about 10 invoices each), page size 2,000")
    results: dict[str, dict[str, Any]] = {}
    for path in args.paths.split(","):
        if path == "rest" and args.accounts > args.rest_max:
            print(
                f"  rest: skipped above --rest-max {args.rest_max:,} (the sandbox scans every invoice per page)"
            )
            continue
        results[path] = one_path(args.accounts, path, args.bulk_page_size)
        r = results[path]
        print(
            f"  {path}: {r['status']}, {r['accounts']:,} accounts, {r['updated']:,} updated, {r['tasks']:,} tasks; "
            f"{r['calls']:,} API calls {r['kinds']}; {r['seconds']:.0f} s; tiersync peak {r['peak_mb']:,.0f} MB "
            f"(sandbox {r['sandbox_peak_mb']:,.0f} MB)"
        )
    if "rest" in results and "bulk" in results:
        rest, bulk = results["rest"], results["bulk"]
        print(f"  Bulk makes {rest['calls'] / bulk['calls']:.1f}x fewer API calls than REST")
    print(json.dumps({"event": "tiersync.bench_backfill", "accounts": args.accounts, **results}))


if __name__ == "__main__":
    main()
