"""`tiersync plan --out`: a plan people can review, one row per account, owners by name, on both CRMs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from connector.classify.decision_settings import DEFAULT_DECISION_LABELS
from connector.classify.trait_settings import DEFAULT_TRAIT_LABELS
from connector.cli import app
from connector.model import Tier, Trait
from connector.sandbox.people import full_name
from tests.sync.conftest import Org

SEEDED = {full_name(f"owner-{i:02d}") for i in range(1, 51)}


def plan(org: Org, tmp_path: Path, *args: str) -> tuple[int, str]:
    config = org.write_config(tmp_path)
    result = CliRunner().invoke(app, ["--config", str(config), "plan", *args], env=org.cli_env())
    return result.exit_code, result.stdout


def test_plan_file_has_one_row_per_account_with_owner_names_tiers_and_reasons(
    org: Org, tmp_path: Path
) -> None:
    out = tmp_path / "plan.csv"
    code, stdout = plan(org, tmp_path, "--full", "--out", str(out))
    assert code == 0, stdout
    rows = pl.read_csv(out, infer_schema=False)
    clients = org.clients()
    assert rows.height == len(clients), "a fresh org: every account changes, once each"
    assert rows["account_id"].n_unique() == rows.height
    assert set(rows["account_id"]) == {c["id"] for c in clients}
    assert set(rows["owner"]) <= SEEDED, "owners by name, never by id"
    assert set(rows["tier_new"]) <= {t.value for t in Tier}
    assert rows["tier_now"].null_count() == rows.height, "nothing was tiered yet"
    assert rows["reasons"].null_count() == 0
    assert all(f.startswith("tier, ") for f in rows["fields_changing"])
    labels = {label for cell in rows["traits"].drop_nulls() for label in cell.split("; ")}
    assert labels and labels <= set(DEFAULT_TRAIT_LABELS.values())
    assert not any(t.value in " ".join(rows["reasons"]) for t in Trait), "neutral labels, no trait codes"
    assert rows["tasks_create"].null_count() < rows.height
    assert set(rows["decision"]) <= set(DEFAULT_DECISION_LABELS.values()), "the decision's neutral label"
    assert f"wrote {out}" in stdout


def test_field_detail_keeps_the_field_level_file(org: Org, tmp_path: Path) -> None:
    accounts, fields = tmp_path / "a.csv", tmp_path / "f.csv"
    plan(org, tmp_path, "--full", "--out", str(accounts))
    code, _ = plan(org, tmp_path, "--full", "--out", str(fields), "--detail", "fields")
    assert code == 0
    per_field = pl.read_csv(fields, infer_schema=False)
    assert per_field.columns == ["record", "name", "change", "field", "current", "new"]
    assert per_field.height > 3 * pl.read_csv(accounts, infer_schema=False).height
    no_ops = per_field.filter((pl.col("change") == "update") & (pl.col("current") == pl.col("new")))
    assert no_ops.height == 0, "a field written with the value it holds is no change to review"


def test_terminal_plan_fits_80_columns_with_whole_ids_and_counts_per_owner(org: Org, tmp_path: Path) -> None:
    code, stdout = plan(org, tmp_path, "--full", "--limit", "10")
    assert code == 0
    people = [line for line in stdout.splitlines() if not line.startswith("{")]  # not the JSON line
    assert max(len(line) for line in people) <= 80
    ids = {c["id"] for c in org.clients()}
    first_words = [line.split()[0] for line in people if line.split()]
    assert sum(1 for word in first_words if word in ids) == 10, "ten rows, each id whole on its line"
    assert "Per owner" in stdout
    assert sum(1 for name in SEEDED if name in stdout) >= 3


def test_plan_after_a_sync_says_no_changes(org: Org, tmp_path: Path) -> None:
    org.sync("full")
    out = tmp_path / "plan.csv"
    code, stdout = plan(org, tmp_path, "--out", str(out))
    assert code == 0
    assert "No changes" in stdout
    assert pl.read_csv(out, infer_schema=False).height == 0


def test_a_changed_account_is_one_row_with_its_tier_now_and_next(org: Org) -> None:
    org.sync("full")
    org.clock.advance(hours=1)
    org.sync()  # settles the re-read of tiersync's own writes
    account = next(a for a in org.clients() if a["tier"] == "good")
    org.clock.advance(minutes=5)
    org.edit_invoice_paid_date(account["id"], days_late=40)
    org.clock.advance(minutes=5)
    engine = org.engine()
    try:
        _, planned = engine.run("incremental", dry_run=True)
    finally:
        engine.state.close()
    (row,) = planned.account_rows()
    assert row["account_id"] == account["id"]
    assert row["tier_now"] == "good"
    assert row["tier_new"] in {t.value for t in Tier}
    assert "reasons" in row["fields_changing"]
    assert row["owner"] in SEEDED
