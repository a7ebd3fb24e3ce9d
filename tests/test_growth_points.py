"""Growth points (README "Growth points"): each kind from its evidence, with its question; quiet clients never."""

from __future__ import annotations

import polars as pl
import pytest

from connector.classify.classifier import classify_frames
from connector.config import Settings
from connector.model import Decision, GrowthPoint, Tier
from connector.sample_data import generate
from tests.roster_builder import AS_OF, Client
from tests.test_tiers import one


@pytest.mark.parametrize(
    ("client", "point", "code", "evidence"),
    [
        (
            Client(complaints=3),
            GrowthPoint.COMMUNICATION,
            "communication.complaints",
            "3 complaints in 12 months",
        ),
        (
            Client(abusive=1),
            GrowthPoint.COMMUNICATION,
            "communication.abusive",
            "1 abusive incident with staff",
        ),
        (
            Client(tickets=25),
            GrowthPoint.COMMUNICATION,
            "communication.support_load",
            "25 tickets in 12 months",
        ),
        (Client(on_time=10, late=2), GrowthPoint.PRICE, "price.late_payments", "2 of 12 invoices paid late"),
        (Client(discount_requests=2), GrowthPoint.PRICE, "price.discounts", "2 discount requests"),
        (Client(cost=950.0, complaints=1), GrowthPoint.PRICE, "price.loss_making", "margin 5%"),
        (
            Client(discount=250.0, complaints=1),
            GrowthPoint.PRICE,
            "price.discounts",
            "20% of the list price given as discount",
        ),
        (
            Client(on_time=2, amount=200.0, discount_requests=0, complaints=1),
            GrowthPoint.PRICE,
            "price.small_orders",
            "2 orders in 12 months, 200 on average",
        ),
        (Client(nps=5), GrowthPoint.DISCREDIT, "discredit.detractor", "latest NPS 5"),
        (
            Client(public_complaints=1),
            GrowthPoint.DISCREDIT,
            "discredit.public_complaints",
            "1 public complaint",
        ),
        (Client(rush_requests=2), GrowthPoint.DEMANDS, "demands.rush_requests", "2 rush requests"),
        (
            Client(deadline_requests=2),
            GrowthPoint.DEMANDS,
            "demands.deadline_requests",
            "2 requests for a deadline inside our lead time",
        ),
        (Client(escalations=3), GrowthPoint.DEMANDS, "demands.escalations", "3 escalations to management"),
    ],
)
def test_each_growth_point_comes_from_its_evidence_with_its_question(
    client: Client, point: GrowthPoint, code: str, evidence: str
) -> None:
    result = one(client)
    assert point in result.growth_points
    assert code in result.growth_point_codes
    assert evidence in result.growth_points[point]
    settings = Settings()
    assert f"{settings.growth.label(point)} (" in result.growth_reason
    assert settings.growth.question(point) in result.growth_reason


def test_one_below_each_threshold_is_no_growth_point() -> None:
    for client in (
        Client(complaints=2),
        Client(tickets=24),
        Client(on_time=11, late=1),
        Client(discount_requests=1),
        Client(cost=850.0, complaints=1),
        Client(discount=100.0, complaints=1),
        Client(nps=7),
        Client(rush_requests=1, deadline_requests=1),
        Client(escalations=2),
    ):
        assert one(client).growth_points == {}, client


def test_quiet_client_who_pays_is_never_a_growth_point_even_when_it_buys_rarely_and_little() -> None:
    result = one(Client(on_time=2, amount=100.0, nps=None, tickets=1))
    assert result.tier is Tier.GOOD
    assert result.growth_points == {}
    assert result.growth_reason == "none applies: a quiet client who pays on time"
    assert result.decision is Decision.PROTECT


def test_okay_client_without_a_growth_point_says_why_none_applies() -> None:
    result = one(Client(on_time=0, nps=8))  # no payment history: okay, nothing of ours to fix
    assert result.tier is Tier.OKAY
    assert result.growth_points == {}
    assert result.growth_reason.startswith("none applies: no evidence of a weakness on our side")
    assert "no payment history" in result.growth_reason


def test_quiet_loss_making_client_is_still_no_growth_point() -> None:
    assert one(Client(cost=950.0)).growth_points == {}


def test_missing_cost_and_rush_fields_are_data_gaps_not_zero() -> None:
    result = one(Client())
    assert "field_missing.invoices.cost" in result.data_gaps
    assert "margin unknown" in result.data_gaps_reason
    assert result.evidence["margin"] is None
    with_cost = one(Client(cost=600.0, discount=0.0))
    assert "field_missing.invoices.cost" not in with_cost.data_gaps
    assert with_cost.evidence["margin"] == pytest.approx(0.4)


def test_thresholds_come_from_config() -> None:
    strict = Settings.model_validate({"growth": {"communication": {"complaints_at_least": 1}}})
    assert GrowthPoint.COMMUNICATION in one(Client(complaints=1), strict).growth_points


def test_on_2000_sample_clients_each_okay_or_poor_names_its_growth_point_or_why_none_and_all_decisions_occur() -> (
    None
):
    frames = generate(2000, seed=7, as_of=AS_OF, years=3).frames
    results = classify_frames(frames, Settings(), AS_OF)
    low = results.filter(pl.col("tier").is_in(["okay", "poor"]))
    assert low.height > 500
    named = low.filter(pl.col("growth_points").list.len() > 0)
    assert (named["growth_reason"].str.contains("?", literal=True)).all()
    unnamed = low.filter(pl.col("growth_points").list.len() == 0)
    assert unnamed["growth_reason"].str.starts_with("none applies: ").all()
    active = unnamed.filter(pl.col("status") == "customer")  # the rest left before this window
    assert named.height > 2 * active.height
    assert set(results["decision"]) == {d.value for d in Decision}
    assert results.filter(pl.col("decision_reason") == "").height == 0
