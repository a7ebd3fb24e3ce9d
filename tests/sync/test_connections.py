"""Many CRM connections in one config, and the PostgreSQL state shared by overlapping runs.

Connections are separate sandbox Salesforce orgs over real HTTPS; runs go through the CLI (in this
process, or as real subprocesses where the lock must be tested across processes).
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.config import ConfigError, Settings, load_settings
from connector.exit_codes import ExitCode, worst
from connector.model import Trait
from connector.sandbox.faults import Fault, FaultPlan
from connector.sync.lock import run_lock
from connector.sync.state import State, TaskState, open_state
from tests.postgres_server import PASSWORD, PostgresServer, shared_server
from tests.sync.conftest import AS_OF, Org, make_org

REPO = Path(__file__).resolve().parents[2]
ACCOUNTS = 120


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    return shared_server()


@contextlib.contextmanager
def orgs(tmp_path: Path, *seeds: int) -> Iterator[list[Org]]:
    """Sandbox Salesforce orgs, one per seed (the same seed twice gives two identical orgs)."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(contextlib.contextmanager(make_org)(tmp_path / f"org{i}", ACCOUNTS, seed))
            for i, seed in enumerate(seeds)
        ]


def config(tmp_path: Path, connections: dict[str, dict[str, Any]], *, state: str = "") -> Path:
    """A tiersync.toml naming ``connections`` (name -> org, mapping, overrides)."""
    lines = [
        state or f'state_path = "{tmp_path / "state.sqlite"}"',
        f"[evidence]\nas_of = {AS_OF.isoformat()}",
        "[sync]\npage_size = 200",
    ]
    for name, spec in connections.items():
        info = spec["org"].sandbox.salesforce_settings()
        lines.append(f'[connections.{name}]\ncrm = "salesforce"')
        if "mapping" in spec:
            lines.append(f'mapping = "{spec["mapping"]}"')
        lines.append(
            f'[connections.{name}.salesforce]\ninstance_url = "{info["instance_url"]}"\n'
            f'ca_bundle = "{info["ca_bundle"]}"'
        )
        for section, values in spec.get("overrides", {}).items():
            lines.append(f"[connections.{name}.overrides.{section}]")
            lines += [f"{key} = {value}" for key, value in values.items()]
    path = tmp_path / "tiersync.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def secrets(connections: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each connection's session id from its own variable (a ``token`` in the spec overrides it)."""
    return {
        f"TIERSYNC_CONNECTIONS__{name.upper()}__SALESFORCE__SESSION_ID": spec.get(
            "token", spec["org"].sandbox.salesforce_settings()["session_id"]
        )
        for name, spec in connections.items()
    }


def json_lines(stdout: str) -> dict[str, dict[str, Any]]:
    """The JSON lines of a run, by connection (the closing ``sync_all`` line under ``*``)."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return {line.get("connection", "*"): line for line in lines}


def tiers(org: Org) -> dict[str, str | None]:
    return {
        a["Name"]: a.get("Tiersync_Tier__c") for a in org.sf.records("Account") if a.get("Type") != "Prospect"
    }


def task_keys(org: Org) -> Counter[str]:
    return Counter(t["Tiersync_Key__c"] for t in org.sf.records("Task") if not t.get("IsDeleted"))


# -- configuration -------------------------------------------------------------------------------
def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiersync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_connections_the_top_level_settings_are_the_default_connection(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, 'crm = "hubspot"\n'))
    assert settings.connection_settings() == {"default": settings}


def test_each_connection_gets_its_own_crm_credentials_and_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERSYNC_SALESFORCE__PASSWORD", "top-level-secret")
    monkeypatch.setenv("TIERSYNC_CONNECTIONS__EMEA__SALESFORCE__PASSWORD", "emea-secret")
    monkeypatch.setenv("TIERSYNC_TIERS__GOOD__TICKETS_AT_MOST", "30")
    path = write(
        tmp_path,
        """[tiers.poor]
