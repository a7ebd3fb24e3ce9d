"""Growth points and the decision on both CRMs, over real HTTP: setup-fields creates the two fields with
neutral labels, sync writes them, and a re-sync with no change writes nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connector.model import Decision, GrowthPoint
from connector.sync.state import State
from tests.sync.conftest import FIELDS, Org

DECISION_LABELS = {
    "protect": "Keep close",
    "develop": "Grow",
    "fix": "Improve together",
    "let_go": "Plan a transition",
}
GROWTH_LABELS = {
    "communication": "Communication",
    "price": "Pricing terms",
    "discredit": "Public feedback",
    "demands": "Timelines and urgency",
}
"""The neutral default labels, written out (docs/rules.md), not read back from the settings under test."""


def _field_options(org: Org, name: str) -> tuple[str, dict[str, str]]:
    """(field label, value -> label) as the CRM's own describe / properties API answers."""
    crm_name = FIELDS[org.crm][name]
    if org.crm == "salesforce":  # labels live in the field's metadata (Tooling API CustomField)
        sf = org._sf_client()
        developer_name = crm_name.removesuffix("__c")
        soql = f"SELECT Id FROM CustomField WHERE DeveloperName = '{developer_name}'"
        [row] = sf.toolingexecute(f"query/?q={quote(soql)}")["records"]
        metadata: dict[str, Any] = sf.toolingexecute(f"sobjects/CustomField/{row['Id']}")["Metadata"]
        values = metadata["valueSet"]["valueSetDefinition"]["value"]
        return metadata["label"], {v["fullName"]: v["label"] for v in values}
    prop = org._hs_client().crm.properties.core_api.get_by_name("companies", crm_name)
    return prop.label, {o.value: o.label for o in prop.options}


def _codes(value: Any) -> set[str]:
    return set(str(value).split(";")) if value else set()


def test_growth_points_and_decision_are_created_written_and_not_rewritten(org: Org) -> None:
    label, options = _field_options(org, "decision")
    assert label == "Next step"
    assert options == DECISION_LABELS and set(options) == {d.value for d in Decision}
    assert "let_go" not in options.values() and options["let_go"] == "Plan a transition"
    label, options = _field_options(org, "growth_points")
    assert label == "Growth points"
    assert options == GROWTH_LABELS and set(options) == {p.value for p in GrowthPoint}

    summary, _ = org.sync("full")
    assert summary.status == "ok", summary.message
    accounts = org.clients()
    state = State(org.workdir / "state.sqlite")
    saved = {r["account_id"]: r for r in state.results("default")}
    state.close()
    assert all(a["decision"] in {d.value for d in Decision} for a in accounts)
    for account in accounts:
        assert account["decision"] == saved[account["id"]]["decision"]
        assert _codes(account["growth_points"]) == set(saved[account["id"]]["growth_points"])
    assert any(a["growth_points"] for a in accounts)
    assert len({a["decision"] for a in accounts}) >= 3
    writes = org.writes()

    org.clock.advance(hours=1)
    again, plan = org.sync()
    assert again.status == "ok"
    assert org.writes() == writes, "a no-change re-sync must not write"
    assert plan.fields == []

    # a user blanks the two fields: the next full sync puts back exactly those, on that account only
    target = next(a for a in accounts if a["growth_points"])
    empty = None if org.crm == "salesforce" else ""  # each CRM's way to clear a field
    org.update_account(target["id"], {"growth_points": empty, "decision": empty})
    org.clock.advance(hours=1)
    third, plan = org.sync("full")
    assert third.status == "ok"
    assert {(c.account_id, c.field) for c in plan.fields if c.field in ("growth_points", "decision")} == {
        (target["id"], "growth_points"),
        (target["id"], "decision"),
    }
    assert org.written(target["id"])["decision"] == target["decision"]
