"""Classifier throughput: 1,000,000 accounts / ~10,000,000 invoices, against a naive per-row baseline.

Prints accounts/s, peak memory, and the ratio to a naive pure-Python implementation (dicts and loops
over records, the way a first script would do it) measured in the same run on a subset, so the ratio
does not depend on the machine: in wall time and in CPU time (all threads, user and system), so that
it is not an artefact of polars using both cores or of a loaded machine slowing the naive loop; and
once more for one batch in a process of its own with ``POLARS_MAX_THREADS=1`` (the ratio on one core).
Run: ``.venv/bin/python benchmarks/classify_bench.py [--accounts N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from connector.classify.classifier import classify_batches
from connector.config import Settings
from connector.frames import CHILD_SCHEMAS, RosterFrames
from connector.sample_data import generate

AS_OF = dt.date(2026, 11, 1)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Cpu:
    """CPU seconds (user, system) and minor page faults this process (all its threads) has used so
    far: a CPU ratio does not flatter the side that runs on both cores, nor suffer from a loaded
    machine as much as a wall-time ratio does. System time is mostly page faults."""

    def __init__(self) -> None:
        self.user = self.system = 0.0
        self.faults = 0

    def add(self, before: resource.struct_rusage, after: resource.struct_rusage) -> None:
        self.user += after.ru_utime - before.ru_utime
        self.system += after.ru_stime - before.ru_stime
        self.faults += after.ru_minflt - before.ru_minflt

    @property
    def total(self) -> float:
        return self.user + self.system

    def per(self, accounts: int) -> str:
        """``0.72 s (user 0.60, system 0.12; 30,000 page faults)`` per 100,000 accounts."""
        k = 1e5 / accounts
        return (
            f"{self.total * k:.2f} s (user {self.user * k:.2f}, system {self.system * k:.2f}; "
            f"{self.faults * k:,.0f} page faults)"
        )


def usage() -> resource.struct_rusage:
    return resource.getrusage(resource.RUSAGE_SELF)


NAIVE_GAPS = ("no_invoices", "no_survey", "owner_unknown")
"""The data gaps the baseline computes (tiersync also says which dates and fields are missing)."""


def naive_classify(frames: RosterFrames, settings: Settings) -> dict[str, tuple[str, list[str], list[str]]]:
    """The baseline: per-row Python over records, written the way a first script would: evidence, the
    tier with codes and sentence, traits with reasons, data gaps, actions. Returns each account's
    (tier, traits, data gaps), which must equal tiersync's (the gaps among ``NAIVE_GAPS``). It computes
    neither the growth points, the decision nor the trend: tiersync does more work than it."""
    start = AS_OF - dt.timedelta(days=settings.evidence.window_days)
    cstart = AS_OF - dt.timedelta(days=settings.evidence.checkup_window_days)
    grace = dt.timedelta(days=settings.evidence.grace_days)
    ev: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))

    def rows(kind: str) -> Any:
        frame = frames.child(kind)
        return [] if frame is None else frame.iter_rows(named=True)

    for inv in rows("invoices"):
        e = ev[inv["account_id"]]
        issued = inv["issued"] or inv["due"]
        if issued is None or not (start <= issued <= AS_OF) or inv["status"] == "void":
            continue
        e["invoices"] += 1
        e["revenue"] += inv["amount"] or 0.0
        due, paid = inv["due"], inv["paid"]
        if due is None:
            e["missing_dates"] += 1
            continue
        if paid is not None:
            e["considered"] += 1
            e["on_time" if paid <= due + grace else "late"] += 1
        elif inv["status"] == "paid":
            e["missing_dates"] += 1
        elif due + grace < AS_OF:
            e["considered"] += 1
            e["late"] += 1
            e["unpaid"] += 1
            e["overdue"] += inv["amount"] or 0.0
    for t in rows("tickets"):
        if t["opened"] is not None and start <= t["opened"] <= AS_OF:
            e = ev[t["account_id"]]
            e["tickets"] += 1
            e["complaints"] += bool(t["complaint"])
            e["escalations"] += bool(t["escalated"])
            e["abusive"] += bool(t["abusive"])
            e["discounts"] += bool(t["discount_request"])
    for r in rows("referrals"):
        if r["date"] is not None and start <= r["date"] <= AS_OF:
            ev[r["account_id"]]["referrals"] += 1
            ev[r["account_id"]]["referral_value"] += r["value"] or 0.0
    for s in rows("surveys"):
        if s["date"] is not None and start <= s["date"] <= AS_OF:
            e = ev[s["account_id"]]
            e["surveys"] += 1
            e["public"] += bool(s["public_complaint"])
            if s["nps"] is not None and (e.get("nps_key") is None or (s["date"], s["id"]) >= e["nps_key"]):
                e["nps"], e["nps_key"] = s["nps"], (s["date"], s["id"])
            if s["csat"] is not None and (e.get("csat_key") is None or (s["date"], s["id"]) >= e["csat_key"]):
                e["csat"], e["csat_key"] = s["csat"], (s["date"], s["id"])
    for m in rows("meetings"):
        if m["scheduled"] is not None and start <= m["scheduled"] <= AS_OF:
            e = ev[m["account_id"]]
            checkup = m["type"] == "checkup"
            if checkup and m["scheduled"] >= cstart and m["outcome"] == "declined":
                e["checkups_declined"] += 1
            e["no_shows"] += m["outcome"] == "no_show"
            e["sessions_declined"] += (not checkup) and m["outcome"] == "declined"
    for g in rows("goals"):
        if g["date"] is not None and start <= g["date"] <= AS_OF:
            ev[g["account_id"]]["goals_refused"] += g["status"] == "refused"
    for n in rows("renegotiations"):
        if n["date"] is not None and start <= n["date"] <= AS_OF:
            ev[n["account_id"]]["renegotiations"] += 1
    poor, amazing, good, tr = (
        settings.tiers.poor,
        settings.tiers.amazing,
        settings.tiers.good,
        settings.traits,
    )
    result = {}
    for account in frames.accounts.iter_rows(named=True):
        e = ev[account["id"]]
        rate = e["on_time"] / e["considered"] if e["considered"] else None
        nps = e.get("nps")
        hits = [
            (
                e["complaints"] >= poor.complaints_at_least,
                "poor.complaints",
                f"{e['complaints']} complaints in 12 months",
            ),
            (
                rate is not None and rate < poor.on_time_rate_below,
                "poor.on_time_rate",
                f"{e['late']} of {e['considered']} invoices paid late or unpaid in 12 months",
            ),
            (
                e["unpaid"] >= poor.unpaid_overdue_at_least,
                "poor.unpaid_overdue",
                f"{e['unpaid']} invoices unpaid past due ({round(e['overdue'])} overdue)",
            ),
            (
                e["discounts"] >= poor.discount_requests_at_least,
                "poor.discount_requests",
                f"{e['discounts']} discount requests in 12 months",
            ),
            (
                e["public"] >= poor.public_complaints_at_least,
                "poor.public_complaints",
                f"{e['public']} public complaints",
            ),
            (nps is not None and nps <= poor.nps_at_most, "poor.detractor", f"latest NPS {nps} (detractor)"),
        ]
        if any(h[0] for h in hits):
            tier = "poor"
        elif (
            rate is not None
            and rate >= amazing.on_time_rate_at_least
            and e["referrals"] >= amazing.referrals_at_least
            and (
                (nps is not None and nps >= amazing.nps_at_least)
                or (e.get("csat") is not None and e["csat"] >= amazing.csat_at_least)
                or e["complaints"] <= amazing.complaints_at_most
            )
        ):
            tier = "amazing"
            hits = [
                (True, "amazing.on_time", f"{e['on_time']} of {e['considered']} invoices paid on time"),
                (
                    True,
                    "amazing.referrals",
                    f"{e['referrals']} referrals worth {round(e['referral_value'])} in 12 months",
                ),
            ]
        elif (
            rate is not None
            and rate >= good.on_time_rate_at_least
            and e["complaints"] <= good.complaints_at_most
            and e["tickets"] <= good.tickets_at_most
        ):
            tier = "good"
            hits = [
                (True, "good.on_time", f"{e['on_time']} of {e['considered']} invoices paid on time"),
                (True, "good.complaints", f"{e['complaints']} complaints in 12 months"),
            ]
        else:
            tier = "okay"
            hits = [
                (
                    rate is not None and rate < good.on_time_rate_at_least,
                    "okay.late_payments",
                    f"{e['late']} of {e['considered']} invoices paid late",
                ),
                (rate is None, "okay.payment_history_missing", "no payment history in 12 months"),
                (
                    e["complaints"] > good.complaints_at_most,
                    "okay.complaints",
                    f"{e['complaints']} complaints in 12 months",
                ),
                (e["referrals"] == 0, "okay.no_referrals", "no referrals"),
            ]
        codes = [c for held, c, _ in hits if held]
        reason = "; ".join(text for held, _, text in hits if held)
        cost = (
            e["tickets"] * settings.evidence.cost_per_ticket
            + e["escalations"] * settings.evidence.cost_per_escalation
        )
        ratio = cost / e["revenue"] if e["revenue"] else (float("inf") if cost else 0.0)
        traits = {}
        if (
            ratio >= tr.high_touch_low_pay.cost_ratio_at_least
            and e["escalations"] >= tr.high_touch_low_pay.escalations_at_least
        ):
            traits["high_touch_low_pay"] = (
                f"cost to serve {round(cost)} against revenue {round(e['revenue'])}"
            )
        if (
            e["abusive"] >= tr.bully.abusive_incidents_at_least
            or e["public"] >= tr.bully.public_complaints_at_least
        ):
            traits["bully"] = f"{e['abusive']} abusive incidents; {e['public']} public complaints"
        if (
            e["renegotiations"] >= tr.goalpost_mover.renegotiations_at_least
            or e["goals_refused"] >= tr.goalpost_mover.goals_refused_at_least
            or e["checkups_declined"] >= tr.goalpost_mover.checkups_declined_at_least
        ):
            traits["goalpost_mover"] = (
                f"{e['renegotiations']} renegotiations; refused goals {e['goals_refused']} times"
            )
        if (
            e["no_shows"] >= tr.vendor_not_partner.no_shows_at_least
            or e["sessions_declined"] >= tr.vendor_not_partner.sessions_declined_at_least
        ):
            traits["vendor_not_partner"] = f"missed {e['no_shows']} joint meetings"
        gaps = [
            g
            for g, missing in (
                ("no_invoices", not e["invoices"]),
                ("no_survey", not e["surveys"]),
                ("owner_unknown", account["owner_id"] is None),
            )
            if missing
        ]
        actions = [
            a.code
            for a in settings.playbook.actions
            if (not a.tiers or tier in a.tiers)
            and all(t in traits for t in a.traits)
            and (not a.reasons or any(c in codes for c in a.reasons))
        ]
        result[account["id"]] = (tier, list(traits), gaps)
        del reason, actions
    return result


def write_roster(directory: Path, accounts: int, invoices: int, batch: int = 50_000) -> tuple[int, int]:
    """At least ``accounts`` accounts and ``invoices`` invoices as CSV files, generated and appended a
    batch at a time (memory stays at one batch). Returns the counts written."""
    directory.mkdir(parents=True, exist_ok=True)
    handles: dict[str, Any] = {}
    written_accounts = written_invoices = 0
    number = 0
    while written_accounts < accounts or written_invoices < invoices:
        frames = generate(batch, seed=2000 + number, as_of=AS_OF, id_prefix=f"M{number:04d}-").frames
        for kind in ("accounts", *CHILD_SCHEMAS):
            frame = frames.accounts if kind == "accounts" else frames.child(kind)
            if frame is None:
                continue
            first = kind not in handles
            if first:
                handles[kind] = (directory / f"{kind}.csv").open("wb")
            frame.write_csv(handles[kind], include_header=first)
        written_accounts += frames.accounts.height
        written_invoices += frames.invoices.height if frames.invoices is not None else 0
        number += 1
    for handle in handles.values():
        handle.close()
    return written_accounts, written_invoices


SPAWN = (
    "import os, sys\n"
    "pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(f'{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}')\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
"""A bare interpreter that spawns the measured command and writes its ``ru_maxrss`` (KB) to a file.