complaints_at_least = 5
[connections.emea]
crm = "salesforce"
mapping = "mappings/salesforce.toml"
[connections.emea.salesforce]
username = "ops@emea.example.com"
[connections.emea.overrides.tiers.poor]
complaints_at_least = 8
[connections.emea.overrides.trait_labels]
bully = "Difficult"
[connections.us_portal]
crm = "hubspot"
[connections.us_portal.hubspot]
host = "https://hubspot.example.com"
""",
    )
    settings = load_settings(path)
    emea, us = settings.connection_settings().values()
    assert list(settings.connection_settings()) == ["emea", "us_portal"]
    assert (emea.crm, emea.mapping, emea.salesforce.username) == (
        "salesforce",
        tmp_path / "mappings/salesforce.toml",  # relative to the config file, like state_path
        "ops@emea.example.com",
    )
    assert (
        emea.salesforce.password is not None and emea.salesforce.password.get_secret_value() == "emea-secret"
    )
    assert us.salesforce.password is None, "one connection's credentials never reach another"
    assert (us.crm, us.hubspot.host) == ("hubspot", "https://hubspot.example.com")
    assert (emea.tiers.poor.complaints_at_least, us.tiers.poor.complaints_at_least) == (8, 5)
    assert emea.tiers.poor.nps_at_most == 6, "an override merges into its table, it does not replace it"
    assert emea.tiers.good.tickets_at_most == us.tiers.good.tickets_at_most == 30
    assert emea.label(Trait.BULLY) == "Difficult" and us.label(Trait.BULLY) == "Conduct concerns"
    assert emea.state_path == us.state_path == settings.state_path


def test_bad_connection_settings_are_one_line_each_naming_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """[connections.emea]
crm = "salesforce"
[connections.emea.overrides]
state_url = "postgresql://x@y/z"
crm = "hubspot"
[connections.emea.overrides.tiers.poor]
complaints_at_lest = 8
nps_at_most = 11
[connections.us]
crm = "dynamics"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [
        "connections.us.crm: Input should be 'salesforce' or 'hubspot' (got 'dynamics')"
    ]
    path.write_text(path.read_text().replace('"dynamics"', '"hubspot"'))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert sorted(caught.value.problems) == [
        "connections.emea.overrides.crm: set connections.emea.crm instead (not an override)",
        "connections.emea.overrides.state_url: not overridable per connection; it is shared by every connection",
        "connections.emea.overrides.tiers.poor.complaints_at_lest: unknown key (check the spelling against config.example.toml)",
        "connections.emea.overrides.tiers.poor.nps_at_most: Input should be less than or equal to 10 (got 11)",
    ]


def test_a_connection_name_must_fit_an_environment_variable(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"^connections: Value error, connection name 'US-Portal': use lower-case"
    ):
        load_settings(write(tmp_path, '[connections.US-Portal]\ncrm = "hubspot"\n'))


def test_the_state_url_password_stays_out_of_the_file_and_out_of_errors(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match="state_url: the file must not hold the password; set TIERSYNC_STATE_URL"
    ):
        load_settings(write(tmp_path, 'state_url = "postgresql://ops:hunter2@db/tiersync"\n'))
    with pytest.raises(ConfigError, match="state_url: the file must not hold the password"):
        load_settings(write(tmp_path, 'state_url = "postgresql://ops@db/tiersync?password=hunter2"\n'))
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, 'state_url = "host=db user=ops password=hunter2"\n'))
    assert caught.value.problems == [
        "state_url: Value error, must be a postgresql:// URL, such as postgresql://tiersync@db.example.com/tiersync"
    ]


def test_the_state_url_may_come_whole_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERSYNC_STATE_URL", "postgresql://ops:hunter2@db/tiersync")
    settings = load_settings(write(tmp_path, ""))
    assert settings.state_url is not None and "hunter2" not in repr(settings)


def test_worst_exit_code_puts_what_needs_a_person_first() -> None:
    assert worst([]) == ExitCode.OK
    assert worst([ExitCode.PARTIAL, ExitCode.LOCKED, ExitCode.OK]) == ExitCode.LOCKED
    assert worst([ExitCode.LOCKED, ExitCode.LIMIT]) == ExitCode.LIMIT
    assert worst([ExitCode.LIMIT, ExitCode.USAGE, ExitCode.PARTIAL]) == ExitCode.USAGE


