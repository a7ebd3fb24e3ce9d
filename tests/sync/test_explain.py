"""`tiersync explain ACCOUNT`: from the CRM (both CRMs, over real HTTP) and offline from files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from connector.cli import app
from connector.sample_data import generate, write_csv
from connector.sandbox.people import full_name
from tests.sync.conftest import AS_OF, Org

SEEDED = {full_name(f"owner-{i:02d}") for i in range(1, 51)}


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_explain_from_the_crm_names_the_owner_and_every_rule(org: Org, tmp_path: Path) -> None:
    config = org.write_config(tmp_path)
    poor = next(c for c in org.clients() if c["owner_id"])
    code, stdout, stderr = run(
        "--config", str(config), "explain", poor["id"], "--format", "json", env=org.cli_env()
    )
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["account_id"] == poor["id"]
    assert doc["owner"] in SEEDED
    assert [t["tier"] for t in doc["tiers"]] == ["poor", "amazing", "good"]
    statuses = {rule["status"] for t in doc["tiers"] for rule in t["checks"]}
    assert statuses <= {"met", "not met", "unknown"}
    assert all(rule["rule"] and rule["values"] for t in doc["tiers"] for rule in t["checks"])
    assert doc["evidence"]["revenue"].endswith(" USD")
    assert doc["tier"] in {"amazing", "good", "okay", "poor"}
    assert (doc["tier"] == "amazing") == (doc["not_higher"] == [])
    assert doc["tasks"], "every client gets at least its baseline touches"
    assert doc["decision"], "the next step, in words"


def test_explain_of_an_unknown_account_exits_2(org: Org, tmp_path: Path) -> None:
    config = org.write_config(tmp_path)
    missing = "001000000000000AAA" if org.crm == "salesforce" else "999999999"
    code, _, stderr = run("--config", str(config), "explain", missing, env=org.cli_env())
    assert code == 2
    assert missing in stderr


def roster(tmp_path: Path) -> Path:
    folder = tmp_path / "roster"
    write_csv(generate(200, seed=3, as_of=AS_OF).frames, folder)
    return folder


def test_explain_offline_agrees_with_classify_and_says_why_not_higher(tmp_path: Path) -> None:
    folder = roster(tmp_path)
    out = tmp_path / "out"
    code, _, _ = run(
        "classify", str(folder), "--as-of", AS_OF.isoformat(), "--out", str(out), "--format", "csv"
    )
    assert code == 0
    results = pl.read_csv(out / "classifications.csv", infer_schema_length=0)
    for tier in ("poor", "okay", "good", "amazing"):
        account = results.filter(pl.col("tier") == tier)["account_id"][0]
        code, stdout, stderr = run(
            "explain", account, "--input", str(folder), "--as-of", AS_OF.isoformat(), "--format", "json"
        )
        assert code == 0, stderr
        doc = json.loads(stdout)
        assert doc["tier"] == tier
        checks = {t["tier"]: t for t in doc["tiers"]}
        assert checks["poor"]["holds"] == (tier == "poor")
        if tier == "okay":
            assert any(line.startswith("not good:") for line in doc["not_higher"])
            assert not checks["good"]["holds"]
        if tier == "good":
            assert checks["good"]["holds"] and not checks["amazing"]["holds"]
            assert all(line.startswith("not amazing:") for line in doc["not_higher"])
        if tier == "poor":
            assert all(line.startswith("poor because") for line in doc["not_higher"])


def test_explain_offline_in_plain_words(tmp_path: Path) -> None:
    folder = roster(tmp_path)
    (folder / "surveys.csv").unlink()  # no survey source: the NPS rules are unknown, and said so
    account = pl.read_csv(folder / "accounts.csv")["id"][0]
    code, stdout, _ = run("explain", account, "--input", str(folder), "--as-of", AS_OF.isoformat())
    assert code == 0
    for heading in (
        "Evidence:",
        "Poor needs any one of these",
        "Why not one tier higher:",
        "Data gaps:",
        "Actions:",
    ):
        assert heading in stdout
    assert "[unknown] latest NPS at most 6" in stdout
    assert "surveys" in stdout.split("Data gaps:")[1]
    assert "bully" not in stdout and "goalpost_mover" not in stdout


def test_explain_offline_unknown_account_exits_2(tmp_path: Path) -> None:
    code, _, stderr = run("explain", "NOPE", "--input", str(roster(tmp_path)))
    assert code == 2
    assert "NOPE" in stderr
