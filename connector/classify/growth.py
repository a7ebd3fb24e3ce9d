"""Growth points (docs/rules.md, Growth points and the decision): the weakness of ours an inconvenient client points at, with evidence.

Four kinds, each a set of rules over evidence (any one that holds is the evidence) and a question for
the account owner. A "quiet" client (no complaint, no conduct or public issue, no discount request,
no escalation, no detractor score, every invoice on time, few tickets) is never a growth point, and
silence never counts against anyone: a rule needs evidence that is there, never evidence that is not.
"""

from __future__ import annotations

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.rules import (
    Rule,
    any_holds,
    by_group,
    cost_words,
    labels,
    number,
    percent,
    plural,
    sentence,
    window_label,
)
from connector.model import GrowthPoint, Tier


def growth_rules(settings: ClassifierSettings) -> dict[GrowthPoint, list[Rule]]:
    g = settings.growth
    w = window_label(settings.evidence.window_days)
    c, p, d, m = g.communication, g.price, g.discredit, g.demands
    return {
        GrowthPoint.COMMUNICATION: [
            Rule(
                "communication.abusive",
                pl.col("abusive_incidents") >= c.abusive_incidents_at_least,
                plural("abusive_incidents", "abusive incident", "abusive incidents") + pl.lit(" with staff"),
            ),
            Rule(
                "communication.complaints",
                pl.col("complaints") >= c.complaints_at_least,
                plural("complaints", "complaint", "complaints") + pl.lit(f" in {w}"),
            ),
            Rule(
                "communication.low_satisfaction",
                pl.col("latest_csat") <= c.csat_at_most,
                pl.lit("latest CSAT ") + pl.col("latest_csat").round(1).cast(pl.String),
            ),
            Rule(
                "communication.support_load",
                pl.col("tickets") >= c.tickets_at_least,
                plural("tickets", "ticket", "tickets") + pl.lit(f" in {w}"),
            ),
        ],
        GrowthPoint.PRICE: [
            Rule(
                "price.loss_making",
                (pl.col("margin") < p.margin_below) | (pl.col("cost_ratio") >= p.cost_ratio_at_least),
                pl.when(pl.col("margin") < p.margin_below)
                .then(pl.lit("margin ") + percent("margin"))
                .otherwise(cost_words()),
            ),
            Rule(
                "price.discounts",
                (pl.col("discount_requests") >= p.discount_requests_at_least)
                | (pl.col("discount_share") >= p.discount_share_at_least),
                pl.when(pl.col("discount_requests") >= p.discount_requests_at_least)
                .then(plural("discount_requests", "discount request", "discount requests"))
                .otherwise(percent("discount_share") + pl.lit(" of the list price given as discount")),
            ),
            Rule(
                "price.small_orders",
                (pl.col("invoices") <= p.orders_at_most) & (pl.col("average_order") < p.average_order_below),
                plural("invoices", "order", "orders")
                + pl.lit(f" in {w}, ")
                + number("average_order")
                + pl.lit(" on average"),
            ),
            Rule(
                "price.late_payments",
                pl.col("invoices_late") >= p.late_invoices_at_least,
                number("invoices_late")
                + pl.lit(" of ")
                + number("invoices_considered")
                + pl.lit(" invoices paid late or unpaid"),
            ),
        ],
        GrowthPoint.DISCREDIT: [
            Rule(
                "discredit.public_complaints",
                pl.col("public_complaints") >= d.public_complaints_at_least,
                plural("public_complaints", "public complaint", "public complaints"),
            ),
            Rule(
                "discredit.detractor",
                pl.col("latest_nps") <= d.nps_at_most,
                pl.lit("latest NPS ") + number("latest_nps"),
            ),
        ],
        GrowthPoint.DEMANDS: [
            Rule(
                "demands.rush_requests",
                pl.col("rush_requests") >= m.rush_requests_at_least,
                plural("rush_requests", "rush request", "rush requests"),
            ),
            Rule(
                "demands.deadline_requests",
                pl.col("deadline_requests") >= m.deadline_requests_at_least,
                plural("deadline_requests", "request", "requests")
                + pl.lit(" for a deadline inside our lead time"),
            ),
            Rule(
                "demands.escalations",
                pl.col("escalations") >= m.escalations_at_least,
                plural("escalations", "escalation", "escalations") + pl.lit(" to management"),
            ),
        ],
    }


