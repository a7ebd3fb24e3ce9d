"""The state's saved results carry growth points and the decision to the report's data source."""

from __future__ import annotations

from typing import Any

from connector.report.sources import results_frame

BASE: dict[str, Any] = {"account_id": "A", "name": "Acme", "tier": "poor", "evidence": {}, "attributes": {}}


def test_saved_growth_points_and_decision_become_result_columns() -> None:
    row = {
        **BASE,
        "growth_points": ["price", "demands"],
        "growth_reasons": {"price": "3 of 9 invoices paid late or unpaid", "demands": "2 rush requests"},
        "growth_reason": "Pricing terms (3 of 9 invoices paid late or unpaid): Can we renegotiate?",
        "decision": "let_go",
        "decision_codes": ["let_go.costly_not_improving"],
        "decision_reason": "Plan a transition: poor and not improving",
        "trend": "steady",
        "previous_tier": "poor",
    }
    frame = results_frame([row, {**BASE, "account_id": "B", "decision": "fix"}])
    first = frame.row(0, named=True)
    assert first["growth_points"] == ["price", "demands"]
    assert first["growth_reason_price"] == "3 of 9 invoices paid late or unpaid"
    assert first["growth_reason_communication"] is None
    assert (first["decision"], first["decision_codes"], first["trend"]) == (
        "let_go",
        ["let_go.costly_not_improving"],
        "steady",
    )
    assert frame.row(1, named=True)["growth_points"] == []


def test_results_saved_before_decisions_existed_leave_the_report_its_fallback() -> None:
    frame = results_frame([BASE])
    assert frame["decision"].null_count() == frame.height  # the report then reads tier and traits
