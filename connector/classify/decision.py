"""The decision: protect, develop, fix or let go, with its reasons in plain words.

In order, the first that holds:

1. **let go** a client whose conduct concerns or unpaid invoices were already there in the last
   window, so after the conduct or solvency task that window's result raised (the warning);
2. **protect** amazing and good clients (without conduct or payment concerns);
3. **let go** a poor client that is not improving, is costly and is not high-potential;
4. **develop** an okay client that is high-potential (rising revenue, a network of referrals, a
   look-alike of the ideal segment), quiet, or without a growth point;
5. **fix** every other okay or poor client: its behaviour can change without a ton of effort (an
   improving trend, a cost within reach, high potential, a growth point to act on).

Bullies and non-payers are flagged first: ``decision_codes`` starts with ``flag.conduct`` /
``flag.non_payment`` and the reason with them. A quiet client who pays is never let go.
"""

from __future__ import annotations

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.growth import pays_quietly, point_present
from connector.classify.rules import (
    Group,
    Rule,
    by_group,
    cost_words,
    labels,
    number,
    percent,
    plural,
    sentence,
)
from connector.classify.traits import trait_present
from connector.classify.trend import Trend, trend_words
from connector.model import Decision, GrowthPoint, Tier, Trait


def _signals(settings: ClassifierSettings) -> dict[str, pl.Expr]:
    d = settings.decision
    bully = settings.traits.bully
    icp = settings.traits.outside_icp
    icp_set = bool(
        icp.industries or icp.regions or icp.employees_min is not None or icp.employees_max is not None
    )
    traits = trait_present(settings)
    return {
        "bully": traits[Trait.BULLY],
        "bully_before": (
            (pl.col("abusive_incidents_previous") >= bully.abusive_incidents_at_least)
            | (pl.col("public_complaints_previous") >= bully.public_complaints_at_least)
        ).fill_null(False),
        "non_payer": (pl.col("unpaid_overdue") >= d.non_payer_unpaid_at_least).fill_null(False),
        "non_payer_before": (pl.col("unpaid_overdue_previous") >= d.non_payer_unpaid_at_least).fill_null(
            False
        ),
        "rising": (
            (pl.col("revenue_previous") > 0)
            & (pl.col("revenue") >= pl.col("revenue_previous") * d.rising_revenue_ratio)
        ).fill_null(False),
        "network": (pl.col("referrals") >= d.network_referrals_at_least).fill_null(False),
        "lookalike": (~traits[Trait.OUTSIDE_ICP] if d.lookalike and icp_set else pl.lit(False)),
        "costly": (
            (pl.col("cost_ratio") >= d.costly_cost_ratio_at_least).fill_null(False)
            | (pl.col("margin") < d.costly_margin_below).fill_null(False)
        ),
        "improving": pl.col("trend") == Trend.IMPROVING,
        "quiet": pl.col("quiet"),
        "pays_quietly": pays_quietly(settings),
        "has_growth_point": pl.col("growth_points") != "",
    }


def decision_column(settings: ClassifierSettings) -> pl.Expr:
    s = _signals(settings)
    high_potential = s["rising"] | s["network"] | s["lookalike"]
    flagged = s["bully"] | s["non_payer"]
    persisted = (s["bully"] & s["bully_before"]) | (s["non_payer"] & s["non_payer_before"])
    tier = pl.col("tier")
    return (
        pl.when(persisted)
        .then(pl.lit(Decision.LET_GO.value))
        .when(tier.is_in([Tier.AMAZING.value, Tier.GOOD.value]) & ~flagged)
        .then(pl.lit(Decision.PROTECT.value))
        .when(
            (tier == Tier.POOR.value) & ~s["improving"] & s["costly"] & ~high_potential & ~s["pays_quietly"]
        )
        .then(pl.lit(Decision.LET_GO.value))
        .when((tier == Tier.OKAY.value) & ~flagged & (high_potential | s["quiet"] | ~s["has_growth_point"]))
        .then(pl.lit(Decision.DEVELOP.value))
        .otherwise(pl.lit(Decision.FIX.value))
        .alias("decision")
    )


def _growth_labels(settings: ClassifierSettings) -> pl.Expr:
    present = point_present(settings)
    return pl.concat_str(
        [pl.when(present[p]).then(pl.lit(settings.growth.label(p))) for p in GrowthPoint],
        separator=", ",
        ignore_nulls=True,
    )


