"""CSV injection through `tiersync plan` and `plan-comms` against the sandbox: a CRM user who names an
account `=HYPERLINK(...)` gets a quoted cell in the CSV and the exact value in the JSON plan."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from tests.sync.conftest import Org, make_org

EVIL = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    yield from make_org(tmp_path, 60, crm="salesforce")


def _strings(value: object) -> Iterator[str]:
    """Every string anywhere in a JSON document."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _rename_first_client(org: Org) -> str:
    account = org.clients()[0]
    org._sf_client().Account.update(account["id"], {"Name": EVIL})
    return str(account["id"])


def test_plan_csv_quotes_a_formula_account_name_and_json_keeps_it(org: Org, tmp_path: Path) -> None:
    _rename_first_client(org)
    config = org.write_config(tmp_path)
    for suffix in ("csv", "json"):
        out = tmp_path / f"plan.{suffix}"
        result = CliRunner().invoke(
            app, ["--config", str(config), "plan", "--full", "--plan-out", str(out)], env=org.cli_env()
        )
        assert result.exit_code == 0, result.output
    cells = [c for row in csv.reader((tmp_path / "plan.csv").open(encoding="utf-8", newline="")) for c in row]
    assert "'" + EVIL in cells, "the account's name is in the plan, quoted"
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    text = (tmp_path / "plan.json").read_text(encoding="utf-8")
    assert EVIL in set(_strings(json.loads(text)))
    assert "'" + EVIL not in text, "JSON keeps the value unchanged"


def test_plan_comms_csv_quotes_a_formula_account_name(org: Org, tmp_path: Path) -> None:
    _rename_first_client(org)
    org.sync("full")
    config = org.write_config(tmp_path)
    out = tmp_path / "comms.csv"
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "plan-comms", "--start", "2026-11-01", "--days", "400", "--out", str(out)],
        env=org.cli_env(),
    )
    assert result.exit_code == 0, result.output
    accounts = {r["account"] for r in csv.DictReader(out.open(encoding="utf-8", newline=""))}
    assert "'" + EVIL in accounts
    assert not any(a.startswith(("=", "+", "-", "@")) for a in accounts)