Linux counts a child's peak from the fork: the high-water mark of the image it replaced at ``exec``
is kept. A command started straight from this process (which holds a roster or a sandbox org) would
report at least this process's own peak, whatever the command used; started from this small launcher
it inherits ~13 MB at most (a ``python -c pass`` measures that much)."""


def run_child(command: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float]:
    """(exit code, peak RSS in MB, seconds) of one child process (its own ru_maxrss, via ``SPAWN``)."""
    code, peak, seconds, _ = run_child_cpu(command, env)
    return code, peak, seconds


def run_child_cpu(command: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float, float]:
    """:func:`run_child` and the child's CPU seconds (user and system, its own threads)."""
    start = time.perf_counter()
    with tempfile.NamedTemporaryFile(prefix="peak-rss-", suffix=".txt") as peak:
        child = subprocess.run(
            [sys.executable, "-S", "-c", SPAWN, peak.name, *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        rss, _, cpu = Path(peak.name).read_text(encoding="utf-8").partition(" ")
    if child.returncode not in (0, 1):
        print(child.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
    return child.returncode, int(rss or 0) / 1024, time.perf_counter() - start, float(cpu or 0)


def verdict(code: int, peak: float) -> str:
    """Whether an entry point's run met the memory goal (exit 1, a partial result, still counts)."""
    if code not in (0, 1):
        return f"FAILED ({code})"
    return "ok" if peak < 2048 else "OVER"


def memory(args: argparse.Namespace) -> None:
    """Each entry point in its own process on one big roster on disk; prints each one's peak RSS."""
    if args.sync_only:
        sync_memory(args.sync_accounts, args.sync_path)
        return
    if args.state_only:
        with tempfile.TemporaryDirectory(prefix="classify-memory-") as tmp:
            state_memory(args, Path(tmp))
        return
    tiersync = [sys.executable, "-m", "connector"]
    with tempfile.TemporaryDirectory(prefix="classify-memory-") as tmp:
        work = Path(tmp)
        roster = args.roster or work / "roster"
        t0 = time.perf_counter()
        if args.roster is None:
            accounts, invoices = write_roster(roster, args.accounts, args.invoices)
        else:  # a roster this mode wrote before
            accounts = pl.scan_csv(roster / "accounts.csv").select(pl.len()).collect().item()
            invoices = pl.scan_csv(roster / "invoices.csv").select(pl.len()).collect().item()
        size = sum(p.stat().st_size for p in roster.glob("*.csv")) / 1e9
        print(
            f"roster: {accounts:,} accounts / {invoices:,} invoices ({size:.1f} GB of CSV), "
            f"ready in {time.perf_counter() - t0:.0f} s"
        )
        day = AS_OF.isoformat()
        back = (AS_OF - dt.timedelta(days=180)).isoformat()
        batch = ["--batch", str(args.batch)] if args.batch else []
        runs = {
            "classify": [
                *tiersync,
                "classify",
                str(roster),
                "--out",
                str(work / "out"),
                "--format",
                "csv",
                "--as-of",
                day,
                *batch,
            ],
            "report": [
                *tiersync,
                "report",
                "--input",
                str(roster),
                "--out",
                str(work / "report.html"),
                "--as-of",
                day,
                *batch,
            ],
            "backtest": [
                *tiersync,
                "backtest",
                "--input",
                str(roster),
                "--as-of",
                back,
                "--horizon-days",
                "180",
                "--format",
                "json",
                *batch,
            ],
        }
        for name, command in runs.items():
            if args.entry_points and name not in args.entry_points:
                continue
            code, peak, seconds = run_child(command)
            print(
                f"{name:9s} peak RSS {peak:7,.0f} MB  {seconds:6.0f} s  exit {code}  (goal < 2,048 MB) "
                f"{verdict(code, peak)}"
            )
        state_memory(args, work)

    if args.sync_accounts:
        sync_memory(args.sync_accounts, args.sync_path)


def state_memory(args: argparse.Namespace, work: Path) -> None:
    """``report --state`` in its own process on a state of each of ``--state-accounts`` sizes
    (``--state-file``: kept there and reused when it exists, for the largest size only)."""
    for count in args.state_accounts:
        state = work / f"state-{count}.sqlite"
        if args.state_file is not None and count == max(args.state_accounts):
            state = args.state_file
        t0 = time.perf_counter()
        if state.exists():
            tasks = state_tasks(state)
            made = f"reused {state}"
        else:
            tasks = write_state(state, count, args.state_weeks)
            made = f"written in {time.perf_counter() - t0:.0f} s"
        print(
            f"state: {count:,} accounts, {sum(tasks.values()):,} task keys after {args.state_weeks} "
            f"weekly runs ({', '.join(f'{n:,} {s}' for s, n in sorted(tasks.items()))}), "
            f"{state.stat().st_size / 1e9:.1f} GB, {made}"
        )
        code, peak, seconds = run_child(
            [
                sys.executable,
                "-m",
                "connector",
                "report",
                "--state",
                str(state),
                "--out",
                str(work / "state.html"),
                "--as-of",
                AS_OF.isoformat(),
            ]
        )
        print(
            f"report    peak RSS {peak:7,.0f} MB  {seconds:6.0f} s  exit {code}  from a state of {count:,} "
            f"accounts and {sum(tasks.values()):,} task keys (goal < 2,048 MB) {verdict(code, peak)}"
        )


def state_tasks(path: Path) -> dict[str, int]:
    """The task keys of a state ``write_state`` wrote before, by status."""
    from connector.sync.state import State

    state = State(path)
    try:
        return state.task_counts("default")
    finally:
        state.close()


STATE_WEEKS = 26
"""Weekly scheduled runs the benchmark's state has seen: half a year of task history."""


def write_state(path: Path, accounts: int, weeks: int = STATE_WEEKS, batch: int = 20_000) -> dict[str, int]:
    """A sync state for ``report --state``: ``accounts`` results (payloads as the engine saves them),
    one run, and the task keys ``weeks`` weekly runs leave, written a batch at a time. Returns the
    task keys by status.

    The tasks are the most a state can hold after those runs: a key per account, wanted action and
    period (``wanted_tasks``, the sync's own planner, at ``AS_OF``) for every period that overlaps
    the weeks, as with ``tasks.max_new_per_owner_per_week = 0`` (no budget holds any back). The
    periods before the current one ended done by a user (two in three) or closed by tiersync's
    cleanup; in the current one a task is open with its CRM id (four in six), still pending (one) or
    deferred (one). At the default budget most current keys would be deferred instead of open: the
    same rows for the report to page through, fewer for it to count."""
    from connector.classify.classifier import to_classifications
    from connector.crm.base import TaskSpec
    from connector.report.sources import ATTRIBUTE_COLUMNS
    from connector.sync.engine import result_payload
    from connector.sync.state import State, TaskState
    from connector.sync.tasks import Period, WantedTask, task_key, wanted_tasks

    settings, now = Settings(), dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    first_run = AS_OF - dt.timedelta(weeks=weeks - 1)

    def earlier(w: WantedTask, back: int) -> WantedTask:
        """The same action ``back`` periods before ``w``'s."""
        shift = (w.period.end - w.period.start) * back
        period = Period(w.period.start - shift, w.period.end - shift)
        key = task_key(w.spec.account_id, w.action, period)
        spec = TaskSpec(key, w.spec.account_id, w.spec.owner_id, w.spec.subject, "", w.spec.due - shift)
        return WantedTask(spec, w.action, period, sent_on=period.start)

    state = State(path)
    run = state.run_started("default", "full", now)
    for number, first in enumerate(range(0, accounts, batch)):
        frames = generate(
            min(batch, accounts - first), seed=3000 + number, as_of=AS_OF, id_prefix=f"S{number:04d}-"
        ).frames
        [results] = classify_batches([frames], settings, AS_OF)
        attributes = results.select("account_id", *ATTRIBUTE_COLUMNS)
        rows = {r.pop("account_id"): r for r in attributes.iter_rows(named=True)}
        payloads, current, past = [], [], []
        with state.page():
            for c in to_classifications(results):
                state.record_tier_change(
                    "default",
                    c.account_id,
                    tier=c.tier.value,
                    computed_tier=c.tier.value,
                    previous_tier=None,
                    now=now,
                    run_id=run,
                )
                payloads.append(result_payload(c, rows[c.account_id], owner_name=None, override_tier=None))
                for w in wanted_tasks(c, settings, AS_OF):
                    current.append(w)
                    back = 1
                    while (older := earlier(w, back)).period.end > first_run:
                        past.append(older)
                        back += 1
            state.save_results("default", payloads, run, now)
            deferred = current[::6]
            sent = [w for i, w in enumerate(current) if i % 6]
            state.tasks_pending("default", [*sent, *past], now)
            state.tasks_deferred("default", [(w, AS_OF + dt.timedelta(days=7)) for w in deferred], now)
            for i, w in enumerate(sent):
                if i % 5:
                    state.task_confirmed("default", w.spec.key, f"00T{number:04d}{i:08d}")
            for i, w in enumerate(past):
                state.task_confirmed("default", w.spec.key, f"00T{number:04d}P{i:07d}")
            for i, w in enumerate(past):
                ended = TaskState.CLOSED if i % 3 == 0 else TaskState.DONE
                state.task_finished("default", w.spec.key, ended, now)
    state.run_ended(run, "ok", {}, now + dt.timedelta(minutes=5))
    counts = state.task_counts("default")
    state.close()
    return counts


def sync_memory(sizes: list[int], path: str) -> None:
    """The ``sync`` entry point's peak RSS at growing sandbox orgs: a first full sync, then a second
    one on the state the first left (its open and deferred tasks are what the workload budget loads).

    Each run prints its MEASURED peak RSS, wall time, its own CPU seconds and the sandbox's (this
    process, all its threads, while the run lasted). The sandbox holds the whole org in this process,
    so the largest org is what this machine's memory allows; for a goal size above the largest run, the
    per-account slope between the two largest sizes and the figure it extrapolates to are printed, and
    said to be extrapolated. The sync itself reads pages: a Bulk extract keeps the org on disk and hands
    over ``salesforce.bulk_page_size`` accounts (25,000) at a time, a REST read ``sync.page_size``
    (2,000)."""
    from connector.sandbox.runtime import start

    goal = 1_000_000
    peaks: dict[str, list[tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="sync-memory-") as tmp:
        for count in sizes:
            directory = Path(tmp) / f"sync-{count}"
            t0 = time.perf_counter()
            sandbox = start("salesforce", accounts=count, as_of=AS_OF, workdir=directory)
            seeded = time.perf_counter() - t0
            label = sync_path_label(count, path)
            print(f"sync      {count:,} accounts ({label}), sandbox seeded in {seeded:.0f} s:", flush=True)
            try:
                for name, (code, peak, seconds, cpu, served) in sync_child(
                    directory, sandbox.salesforce_settings(), path
                ):
                    print(
                        f"  {name:12s} MEASURED peak RSS {peak:7,.0f} MB  {seconds:6.0f} s wall  "
                        f"CPU {cpu:6.0f} s (sandbox {served:.0f} s)  exit {code}  "
                        f"(goal < 2,048 MB) {verdict(code, peak)}",
                        flush=True,
                    )
                    peaks.setdefault(name, []).append((count, peak))
            finally:
                sandbox.stop()
    for name, measured in peaks.items():
        if len(measured) < 2 or max(count for count, _ in measured) >= goal:
            continue
        (small, low), (large, high) = measured[-2], measured[-1]
        slope = (high - low) / (large - small) * 1000
        extrapolated = high + max(slope, 0.0) * (goal - large) / 1000
        print(
            f"sync      {name}: slope {slope:+.2f} MB per 1,000 accounts ({small:,} -> {large:,}); "
            f"EXTRAPOLATED (not measured) to {goal:,} accounts: {extrapolated:,.0f} MB (goal < 2,048 MB)"
        )


def sync_path_label(accounts: int, path: str) -> str:
    """Which read the sync takes: Bulk 2.0 above ``salesforce.bulk_threshold`` (10,000 by default)."""
    if path == "auto":
        path = "bulk" if accounts > 10_000 else "rest"
    return {"bulk": "Bulk API 2.0 read and writes", "rest": "REST read and writes"}[path]


def sync_child(
    directory: Path, connection: dict[str, str], path: str
) -> Iterator[tuple[str, tuple[int, float, float, float, float]]]:
    """``setup-fields`` then two full ``tiersync sync`` runs, each in its own process, against a
    sandbox org served from this one; ``path`` forces REST or Bulk (``auto``: the threshold decides).
    Each run's (exit code, peak RSS MB, wall s, CPU s, this process's CPU s meanwhile), handed over as
    it ends: a 1M-account run takes long enough to want its first figures early."""
    config = directory / "tiersync.toml"
    config.write_text(f'crm = "salesforce"\nstate_path = "{directory / "state.sqlite"}"\n', encoding="utf-8")
    env = dict(os.environ)
    for key, value in connection.items():
        env[f"TIERSYNC_SALESFORCE__{key.upper()}"] = value
    if path != "auto":
        env["TIERSYNC_SALESFORCE__BULK_THRESHOLD"] = "0" if path == "bulk" else str(10**9)
    tiersync = [sys.executable, "-m", "connector", "--config", str(config)]
    run_child([*tiersync, "setup-fields"], env)
    for name in ("first sync", "second sync"):
        before = usage()
        code, peak, seconds, cpu = run_child_cpu([*tiersync, "sync", "--full", "--quiet"], env)
        served = Cpu()
        served.add(before, usage())
        yield name, (code, peak, seconds, cpu, served.total)


def one_thread_child(accounts: int) -> None:
    """Classify one batch as the main run's first (same seed) and print its wall and CPU seconds as
    JSON: run in a process of its own with ``POLARS_MAX_THREADS=1`` (polars sizes its thread pool
    once, at import)."""
    settings = Settings()
    frames = generate(accounts, seed=1000, as_of=AS_OF, id_prefix="B000-").frames
    t0, c0 = time.perf_counter(), usage()
    [results] = classify_batches([frames], settings, AS_OF)
    cpu = Cpu()
    cpu.add(c0, usage())
    print(json.dumps({"accounts": results.height, "wall": time.perf_counter() - t0, "cpu": cpu.total}))


def one_thread(accounts: int) -> tuple[int, float, float]:
    """(accounts, wall seconds, CPU seconds) of :func:`one_thread_child` in its own process."""
    child = subprocess.run(
        [sys.executable, __file__, "--one-thread-child", "--batch", str(accounts)],
        env={**os.environ, "POLARS_MAX_THREADS": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    return measured["accounts"], measured["wall"], measured["cpu"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000, help="accounts per batch (memory bound)")
    parser.add_argument("--baseline-accounts", type=int, default=50_000, help="subset for the naive baseline")
    parser.add_argument(
        "--memory", action="store_true", help="peak RSS of each entry point in its own process (see memory())"
    )
    parser.add_argument(
        "--invoices", type=int, default=10_000_000, help="--memory: at least this many invoices"
    )
    parser.add_argument(
        "--roster", type=Path, help="--memory: a roster folder to reuse instead of writing one"
    )
    parser.add_argument(
        "--entry-points",
        type=lambda text: [n for n in text.split(",") if n],
        default=[],
        help="--memory: only these of classify,report,backtest (comma-separated; default all)",
    )
    parser.add_argument(
        "--state-accounts",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[],
        help="--memory: sizes of a sync state for the peak of report --state (comma-separated)",
    )
    parser.add_argument(
        "--state-weeks",
        type=int,
        default=STATE_WEEKS,
        help="--memory: weekly runs of task history in the state for report --state (see write_state)",
    )
    parser.add_argument(
        "--state-only",
        action="store_true",
        help="--memory: only report --state, at --state-accounts (no roster)",
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        help="--memory: keep the largest --state-accounts state here (reused if it exists)",
    )
    parser.add_argument(
        "--sync-accounts",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[2000, 8000],
        help="--memory: sandbox sizes for the sync's peak (comma-separated; empty to skip)",
    )
    parser.add_argument(
        "--sync-only", action="store_true", help="--memory: only the sync, at --sync-accounts (no roster)"
    )
    parser.add_argument(
        "--sync-path",
        choices=("auto", "rest", "bulk"),
        default="auto",
        help="--memory: the sync's read and writes through REST, Bulk 2.0, or as bulk_threshold decides",
    )
    parser.add_argument(
        "--one-thread-child", action="store_true", help=argparse.SUPPRESS
    )  # one batch in one thread (see one_thread)
    args = parser.parse_args()
    if args.one_thread_child:
        one_thread_child(args.batch)
        return
    if args.memory:
        memory(args)
        return
    settings = Settings()

    generating = classifying = 0.0
    fast_cpu, slow_cpu = Cpu(), Cpu()
    invoices = classified = 0
    tiers: dict[str, int] = defaultdict(int)
    baseline_frames: RosterFrames | None = None
    for batch, first in enumerate(range(0, args.accounts, args.batch)):
        size = min(args.batch, args.accounts - first)
        t0 = time.perf_counter()
        frames = generate(size, seed=1000 + batch, as_of=AS_OF, id_prefix=f"B{batch:03d}-").frames
        generating += time.perf_counter() - t0
        invoices += frames.invoices.height if frames.invoices is not None else 0
        t0, c0 = time.perf_counter(), usage()
        [results] = classify_batches([frames], settings, AS_OF)
        classifying += time.perf_counter() - t0
        fast_cpu.add(c0, usage())
        classified += results.height
        for tier, count in results.group_by("tier").len().iter_rows():
            tiers[tier] += count
        if baseline_frames is None:
            baseline_frames, baseline_results = frames, results
        del frames, results
    print(
        f"generated {classified:,} accounts / {invoices:,} invoices in {generating:.1f} s ({args.batch:,} per batch)"
    )
    fast_rate = classified / classifying
    print(
        f"tiersync classify: {classifying:.1f} s, {fast_rate:,.0f} accounts/s (tiers, traits, reasons, gaps, actions)"
    )
    print("tiers: " + ", ".join(f"{t} {c / classified:.0%}" for t, c in sorted(tiers.items())))

    assert baseline_frames is not None
    n = min(args.baseline_accounts, baseline_frames.accounts.height)
    subset_ids = baseline_frames.accounts["id"].head(n).implode()
    subset = RosterFrames(
        accounts=baseline_frames.accounts.head(n),
        **{
            kind: None
            if (f := baseline_frames.child(kind)) is None
            else f.filter(pl.col("account_id").is_in(subset_ids))
            for kind in ("invoices", "tickets", "referrals", "surveys", "meetings", "goals", "renegotiations")
        },
    )
    t0, c0 = time.perf_counter(), usage()
    naive = naive_classify(subset, settings)
    slow = time.perf_counter() - t0
    slow_cpu.add(c0, usage())
    slow_rate = n / slow
    print(f"naive per-row baseline on {n:,} accounts: {slow:.1f} s, {slow_rate:,.0f} accounts/s")
    fast = {
        a: (t, traits, [g for g in gaps if g in NAIVE_GAPS])
        for a, t, traits, gaps in baseline_results.head(n)
        .select("account_id", "tier", "traits", "data_gaps")
        .iter_rows()
    }
    differ = [a for a in fast if fast[a] != naive.get(a)]
    print(
        f"tiersync and the baseline agree on tier, traits and data gaps for {n - len(differ):,} of {n:,} "
        f"accounts" + (f"; first that differs: {differ[0]}" if differ else "")
    )
    print(f"cpu per 100,000 accounts (all threads): tiersync {fast_cpu.per(classified)}")
    print(f"                                        naive    {slow_cpu.per(n)}")
    cpu_ratio = (slow_cpu.total / n) / (fast_cpu.total / classified)
    print(f"fast/naive, wall time = {fast_rate / slow_rate:.1f}×  (goal ≥10×)")
    print(f"fast/naive, cpu time  = {cpu_ratio:.1f}×  (goal ≥10×)")
    # polars on one thread, in a process of its own: the ratio on one core, threads no help
    one, one_wall, one_cpu = one_thread(min(args.batch, args.accounts))
    print(
        f"one thread (POLARS_MAX_THREADS=1, own process, {one:,} accounts): tiersync "
        f"{one_wall * 1e5 / one:.2f} s wall, {one_cpu * 1e5 / one:.2f} s cpu per 100,000 accounts; "
        f"fast/naive = {(one / one_wall) / slow_rate:.1f}× wall, "
        f"{(slow_cpu.total / n) / (one_cpu / one):.1f}× cpu"
    )
    # a wall ratio on one thread is only as good as the share of a core each side got
    print(
        f"share of a core (cpu / wall): one-thread tiersync {one_cpu / one_wall:.0%}, "
        f"naive {slow_cpu.total / slow:.0%} (a loaded machine starves both, not always alike)"
    )
    print(f"peak memory (whole run, generation included): {peak_rss_mb():,.0f} MB")
    if differ:
        sys.exit(1)


if __name__ == "__main__":
    main()