def pays_quietly(settings: ClassifierSettings) -> pl.Expr:
    """No trouble of any kind (complaints, conduct, public complaints, discount, rush or deadline
    requests, escalations, late invoices), at least one invoice paid, every one on time, few tickets."""
    no_trouble = pl.all_horizontal(
        pl.col(c).fill_null(0) == 0
        for c in (
            "complaints",
            "abusive_incidents",
            "public_complaints",
            "discount_requests",
            "escalations",
            "rush_requests",
            "deadline_requests",
            "invoices_late",
        )
    )
    pays = pl.col("invoices_considered").fill_null(0) > 0
    few = pl.col("tickets").fill_null(0) <= settings.growth.quiet.tickets_at_most
    return no_trouble & pays & few


def quiet_column(settings: ClassifierSettings) -> pl.Expr:
    """A "boring" client: pays quietly and is no detractor (no survey answer is never held against it)."""
    not_detractor = (pl.col("latest_nps") > settings.growth.discredit.nps_at_most).fill_null(True)
    return (pays_quietly(settings) & not_detractor).alias("quiet")


def reason_column(point: GrowthPoint) -> str:
    return f"growth_reason_{point.value}"


def point_present(settings: ClassifierSettings) -> dict[GrowthPoint, pl.Expr]:
    """When ``growth_points`` names each point (on a frame with ``quiet``): any of its rules holds
    and the client is not quiet."""
    return {point: any_holds(r) & ~pl.col("quiet") for point, r in growth_rules(settings).items()}


def _none_applies(settings: ClassifierSettings) -> pl.Expr:
    inconvenient = pl.col("tier").is_in([Tier.OKAY.value, Tier.POOR.value])
    return (
        pl.when(pl.col("quiet"))
        .then(pl.lit("none applies: a quiet client who pays on time"))
        .when(inconvenient)
        .then(
            pl.lit("none applies: no evidence of a weakness on our side; the tier rests on ")
            + pl.col("tier_reason")
        )
        .otherwise(pl.lit(""))
    )


def with_growth_points(frame: pl.LazyFrame, settings: ClassifierSettings) -> pl.LazyFrame:
    """Adds ``quiet``, ``growth_points`` and ``growth_point_codes`` (';'-joined), one
    ``growth_reason_<point>`` evidence sentence per point (null when absent) and ``growth_reason``:
    each point's label, evidence and question, or why none applies.

    Sentences are built only on the rows that have a growth point."""
    rules = growth_rules(settings)
    present = point_present(settings)
    flagged = frame.with_columns(quiet_column(settings)).with_columns(
        labels([(present[p], p.value) for p in GrowthPoint]).alias("growth_points")
    )
    g = settings.growth
    with_any = [
        *(
            pl.when(present[p]).then(sentence(r)).cast(pl.String).alias(reason_column(p))
            for p, r in rules.items()
        ),
        labels([(present[p] & r.holds, r.code) for p, rs in rules.items() for r in rs]).alias(
            "growth_point_codes"
        ),
    ]
    without = [
        *(pl.lit(None, dtype=pl.String).alias(reason_column(p)) for p in GrowthPoint),
        pl.lit("").alias("growth_point_codes"),
        _none_applies(settings).alias("growth_reason"),
    ]
    growing = pl.col("growth_points") != ""
    # the summary reads the evidence sentences already built: each is built once
    summary = pl.concat_str(
        [
            pl.lit(f"{g.label(p)} (") + pl.col(reason_column(p)) + pl.lit(f"): {g.question(p)}")
            for p in GrowthPoint
        ],
        separator=" | ",
        ignore_nulls=True,
    )
    return by_group(flagged, [(growing, with_any, [summary.alias("growth_reason")]), (~growing, without)])
