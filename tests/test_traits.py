"""Each bad-client trait, with a boundary case on both sides of its threshold (docs/rules.md, Traits)."""

from __future__ import annotations

import pytest

from connector.config import Settings
from connector.model import Trait
from tests.roster_builder import Client
from tests.test_tiers import one


@pytest.mark.parametrize(
    ("without", "with_", "trait", "says"),
    [
        (Client(abusive=0), Client(abusive=1), Trait.BULLY, "1 abusive incident with staff in 12 months"),
        (
            Client(public_complaints=0),
            Client(public_complaints=1),
            Trait.BULLY,
            "1 public complaint in 12 months",
        ),
        (
            Client(renegotiations=1),
            Client(renegotiations=2),
            Trait.GOALPOST_MOVER,
            "2 requests to renegotiate terms",
        ),
        (
            Client(goals_refused=0),
            Client(goals_refused=1),
            Trait.GOALPOST_MOVER,
            "refused to agree goals 1 time",
        ),
        (
            Client(checkups_declined=1),
            Client(checkups_declined=2),
            Trait.GOALPOST_MOVER,
            "declined 2 check-ups in 6 months",
        ),
        (Client(no_shows=1), Client(no_shows=2), Trait.VENDOR_NOT_PARTNER, "missed 2 joint meetings"),
        (
            Client(sessions_declined=1),
            Client(sessions_declined=2),
            Trait.VENDOR_NOT_PARTNER,
            "declined 2 working sessions",
        ),
    ],
    ids=[
        "bully_abuse",
        "bully_public",
        "goalpost_renegotiates",
        "goalpost_refuses_goals",
        "goalpost_declines_checkups",
        "vendor_no_shows",
        "vendor_declines_sessions",
    ],
)
def test_trait_appears_at_its_threshold_with_its_evidence(
    without: Client, with_: Client, trait: Trait, says: str
) -> None:
    assert trait not in one(without).traits
    result = one(with_)
    assert trait in result.traits
    assert says in result.traits[trait]


def test_high_touch_low_pay_needs_cost_to_serve_and_escalations() -> None:
    # revenue 4 x 1000; 2 escalated tickets cost 2 x 50 + 2 x 250 = 600 = 15% of revenue
    at = one(Client(on_time=4, escalations=2))
    assert Trait.HIGH_TOUCH_LOW_PAY in at.traits
    assert at.traits[Trait.HIGH_TOUCH_LOW_PAY] == (
        "cost to serve 600 against revenue 4000 (15%); 2 escalations to management in 12 months"
    )
    cheaper = one(Client(on_time=4, amount=1010, escalations=2))
    assert Trait.HIGH_TOUCH_LOW_PAY not in cheaper.traits
    one_escalation = one(Client(on_time=4, amount=100, escalations=1, tickets=10))
    assert Trait.HIGH_TOUCH_LOW_PAY not in one_escalation.traits


def test_client_who_pays_nothing_but_escalates_is_high_touch_low_pay() -> None:
    result = one(Client(on_time=0, escalations=3))
    assert Trait.HIGH_TOUCH_LOW_PAY in result.traits
    assert "against revenue 0;" in result.traits[Trait.HIGH_TOUCH_LOW_PAY]


ICP = Settings.model_validate(
    {
        "traits": {
            "outside_icp": {"industries": ["Software", "Fintech"], "regions": ["Europe"], "employees_min": 50}
        }
    }
)


def test_outside_icp_by_industry_region_and_size() -> None:
    assert Trait.OUTSIDE_ICP not in one(Client(), ICP).traits
    retail = one(Client(industry="Retail"), ICP)
    assert retail.traits[Trait.OUTSIDE_ICP] == "industry 'Retail' is outside the ideal segment"
    assert Trait.OUTSIDE_ICP in one(Client(region="APAC"), ICP).traits
    assert Trait.OUTSIDE_ICP not in one(Client(employee_count=50), ICP).traits
    small = one(Client(employee_count=49), ICP)
    assert small.traits[Trait.OUTSIDE_ICP] == "49 employees, below the ideal 50"


def test_unknown_industry_is_a_data_gap_not_outside_icp() -> None:
    result = one(Client(industry=None), ICP)
    assert Trait.OUTSIDE_ICP not in result.traits
    assert "industry_unknown" in result.data_gaps


def test_no_icp_configured_means_nobody_is_outside_it() -> None:
    assert Trait.OUTSIDE_ICP not in one(Client(industry="Retail")).traits


def test_traits_are_independent_of_tier() -> None:
    result = one(Client(referrals=3, nps=10, renegotiations=3))
    assert result.tier.value == "amazing"
    assert list(result.traits) == [Trait.GOALPOST_MOVER]