# -- choosing connections on the command line --------------------------------------------------------
def test_unknown_or_unchosen_connection_is_one_line_listing_the_known_names(tmp_path: Path) -> None:
    path = write(tmp_path, '[connections.emea]\ncrm = "salesforce"\n[connections.us]\ncrm = "hubspot"\n')
    runner = CliRunner()
    unknown = runner.invoke(app, ["--config", str(path), "sync", "--connection", "apac"])
    assert unknown.exit_code == ExitCode.USAGE
    assert unknown.stderr.strip() == "error: unknown connection 'apac' (known: emea, us)"
    unchosen = runner.invoke(app, ["--config", str(path), "doctor"])
    assert unchosen.exit_code == ExitCode.USAGE
    assert "names 2 connections (emea, us): choose one with --connection NAME, or --all" in unchosen.stderr
    both = runner.invoke(app, ["--config", str(path), "plan", "--all", "--connection", "emea"])
    assert both.exit_code == ExitCode.USAGE


# -- running every connection ------------------------------------------------------------------------
def test_all_syncs_the_good_connections_and_names_each_broken_one(tmp_path: Path) -> None:
    with orgs(tmp_path, 5, 6) as (emea, us):
        connections: dict[str, dict[str, Any]] = {
            "expired": {"org": emea, "token": "expired-session-token"},
            "emea": {"org": emea},
            "nomap": {"org": us, "mapping": tmp_path / "missing.toml"},
            "us": {"org": us},
        }
        path = config(tmp_path, connections)
        runner = CliRunner()
        result = runner.invoke(
            app, ["--config", str(path), "sync", "--all", "--quiet"], env=secrets(connections)
        )
        assert result.exit_code == ExitCode.USAGE, result.output
        lines = json_lines(result.stdout)
        assert {name: line["status"] for name, line in lines.items() if name != "*"} == {
            "expired": "config_error",
            "emea": "ok",
            "nomap": "config_error",
            "us": "ok",
        }
        assert lines["*"] == {
            "event": "tiersync.sync_all",
            "connections": {"expired": 2, "emea": 0, "nomap": 2, "us": 0},
            "exit_code": 2,
        }
        summary = result.stderr.splitlines()
        assert summary[0].startswith("expired (salesforce): config_error, exit 2: cannot sign in to the CRM:")
        assert (
            summary[1]
            == f"nomap (salesforce): config_error, exit 2: {tmp_path / 'missing.toml'}: mapping file not found"
        )
        assert len(summary) == 2, "--quiet: only the failed connections are summarised"
        for org in (emea, us):
            assert all(tiers(org).values()), "the good connections wrote every account"
            assert max(task_keys(org).values()) == 1
        state = State(tmp_path / "state.sqlite")
        try:
            assert state.connections() == ["emea", "us"]
            assert len(state.results("emea")) == len(state.results("us")) == ACCOUNTS
            assert state.runs("expired")[0]["status"] == "config_error", "the engine logged the refused run"
        finally:
            state.close()

        doctor = runner.invoke(app, ["--config", str(path), "doctor", "--all"], env=secrets(connections))
        assert doctor.exit_code == ExitCode.USAGE
        assert "emea: ok salesforce: every mapped object and field exists" in doctor.stdout
        assert "error: nomap: " in doctor.stderr and "error: expired: cannot sign in" in doctor.stderr

        writes = emea.writes() + us.writes()
        again = runner.invoke(
            app, ["--config", str(path), "sync", "--connection", "emea"], env=secrets(connections)
        )
        assert again.exit_code == ExitCode.OK, again.output
        assert emea.writes() + us.writes() == writes, "each connection keeps its own watermark"


def test_a_held_lock_skips_only_its_connection(tmp_path: Path) -> None:
    with orgs(tmp_path, 5, 6) as (emea, us):
        connections: dict[str, dict[str, Any]] = {"emea": {"org": emea}, "us": {"org": us}}
        path = config(tmp_path, connections)
        with run_lock(tmp_path / "state.sqlite", "emea"):
            result = CliRunner().invoke(
                app, ["--config", str(path), "sync", "--all"], env=secrets(connections)
            )
        assert result.exit_code == ExitCode.LOCKED, result.output
        lines = json_lines(result.stdout)
        assert (lines["emea"]["status"], lines["us"]["status"]) == ("locked", "ok")
        assert (
            "emea (salesforce): locked, exit 3: another tiersync run holds the lock for 'emea'"
            in result.stderr
        )
        assert "us (salesforce): ok, exit 0: 120 accounts read, 120 updated" in result.stderr
        assert emea.writes() == 0 and all(tiers(us).values())


