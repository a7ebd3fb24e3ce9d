"""The decision (README "The decision"): protect, develop, fix or let go, its reasons, and its actions."""

from __future__ import annotations

from connector.config import Settings
from connector.model import Decision, Tier
from connector.sync.tasks import wanted_tasks
from tests.roster_builder import AS_OF, Client
from tests.test_tiers import one

COSTLY_COMPLAINER = Client(complaints=7, amount=100.0)
"""Poor (7 complaints) and costly: 7 tickets × 50 against 1,200 of revenue is 29% of revenue."""


def test_good_client_is_protected() -> None:
    result = one(Client())
    assert result.decision is Decision.PROTECT
    assert result.decision_codes == ("protect.top_tier",)
    assert result.decision_reason == "Keep close: good client: they deserve the most attention"


def test_costly_poor_client_that_is_not_improving_is_let_go_with_a_courteous_exit_task() -> None:
    result = one(COSTLY_COMPLAINER)
    assert result.tier is Tier.POOR
    assert result.trend == "unknown"
    assert result.decision is Decision.LET_GO
    assert "let_go.costly_not_improving" in result.decision_codes
    assert result.decision_reason.startswith("Plan a transition: poor and not improving (no record from")
    assert "cost to serve 29% of revenue" in result.decision_reason
    assert "plan_courteous_exit" in result.actions
    [exit_task] = [t for t in wanted_tasks(result, Settings(), AS_OF) if t.action == "plan_courteous_exit"]
    assert "Dear Baseline Ltd," in exit_task.spec.description
    assert "another provider will serve you better" in exit_task.spec.description
    assert "never changes the client automatically" in exit_task.spec.description


def test_the_same_poor_client_improving_on_the_last_window_is_fixed() -> None:
    result = one(Client(complaints=7, amount=100.0, last_window=Client(complaints=12, amount=100.0)))
    assert result.previous_tier is Tier.POOR
    assert result.trend == "improving"
    assert result.decision is Decision.FIX
    assert "improving (complaints 12 → 7)" in result.decision_reason
    assert "fix_communication" in result.actions
    assert "plan_courteous_exit" not in result.actions


def test_tier_move_decides_the_trend_before_the_evidence() -> None:
    result = one(Client(complaints=3, last_window=Client(complaints=8)))
    assert (result.previous_tier, result.tier, result.trend) == (Tier.POOR, Tier.OKAY, "improving")
    worse = one(Client(complaints=3, last_window=Client()))
    assert (worse.previous_tier, worse.trend) == (Tier.GOOD, "worsening")


def test_cheap_poor_client_is_fixed_not_let_go() -> None:
    result = one(Client(complaints=7))  # 350 of cost against 12,000 of revenue
    assert result.decision is Decision.FIX
    assert "fix.cost_within_reach" in result.decision_codes


def test_bully_is_flagged_first_and_let_go_only_after_the_last_windows_warning() -> None:
    first = one(Client(abusive=2, complaints=7))
    assert first.decision is Decision.FIX
    assert first.decision_codes[0] == "flag.conduct"
    assert "set_conduct_terms" in first.actions
    again = one(Client(abusive=2, complaints=7, last_window=Client(abusive=1)))
    assert again.decision is Decision.LET_GO
    assert again.decision_codes[:2] == ("flag.conduct", "let_go.conduct_persisted")
    assert again.decision_reason.startswith("Plan a transition: conduct concerns, flagged first")


def test_non_payer_is_let_go_when_invoices_stayed_unpaid_across_two_windows() -> None:
    result = one(Client(on_time=10, unpaid=2, last_window=Client(on_time=10, unpaid=2)))
    assert result.decision is Decision.LET_GO
    assert "let_go.non_payment_persisted" in result.decision_codes
    assert one(Client(on_time=10, unpaid=2)).decision is Decision.FIX


def test_okay_client_with_rising_revenue_or_a_network_is_developed() -> None:
    rising = one(Client(complaints=3, amount=1500.0, last_window=Client(complaints=3, amount=1000.0)))
    assert rising.decision is Decision.DEVELOP
    assert "revenue 18000 against 12000 the last window" in rising.decision_reason
    assert "develop_client" in rising.actions and "fix_communication" in rising.actions
    network = one(Client(on_time=8, late=2, referrals=2))
    assert network.tier is Tier.OKAY
    assert network.decision is Decision.DEVELOP
    assert "develop.network" in network.decision_codes


def test_okay_client_with_a_growth_point_and_no_potential_is_fixed() -> None:
    result = one(Client(on_time=9, late=3))
    assert result.tier is Tier.OKAY
    assert result.decision is Decision.FIX
    assert (
        result.decision_reason == "Improve together: growth point: Pricing terms; cost to serve within reach"
    )
    assert "fix_price" in result.actions


def test_lookalike_of_the_ideal_segment_is_high_potential_only_when_a_segment_is_set() -> None:
    client = Client(on_time=9, late=3, industry="Software")
    assert one(client).decision is Decision.FIX
    icp = Settings.model_validate({"traits": {"outside_icp": {"industries": ["Software"]}}})
    assert one(client, icp).decision is Decision.DEVELOP


def test_decision_labels_are_neutral_and_configurable() -> None:
    custom = Settings.model_validate({"decision": {"labels": {"let_go": "Hand over"}}})
    assert one(COSTLY_COMPLAINER, custom).decision_reason.startswith("Hand over: ")
    assert Settings().decision.label(Decision.FIX) == "Improve together"
