"""What the sync wants written, overrides, and task keys: pure rules, no CRM."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

from connector.config import Settings
from connector.crm.base import CurrentValues
from connector.model import Trait
from connector.sync.desired import active_override, changes, desired_values
from connector.sync.tasks import close_comment, group_spec, period_of, period_offset, task_key, wanted_tasks
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
        growth_points=tuple(reversed(wanted["growth_points"])),
        decision=wanted["decision"],
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
        "growth_points",
        "decision",
    }


def test_reason_change_alone_does_not_touch_tier_history() -> None:
    c = one(Client())
    wanted = desired_values(c, CurrentValues(), Settings(), AS_OF)
    values, _ = changes(
        c,
        CurrentValues(
            tier=wanted["tier"], score=wanted["score"], reasons="stale", decision=wanted["decision"]
        ),
        Settings(),
        NOW,
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
    assert {"set_conduct_terms", "fix_communication"} == {a for a in tasks if not a.startswith("comms:")}, (
        "the specific actions replace the generic relationship review"
    )
    spec = tasks["set_conduct_terms"].spec
    assert spec.owner_id == "owner-1"
    assert spec.due == AS_OF + dt.timedelta(days=7)
    assert spec.subject == "[tiersync] Review the relationship: decline politely or set conduct terms"
    assert spec.description.endswith(
        "Why: poor client: 7 complaints in 12 months; Conduct concerns: 2 abusive incidents with staff in 12 months"
    )


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


def test_a_task_says_only_the_reasons_behind_its_own_action_under_neutral_labels() -> None:
    c = one(Client(abusive=2, amount=500, on_time=6, late=6, tickets=30, escalations=3))
    tasks = {w.action: w for w in wanted_tasks(c, Settings(), AS_OF)}
    solvency = tasks["check_solvency"].spec.description
    assert solvency.endswith("Why: 6 of 12 invoices paid late or unpaid in 12 months")
    assert "Conduct concerns" not in solvency and "abusive" not in solvency
    service = tasks["move_to_paid_service_level"].spec.description
    assert "Why: Service-intensive: cost to serve" in service
    assert "invoices paid late" not in service
    for w in tasks.values():
        assert not any(t.value in w.spec.description for t in Trait), w.spec.description


def test_record_reasons_name_traits_by_their_labels() -> None:
    c = one(Client(abusive=2, complaints=7))
    reasons = desired_values(c, CurrentValues(), Settings(), AS_OF)["reasons"]
    assert "Conduct concerns: 2 abusive incidents" in reasons
    assert "bully" not in reasons
    relabelled = Settings.model_validate({"trait_labels": {"bully": "Tone of contact"}})
    assert "Tone of contact: 2 abusive" in desired_values(c, CurrentValues(), relabelled, AS_OF)["reasons"]


def test_periods_are_offset_per_account_so_a_cadence_spreads_over_its_period() -> None:
    settings = Settings()
    ids = [f"001{n:05d}" for n in range(100)]
    starts = {period_of(AS_OF, 90, period_offset(i, 90, settings)).start for i in ids}
    assert len(starts) >= 60, "100 accounts' 90-day periods start on many different days"
    assert max(starts) - min(starts) >= dt.timedelta(days=80)
    for i in ids[:5]:
        p = period_of(AS_OF, 90, period_offset(i, 90, settings))
        assert p.start <= AS_OF < p.end and (p.end - p.start).days == 90
    off = Settings.model_validate({"tasks": {"spread_cadences": False}})
    # unspread, every period starts on the origin 2024-01-01 plus whole periods: + 11 x 90 days
    assert {period_of(AS_OF, 90, period_offset(i, 90, off)).start for i in ids} == {dt.date(2026, 9, 17)}


def test_period_offsets_are_the_same_in_every_process() -> None:
    script = (
        "from connector.config import Settings; from connector.sync.tasks import period_offset; "
        "print([period_offset(f'001{n}', 90, Settings()) for n in range(20)])"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1
    # blake2b(id) mod 90, written out: the same in every process, on every machine, in every release
    assert runs == {"[75, 56, 85, 43, 79, 29, 75, 43, 38, 60, 60, 38, 32, 75, 40, 79, 80, 75, 3, 50]\n"}


def test_one_task_per_account_lists_each_action_with_its_reason_due_at_the_earliest() -> None:
    c = one(Client(abusive=2, complaints=7))
    items = [w for w in wanted_tasks(c, Settings(), AS_OF) if not w.touch]
    spec = group_spec(items, Settings())
    assert spec.subject == f"[tiersync] Client plan: {len(items)} actions"
    assert spec.due == min(w.spec.due for w in items)
    for w in items:
        assert w.title in spec.description
        assert f"Why: {'; '.join(w.why)}" in spec.description
    assert group_spec(list(reversed(items)), Settings()).key == spec.key, "the same actions, the same key"
    assert spec.key.startswith(f"{c.account_id}/plan/")


def test_a_close_comment_names_traits_by_their_neutral_labels_never_their_codes() -> None:
    """The comment lands in the CRM task's text, which users (and sometimes the client) read."""
    poor = one(Client(abusive=2, complaints=7))
    assert Trait.BULLY in poor.traits
    comment = close_comment(["check_solvency"], poor, Settings(), AS_OF, closed=True)
    assert comment == (  # "Conduct concerns": the default label, written out (docs/rules.md)
        "Closed by tiersync on 2026-11-01: 'Check solvency and payment history before the next order' "
        "no longer applies (tier now poor; Conduct concerns)."
    )
    assert not any(t.value in comment for t in Trait)