def test_a_threshold_override_changes_only_its_own_connections_tiers(tmp_path: Path) -> None:
    with orgs(tmp_path, 5, 5) as (plain, strict):
        connections: dict[str, dict[str, Any]] = {
            "plain": {"org": plain},
            "strict": {"org": strict, "overrides": {"tiers.poor": {"complaints_at_least": 2}}},
        }
        result = CliRunner().invoke(
            app,
            ["--config", str(config(tmp_path, connections)), "sync", "--all", "-q"],
            env=secrets(connections),
        )
        assert result.exit_code == ExitCode.OK, result.output
        before, after = tiers(plain), tiers(strict)
        assert before.keys() == after.keys()
        changed = {name for name in before if before[name] != after[name]}
        assert changed, "the seeded org has clients with 2 to 5 complaints"
        assert all(after[name] == "poor" for name in changed)
        state = State(tmp_path / "state.sqlite")
        try:
            complaints = {r["name"]: r["evidence"]["complaints"] for r in state.results("plain")}
            poor_by_complaints = {
                r["name"] for r in state.results("plain") if "poor.complaints" in r["tier_codes"]
            }
        finally:
            state.close()
        assert all(2 <= complaints[name] < 6 for name in changed)
        assert all(complaints[name] >= 6 for name in poor_by_complaints), "plain keeps the default threshold"


# -- PostgreSQL state shared by overlapping runs ---------------------------------------------------
def test_two_overlapping_syncs_on_postgres_state_one_runs_one_is_refused(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    database = postgres.create_database()
    url = postgres.url(database)  # no password: it comes from PGPASSWORD
    with orgs(tmp_path, 5) as (org,):
        org.sandbox.faults.configure(
            FaultPlan(request_rates={Fault.SLOW: 1.0}, slow_seconds=1.0, only_writes=True)
        )
        info = org.sandbox.salesforce_settings()
        path = write(
            tmp_path,
            f'state_url = "{url}"\n[evidence]\nas_of = {AS_OF.isoformat()}\n[sync]\npage_size = 200\n'
            f'[salesforce]\ninstance_url = "{info["instance_url"]}"\nca_bundle = "{info["ca_bundle"]}"\n',
        )
        env = {
            **os.environ,
            "PGPASSWORD": PASSWORD,
            "TIERSYNC_SALESFORCE__SESSION_ID": info["session_id"],
        }
        command = [sys.executable, "-m", "connector", "--config", str(path), "sync", "--quiet"]
        runs = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=120) for run in runs]
        codes = sorted(run.returncode for run in runs)
        assert codes == [ExitCode.OK, ExitCode.LOCKED], outputs
        winner = next(run for run in runs if run.returncode == ExitCode.OK)
        refused = next(
            out for run, out in zip(runs, outputs, strict=True) if run.returncode == ExitCode.LOCKED
        )
        assert f"another tiersync run holds the lock for 'default' (pid {winner.pid} on " in refused[1]
        assert "postgresql://tiersync@/t" in refused[1] and PASSWORD not in refused[1] + refused[0]

        keys = task_keys(org)
        assert keys and max(keys.values()) == 1, "no duplicate task"
        state = open_state(Settings.model_validate({"state_url": postgres.url(database, password=True)}))
        try:
            assert [r["status"] for r in state.runs("default")] == ["ok"], "the refused run never started"
            sent = [t for t in state.all_tasks("default") if t["status"] != TaskState.DEFERRED]
            assert {t["group_key"] or t["key"] for t in sent} == set(keys)
            assert len(state.results("default")) == ACCOUNTS
        finally:
            state.close()

        org.sandbox.faults.configure(FaultPlan())
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert again.returncode == ExitCode.OK, again.stderr
        assert task_keys(org) == keys


