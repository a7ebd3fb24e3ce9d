"""The five bad-client traits (docs/rules.md, Traits): zero or more per client, each with its evidence."""

from __future__ import annotations

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.rules import (
    Rule,
    any_holds,
    by_group,
    codes,
    holding,
    labels,
    number,
    percent,
    plural,
    sentence,
    window_label,
)
from connector.model import Trait


def _quoted(column: str) -> pl.Expr:
    return pl.lit("'") + pl.col(column) + pl.lit("'")


def trait_rules(settings: ClassifierSettings) -> dict[Trait, list[Rule]]:
    t = settings.traits
    w = window_label(settings.evidence.window_days)
    cw = window_label(settings.evidence.checkup_window_days)
    icp = t.outside_icp
    icp_rules: list[Rule] = []
    if icp.industries:
        icp_rules.append(
            Rule(
                "outside_icp.industry",
                ~pl.col("industry").is_in(icp.industries),
                pl.lit("industry ") + _quoted("industry") + pl.lit(" is outside the ideal segment"),
            )
        )
    if icp.regions:
        icp_rules.append(
            Rule(
                "outside_icp.region",
                ~pl.col("region").is_in(icp.regions),
                pl.lit("region ") + _quoted("region") + pl.lit(" is outside the ideal segment"),
            )
        )
    if icp.employees_min is not None:
        icp_rules.append(
            Rule(
                "outside_icp.too_small",
                pl.col("employee_count") < icp.employees_min,
                number("employee_count") + pl.lit(f" employees, below the ideal {icp.employees_min}"),
            )
        )
    if icp.employees_max is not None:
        icp_rules.append(
            Rule(
                "outside_icp.too_large",
                pl.col("employee_count") > icp.employees_max,
                number("employee_count") + pl.lit(f" employees, above the ideal {icp.employees_max}"),
            )
        )
    htlp = t.high_touch_low_pay
    return {
        Trait.HIGH_TOUCH_LOW_PAY: [
            Rule(
                "high_touch_low_pay.cost_to_serve",
                (pl.col("cost_ratio") >= htlp.cost_ratio_at_least)
                & (pl.col("escalations") >= htlp.escalations_at_least),
                pl.lit("cost to serve ")
                + number("cost_to_serve")
                + pl.lit(" against revenue ")
                + number("revenue")
                + pl.when(pl.col("revenue").fill_null(0) > 0)
                .then(pl.lit(" (") + percent("cost_ratio") + pl.lit(")"))
                .otherwise(pl.lit(""))
                + pl.lit("; ")
                + plural("escalations", "escalation", "escalations")
                + pl.lit(f" to management in {w}"),
            )
        ],
        Trait.BULLY: [
            Rule(
                "bully.abusive",
                pl.col("abusive_incidents") >= t.bully.abusive_incidents_at_least,
                plural("abusive_incidents", "abusive incident", "abusive incidents")
                + pl.lit(f" with staff in {w}"),
            ),
            Rule(
                "bully.public_complaints",
                pl.col("public_complaints") >= t.bully.public_complaints_at_least,
                plural("public_complaints", "public complaint", "public complaints") + pl.lit(f" in {w}"),
            ),
        ],
        Trait.GOALPOST_MOVER: [
            Rule(
                "goalpost_mover.renegotiations",
                pl.col("renegotiations") >= t.goalpost_mover.renegotiations_at_least,
                plural("renegotiations", "request", "requests") + pl.lit(f" to renegotiate terms in {w}"),
            ),
            Rule(
                "goalpost_mover.goals_refused",
                pl.col("goals_refused") >= t.goalpost_mover.goals_refused_at_least,
                pl.lit("refused to agree goals ") + plural("goals_refused", "time", "times"),
            ),
            Rule(
                "goalpost_mover.checkups_declined",
                pl.col("checkups_declined") >= t.goalpost_mover.checkups_declined_at_least,
                pl.lit("declined ")
                + plural("checkups_declined", "check-up", "check-ups")
                + pl.lit(f" in {cw}"),
            ),
        ],
        Trait.OUTSIDE_ICP: icp_rules,
        Trait.VENDOR_NOT_PARTNER: [
            Rule(
                "vendor_not_partner.no_shows",
                pl.col("no_shows") >= t.vendor_not_partner.no_shows_at_least,
                pl.lit("missed ")
                + plural("no_shows", "joint meeting", "joint meetings")
                + pl.lit(f" in {w}"),
            ),
            Rule(
                "vendor_not_partner.sessions_declined",
                pl.col("sessions_declined") >= t.vendor_not_partner.sessions_declined_at_least,
                pl.lit("declined ")
                + plural("sessions_declined", "working session", "working sessions")
                + pl.lit(f" in {w}"),
            ),
        ],
    }


def reason_column(trait: Trait) -> str:
    return f"reason_{trait.value}"


def trait_present(settings: ClassifierSettings) -> dict[Trait, pl.Expr]:
    """When ``traits`` names each trait: any of its rules holds (never when it has none)."""
    return {trait: any_holds(r) if r else pl.lit(False) for trait, r in trait_rules(settings).items()}


def trait_code_holds(settings: ClassifierSettings) -> dict[str, pl.Expr]:
    """When ``trait_codes`` names each trait rule's code: where the rule holds (its trait is then
    present, so the row has trait codes)."""
    return holding([rule for rules in trait_rules(settings).values() for rule in rules])


def with_traits(frame: pl.LazyFrame, settings: ClassifierSettings) -> pl.LazyFrame:
    """Adds ``traits``, ``trait_codes`` and one ``reason_<trait>`` column per trait (null when absent).

    Sentences are built only on the rows that carry a trait, usually a small minority.
    """
    rules = trait_rules(settings)
    present = trait_present(settings)
    every_rule = [rule for r in rules.values() for rule in r]
    flagged = frame.with_columns(
        labels([(present[t], t.value) for t in Trait]).alias("traits"),
    )
    with_any = [
        *(
            (pl.when(present[trait]).then(sentence(r)) if r else pl.lit(None))
            .cast(pl.String)
            .alias(reason_column(trait))
            for trait, r in rules.items()
        ),
        codes(every_rule).alias("trait_codes"),
    ]
    without = [
        *(pl.lit(None, dtype=pl.String).alias(reason_column(trait)) for trait in rules),
        pl.lit("").alias("trait_codes"),
    ]
    return by_group(flagged, [(pl.col("traits") != "", with_any), (pl.col("traits") == "", without)])
