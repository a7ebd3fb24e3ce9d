"""The report's content as plain data: what ``tiersync report --format json`` writes for BI tools and
what the HTML page renders. Numbers only come from here, so the page and the JSON never disagree.

Built from a :class:`~connector.report.sources.ReportSource` (the sync state or an offline run);
parts that need a sync (movements, tasks) say ``available: false`` offline instead of showing zeros.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from connector.classify.comms import TOUCH_PREFIX
from connector.classify.traits import reason_column
from connector.config import Settings
from connector.insights.pareto import Pareto, pareto
from connector.insights.profile import ProfileRow, learn_profile
from connector.model import Tier, Trait
from connector.report.sources import LISTED, ReportSource
from connector.sync.owners import NO_OWNER

LISTED_DECISIONS = 25
"""Clients listed under protect, fix and let go (the largest by revenue first)."""
TIER_RANK = {t.value: i for i, t in enumerate(Tier)}


@dataclass(frozen=True)
class AccountLine:
    account_id: str
    name: str
    owner_id: str | None
    tier: str
    revenue: float
    why: str
    owner: str = ""
    """The owner's name (the id when no name was read)."""
    todo: str = ""
    """What to do about the client: its playbook actions, in words."""


@dataclass(frozen=True)
class Decisions:
    """Who to protect, who to fix, who to consider letting go: the report's first question, by name.

    Read from the classification's ``decision`` when it has one; otherwise from tier and traits:
    protect the top tiers, let go of poor clients with a bad-client trait or unpaid invoices (the
    non-payers and the difficult), fix the other okay and poor clients."""

    source: str
    """``decision`` or ``tier and traits``."""
    protect: list[AccountLine]
    protect_total: int
    fix: list[AccountLine]
    fix_total: int
    let_go: list[AccountLine]
    let_go_total: int


@dataclass(frozen=True)
class TierLine:
    tier: str
    accounts: int
    share: float
    revenue: float
    revenue_share: float
    change: int | None
    """Net accounts that moved into the tier in the last run (None without run history)."""


@dataclass(frozen=True)
class TraitLine:
    trait: str
    label: str
    accounts: int
    share: float
    largest: list[AccountLine]
    """The accounts with the trait that bring the most revenue: where it matters most."""


@dataclass(frozen=True)
class TraitOverlap:
    traits: list[str]
    labels: list[str]
    counts: list[list[int]]
    """``counts[i][j]``: accounts with both trait i and trait j (the diagonal: with trait i)."""


@dataclass(frozen=True)
class AccountMove:
    account_id: str
    name: str
    owner_id: str | None
    previous: str
    current: str
    why: str
    owner: str = ""


@dataclass(frozen=True)
class Movements:
    available: bool
    tiers: list[str] = field(default_factory=lambda: [t.value for t in Tier])
    matrix: list[list[int]] = field(default_factory=list)
    """``matrix[i][j]``: accounts that were tier i before the last run and are tier j after it."""
    new: int = 0
    """Accounts first tiered in the last run."""
    moved: int = 0
    dropped_total: int = 0
    dropped: list[AccountMove] = field(default_factory=list)
    """Accounts now in a worse tier than before the last run, worst drop first (up to ``LISTED``)."""


@dataclass(frozen=True)
class ProfileView:
    top_tiers: list[str]
    top_accounts: int
    rest_accounts: int
    min_support: int
    rows: list[ProfileRow]
    """Every value, supported first, highest lift first (see ``connector.insights.profile``)."""


@dataclass(frozen=True)
class ActionLine:
    action: str
    title: str
    accounts: int | None
    """Accounts whose latest result recommends the action (None for a communication-plan touch)."""
    open: int | None
    overdue: int | None


@dataclass(frozen=True)
class OwnerLine:
    owner_id: str
    accounts: int
    open: int | None
    overdue: int | None
    owner: str = ""


@dataclass(frozen=True)
class TaskLine:
    key: str
    account_id: str
    name: str
    owner_id: str | None
    action: str
    due: str | None
    status: str
    owner: str = ""


@dataclass(frozen=True)
class Playbook:
    tasks_available: bool
    by_action: list[ActionLine]
    by_owner: list[OwnerLine]
    open_total: int | None
    overdue_total: int | None
    overdue: list[TaskLine]
    """Open tasks past due, oldest due first (up to ``LISTED``)."""


@dataclass(frozen=True)
class Headline:
    accounts: int
    revenue: float
    top_share: float
    """Share of accounts in the top tiers (``insights.top_tiers``)."""
    poor_share: float
    poor_complaint_share: float
    with_traits: int
    overrides: int
    open_tasks: int | None
    overdue_tasks: int | None
    dropped: int | None


