"""Playbook actions per tier and trait (docs/rules.md, The playbook), and configurable trait labels."""

from __future__ import annotations

from connector.classify.playbook import actions_by_code
from connector.config import Settings
from connector.model import Trait
from tests.roster_builder import Client
from tests.test_tiers import one


def test_poor_bully_gets_conduct_terms_and_relationship_review() -> None:
    result = one(Client(abusive=2, complaints=7))
    assert "set_conduct_terms" in result.actions
    assert "review_relationship" in result.actions


def test_bully_who_is_not_poor_gets_no_conduct_terms_action() -> None:
    result = one(Client(abusive=1, nps=8, public_complaints=0))
    assert Trait.BULLY in result.traits
    assert result.tier.value != "poor"
    assert "set_conduct_terms" not in result.actions


def test_okay_complainer_gets_find_the_growth_point_and_its_communication_task() -> None:
    assert one(Client(complaints=3)).actions == ("find_growth_point", "fix_communication")


def test_late_payer_gets_a_solvency_check_but_a_complainer_does_not() -> None:
    assert "check_solvency" in one(Client(on_time=8, late=2)).actions
    assert "check_solvency" not in one(Client(complaints=7)).actions


def test_each_trait_maps_to_its_action() -> None:
    assert "move_to_paid_service_level" in one(Client(on_time=4, escalations=3)).actions
    assert "agree_written_goals" in one(Client(renegotiations=2)).actions
    assert "agree_joint_plan" in one(Client(no_shows=2)).actions


def test_good_client_without_traits_needs_no_action() -> None:
    assert one(Client()).actions == ()


def test_actions_come_from_config() -> None:
    custom = Settings.model_validate(
        {
            "playbook": {
                "actions": [{"code": "call_owner", "title": "Call", "tiers": ["good"], "due_in_days": 3}]
            }
        }
    )
    assert one(Client(), custom).actions == ("call_owner",)
    assert actions_by_code(custom)["call_owner"].due_in_days == 3


def test_trait_labels_are_neutral_by_default_and_configurable() -> None:
    assert Settings().label(Trait.BULLY) == "Conduct concerns"
    custom = Settings.model_validate({"trait_labels": {"bully": "Needs conduct terms"}})
    assert custom.label(Trait.BULLY) == "Needs conduct terms"
    assert custom.label(Trait.GOALPOST_MOVER) == "Shifting expectations"
