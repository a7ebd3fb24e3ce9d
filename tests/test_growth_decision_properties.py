"""Properties of growth points and the decision over generated clients (hypothesis, bounded and seeded)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from connector.classify.classifier import Classification, classify
from connector.config import Settings
from connector.model import Decision, GrowthPoint
from tests.roster_builder import AS_OF, Client, merge

SETTINGS = Settings()
RANK = {d: i for i, d in enumerate(Decision)}
"""protect 0 … let_go 3: a higher rank is further from protect."""

counts = st.integers(min_value=0, max_value=8)
window = st.builds(
    Client,
    on_time=st.integers(0, 12),
    late=st.integers(0, 4),
    unpaid=st.integers(0, 3),
    amount=st.sampled_from([50.0, 400.0, 1000.0, 5000.0]),
    tickets=st.integers(0, 30),
    complaints=counts,
    escalations=st.integers(0, 4),
    abusive=st.integers(0, 2),
    discount_requests=st.integers(0, 3),
    rush_requests=st.integers(0, 3),
    deadline_requests=st.integers(0, 3),
    referrals=st.integers(0, 3),
    nps=st.none() | st.integers(0, 10),
    csat=st.none() | st.sampled_from([1.5, 2.5, 4.0, 4.8]),
    public_complaints=st.integers(0, 1),
    discount=st.none() | st.sampled_from([0.0, 100.0, 400.0]),
    cost=st.none() | st.sampled_from([300.0, 900.0, 1200.0]),
)
clients = st.builds(
    lambda now, before: dataclasses.replace(now, last_window=before), window, st.none() | window
)
RUN = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

g = SETTINGS.growth
EVIDENCE_CHECKS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "communication.abusive": lambda e: e["abusive_incidents"] >= g.communication.abusive_incidents_at_least,
    "communication.complaints": lambda e: e["complaints"] >= g.communication.complaints_at_least,
    "communication.low_satisfaction": lambda e: (
        e["latest_csat"] is not None and e["latest_csat"] <= g.communication.csat_at_most
    ),
    "communication.support_load": lambda e: e["tickets"] >= g.communication.tickets_at_least,
    "price.loss_making": lambda e: (
        (e["margin"] is not None and e["margin"] < g.price.margin_below)
        or (e["cost_ratio"] is not None and e["cost_ratio"] >= g.price.cost_ratio_at_least)
    ),
    "price.discounts": lambda e: (
        e["discount_requests"] >= g.price.discount_requests_at_least
        or (e["discount_share"] is not None and e["discount_share"] >= g.price.discount_share_at_least)
    ),
    "price.small_orders": lambda e: (
        e["invoices"] <= g.price.orders_at_most
        and e["average_order"] is not None
        and e["average_order"] < g.price.average_order_below
    ),
    "price.late_payments": lambda e: e["invoices_late"] >= g.price.late_invoices_at_least,
    "discredit.public_complaints": lambda e: e["public_complaints"] >= g.discredit.public_complaints_at_least,
    "discredit.detractor": lambda e: (
        e["latest_nps"] is not None and e["latest_nps"] <= g.discredit.nps_at_most
    ),
    "demands.rush_requests": lambda e: e["rush_requests"] >= g.demands.rush_requests_at_least,
    "demands.deadline_requests": lambda e: e["deadline_requests"] >= g.demands.deadline_requests_at_least,
    "demands.escalations": lambda e: e["escalations"] >= g.demands.escalations_at_least,
}
"""Each growth-point rule restated in plain Python over the evidence (worked out from the client, below)."""


def restated_evidence(client: Client) -> dict[str, Any]:
    """The evidence the growth rules read, worked out from the client's own numbers (tests/roster_builder.py
    puts every current record inside the 365-day window and the last window's outside it), so that the
    checks below never read the classifier's own evidence."""
    invoices = client.on_time + client.late + client.unpaid
    revenue = invoices * client.amount
    flagged = (
        client.complaints
        + client.discount_requests
        + client.abusive
        + client.rush_requests
        + client.deadline_requests
    )
    tickets = max(client.tickets, flagged, client.escalations)
    cost_to_serve = (
        tickets * 50.0 + client.escalations * 250.0
    )  # [evidence] cost_per_ticket, cost_per_escalation
    discount_total = None if client.discount is None or not invoices else invoices * client.discount
    return {
        "abusive_incidents": client.abusive,
        "complaints": client.complaints,
        "latest_csat": client.csat,
        "tickets": tickets,
        "margin": None if client.cost is None or not invoices else 1 - client.cost / client.amount,
        "cost_ratio": 0.0 if cost_to_serve == 0 else cost_to_serve / revenue if revenue else math.inf,
        "discount_requests": client.discount_requests,
        "discount_share": None
        if discount_total is None or revenue + discount_total == 0
        else discount_total / (revenue + discount_total),
        "invoices": invoices,
        "average_order": client.amount if invoices else None,
        "invoices_late": client.late + client.unpaid,  # paid 15 days late, or unpaid 20+ days past due
        "public_complaints": client.public_complaints,
        "latest_nps": client.nps,
        "rush_requests": client.rush_requests,
        "deadline_requests": client.deadline_requests,
        "escalations": client.escalations,
    }