@dataclass(frozen=True)
class ReportData:
    title: str
    as_of: str
    origin: str
    last_run: str | None
    headline: Headline
    currency: str
    decisions: Decisions
    tiers: list[TierLine]
    pareto: Pareto
    traits: list[TraitLine]
    overlap: TraitOverlap
    movements: Movements
    profile: ProfileView
    playbook: Playbook
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False, default=str)


def _revenue(frame: pl.DataFrame) -> float:
    return float(frame["revenue"].fill_null(0).sum()) if frame.height else 0.0


ROW = "__row__"
"""A result's position, so that a narrow sort or filter can fetch the few whole rows a table lists."""


def _narrow(results: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """``columns`` of ``results`` with each row's position. A filter or sort of the whole results frame
    would copy every column of a million accounts (their reasons above all) for a table of 25 rows."""
    return results.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(ROW), *columns)


def _by_revenue(results: pl.DataFrame, picked: pl.DataFrame, limit: int) -> list[dict[str, Any]]:
    """The whole rows of the ``limit`` accounts of ``picked`` (a :func:`_narrow` frame) that bring the
    most revenue, largest first (ties by account id)."""
    top = picked.sort(["revenue", "account_id"], descending=[True, False], nulls_last=True).head(limit)
    return results[top[ROW]].to_dicts()


def _tiers(results: pl.DataFrame, source: ReportSource) -> list[TierLine]:
    total, revenue = results.height, _revenue(results)
    change: dict[str, int] | None = None
    if source.moves is not None:
        now = source.moves["current"].value_counts()
        before = source.moves["previous"].drop_nulls().value_counts()
        change = {
            t.value: dict(now.iter_rows()).get(t.value, 0) - dict(before.iter_rows()).get(t.value, 0)
            for t in Tier
        }
    lines = []
    narrow = results.select("tier", "revenue")
    for tier in Tier:
        part = narrow.filter(pl.col("tier") == tier.value)
        lines.append(
            TierLine(
                tier=tier.value,
                accounts=part.height,
                share=part.height / total if total else 0.0,
                revenue=_revenue(part),
                revenue_share=_revenue(part) / revenue if revenue else 0.0,
                change=None if change is None else change[tier.value],
            )
        )
    return lines


def owner_label(row: dict[str, Any]) -> str:
    """The owner's name where one was read, else the id, else ``(no owner)``."""
    return str(row.get("owner_name") or row.get("owner_id") or NO_OWNER)


def _line(row: dict[str, Any], why: str, todo: str = "") -> AccountLine:
    return AccountLine(
        account_id=row["account_id"],
        name=row["name"] or "",
        owner_id=row["owner_id"],
        tier=row["tier"],
        revenue=float(row["revenue"] or 0.0),
        why=why or "",
        owner=owner_label(row),
        todo=todo,
    )


def _why(row: dict[str, Any], settings: Settings) -> str:
    """The tier's reason and each trait's evidence, with neutral labels."""
    parts = [row.get("tier_reason") or ""]
    parts += [
        f"{settings.label(t)}: {row.get(reason_column(t))}"
        for t in Trait
        if t.value in (row.get("traits") or []) and row.get(reason_column(t))
    ]
    return "; ".join(p for p in parts if p)


def _decisions(results: pl.DataFrame, settings: Settings) -> Decisions:
    titles = {a.code: a.title for a in settings.playbook.actions}
    top = [t.value for t in settings.insights.top_tiers]
    if "decision" in results.columns and results["decision"].null_count() < results.height:
        source = "decision"
        decision = pl.col("decision").fill_null("")
        narrow = _narrow(results, "account_id", "revenue", "decision")
        groups = {
            "protect": narrow.filter(decision == "protect"),
            "fix": narrow.filter(decision.is_in(["fix", "develop"])),
            "let_go": narrow.filter(decision == "let_go"),
        }
    else:
        source = "tier and traits"
        poor = pl.col("tier") == Tier.POOR.value
        troubled = (pl.col("traits").list.len().fill_null(0) > 0) | (
            pl.col("unpaid_overdue").fill_null(0) > 0
        )
        let_go = poor & troubled
        narrow = _narrow(results, "account_id", "revenue", "tier", "traits", "unpaid_overdue")
        groups = {
            "protect": narrow.filter(pl.col("tier").is_in(top)),
            "fix": narrow.filter(pl.col("tier").is_in([Tier.OKAY.value, Tier.POOR.value]) & ~let_go),
            "let_go": narrow.filter(let_go),
        }

    def lines(frame: pl.DataFrame) -> list[AccountLine]:
        out = []
        for row in _by_revenue(results, frame, LISTED_DECISIONS):
            why = row.get("decision_reason") or _why(row, settings)
            todo = ", ".join(titles.get(a, a) for a in (row.get("actions") or []))
            out.append(_line(row, why, todo))
        return out

    return Decisions(
        source=source,
        protect=lines(groups["protect"]),
        protect_total=groups["protect"].height,
        fix=lines(groups["fix"]),
        fix_total=groups["fix"].height,
        let_go=lines(groups["let_go"]),
        let_go_total=groups["let_go"].height,
    )


