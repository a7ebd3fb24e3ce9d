"""Growth points and the decision in the offline outputs: classify's CSV and JSON, and explain."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from connector.cli import app
from connector.config import Settings
from connector.model import Decision, GrowthPoint
from connector.sample_data import generate, write_csv
from tests.roster_builder import AS_OF

runner = CliRunner()


def test_classify_writes_growth_points_and_decision_to_csv_and_json(tmp_path: Path) -> None:
    folder, out = tmp_path / "roster", tmp_path / "out"
    write_csv(generate(300, seed=4, as_of=AS_OF, years=2).frames, folder)
    result = runner.invoke(app, ["classify", str(folder), "--as-of", AS_OF.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out / "classifications.csv", infer_schema_length=0)
    assert {"growth_points", "growth_reason", "decision", "decision_reason", "trend"} <= set(table.columns)
    assert set(table["decision"]) <= {d.value for d in Decision}
    rows = json.loads((out / "classifications.json").read_text(encoding="utf-8"))
    assert all(isinstance(r["growth_points"], list) and isinstance(r["decision"], str) for r in rows)
    with_points = [r for r in rows if r["growth_points"]]
    assert with_points and all(r["growth_reason"] for r in with_points)
    by_id = {r["account_id"]: r for r in rows}
    for row in table.iter_rows(named=True):  # the CSV's ';'-joined codes are the JSON's lists
        assert (row["growth_points"] or "").split(";") == (by_id[row["account_id"]]["growth_points"] or [""])

    fix = next(r for r in rows if r["decision"] == "fix" and r["growth_points"])
    shown = runner.invoke(
        app, ["explain", fix["account_id"], "--input", str(folder), "--as-of", AS_OF.isoformat()]
    )
    assert shown.exit_code == 0, shown.output
    assert "Next step: Improve together: " in shown.stdout
    point = GrowthPoint(fix["growth_points"][0])
    assert f"  {Settings().growth.label(point)}: " in shown.stdout
