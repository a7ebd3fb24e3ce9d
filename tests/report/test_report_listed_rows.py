"""The rows the report lists by name (who to protect, fix and let go; the largest clients per trait),
recomputed with plain Python from one classification of the whole roster, against `tiersync report
--input` run a chunk of accounts at a time: the report keeps whole rows only for the accounts it lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from connector.classify.classifier import classify_frames
from connector.cli import app
from connector.config import Settings
from connector.model import Trait
from connector.report.data import LISTED_DECISIONS
from connector.sample_data import write_csv
from tests.report.conftest import AS_OF, SCRIPT_NAME, hostile_roster

ACCOUNTS = 1500
BATCH = 170
"""Accounts per chunk: nine chunks, the last one short."""
PER_TRAIT = 4

runner = CliRunner()


@pytest.fixture(scope="module")
def roster(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """A roster folder, and its classification in one piece, as plain rows; the client listed first
    under protect is named with markup."""
    frames = hostile_roster(ACCOUNTS, seed=23)
    first = by_revenue(
        [r for r in classify_frames(frames, Settings(), AS_OF).to_dicts() if r["decision"] == "protect"], 1
    )
    frames.accounts = frames.accounts.with_columns(
        pl.when(pl.col("id") == first[0]["account_id"])
        .then(pl.lit(SCRIPT_NAME))
        .otherwise("name")
        .alias("name")
    )
    folder = tmp_path_factory.mktemp("listed-roster")
    write_csv(frames, folder)
    (folder.parent / "tiersync.toml").write_text(
        f"[insights]\nreport_accounts_per_trait = {PER_TRAIT}\n", encoding="utf-8"
    )
    return folder, classify_frames(frames, Settings(), AS_OF).to_dicts()


def report(folder: Path, batch: int, output_format: str) -> str:
    out = folder.parent / f"report-{batch}.{output_format}"
    args = ["--config", str(folder.parent / "tiersync.toml"), "report", "--input", str(folder)]
    args += [
        "--as-of",
        AS_OF.isoformat(),
        "--batch",
        str(batch),
        "--format",
        output_format,
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr) == (0, "")
    return out.read_text(encoding="utf-8")


def by_revenue(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Largest revenue first, unknown revenue last, ties by account id."""
    return sorted(rows, key=lambda r: (r["revenue"] is None, -(r["revenue"] or 0.0), r["account_id"]))[:limit]


def listed(lines: list[dict[str, Any]]) -> list[tuple[str, str, str, float]]:
    return [(a["account_id"], a["name"], a["why"], a["revenue"]) for a in lines]


def test_decision_lists_name_the_largest_clients_with_their_reasons(
    roster: tuple[Path, list[dict[str, Any]]],
) -> None:
    folder, rows = roster
    decisions = json.loads(report(folder, BATCH, "json"))["decisions"]
    groups = {"protect": {"protect"}, "fix": {"fix", "develop"}, "let_go": {"let_go"}}
    titles = {a.code: a.title for a in Settings().playbook.actions}
    for group, wanted in groups.items():
        members = [r for r in rows if r["decision"] in wanted]
        expected = by_revenue(members, LISTED_DECISIONS)
        assert decisions[f"{group}_total"] == len(members)
        assert listed(decisions[group]) == [
            (r["account_id"], r["name"], r["decision_reason"], float(r["revenue"] or 0.0)) for r in expected
        ]
        assert [a["todo"] for a in decisions[group]] == [
            ", ".join(titles.get(code, code) for code in r["actions"]) for r in expected
        ]
    assert len(decisions["protect"]) == LISTED_DECISIONS < decisions["protect_total"], "a cut-off list"


def test_each_trait_lists_its_largest_clients_with_the_trait_s_evidence(
    roster: tuple[Path, list[dict[str, Any]]],
) -> None:
    folder, rows = roster
    traits = {t["trait"]: t for t in json.loads(report(folder, BATCH, "json"))["traits"]}
    cut = 0
    for trait in Trait:
        members = [r for r in rows if trait.value in r["traits"]]
        expected = by_revenue(members, PER_TRAIT)
        assert traits[trait.value]["accounts"] == len(members)
        assert listed(traits[trait.value]["largest"]) == [
            (r["account_id"], r["name"], r[f"reason_{trait.value}"], float(r["revenue"] or 0.0))
            for r in expected
        ]
        cut += len(members) > PER_TRAIT
    assert cut >= 2, "the roster must have traits with more clients than the report lists"


def test_the_page_is_the_same_whatever_the_chunk(roster: tuple[Path, list[dict[str, Any]]]) -> None:
    folder, _ = roster
    page = report(folder, BATCH, "html")
    assert page == report(folder, 100_000, "html")
    assert SCRIPT_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, "the listed client's name, escaped"