# -- the orchestration examples ------------------------------------------------------------------------
def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples_{name}", REPO / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_api_example_runs_every_connection_on_shared_postgres_state(
    tmp_path: Path, postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = load_example("run_all_connections")
    with orgs(tmp_path, 5, 6) as (emea, us):
        connections: dict[str, dict[str, Any]] = {"emea": {"org": emea}, "us": {"org": us}}
        path = config(
            tmp_path, connections, state=f'state_url = "{postgres.url(postgres.create_database())}"'
        )
        for key, value in {**secrets(connections), "PGPASSWORD": PASSWORD}.items():
            monkeypatch.setenv(key, value)
        assert example.run_all(path) == {"emea": 0, "us": 0}
        assert all(tiers(emea).values()) and all(tiers(us).values())
        writes = emea.writes() + us.writes()
        assert example.run_all(path) == {"emea": 0, "us": 0}
        assert emea.writes() + us.writes() == writes, "a re-run writes nothing"
        assert example.main([str(path)]) == 0
        monkeypatch.setenv("TIERSYNC_CONNECTIONS__US__SALESFORCE__SESSION_ID", "revoked")
        assert example.run_all(path) == {"emea": 0, "us": 2}
        assert example.main([str(path)]) == 2


def test_airflow_dag_imports_and_runs_each_connection_as_a_task() -> None:
    pytest.importorskip("airflow", reason="Apache Airflow is not installed (it is not a tiersync dependency)")
    example = load_example("airflow_dag")
    dag = example.tiersync_dag
    assert dag.dag_id == "tiersync"
    assert {"connections", "sync_connection"} <= set(dag.task_ids)
    assert dag.get_task("sync_connection").retries >= 1


def _dag_source() -> ast.Module:
    return ast.parse((REPO / "examples" / "airflow_dag.py").read_text(encoding="utf-8"))


def _raised_on(function: ast.FunctionDef) -> dict[int, str]:
    """``exit code -> what the task does`` (``return`` or the exception it raises), read from the
    ``if done.returncode == N`` / ``in (N, M)`` branches of the task."""
    actions: dict[int, str] = {}
    for node in ast.walk(function):
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)):
            continue
        left, (op,), (right,) = node.test.left, node.test.ops, node.test.comparators
        if ast.unparse(left) != "done.returncode":
            continue
        codes = [ast.literal_eval(right)] if isinstance(op, ast.Eq) else list(ast.literal_eval(right))
        first = node.body[0]
        action = (
            "return"
            if isinstance(first, ast.Return)
            else ast.unparse(first.exc.func)  # type: ignore[union-attr]
            if isinstance(first, ast.Raise) and isinstance(first.exc, ast.Call)
            else "?"
        )
        actions.update(dict.fromkeys(codes, action))
    return actions


def test_airflow_dag_parses_without_airflow_and_maps_every_exit_code() -> None:
    """Without Airflow installed (it is no tiersync dependency), read the DAG file's syntax tree: the
    schedule's settings, one mapped task per connection, and what each README exit code does."""
    module = _dag_source()
    functions = {n.name: n for n in ast.walk(module) if isinstance(n, ast.FunctionDef)}
    decorated = functions["tiersync_sync"].decorator_list[0]
    assert isinstance(decorated, ast.Call) and ast.unparse(decorated.func) == "dag"
    settings = {k.arg: k.value for k in decorated.keywords}
    assert ast.literal_eval(settings["dag_id"]) == "tiersync"
    assert ast.literal_eval(settings["max_active_runs"]) == 1, "runs of one connection never overlap"
    default_args = settings["default_args"]
    assert isinstance(default_args, ast.Dict)
    retries = dict(
        zip([ast.literal_eval(k) for k in default_args.keys if k], default_args.values, strict=False)
    )
    assert ast.literal_eval(retries["retries"]) >= 1
    assert {"connections", "sync_connection"} <= {
        name for name, f in functions.items() if [ast.unparse(d) for d in f.decorator_list] == ["task"]
    }
    assert "sync_connection.expand(name=connections())" in ast.unparse(functions["tiersync_sync"])
    actions = _raised_on(functions["sync_connection"])
    assert actions == {
        ExitCode.OK: "return",
        ExitCode.LOCKED: "AirflowSkipException",
        ExitCode.USAGE: "AirflowFailException",
        ExitCode.LIMIT: "AirflowFailException",
    }, "the other codes (partial, unreachable) fall through to a retried RuntimeError"
    last = functions["sync_connection"].body[-1]
    assert ast.unparse(last) == "raise RuntimeError(why)", "any other code fails the task, retried"
    command = next(n for n in ast.walk(functions["sync_connection"]) if isinstance(n, ast.List))
    assert [ast.literal_eval(e) for e in command.elts if isinstance(e, ast.Constant)] == [
        "-m",
        "connector",
        "--config",
        "sync",
        "--connection",
        "--quiet",
    ]
