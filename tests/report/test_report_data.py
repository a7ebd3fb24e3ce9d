"""The report's numbers, recomputed independently from the classifier's output and the planted state."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from connector.config import Settings
from connector.report import build_report_data, source_from_results, source_from_state
from connector.report.data import LISTED, ReportData
from connector.report.sources import open_tasks
from connector.sync.state import State, open_state
from tests.postgres_server import shared_server
from tests.report.conftest import REPORT_DAY, Classified, previous_tiers, write_state

TIERS = ["amazing", "good", "okay", "poor"]


def offline_report(classified: Classified) -> ReportData:
    return build_report_data(source_from_results(classified.results, "input test"), Settings(), REPORT_DAY)


def state_report(state_path: Path) -> ReportData:
    state = State(state_path)
    try:
        return build_report_data(source_from_state(state, "default"), Settings(), REPORT_DAY)
    finally:
        state.close()


def test_tier_counts_and_revenue_shares_match_the_classifier(classified: Classified) -> None:
    rows = classified.results.to_dicts()
    data = offline_report(classified)
    counts = Counter(r["tier"] for r in rows)
    revenue = {t: sum(r["revenue"] or 0 for r in rows if r["tier"] == t) for t in TIERS}
    total = sum(revenue.values())
    assert [t.tier for t in data.tiers] == TIERS
    for line in data.tiers:
        assert line.accounts == counts[line.tier]
        assert line.share == pytest.approx(counts[line.tier] / len(rows))
        assert line.revenue_share == pytest.approx(revenue[line.tier] / total)
        assert line.change is None
    assert data.headline.accounts == len(rows) == 400
    assert data.headline.revenue == pytest.approx(total)
    assert data.headline.top_share == pytest.approx((counts["amazing"] + counts["good"]) / len(rows))


def test_pareto_shares_match_a_recount_of_the_evidence(classified: Classified) -> None:
    rows = classified.results.to_dicts()
    data = offline_report(classified)
    columns = {
        "complaints": "complaints",
        "late_payments": "invoices_late",
        "escalations": "escalations",
        "cost_to_serve": "cost_to_serve",
    }
    for name, column in columns.items():
        total = sum(r[column] or 0 for r in rows)
        for line in data.pareto.by_tier:
            mine = sum(r[column] or 0 for r in rows if r["tier"] == line.tier)
            assert line.shares[name] == pytest.approx(mine / total), (name, line.tier)
        worst = sorted((r[column] or 0 for r in rows), reverse=True)[:80]
        assert data.pareto.worst_cause[name] == pytest.approx(sum(worst) / total)
    poor = data.pareto.by_tier[-1]
    assert poor.shares["complaints"] > 0.6  # the generated roster's 80/20 shape
    assert data.pareto.headline.startswith(f"Poor clients are {poor.account_share:.0%} of clients")


def test_traits_and_their_overlap_count_accounts(classified: Classified) -> None:
    rows = classified.results.to_dicts()
    data = offline_report(classified)
    have = {line.trait: {r["account_id"] for r in rows if line.trait in r["traits"]} for line in data.traits}
    for line in data.traits:
        assert line.accounts == len(have[line.trait])
        assert all(a.account_id in have[line.trait] for a in line.largest)
        assert [a.revenue for a in line.largest] == sorted((a.revenue for a in line.largest), reverse=True)
        assert all(a.why for a in line.largest)
    for i, a in enumerate(data.overlap.traits):
        for j, b in enumerate(data.overlap.traits):
            assert data.overlap.counts[i][j] == len(have[a] & have[b])


def test_offline_report_says_movements_and_tasks_need_a_sync(classified: Classified) -> None:
    data = offline_report(classified)
    assert not data.movements.available
    assert not data.playbook.tasks_available
    assert data.headline.open_tasks is None
    recommended = Counter(a for r in classified.results.to_dicts() for a in r["actions"])
    assert {a.action: a.accounts for a in data.playbook.by_action if a.accounts} == dict(recommended)
    assert any("offline" in note for note in data.notes)


def test_state_report_shows_the_last_runs_movements(classified: Classified, state_path: Path) -> None:
    data = state_report(state_path)
    previous = previous_tiers(classified.results)
    now = dict(classified.results.select("account_id", "tier").iter_rows())
    expected = Counter((previous[a], now[a]) for a in now)
    for i, was in enumerate(TIERS):
        for j, is_now in enumerate(TIERS):
            assert data.movements.matrix[i][j] == expected[(was, is_now)]
    dropped = {a for a in now if TIERS.index(now[a]) > TIERS.index(previous[a])}
    assert data.movements.dropped_total == len(dropped) > 0
    assert {m.account_id for m in data.movements.dropped} == dropped
    assert all(m.previous == "good" and m.current == "poor" for m in data.movements.dropped)
    change = {t.tier: t.change for t in data.tiers}
    assert change == {t: Counter(now.values())[t] - Counter(previous.values())[t] for t in TIERS}
    assert data.headline.dropped == len(dropped)


def test_state_report_counts_open_and_overdue_tasks(classified: Classified, state_path: Path) -> None:
    data = state_report(state_path)
    state = State(state_path)
    try:
        tasks = state.all_tasks("default")
    finally:
        state.close()
    open_tasks = [t for t in tasks if t["status"] in ("open", "pending")]
    overdue = [t for t in open_tasks if t["due"] < REPORT_DAY.isoformat()]
    assert data.playbook.tasks_available
    assert data.playbook.open_total == len(open_tasks) > 0
    assert data.playbook.overdue_total == len(overdue) > 0
    assert len(data.playbook.overdue) == min(len(overdue), LISTED)
    by_action = Counter(t["action"] for t in open_tasks)
    assert {a.action: a.open for a in data.playbook.by_action if a.open} == dict(by_action)
    owners = dict(classified.results.select("account_id", "owner_id").iter_rows())
    late_by_owner = Counter(owners[t["account_id"]] for t in overdue)
    assert {o.owner_id: o.overdue for o in data.playbook.by_owner if o.overdue} == dict(late_by_owner)
    assert data.playbook.by_owner[0].overdue == max(late_by_owner.values())


def test_state_and_offline_reports_agree_on_the_same_results(
    classified: Classified, state_path: Path
) -> None:
    offline, synced = offline_report(classified), state_report(state_path)
    assert [(t.tier, t.accounts) for t in offline.tiers] == [(t.tier, t.accounts) for t in synced.tiers]
    assert offline.pareto.by_tier == synced.pareto.by_tier
    assert offline.profile.rows == synced.profile.rows
    assert [t.accounts for t in offline.traits] == [t.accounts for t in synced.traits]


def test_report_data_is_plain_json(state_path: Path) -> None:
    document = json.loads(state_report(state_path).to_json())
    assert set(document) >= {
        "headline",
        "tiers",
        "pareto",
        "traits",
        "overlap",
        "movements",
        "profile",
        "playbook",
    }
    assert document["profile"]["rows"][0]["lift"] > 1
    assert document["movements"]["available"] is True


def test_decisions_follow_the_classification_s_decision(classified: Classified) -> None:
    data = offline_report(classified)
    d = data.decisions
    rows = {r["account_id"]: r for r in classified.results.to_dicts()}
    assert d.source == "decision"
    assert {rows[a.account_id]["decision"] for a in d.protect} == {"protect"}
    assert {rows[a.account_id]["decision"] for a in d.fix} <= {"fix", "develop"}
    assert {rows[a.account_id]["decision"] for a in d.let_go} <= {"let_go"}
    assert d.protect_total == sum(1 for r in rows.values() if r["decision"] == "protect")
    revenues = [a.revenue for a in d.protect]
    assert revenues == sorted(revenues, reverse=True), "top clients by revenue"
    assert all(a.why == rows[a.account_id]["decision_reason"] for a in d.protect + d.fix + d.let_go)
    assert all(a.owner for a in d.protect + d.fix + d.let_go)


def test_without_a_decision_the_lists_come_from_tier_and_traits(classified: Classified) -> None:
    results = classified.results.drop("decision")
    data = build_report_data(source_from_results(results, "input"), Settings(), REPORT_DAY)
    d = data.decisions
    rows = {r["account_id"]: r for r in results.to_dicts()}
    assert d.source == "tier and traits"
    assert {a.tier for a in d.protect} <= {"amazing", "good"}
    assert d.protect_total == sum(1 for r in rows.values() if r["tier"] in ("amazing", "good"))
    revenues = [a.revenue for a in d.protect]
    assert revenues == sorted(revenues, reverse=True), "top clients by revenue"
    assert max(revenues) == max(
        (r["revenue"] or 0) for r in rows.values() if r["tier"] in ("amazing", "good")
    )
    assert {a.tier for a in d.let_go} == {"poor"}
    assert all(
        rows[a.account_id]["traits"] or (rows[a.account_id]["unpaid_overdue"] or 0) > 0 for a in d.let_go
    )
    assert {a.tier for a in d.fix} <= {"okay", "poor"}
    assert not {a.account_id for a in d.fix} & {a.account_id for a in d.let_go}
    total_poor_okay = sum(1 for r in rows.values() if r["tier"] in ("okay", "poor"))
    assert d.fix_total + d.let_go_total == total_poor_okay
    assert all(a.why and a.owner for a in d.protect + d.fix + d.let_go)
    assert all(a.todo for a in d.fix), "each client to fix says what to do"
    assert "bully" not in json.dumps([a.why for a in d.let_go]), "neutral labels in the reasons"


def test_owner_names_replace_ids_and_a_decision_column_is_followed(classified: Classified) -> None:
    import polars as pl

    results = classified.results.with_columns(
        pl.concat_str(pl.lit("Person "), pl.col("owner_id")).alias("owner_name"),
        pl.when(pl.col("tier") == "amazing")
        .then(pl.lit("protect"))
        .otherwise(pl.lit("let_go"))
        .alias("decision"),
    )
    data = build_report_data(source_from_results(results, "input"), Settings(), REPORT_DAY)
    assert data.decisions.source == "decision"
    assert {a.tier for a in data.decisions.protect} == {"amazing"}
    assert data.decisions.fix == []
    assert all(a.owner.startswith("Person ") for a in data.decisions.protect + data.decisions.let_go)
    assert all(o.owner.startswith("Person ") for o in data.playbook.by_owner)
    assert data.currency == "USD"


def test_a_state_read_a_few_accounts_at_a_time_gives_the_same_report(state_path: Path) -> None:
    state = State(state_path)
    try:
        paged = build_report_data(source_from_state(state, "default", page_size=7), Settings(), REPORT_DAY)
    finally:
        state.close()
    whole = state_report(state_path)
    assert paged.to_json() == whole.to_json()
    assert paged.movements.dropped_total > 7 and paged.headline.accounts == 400, "movements span the pages"


def test_open_tasks_folded_a_few_rows_at_a_time_count_what_one_pass_counts(
    classified: Classified, state_path: Path
) -> None:
    state = State(state_path)
    try:
        pages = list(state.iter_tasks("default", 7))
    finally:
        state.close()
    owners = classified.results.select("account_id", "owner_id")
    folded, whole = open_tasks(pages, owners, fold=5), open_tasks(pages, owners)
    assert folded.counts.equals(whole.counts) and folded.earliest.equals(whole.earliest)
    rows = [t for page in pages for t in page]
    unsent = [t for t in rows if t["status"] in ("open", "pending")]
    assert folded.total == len(unsent) < len(rows), "done tasks are not counted"
    owner_of = dict(owners.iter_rows())
    expected = Counter((t["action"], owner_of[t["account_id"]], t["due"]) for t in unsent)
    assert {(a, o, d): n for a, o, d, n in folded.counts.iter_rows()} == dict(expected)
    first = sorted((t["due"], t["key"]) for t in unsent if t["due"])[:LISTED]
    assert list(zip(folded.earliest["due"], folded.earliest["key"], strict=True)) == first


def test_a_postgres_state_gives_the_report_a_sqlite_state_gives(
    classified: Classified, state_path: Path
) -> None:
    server = shared_server()
    url = server.url(server.create_database(), password=True)
    store = open_state(Settings.model_validate({"state_url": url}))
    try:
        write_state(store, classified.results)
        on_postgres = build_report_data(
            source_from_state(store, "default", page_size=7), Settings(), REPORT_DAY
        )
    finally:
        store.close()
    assert on_postgres.playbook.open_total and on_postgres.movements.dropped_total
    assert on_postgres.to_json() == state_report(state_path).to_json()