def decision_rules(settings: ClassifierSettings) -> dict[Decision, list[Rule]]:
    """Per decision, the reasons that can explain it (each shown when it holds)."""
    s = _signals(settings)
    cost = cost_words()
    revenue = (
        pl.lit("revenue ")
        + number("revenue")
        + pl.lit(" against ")
        + number("revenue_previous")
        + pl.lit(" the last window")
    )
    flags = [
        Rule("flag.conduct", s["bully"], pl.lit("conduct concerns, flagged first")),
        Rule(
            "flag.non_payment",
            s["non_payer"],
            plural("unpaid_overdue", "invoice", "invoices") + pl.lit(" unpaid past due, flagged first"),
        ),
    ]
    potential = [
        Rule("develop.rising_revenue", s["rising"], revenue),
        Rule(
            "develop.network",
            s["network"],
            plural("referrals", "referral", "referrals") + pl.lit(" (a network)"),
        ),
        Rule("develop.lookalike", s["lookalike"], pl.lit("looks like our ideal clients")),
    ]
    return {
        Decision.LET_GO: [
            *flags,
            Rule(
                "let_go.conduct_persisted",
                s["bully"] & s["bully_before"],
                pl.lit(
                    "conduct concerns were there in the last window too, after conduct terms were asked for"
                ),
            ),
            Rule(
                "let_go.non_payment_persisted",
                s["non_payer"] & s["non_payer_before"],
                pl.lit("invoices unpaid past due in this window and the last"),
            ),
            Rule(
                "let_go.costly_not_improving",
                (pl.col("tier") == Tier.POOR.value) & ~s["improving"] & s["costly"],
                pl.lit("poor and not improving (")
                + trend_words()
                + pl.lit("); ")
                + pl.when(pl.col("margin") < settings.decision.costly_margin_below)
                .then(pl.lit("margin ") + percent("margin"))
                .otherwise(cost),
            ),
        ],
        Decision.PROTECT: [
            Rule(
                "protect.top_tier",
                pl.lit(True),
                pl.col("tier") + pl.lit(" client: they deserve the most attention"),
            ),
        ],
        Decision.DEVELOP: [
            *potential,
            Rule("develop.quiet", s["quiet"], pl.lit("a quiet client who pays on time: keep them and grow")),
            Rule(
                "develop.no_growth_point",
                ~s["has_growth_point"] & ~s["quiet"],
                pl.lit("no growth point to work on: grow the relationship"),
            ),
        ],
        Decision.FIX: [
            *flags,
            Rule(
                "fix.growth_point", s["has_growth_point"], pl.lit("growth point: ") + _growth_labels(settings)
            ),
            Rule("fix.improving", s["improving"], pl.lit("improving (") + trend_words() + pl.lit(")")),
            Rule("fix.cost_within_reach", ~s["costly"], pl.lit("cost to serve within reach")),
            *(
                Rule(
                    r.code.replace("develop.", "fix.high_potential."),
                    r.holds,
                    pl.lit("high potential: ") + r.says,
                )
                for r in potential
            ),
        ],
    }


def with_decision(frame: pl.LazyFrame, settings: ClassifierSettings) -> pl.LazyFrame:
    """Adds ``decision``, ``decision_codes`` (';'-joined) and ``decision_reason`` (its label, then why).

    Needs the tier, traits, growth points, ``quiet``, ``trend`` and the ``*_previous`` evidence. Each
    decision's sentences are built only on its own rows; a fix's trend words (the costliest text)
    only on the improving clients' rows, the only ones that say them (about 1% of the fixes)."""
    decided = frame.with_columns(decision_column(settings))
    improving = pl.col("trend") == Trend.IMPROVING
    groups: list[Group] = []
    for decision, rules in decision_rules(settings).items():
        here = pl.col("decision") == decision.value
        if decision is Decision.FIX:
            steady = [r for r in rules if r.code != "fix.improving"]
            groups.append((here & improving, _explained(settings, decision, rules)))
            groups.append((here & ~improving, _explained(settings, decision, steady)))
        else:
            groups.append((here, _explained(settings, decision, rules)))
    return by_group(decided, groups)


def _explained(settings: ClassifierSettings, decision: Decision, rules: list[Rule]) -> list[pl.Expr]:
    return [
        labels([(r.holds, r.code) for r in rules]).alias("decision_codes"),
        (pl.lit(f"{settings.decision.label(decision)}: ") + sentence(rules)).alias("decision_reason"),
    ]