def _traits(results: pl.DataFrame, settings: Settings) -> tuple[list[TraitLine], TraitOverlap]:
    has = {
        t: results.select(pl.col("traits").list.contains(t.value).fill_null(False)).to_series() for t in Trait
    }
    lines = []
    narrow = _narrow(results, "account_id", "revenue")
    for trait in Trait:
        part = narrow.filter(has[trait])
        largest = _by_revenue(results, part, settings.insights.report_accounts_per_trait)
        lines.append(
            TraitLine(
                trait=trait.value,
                label=settings.label(trait),
                accounts=part.height,
                share=part.height / results.height if results.height else 0.0,
                largest=[_line(row, row[reason_column(trait)]) for row in largest],
            )
        )
    counts = [[int((has[a] & has[b]).sum()) for b in Trait] for a in Trait]
    overlap = TraitOverlap(
        traits=[t.value for t in Trait], labels=[settings.label(t) for t in Trait], counts=counts
    )
    return lines, overlap


def _movements(results: pl.DataFrame, source: ReportSource) -> Movements:
    if source.moves is None:
        return Movements(available=False)
    moves = source.moves.join(
        results.select("account_id", "name", "owner_id", "owner_name", "tier_reason"),
        on="account_id",
        how="left",
    )
    known = moves.filter(pl.col("previous").is_not_null())
    pairs = {(p, c): n for p, c, n in known.group_by("previous", "current").len().iter_rows()}
    matrix = [[pairs.get((a.value, b.value), 0) for b in Tier] for a in Tier]
    dropped_rows = [
        row
        for row in known.iter_rows(named=True)
        if TIER_RANK.get(row["current"], 0) > TIER_RANK.get(row["previous"], 0)
    ]
    dropped_rows.sort(key=lambda r: (TIER_RANK[r["previous"]] - TIER_RANK[r["current"]], r["account_id"]))
    return Movements(
        available=True,
        matrix=matrix,
        new=moves.height - known.height,
        moved=int((known["previous"] != known["current"]).sum()),
        dropped_total=len(dropped_rows),
        dropped=[
            AccountMove(
                account_id=r["account_id"],
                name=r["name"] or "",
                owner_id=r["owner_id"],
                previous=r["previous"],
                current=r["current"],
                why=r["tier_reason"] or "",
                owner=owner_label(r),
            )
            for r in dropped_rows[:LISTED]
        ],
    )


def _overdue(as_of: dt.date) -> pl.Expr:
    return (pl.col("due").str.to_date(strict=False) < as_of).fill_null(False)


