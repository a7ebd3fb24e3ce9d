"""Playbook actions per tier and trait (docs/rules.md, The playbook), and configurable trait labels."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connector.classify.playbook import actions_by_code
from connector.config import Settings
from connector.model import Trait
from tests.roster_builder import Client
from tests.test_tiers import one


def test_poor_bully_gets_conduct_terms_and_its_growth_point_not_the_generic_review() -> None:
    result = one(Client(abusive=2, complaints=7))
    assert result.actions == ("set_conduct_terms", "fix_communication")


def test_bully_who_is_not_poor_gets_no_conduct_terms_action() -> None:
    result = one(Client(abusive=1, nps=8, public_complaints=0))
    assert Trait.BULLY in result.traits
    assert result.tier.value != "poor"
    assert "set_conduct_terms" not in result.actions


def test_okay_complainer_gets_its_communication_task_in_place_of_find_the_growth_point() -> None:
    assert one(Client(complaints=3)).actions == ("fix_communication",)


def test_a_specific_action_replaces_the_generic_one_only_where_it_applies() -> None:
    actions = [
        {"code": "find_it", "title": "Find it", "tiers": ["okay", "poor"], "replaced_by": ["talk_better"]},
        {"code": "talk_better", "title": "Talk better", "growth_points": ["communication"]},
    ]
    custom = Settings.model_validate({"playbook": {"actions": actions}})
    assert one(Client(complaints=3), custom).actions == ("talk_better",)
    assert one(Client(on_time=8, late=2), custom).actions == ("find_it",), "no specific one: generic stays"
    kept = Settings.model_validate({"playbook": {"actions": [{**actions[0], "replaced_by": []}, actions[1]]}})
    assert one(Client(complaints=3), kept).actions == ("find_it", "talk_better")


def test_every_okay_and_poor_client_gets_one_generic_or_specific_action_never_both() -> None:
    s = Settings()
    generic = {a.code: set(a.replaced_by) for a in s.playbook.actions if a.replaced_by}
    assert set(generic) == {"find_growth_point", "review_relationship"}
    clients = [
        Client(complaints=3),
        Client(on_time=8, late=2),
        Client(complaints=7, on_time=4, late=8),
        Client(public_complaints=2),
        Client(nps=2),
        Client(abusive=2, complaints=7),
    ]
    for client in clients:
        result = one(client, s)
        assert result.tier.value in {"okay", "poor"}, client
        got = set(result.actions)
        family = {"okay": "find_growth_point", "poor": "review_relationship"}[result.tier.value]
        assert family in got or got & generic[family], (client, got)  # one of them, generic or specific
        for code, specific in generic.items():
            assert not (code in got and got & specific), (client, got)


def test_replaced_by_must_name_other_actions_that_are_not_replaced_themselves() -> None:
    base = {"code": "aa", "title": "A", "tiers": ["okay"]}
    other = {"code": "bb", "title": "B", "tiers": ["okay"]}
    for bad in (["nope"], ["aa"]):
        with pytest.raises(ValidationError, match="replaced_by names no other action"):
            Settings.model_validate({"playbook": {"actions": [{**base, "replaced_by": bad}, other]}})
    chain = [{**base, "replaced_by": ["bb"]}, {**other, "replaced_by": ["cc"]}, {**other, "code": "cc"}]
    with pytest.raises(ValidationError, match="is itself replaced"):
        Settings.model_validate({"playbook": {"actions": chain}})


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
