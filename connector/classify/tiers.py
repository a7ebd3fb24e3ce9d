"""The four tiers (docs/rules.md, Tiers) as explainable rules over evidence; thresholds come from config.

Order of decision: poor if any headache rule holds; else amazing if every amazing rule holds; else
good if every good rule holds; else okay. Missing evidence cannot satisfy a rule, so a client with no
payment history is at best okay, and says so.
"""

from __future__ import annotations

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.rules import (
    Rule,
    all_hold,
    any_holds,
    by_group,
    codes,
    holding,
    number,
    percent,
    plural,
    sentence,
    window_label,
)
from connector.model import Tier

TIER_BASE_SCORE: dict[Tier, float] = {Tier.POOR: 0.0, Tier.OKAY: 25.0, Tier.GOOD: 50.0, Tier.AMAZING: 75.0}


def _late(window: str) -> pl.Expr:
    return (
        number("invoices_late")
        + pl.lit(" of ")
        + number("invoices_considered")
        + pl.lit(f" invoices paid late or unpaid in {window}")
    )


def _on_time() -> pl.Expr:
    return (
        number("invoices_on_time")
        + pl.lit(" of ")
        + number("invoices_considered")
        + pl.lit(" invoices paid on time")
    )


def poor_rules(settings: ClassifierSettings) -> list[Rule]:
    t = settings.tiers.poor
    w = window_label(settings.evidence.window_days)
    return [
        Rule(
            "poor.complaints",
            pl.col("complaints") >= t.complaints_at_least,
            plural("complaints", "complaint", "complaints") + pl.lit(f" in {w}"),
            f"complaints at least {t.complaints_at_least} in {w}",
            ("complaints",),
        ),
        Rule(
            "poor.on_time_rate",
            pl.col("on_time_rate") < t.on_time_rate_below,
            _late(w),
            f"invoices paid on time below {t.on_time_rate_below:.0%}",
            ("on_time_rate",),
        ),
        Rule(
            "poor.unpaid_overdue",
            pl.col("unpaid_overdue") >= t.unpaid_overdue_at_least,
            plural("unpaid_overdue", "invoice", "invoices")
            + pl.lit(" unpaid past due (")
            + number("overdue_amount")
            + pl.lit(" overdue)"),
            f"invoices unpaid past due at least {t.unpaid_overdue_at_least}",
            ("unpaid_overdue",),
        ),
        Rule(
            "poor.discount_requests",
            pl.col("discount_requests") >= t.discount_requests_at_least,
            plural("discount_requests", "discount request", "discount requests") + pl.lit(f" in {w}"),
            f"discount requests at least {t.discount_requests_at_least} in {w}",
            ("discount_requests",),
        ),
        Rule(
            "poor.public_complaints",
            pl.col("public_complaints") >= t.public_complaints_at_least,
            plural("public_complaints", "public complaint", "public complaints"),
            f"public complaints at least {t.public_complaints_at_least}",
            ("public_complaints",),
        ),
        Rule(
            "poor.detractor",
            pl.col("latest_nps") <= t.nps_at_most,
            pl.lit("latest NPS ") + number("latest_nps") + pl.lit(" (detractor)"),
            f"latest NPS at most {t.nps_at_most}",
            ("latest_nps",),
        ),
    ]


def amazing_rules(settings: ClassifierSettings) -> list[Rule]:
    t = settings.tiers.amazing
    w = window_label(settings.evidence.window_days)
    promoter = pl.col("latest_nps") >= t.nps_at_least
    happy = pl.col("latest_csat") >= t.csat_at_least
    few_complaints = pl.col("complaints") <= t.complaints_at_most
    return [
        Rule(
            "amazing.on_time",
            pl.col("on_time_rate") >= t.on_time_rate_at_least,
            _on_time(),
            f"invoices paid on time at least {t.on_time_rate_at_least:.0%}",
            ("on_time_rate",),
        ),
        Rule(
            "amazing.referrals",
            pl.col("referrals") >= t.referrals_at_least,
            plural("referrals", "referral", "referrals")
            + pl.lit(" worth ")
            + number("referral_value")
            + pl.lit(f" in {w}"),
            f"referrals at least {t.referrals_at_least} in {w}",
            ("referrals",),
        ),
        Rule(
            "amazing.advocate",
            promoter.fill_null(False) | happy.fill_null(False) | few_complaints.fill_null(False),
            pl.when(promoter.fill_null(False))
            .then(pl.lit("NPS ") + number("latest_nps") + pl.lit(" (promoter)"))
            .when(happy.fill_null(False))
            .then(pl.lit("CSAT ") + pl.col("latest_csat").round(1).cast(pl.String))
            .otherwise(plural("complaints", "complaint", "complaints") + pl.lit(f" in {w}")),
            f"latest NPS at least {t.nps_at_least}, or CSAT at least {t.csat_at_least:g}, "
            f"or complaints at most {t.complaints_at_most} in {w}",
            ("latest_nps", "latest_csat", "complaints"),
        ),
    ]


