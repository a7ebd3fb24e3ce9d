"""`tiersync demo`: the README's first command, end to end on the sandbox CRM."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from connector.cli import app
from connector.sync.state import State


def test_demo_syncs_the_sandbox_rewrites_nothing_on_resync_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--accounts", "150", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "sync: ok, 150 accounts written" in result.stdout
    assert "re-sync: 0 accounts written" in result.stdout
    assert "tiers in the CRM" in result.stdout
    report = out / "report.html"
    assert f"report: {report.resolve()}" in result.stdout.replace("\n", "")
    page = report.read_text(encoding="utf-8")
    assert "<html" in page[:500].lower()
    assert 20_000 < report.stat().st_size <= 2_000_000
    assert page.count('<svg id="chart-') == 6, "every chart, movements included: the demo re-synced"
    assert "Who to protect, who to fix, who to let go" in page
    state = State(out / "tiersync-state.sqlite")
    results = state.results("default")
    assert len(results) == 150
    owner = {r["account_id"]: r["owner_id"] for r in results}
    sent = {(owner[t.account_id], t.crm_key) for t in state.tasks_for("default", owner) if t.crm_id}
    state.close()
    per_owner = Counter(o for o, _ in sent)
    assert per_owner and max(per_owner.values()) <= 10, "the first sync keeps every owner within the budget"
    assert "deferred" in result.stdout
    assert (out / "sandbox.sqlite").is_file()


def test_demo_runs_on_the_hubspot_sandbox_too(tmp_path: Path) -> None:
    out = tmp_path / "demo-hs"
    result = CliRunner().invoke(app, ["demo", "--crm", "hubspot", "--accounts", "80", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "sync: ok, 80 accounts written" in result.stdout
    assert "re-sync: 0 accounts written" in result.stdout
    assert (out / "report.html").is_file()
