"""What the sync wants written, overrides, and task keys: pure rules, no CRM."""

from __future__ import annotations

import datetime as dt

from connector.config import Settings
from connector.crm.base import CurrentValues
from connector.sync.desired import active_override, changes, desired_values
from connector.sync.tasks import period_of, task_key, wanted_tasks
from tests.roster_builder import AS_OF, Client
from tests.test_tiers import one

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def test_unchanged_values_produce_no_write() -> None:
    c = one(Client(complaints=7))
    wanted = desired_values(c, CurrentValues(), Settings(), AS_OF)
    current = CurrentValues(
        tier=wanted["tier"],
        traits=tuple(wanted["traits"]),
        score=wanted["score"] + 0.04,
        reasons=wanted["reasons"],
    )
    values, diff = changes(c, current, Settings(), NOW)
    assert values == {}
    assert diff == []


def test_tier_change_records_previous_tier_and_when() -> None:
    c = one(Client(complaints=7))
    values, diff = changes(c, CurrentValues(tier="good", score=60.0, reasons="old"), Settings(), NOW)
    assert values["tier"] == "poor"
    assert values["previous_tier"] == "good"
    assert values["tier_changed_at"] == NOW
    assert values["last_synced_at"] == NOW
    assert {d.field for d in diff} == {
        "tier",
        "score",
        "reasons",
        "previous_tier",
        "tier_changed_at",
        "last_synced_at",
    }


def test_reason_change_alone_does_not_touch_tier_history() -> None:
    c = one(Client())
    wanted = desired_values(c, CurrentValues(), Settings(), AS_OF)
    values, _ = changes(
        c, CurrentValues(tier=wanted["tier"], score=wanted["score"], reasons="stale"), Settings(), NOW
    )
    assert set(values) == {"reasons", "last_synced_at"}


def test_manual_override_wins_and_keeps_the_computed_tier_in_reasons() -> None:
    c = one(Client(complaints=7))
    current = CurrentValues(override_tier="good", override_expires=AS_OF + dt.timedelta(days=30))
    wanted = desired_values(c, current, Settings(), AS_OF)
    assert wanted["tier"] == "good"
    assert wanted["reasons"].startswith(
        "Manual override: good until 2026-12-01 (computed: poor). poor: 7 complaints"
    )


def test_expired_override_is_ignored_but_the_expiry_day_still_counts() -> None:
    assert active_override(CurrentValues(override_tier="good", override_expires=AS_OF), AS_OF) == "good"
    assert (
        active_override(
            CurrentValues(override_tier="good", override_expires=AS_OF - dt.timedelta(days=1)), AS_OF
        )
        is None
    )
    assert active_override(CurrentValues(override_tier="excellent"), AS_OF) is None
    assert active_override(CurrentValues(override_tier="okay"), AS_OF) == "okay"


def test_periods_are_fixed_windows_so_every_run_computes_the_same_key() -> None:
    p = period_of(dt.date(2026, 11, 1), 90)
    assert p.start <= dt.date(2026, 11, 1) < p.end
    assert (p.end - p.start).days == 90
    assert period_of(p.start, 90) == p
    assert period_of(p.end - dt.timedelta(days=1), 90) == p
    assert period_of(p.end, 90).start == p.end
    assert task_key("001A", "find_growth_point", p) == f"001A/find_growth_point/{p.start.isoformat()}"


def test_wanted_tasks_follow_the_playbook_with_owner_due_date_and_reason() -> None:
    c = one(Client(abusive=2, complaints=7))
    tasks = {w.action: w for w in wanted_tasks(c, Settings(), AS_OF)}
    assert {"review_relationship", "set_conduct_terms", "fix_communication"} == {
        a for a in tasks if not a.startswith("comms:")
    }
    spec = tasks["set_conduct_terms"].spec
    assert spec.owner_id == "owner-1"
    assert spec.due == AS_OF + dt.timedelta(days=7)
    assert spec.subject == "[tiersync] Review the relationship: decline politely or set conduct terms"
    assert "Why: poor: 7 complaints in 12 months" in spec.description


def _touches(client: Client, settings: Settings | None = None) -> set[str]:
    c = one(client)
    return {w.action for w in wanted_tasks(c, settings or Settings(), AS_OF) if w.action.startswith("comms:")}


def test_every_client_gets_the_baseline_touches() -> None:
    assert _touches(Client(complaints=7)) == {"comms:yearly_survey", "comms:checkin_email"}


def test_large_good_client_gets_a_quarterly_review_and_small_one_does_not() -> None:
    large = _touches(Client(amount=20_000))  # 12 invoices: 240,000 revenue
    assert "comms:quarterly_review" in large
    assert "comms:quarterly_review" not in _touches(Client(amount=500))


def test_small_client_with_a_big_network_gets_more_attention() -> None:
    networked = _touches(Client(amount=500, referrals=2, nps=10))
    assert "comms:network_thank_you" in networked
    assert "comms:network_thank_you" not in _touches(Client(amount=500, referrals=1, nps=10))


def test_touches_can_be_switched_off() -> None:
    assert _touches(Client(), Settings.model_validate({"comms": {"enabled": False}})) == set()


def test_touch_period_follows_its_cadence() -> None:
    c = one(Client())
    survey = next(w for w in wanted_tasks(c, Settings(), AS_OF) if w.action == "comms:yearly_survey")
    assert (survey.period.end - survey.period.start).days == 365
    assert "Plan: good client, medium by revenue" in survey.spec.description
