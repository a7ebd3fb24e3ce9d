"""Each default tier rule, with a boundary case on both sides of its threshold (docs/rules.md, Tiers)."""

from __future__ import annotations

import pytest

from connector.classify.classifier import Classification, classify
from connector.config import Settings
from connector.model import Tier
from tests.roster_builder import AS_OF, Client


def one(client: Client, settings: Settings | None = None) -> Classification:
    [result] = classify(client.roster(), settings or Settings(), AS_OF)
    return result


def test_baseline_client_who_pays_on_time_without_referrals_is_good() -> None:
    result = one(Client())
    assert result.tier is Tier.GOOD
    assert result.tier_codes == ("good.on_time", "good.complaints", "good.support_load")
    assert (
        result.tier_reason
        == "12 of 12 invoices paid on time; 0 complaints in 12 months; 0 tickets in 12 months"
    )


@pytest.mark.parametrize(
    ("below", "at", "code"),
    [
        (Client(complaints=5), Client(complaints=6), "poor.complaints"),
        (Client(on_time=6, late=4), Client(on_time=5, late=5), "poor.on_time_rate"),
        (Client(on_time=11, unpaid=1), Client(on_time=10, unpaid=2), "poor.unpaid_overdue"),
        (Client(discount_requests=2), Client(discount_requests=3), "poor.discount_requests"),
        (Client(public_complaints=0), Client(public_complaints=1), "poor.public_complaints"),
        (Client(nps=7), Client(nps=6), "poor.detractor"),
    ],
    ids=[
        "many_complaints",
        "late_payer",
        "unpaid_invoices",
        "discount_requests",
        "public_complaint",
        "detractor_nps",
    ],
)
def test_one_headache_past_its_threshold_makes_a_client_poor(below: Client, at: Client, code: str) -> None:
    short = one(below)
    assert short.tier is not Tier.POOR, short.tier_reason
    poor = one(at)
    assert poor.tier is Tier.POOR
    assert code in poor.tier_codes


def test_late_payer_with_referrals_is_okay_not_amazing() -> None:
    result = one(Client(on_time=8, late=2, referrals=3))
    assert result.tier is Tier.OKAY
    assert "okay.late_payments" in result.tier_codes
    assert "2 of 10 invoices paid late or unpaid in 12 months (on time 80%)" in result.tier_reason


def test_referrals_turn_a_good_client_amazing_from_the_first_one() -> None:
    assert one(Client(referrals=0)).tier is Tier.GOOD
    amazing = one(Client(referrals=1))
    assert amazing.tier is Tier.AMAZING
    assert "1 referral worth 5000 in 12 months" in amazing.tier_reason


def test_amazing_needs_on_time_rate_of_95_percent() -> None:
    assert one(Client(on_time=19, late=1, referrals=2)).tier is Tier.AMAZING
    assert one(Client(on_time=18, late=2, referrals=2)).tier is Tier.GOOD


def test_amazing_needs_a_promoter_score_or_few_complaints() -> None:
    assert one(Client(referrals=1, complaints=1)).tier is Tier.AMAZING
    assert one(Client(referrals=1, complaints=2)).tier is Tier.GOOD
    promoter = one(Client(referrals=1, complaints=2, nps=9))
    assert promoter.tier is Tier.AMAZING
    assert "NPS 9 (promoter)" in promoter.tier_reason
    assert one(Client(referrals=1, complaints=2, nps=None, csat=4.5)).tier is Tier.AMAZING


@pytest.mark.parametrize(
    ("good", "okay", "code"),
    [
        (Client(on_time=9, late=1), Client(on_time=8, late=2), "okay.late_payments"),
        (Client(complaints=2), Client(complaints=3), "okay.complaints"),
        (Client(tickets=24), Client(tickets=25), "okay.support_load"),
    ],
    ids=["on_time_rate", "complaints", "support_load"],
)
def test_good_ends_where_its_threshold_is_crossed(good: Client, okay: Client, code: str) -> None:
    assert one(good).tier is Tier.GOOD
    result = one(okay)
    assert result.tier is Tier.OKAY
    assert code in result.tier_codes


def test_client_without_invoices_is_okay_and_says_payment_history_is_missing() -> None:
    result = one(Client(on_time=0, referrals=2))
    assert result.tier is Tier.OKAY
    assert "okay.payment_history_missing" in result.tier_codes
    assert "no_invoices" in result.data_gaps
    assert "no invoices in 12 months" in result.data_gaps_reason


def test_thresholds_come_from_config_not_code() -> None:
    strict = Settings.model_validate({"tiers": {"poor": {"complaints_at_least": 2}}})
    assert one(Client(complaints=2)).tier is Tier.GOOD
    assert one(Client(complaints=2), strict).tier is Tier.POOR


def test_poor_reason_quotes_the_real_numbers() -> None:
    result = one(Client(on_time=9, late=3, complaints=7))
    assert result.tier is Tier.POOR
    assert result.tier_reason == "7 complaints in 12 months"
    result = one(Client(on_time=5, late=2, unpaid=5, complaints=7))
    assert result.tier_reason == (
        "7 complaints in 12 months; 7 of 12 invoices paid late or unpaid in 12 months; "
        "5 invoices unpaid past due (5000 overdue)"
    )


def test_score_orders_clients_within_and_across_tiers() -> None:
    poor, okay, good, amazing = (
        one(Client(complaints=8)),
        one(Client(complaints=4)),
        one(Client()),
        one(Client(referrals=2, nps=10)),
    )
    assert poor.score < 25 <= okay.score < 50 <= good.score < 75 <= amazing.score <= 100
    assert one(Client(complaints=9)).score < poor.score