def _playbook(results: pl.DataFrame, source: ReportSource, settings: Settings, as_of: dt.date) -> Playbook:
    recommended = {
        a.code: int(results.select(pl.col("actions").list.contains(a.code).fill_null(False).sum()).item())
        for a in settings.playbook.actions
    }
    titles = {a.code: a.title for a in settings.playbook.actions}
    titles |= {TOUCH_PREFIX + touch.code: touch.title for touch in settings.comms.touches}
    open_tasks = source.tasks
    owners = results.select("account_id", "owner_id", "name", "owner_name")
    names = {
        r["owner_id"] or "(none)": owner_label(r)
        for r in results.select("owner_id", "owner_name").unique().iter_rows(named=True)
    }
    if open_tasks is None:
        per_action: dict[str, tuple[int, int]] = {}
        per_owner: dict[str, tuple[int, int]] = {}
        overdue_rows: list[dict[str, Any]] = []
        overdue_total = 0
    else:
        counts = open_tasks.counts.with_columns(
            pl.col("owner_id").fill_null("(none)"),
            pl.when(_overdue(as_of)).then(pl.col("open")).otherwise(0).alias("overdue"),
        )
        per_action = {
            a: (int(n), int(o))
            for a, n, o in counts.group_by("action")
            .agg(pl.col("open").sum(), pl.col("overdue").sum())
            .iter_rows()
        }
        per_owner = {
            w: (int(n), int(o))
            for w, n, o in counts.group_by("owner_id")
            .agg(pl.col("open").sum(), pl.col("overdue").sum())
            .iter_rows()
        }
        overdue_total = sum(o for _, o in per_action.values())
        overdue_rows = (
            open_tasks.earliest.filter(_overdue(as_of))
            .join(owners, on="account_id", how="left")
            .with_columns(pl.col("owner_id").fill_null("(none)"))
            .sort("due", "key")
            .to_dicts()
        )
    available = open_tasks is not None
    codes = list(recommended) + sorted(set(per_action) - set(recommended))
    by_action = [
        ActionLine(
            action=code,
            title=titles.get(code, code),
            accounts=recommended.get(code),
            open=per_action.get(code, (0, 0))[0] if available else None,
            overdue=per_action.get(code, (0, 0))[1] if available else None,
        )
        for code in codes
    ]
    accounts_per_owner = dict(
        owners.with_columns(pl.col("owner_id").fill_null("(none)")).group_by("owner_id").len().iter_rows()
    )
    by_owner = sorted(
        (
            OwnerLine(
                owner_id=owner,
                accounts=accounts_per_owner.get(owner, 0),
                owner=names.get(owner, owner),
                open=per_owner.get(owner, (0, 0))[0] if available else None,
                overdue=per_owner.get(owner, (0, 0))[1] if available else None,
            )
            for owner in sorted(set(accounts_per_owner) | set(per_owner))
        ),
        key=lambda line: (-(line.overdue or 0), -(line.open or 0), -line.accounts, line.owner_id),
    )
    return Playbook(
        tasks_available=available,
        by_action=by_action,
        by_owner=by_owner,
        open_total=None if open_tasks is None else open_tasks.total,
        overdue_total=overdue_total if available else None,
        overdue=[
            TaskLine(
                key=r["key"],
                account_id=r["account_id"],
                name=r["name"] or "",
                owner_id=r["owner_id"],
                action=r["action"],
                due=r["due"],
                status=r["status"],
                owner=names.get(r["owner_id"], r["owner_id"]),
            )
            for r in overdue_rows[:LISTED]
        ],
    )


def build_report_data(
    source: ReportSource, settings: Settings, as_of: dt.date, title: str = "Client tiers"
) -> ReportData:
    """Everything the report shows, computed once from ``source`` as of ``as_of`` (overdue tasks)."""
    results = source.results
    if "owner_name" not in results.columns:  # offline input without an owner_name column
        results = results.with_columns(pl.lit(None, dtype=pl.String).alias("owner_name"))
    headaches = pareto(results)
    profile = learn_profile(results, settings)
    traits, overlap = _traits(results, settings)
    movements = _movements(results, source)
    playbook = _playbook(results, source, settings, as_of)
    tiers = _tiers(results, source)
    poor = headaches.by_tier[-1]
    top = {t.value for t in settings.insights.top_tiers}
    notes = []
    overrides = int(results["override_tier"].is_not_null().sum()) if "override_tier" in results.columns else 0
    if overrides:
        notes.append(
            f"{overrides} accounts carry a manual override in the CRM; this report counts their computed tier."
        )
    if not movements.available:
        notes.append("Tier movements need the run history of a sync; this report comes from offline input.")
    if not playbook.tasks_available:
        notes.append(
            "Task counts need a sync; the playbook shows the actions each account's result recommends."
        )
    headline = Headline(
        accounts=results.height,
        revenue=_revenue(results),
        top_share=sum(t.share for t in tiers if t.tier in top),
        poor_share=poor.account_share,
        poor_complaint_share=poor.shares["complaints"],
        with_traits=int((results["traits"].list.len().fill_null(0) > 0).sum()),
        overrides=overrides,
        open_tasks=playbook.open_total,
        overdue_tasks=playbook.overdue_total,
        dropped=movements.dropped_total if movements.available else None,
    )
    return ReportData(
        title=title,
        as_of=as_of.isoformat(),
        origin=source.origin,
        last_run=source.last_run,
        headline=headline,
        currency=settings.insights.currency,
        decisions=_decisions(results, settings),
        tiers=tiers,
        pareto=headaches,
        traits=traits,
        overlap=overlap,
        movements=movements,
        profile=ProfileView(
            top_tiers=list(profile.top_tiers),
            top_accounts=profile.top_accounts,
            rest_accounts=profile.rest_accounts,
            min_support=profile.min_support,
            rows=list(profile.rows),
        ),
        playbook=playbook,
        notes=notes,
    )
