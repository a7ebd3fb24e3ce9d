"""`tiersync demo`: the README's first command, end to end on the sandbox CRM."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from connector.cli import app
from connector.config import Settings, TaskSettings, load_settings
from connector.model import Trait
from connector.sync.state import State


def new_tasks_per_owner(out: Path) -> Counter[str]:
    """Tasks the demo's one real sync created, per owner (from its state): new this week and open."""
    state = State(out / "tiersync-state.sqlite")
    owner = {r["account_id"]: r["owner_id"] for r in state.results("default")}
    sent = {(owner[t.account_id], t.crm_key) for t in state.tasks_for("default", owner) if t.crm_id}
    state.close()
    return Counter(o for o, _ in sent)


def assert_within(per_owner: Counter[str], budget: TaskSettings) -> None:
    """Every owner within the budget, and held to it: each of the demo's few owners has more due."""
    cap = min(budget.max_new_per_owner_per_week, budget.max_open_per_owner)
    assert per_owner and set(per_owner.values()) == {cap}, (per_owner, cap)


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
    assert len(state.results("default")) == 150
    state.close()
    assert_within(new_tasks_per_owner(out), Settings().tasks)
    assert "deferred" in result.stdout
    assert (out / "sandbox.sqlite").is_file()
    shown = [line.split("Traits: ", 1)[1] for line in result.stdout.splitlines() if "  Traits: " in line]
    assert shown, "the demo shows example records with traits"
    for line in shown:  # each stored value under the label the record page shows: "Label [code]"
        for part in line.split("; "):
            label, code = part.rsplit(" [", 1)
            assert label == Settings().label(Trait(code.rstrip("]")))
            assert label != code.rstrip("]")


def test_the_demos_first_sync_keeps_every_owner_within_the_configured_budget(tmp_path: Path) -> None:
    config = tmp_path / "tiersync.toml"
    config.write_text("[tasks]\nmax_new_per_owner_per_week = 4\nmax_open_per_owner = 6\n", encoding="utf-8")
    out = tmp_path / "demo"
    args = ["--config", str(config), "demo", "--accounts", "120", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    budget = load_settings(config).tasks
    assert f"at most {budget.max_new_per_owner_per_week} new per owner this week" in " ".join(
        result.stdout.split()
    )
    assert_within(new_tasks_per_owner(out), budget)


def test_demo_runs_on_the_hubspot_sandbox_too(tmp_path: Path) -> None:
    out = tmp_path / "demo-hs"
    result = CliRunner().invoke(app, ["demo", "--crm", "hubspot", "--accounts", "80", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "sync: ok, 80 accounts written" in result.stdout
    assert "re-sync: 0 accounts written" in result.stdout
    assert (out / "report.html").is_file()
