"""A state belongs to one CRM org: reused against another it stops (exit 2), ``--rebind`` starts over.

Over real HTTP(S) against two sandbox orgs of each CRM seeded alike: B stands for a refreshed sandbox
or a re-pointed URL (same data, another Salesforce Organization Id / HubSpot portal id), on both state
backends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connector.cli.app import app
from connector.exit_codes import ExitCode
from connector.sync.runner import run_connection
from connector.sync.state import open_state
from tests.postgres_server import PostgresServer, shared_server
from tests.sync.conftest import Org, make_org, no_wait

ACCOUNTS = 40


@contextlib.contextmanager
def two_orgs(tmp_path: Path, crm: str) -> Iterator[tuple[Org, Org]]:
    """Org A, and org B with the same data under another org id."""
    with contextlib.ExitStack() as stack:
        a, b = (
            stack.enter_context(contextlib.contextmanager(make_org)(tmp_path / name, ACCOUNTS, crm=crm))
            for name in ("a", "b")
        )
        if crm == "salesforce":
            b.sf.refresh_org_id()
        else:
            b.hs.portal.portal_id += 1
        yield a, b


def org_id(org: Org) -> str:
    return str(org.sf.org.org_id if org.crm == "salesforce" else org.hs.portal.portal_id)


def test_each_sandbox_reports_its_own_org_id_to_the_adapter(tmp_path: Path, crm: str) -> None:
    with two_orgs(tmp_path, crm) as (a, b):
        ids = [o.adapter(o.settings()).org_id() for o in (a, b)]
    assert ids == [org_id(a), org_id(b)] and ids[0] != ids[1]


def _cli_config(target: Org, state_of: Org, directory: Path) -> Path:
    """``target``'s connection with ``state_of``'s state file (a re-pointed URL)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = target.write_config(directory)
    text = path.read_text(encoding="utf-8").replace(
        str(target.workdir / "state.sqlite"), str(state_of.workdir / "state.sqlite")
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_a_state_reused_against_another_org_stops_with_one_line_and_rebind_starts_over(
    tmp_path: Path, crm: str
) -> None:
    runner = CliRunner()
    with two_orgs(tmp_path, crm) as (a, b):
        first = runner.invoke(
            app, ["--config", str(a.write_config(tmp_path)), "sync", "--full", "-q"], env=a.cli_env()
        )
        assert first.exit_code == ExitCode.OK, first.output
        created_in_a = len(a.tasks())
        assert created_in_a > 0

        config = _cli_config(b, a, tmp_path / "b-config")
        b.sandbox.ledger.reset()
        refused = runner.invoke(app, ["--config", str(config), "sync", "--full", "-q"], env=b.cli_env())
        assert refused.exit_code == ExitCode.USAGE
        problem_lines = [line for line in refused.stderr.splitlines() if line.strip()]
        assert len(problem_lines) == 1 and "--rebind" in problem_lines[0]
        assert org_id(a) in problem_lines[0] and org_id(b) in problem_lines[0]
        assert b.writes() == 0 and b.tasks() == []

        planned = runner.invoke(app, ["--config", str(config), "plan", "--full", "--rebind"], env=b.cli_env())
        assert planned.exit_code == ExitCode.OK, planned.output
        assert b.writes() == 0, "a plan writes nothing, --rebind or not"

        rebound = runner.invoke(
            app, ["--config", str(config), "sync", "--full", "--rebind", "-q"], env=b.cli_env()
        )
        assert rebound.exit_code == ExitCode.OK, rebound.output
        assert len(b.tasks()) == created_in_a, "every task is created in the new org"
        again = runner.invoke(app, ["--config", str(config), "sync", "-q"], env=b.cli_env())
        assert again.exit_code == ExitCode.OK
        back = runner.invoke(app, ["--config", str(a.write_config(tmp_path)), "sync", "-q"], env=a.cli_env())
        assert back.exit_code == ExitCode.USAGE, "the state now belongs to org B"


@pytest.fixture(scope="module")
def postgres() -> PostgresServer:
    return shared_server()


def test_the_binding_holds_in_postgresql_state_too(
    tmp_path: Path, crm: str, postgres: PostgresServer
) -> None:
    url = postgres.url(postgres.create_database(), password=True)
    with two_orgs(tmp_path, crm) as (a, b):
        settings: dict[str, Any] = {"state_url": url}

        def run(org: Org, **kwargs: Any) -> Any:
            return run_connection(
                "default", org.settings(**settings), "full", clock=org.clock, sleep=no_wait, **kwargs
            )

        assert run(a).exit_code == ExitCode.OK
        state = open_state(a.settings(**settings))
        assert state.bound_org("default") == org_id(a)
        state.close()

        refused = run(b)
        assert refused.exit_code == ExitCode.USAGE and len(refused.problems) == 1
        assert "--rebind" in refused.problems[0]
        rebound = run(b, rebind=True)
        assert rebound.exit_code == ExitCode.OK and rebound.summary is not None
        assert rebound.summary.tasks_created == len(a.tasks()) == len(b.tasks())
        state = open_state(b.settings(**settings))
        assert state.bound_org("default") == org_id(b)
        if crm == "salesforce":
            in_b = {str(t["Id"]) for t in b.sf.records("Task")}
        else:
            in_b = {str(t["id"]) for t in b.hs.objects("tasks")}
        sent = {str(t["crm_id"]) for t in state.all_tasks("default") if t["crm_id"]}
        assert sent and sent <= in_b, "the state knows only org B's tasks"
        state.close()