def _one(client: Client) -> Classification:
    [result] = classify(client.roster(), SETTINGS, AS_OF)
    return result


@RUN
@seed(13)
@given(clients)
def test_a_growth_point_never_appears_without_its_evidence(client: Client) -> None:
    result = _one(client)
    evidence = restated_evidence(client)
    assert {k: result.evidence[k] for k in evidence} == pytest.approx(evidence)
    assert set(EVIDENCE_CHECKS) >= set(result.growth_point_codes)
    for code in result.growth_point_codes:
        assert EVIDENCE_CHECKS[code](evidence), (code, evidence)
    for point, sentence in result.growth_points.items():
        assert sentence, point
        assert any(code.startswith(f"{point.value}.") for code in result.growth_point_codes)
        assert g.question(point) in result.growth_reason
    held = {code.split(".")[0] for code in EVIDENCE_CHECKS if EVIDENCE_CHECKS[code](evidence)}
    assert {p.value for p in result.growth_points} <= held


@RUN
@seed(14)
@given(clients)
def test_adding_a_complaint_never_moves_a_client_toward_protect(client: Client) -> None:
    before = _one(client)
    after = _one(dataclasses.replace(client, complaints=client.complaints + 1))
    assert RANK[after.decision] >= RANK[before.decision], (before.decision_reason, after.decision_reason)


quiet_payers = st.builds(
    Client,
    on_time=st.integers(1, 12),
    amount=st.sampled_from([10.0, 100.0, 1000.0, 5000.0]),
    tickets=st.integers(0, SETTINGS.growth.quiet.tickets_at_most),
    referrals=st.integers(0, 2),
    nps=st.none() | st.integers(0, 10),
    csat=st.none() | st.sampled_from([1.0, 3.0, 5.0]),
    checkups_held=st.integers(0, 2),
    cost=st.none() | st.sampled_from([5.0, 500.0, 5000.0]),
)


@RUN
@seed(15)
@given(quiet_payers, st.none() | window)
def test_a_quiet_client_who_pays_is_never_let_go(client: Client, before: Client | None) -> None:
    result = _one(dataclasses.replace(client, last_window=before))
    assert result.decision is not Decision.LET_GO, result.decision_reason


def test_quiet_clients_in_a_roster_are_never_a_growth_point_nor_judged_by_their_silence() -> None:
    silent = Client(id="S", on_time=6, nps=None, tickets=0, checkups_held=0)
    chatty = Client(id="C", on_time=6, nps=None, tickets=0, checkups_held=0, complaints=3)
    results = {c.account_id: c for c in classify(merge(silent.roster(), chatty.roster()), SETTINGS, AS_OF)}
    assert results["S"].growth_points == {}
    assert results["S"].decision is Decision.PROTECT
    assert GrowthPoint.COMMUNICATION in results["C"].growth_points
