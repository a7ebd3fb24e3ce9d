"""Why one account got its tier, in plain words: ``tiersync explain``.

Pure like the rest of ``classify``: given one account's classification row (``classify_frames``
output) and the settings, it re-evaluates each tier rule's own condition on the account's evidence,
so the explanation can never disagree with the tier. A rule whose evidence is missing is *unknown*,
never met: missing data proves nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.growth import reason_column as growth_reason_column
from connector.classify.rules import Rule
from connector.classify.tiers import amazing_rules, good_rules, poor_rules
from connector.classify.traits import reason_column
from connector.model import Decision, GrowthPoint, Tier, Trait

MET, NOT_MET, UNKNOWN = "met", "not met", "unknown"
MONEY = ("revenue", "overdue_amount", "referral_value", "cost_to_serve")
EVIDENCE_LABELS: dict[str, str] = {
    "invoices": "invoices in the window",
    "invoices_considered": "invoices with a due date that counts",
    "invoices_on_time": "paid on time",
    "invoices_late": "paid late or unpaid",
    "unpaid_overdue": "unpaid past due",
    "overdue_amount": "amount overdue",
    "on_time_rate": "on-time rate",
    "revenue": "revenue",
    "referrals": "referrals made",
    "referral_value": "value of referrals",
    "tickets": "support tickets",
    "complaints": "complaints",
    "escalations": "escalations to management",
    "abusive_incidents": "abusive incidents",
    "discount_requests": "discount requests",
    "public_complaints": "public complaints",
    "latest_nps": "latest NPS",
    "latest_csat": "latest CSAT",
    "checkups_held": "check-ups held",
    "checkups_missed": "check-ups missed",
    "checkups_declined": "check-ups declined",
    "no_shows": "joint meetings missed",
    "sessions_declined": "working sessions declined",
    "goals_refused": "goals refused",
    "renegotiations": "requests to renegotiate",
    "cost_to_serve": "cost to serve",
    "cost_ratio": "cost to serve against revenue",
}
"""Every evidence column in plain words, in the order ``explain`` shows them."""


def value_text(column: str, value: Any, currency: str) -> str:
    """An evidence value as people read it: ``82%``, ``12,400 USD``, ``unknown``."""
    if value is None:
        return "unknown"
    if column in ("on_time_rate", "cost_ratio"):
        return f"{float(value):.0%}"
    if column in MONEY:
        return f"{float(value):,.0f} {currency}"
    if column == "latest_csat":
        return f"{float(value):.1f}"
    return f"{float(value):,.0f}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class RuleCheck:
    code: str
    rule: str
    """The rule with its threshold, in words."""
    values: dict[str, str]
    """The account's value of each piece of evidence the rule reads."""
    status: str
    """``met``, ``not met`` or ``unknown`` (its evidence is missing)."""


@dataclass(frozen=True)
class TierCheck:
    tier: str
    needs: str
    """``any`` (one rule is enough: poor) or ``all`` (every rule must be met)."""
    checks: list[RuleCheck]
    holds: bool