def good_rules(settings: ClassifierSettings) -> list[Rule]:
    t = settings.tiers.good
    w = window_label(settings.evidence.window_days)
    return [
        Rule(
            "good.on_time",
            pl.col("on_time_rate") >= t.on_time_rate_at_least,
            _on_time(),
            f"invoices paid on time at least {t.on_time_rate_at_least:.0%}",
            ("on_time_rate",),
        ),
        Rule(
            "good.complaints",
            pl.col("complaints") <= t.complaints_at_most,
            plural("complaints", "complaint", "complaints") + pl.lit(f" in {w}"),
            f"complaints at most {t.complaints_at_most} in {w}",
            ("complaints",),
        ),
        Rule(
            "good.support_load",
            pl.col("tickets") <= t.tickets_at_most,
            plural("tickets", "ticket", "tickets") + pl.lit(f" in {w}"),
            f"support tickets at most {t.tickets_at_most} in {w}",
            ("tickets",),
        ),
    ]


def okay_rules(settings: ClassifierSettings) -> list[Rule]:
    """Why a client that is not poor is not good either: the headaches that start here."""
    t = settings.tiers.good
    w = window_label(settings.evidence.window_days)
    return [
        Rule(
            "okay.late_payments",
            (pl.col("on_time_rate") < t.on_time_rate_at_least) & (pl.col("invoices_late") > 0),
            _late(w) + pl.lit(" (on time ") + percent("on_time_rate") + pl.lit(")"),
        ),
        Rule(
            "okay.payment_history_missing",
            pl.col("on_time_rate").is_null(),
            pl.lit(f"no payment history in {w}"),
        ),
        Rule(
            "okay.complaints",
            pl.col("complaints") > t.complaints_at_most,
            plural("complaints", "complaint", "complaints") + pl.lit(f" in {w}"),
        ),
        Rule(
            "okay.support_load",
            pl.col("tickets") > t.tickets_at_most,
            plural("tickets", "ticket", "tickets") + pl.lit(f" in {w}"),
        ),
        Rule("okay.support_history_missing", pl.col("tickets").is_null(), pl.lit("no support history")),
        Rule("okay.no_referrals", pl.col("referrals") == 0, pl.lit("no referrals")),
    ]


def tier_column(settings: ClassifierSettings) -> pl.Expr:
    """The tier alone: poor, else amazing, else good, else okay."""
    return (
        pl.when(any_holds(poor_rules(settings)))
        .then(pl.lit(Tier.POOR.value))
        .when(all_hold(amazing_rules(settings)))
        .then(pl.lit(Tier.AMAZING.value))
        .when(all_hold(good_rules(settings)))
        .then(pl.lit(Tier.GOOD.value))
        .otherwise(pl.lit(Tier.OKAY.value))
        .alias("tier")
    )


def _rule_sets(settings: ClassifierSettings) -> dict[Tier, list[Rule]]:
    """The rules each tier's ``tier_codes`` and ``tier_reason`` are made of."""
    return {
        Tier.POOR: poor_rules(settings),
        Tier.AMAZING: amazing_rules(settings),
        Tier.GOOD: good_rules(settings),
        Tier.OKAY: okay_rules(settings),
    }


def explained(frame: pl.LazyFrame, settings: ClassifierSettings) -> pl.LazyFrame:
    """Adds ``tier_codes`` and ``tier_reason`` to a frame that has ``tier``.

    Each tier's sentences are built only on that tier's rows: string building is most of the
    classifier's work, and a million rows times four rule sets would quadruple it.
    """
    return by_group(
        frame,
        [
            (
                pl.col("tier") == tier.value,
                [codes(rules).alias("tier_codes"), sentence(rules).alias("tier_reason")],
            )
            for tier, rules in _rule_sets(settings).items()
        ],
    )


def tier_code_holds(settings: ClassifierSettings) -> dict[str, pl.Expr]:
    """When ``tier_codes`` names each tier rule's code: on its tier's rows, where the rule holds."""
    return {
        code: condition
        for tier, rules in _rule_sets(settings).items()
        for code, condition in holding(rules, pl.col("tier") == tier.value).items()
    }


def score_column(settings: ClassifierSettings) -> pl.Expr:
    """0-100 for sorting: the tier's band (25 points each) plus where the client sits inside it.

    The tier is decided by the rules above; the score only orders clients and never crosses a band.
    """
    poor_complaints = settings.tiers.poor.complaints_at_least
    parts = [
        pl.col("on_time_rate").fill_null(0.5),
        (pl.col("referrals").fill_null(0) / 3).clip(0, 1),
        1 - (pl.col("complaints").fill_null(poor_complaints / 2) / (2 * poor_complaints)).clip(0, 1),
        (pl.col("latest_nps").cast(pl.Float64) / 10).fill_null(0.5),
    ]
    within = pl.sum_horizontal(parts) / len(parts)
    base = pl.col("tier").replace_strict(
        {t.value: s for t, s in TIER_BASE_SCORE.items()}, return_dtype=pl.Float64
    )
    return (base + (within * 24.9)).round(1).alias("score")