@dataclass(frozen=True)
class Explanation:
    account_id: str
    name: str
    owner: str
    tier: str
    score: float
    tier_reason: str
    evidence: dict[str, str]
    """Evidence label -> the account's value, in plain words."""
    tiers: list[TierCheck]
    not_higher: list[str]
    """Why the account is not one tier higher, one reason per line (empty for the top tier)."""
    traits: dict[str, str]
    """Trait label -> its evidence."""
    data_gaps: list[str]
    data_gaps_reason: str
    actions: dict[str, str]
    """Action code -> its title."""
    tasks: list[dict[str, str]] = field(default_factory=list)
    """The tasks a sync would create: subject and due date."""
    decision: str | None = None
    """The next step, with its label and reasons in plain words."""
    growth_points: list[str] = field(default_factory=list)
    """Each growth point's label and its evidence."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False)

    def lines(self) -> list[str]:
        """The explanation as plain text, one statement per line."""
        out = [f"{self.name} ({self.account_id}), owner {self.owner}"]
        out.append(f"Tier: {self.tier} (score {self.score:.1f}). {self.tier_reason}".rstrip(". ") + ".")
        if self.decision:
            out.append(f"Next step: {self.decision}")
        out += ["", "Evidence:"] + [f"  {label}: {value}" for label, value in self.evidence.items()]
        for check in self.tiers:
            how = "any one of these" if check.needs == "any" else "all of these"
            verdict = "holds" if check.holds else "does not hold"
            out += ["", f"{check.tier.capitalize()} needs {how} ({verdict}):"]
            for rule in check.checks:
                values = ", ".join(f"{k} {v}" for k, v in rule.values.items())
                out.append(f"  [{rule.status}] {rule.rule}: {values}")
        out += ["", "Why not one tier higher:"] + [f"  {line}" for line in self.not_higher or ["top tier"]]
        out += ["", "Traits:"] + ([f"  {label}: {text}" for label, text in self.traits.items()] or ["  none"])
        if self.growth_points:
            out += ["", "Growth points:"] + [f"  {point}" for point in self.growth_points]
        out += ["", "Data gaps:", f"  {self.data_gaps_reason or 'none'}"]
        out += ["", "Actions:"] + ([f"  {title}" for title in self.actions.values()] or ["  none"])
        if self.tasks:
            out += ["", "Tasks a sync would create:"]
            out += [f"  {t['subject']} (due {t['due']})" for t in self.tasks]
        return out


def _check(rule: Rule, row: pl.DataFrame, currency: str) -> RuleCheck:
    held = row.select(rule.holds.alias("held")).item()
    values = {EVIDENCE_LABELS.get(c, c): value_text(c, row[c].item(), currency) for c in rule.reads}
    missing = all(row[c].item() is None for c in rule.reads) if rule.reads else False
    if held is True:
        status = MET
    elif held is None or missing:
        status = UNKNOWN
    else:
        status = NOT_MET
    return RuleCheck(rule.code, rule.test, values, status)


def _tier_checks(row: pl.DataFrame, settings: ClassifierSettings) -> list[TierCheck]:
    currency = settings.insights.currency
    checks = []
    for tier, needs, rules in (
        (Tier.POOR, "any", poor_rules(settings)),
        (Tier.AMAZING, "all", amazing_rules(settings)),
        (Tier.GOOD, "all", good_rules(settings)),
    ):
        done = [_check(rule, row, currency) for rule in rules]
        holds = any(c.status == MET for c in done) if needs == "any" else all(c.status == MET for c in done)
        checks.append(TierCheck(tier.value, needs, done, holds))
    return checks


def _not_higher(tier: Tier, checks: dict[str, TierCheck]) -> list[str]:
    """The rules that keep the account out of the next tier up."""
    if tier is Tier.AMAZING:
        return []
    if tier is Tier.POOR:
        held = [c for c in checks[Tier.POOR.value].checks if c.status == MET]
        return [f"poor because {c.rule}: {', '.join(f'{k} {v}' for k, v in c.values.items())}" for c in held]
    higher = Tier.AMAZING if tier is Tier.GOOD else Tier.GOOD
    missed = [c for c in checks[higher.value].checks if c.status != MET]
    return [
        f"not {higher.value}: {c.rule} is {c.status} ({', '.join(f'{k} {v}' for k, v in c.values.items())})"
        for c in missed
    ]


def explain(
    row: dict[str, Any],
    settings: ClassifierSettings,
    *,
    owner: str | None = None,
    tasks: list[dict[str, str]] | None = None,
) -> Explanation:
    """The explanation of one ``classify_frames`` result row (a dict of its columns)."""
    frame = pl.DataFrame([row])
    currency = settings.insights.currency
    tier = Tier(row["tier"])
    checks = _tier_checks(frame, settings)
    traits = {
        settings.label(Trait(t)): row.get(reason_column(Trait(t))) or "" for t in (row.get("traits") or [])
    }
    titles = {a.code: a.title for a in settings.playbook.actions}
    growth = [
        f"{settings.growth.label(GrowthPoint(p))}: {row.get(growth_reason_column(GrowthPoint(p))) or ''}".rstrip(
            ": "
        )
        for p in (row.get("growth_points") or [])
    ]
    decision = row.get("decision_reason") or (
        settings.decision.label(Decision(row["decision"])) if row.get("decision") else None
    )
    return Explanation(
        account_id=row["account_id"],
        name=row.get("name") or "",
        owner=owner or row.get("owner_id") or "(no owner)",
        tier=tier.value,
        score=float(row.get("score") or 0.0),
        tier_reason=row.get("tier_reason") or "",
        evidence={
            label: value_text(c, row.get(c), currency) for c, label in EVIDENCE_LABELS.items() if c in row
        },
        tiers=checks,
        not_higher=_not_higher(tier, {c.tier: c for c in checks}),
        traits=traits,
        data_gaps=list(row.get("data_gaps") or []),
        data_gaps_reason=row.get("data_gaps_reason") or "",
        actions={code: titles.get(code, code) for code in (row.get("actions") or [])},
        tasks=list(tasks or []),
        decision=decision,
        growth_points=growth,
    )
