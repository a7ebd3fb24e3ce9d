"""How `tiersync sync` fails, through the real command: one JSON line on every exit code, short log
lines, exit 5 for a CRM it cannot reach, exit 2 with the key for every configuration, credential or
TLS problem, secrets refused in the file and read from TIERSYNC_SECRETS_DIR, nothing left behind."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from typer.testing import CliRunner, Result

from connector.cli import app
from connector.config import SECRET_KEYS
from connector.exit_codes import ExitCode
from connector.sync.lock import run_lock
from tests.sync.conftest import Org, make_org


@pytest.fixture
def sf_org(tmp_path: Path) -> Iterator[Org]:
    yield from make_org(tmp_path / "org", 30, crm="salesforce")


def sync(config: Path, *options: str, env: dict[str, str] | None = None, quiet: bool = True) -> Result:
    args = [*options, "--config", str(config), "sync", *(["--quiet"] if quiet else [])]
    return CliRunner().invoke(app, args, env=env)


def json_line(result: Result) -> dict[str, object]:
    """The run's JSON line: the last line of stdout."""
    line: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["event"] == "tiersync.sync"
    return line


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def unreachable_config(tmp_path: Path) -> Path:
    path = tmp_path / "conf" / "tiersync.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'crm = "hubspot"\n[hubspot]\nhost = "http://127.0.0.1:{closed_port()}"\n', encoding="utf-8"
    )
    return path


TOKEN = {"TIERSYNC_HUBSPOT__ACCESS_TOKEN": "pat-test"}


# -- item 5: logs that survive failure ---------------------------------------------------------------
def test_unreachable_crm_exits_5_with_one_short_line_per_retry_and_leaves_no_state(tmp_path: Path) -> None:
    config = unreachable_config(tmp_path)
    result = sync(config, env=TOKEN)
    assert result.exit_code == ExitCode.UNREACHABLE == 5
    line = json_line(result)
    assert line["status"] == "unreachable" and line["exit_code"] == 5
    assert "cannot reach HubSpot at 127.0.0.1:" in str(line["message"])
    assert "connection refused" in str(line["message"])
    lines = result.stderr.strip().splitlines()
    retries = [entry for entry in lines if "retrying in" in entry]
    assert 1 <= len(retries) <= 6 and len(lines) == len(retries) + 1
    assert all(len(entry) < 200 for entry in lines), lines
    assert "MaxRetryError" not in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in config.parent.iterdir()) == ["tiersync.toml"]


def test_verbose_shows_what_the_client_library_said(tmp_path: Path) -> None:
    result = sync(unreachable_config(tmp_path), "-v", env=TOKEN)
    assert result.exit_code == 5
    assert "the client library said: MaxRetryError" in result.stderr


def test_log_format_json_makes_every_stderr_line_an_object(tmp_path: Path) -> None:
    result = sync(unreachable_config(tmp_path), "--log-format", "json", env=TOKEN)
    assert result.exit_code == 5
    entries = [json.loads(entry) for entry in result.stderr.strip().splitlines()]
    assert {e["level"] for e in entries} == {"warning", "error"}
    assert all({"ts", "level", "logger", "message"} <= set(e) for e in entries)
    assert entries[-1]["message"].startswith("cannot reach HubSpot")


def test_quiet_sync_prints_its_json_line_on_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "tiersync.toml"
    config.write_text("[tiers.poor]\ncomplaints_at_least = 'many'\n", encoding="utf-8")
    result = sync(config)
    assert result.exit_code == 2
    line = json_line(result)
    assert (line["status"], line["exit_code"]) == ("config_error", 2)
    assert "tiers.poor.complaints_at_least" in str(line["message"])


def test_quiet_sync_prints_its_json_line_when_the_lock_is_held(sf_org: Org, tmp_path: Path) -> None:
    config = sf_org.write_config(tmp_path)
    with run_lock(sf_org.workdir / "state.sqlite", "default"):
        result = sync(config, env=sf_org.cli_env())
    assert result.exit_code == ExitCode.LOCKED == 3
    line = json_line(result)
    assert (line["status"], line["exit_code"]) == ("locked", 3)
    assert "another tiersync run holds the lock" in str(line["message"])


# -- item 6: configuration errors -----------------------------------------------------------------
def _salesforce_config(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiersync.toml"
    path.write_text(body, encoding="utf-8")
    return path


def _one_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Error" not in lines[0], "no Python class names"
    return lines[0]


def test_missing_ca_bundle_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = _salesforce_config(
        tmp_path, "[salesforce]\ninstance_url = 'https://example.my.salesforce.com'\nca_bundle = 'nope.pem'\n"
    )
    result = sync(config, env={"TIERSYNC_SALESFORCE__SESSION_ID": "x"})
    assert result.exit_code == 2
    assert _one_line(result) == f"error: salesforce.ca_bundle: no such file {config.parent / 'nope.pem'}"
    assert sorted(p.name for p in config.parent.iterdir()) == ["tiersync.toml"]


def test_a_ca_that_does_not_match_the_server_exits_2_and_leaves_nothing(sf_org: Org, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    info = sf_org.sandbox.salesforce_settings()
    config = _salesforce_config(
        tmp_path, f"[salesforce]\ninstance_url = '{info['instance_url']}'\nca_bundle = '{other}'\n"
    )
    result = sync(config, env=sf_org.cli_env())
    assert result.exit_code == 2
    line = _one_line(result)
    assert line.startswith(
        "error: salesforce.ca_bundle: TLS verification failed: Salesforce's certificate at 127.0.0.1:"
    )
    assert json_line(result)["status"] == "config_error"
    assert sorted(p.name for p in config.parent.iterdir()) == ["tiersync.toml"], "no state, no lock"


def test_a_bad_domain_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = _salesforce_config(tmp_path, "[salesforce]\nusername = 'ops@example.com'\ndomain = 'my org!'\n")
    result = sync(config, env={"TIERSYNC_SALESFORCE__PASSWORD": "x"})
    assert result.exit_code == 2
    assert _one_line(result).startswith("error: salesforce.domain: ")


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_a_secret_in_the_file_is_refused_naming_the_variable(key: str, tmp_path: Path) -> None:
    crm = "hubspot" if key == "access_token" else "salesforce"
    config = _salesforce_config(tmp_path, f"[{crm}]\n{key} = 'hunter2-secret'\n")
    result = sync(config)
    assert result.exit_code == 2
    line = _one_line(result)
    assert f"{crm}.{key}: a secret must not be in the config file" in line
    assert f"TIERSYNC_{crm.upper()}__{key.upper()}" in line
    assert "hunter2" not in result.stdout + result.stderr


def test_a_secret_in_a_connection_table_is_refused_too(tmp_path: Path) -> None:
    config = _salesforce_config(
        tmp_path, "[connections.emea]\ncrm = 'salesforce'\n[connections.emea.salesforce]\npassword = 'x'\n"
    )
    result = sync(config)
    assert result.exit_code == 2
    assert "TIERSYNC_CONNECTIONS__EMEA__SALESFORCE__PASSWORD" in _one_line(result)


def test_secrets_dir_supplies_the_session_id(sf_org: Org, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    session = sf_org.cli_env()["TIERSYNC_SALESFORCE__SESSION_ID"]
    (secrets / "salesforce__session_id").write_text(session + "\n", encoding="utf-8")
    result = sync(sf_org.write_config(tmp_path), env={"TIERSYNC_SECRETS_DIR": str(secrets)})
    assert result.exit_code == 0, result.stderr
    assert json_line(result)["accounts_read"] == 30


def test_secrets_dir_that_is_not_a_folder_exits_2(tmp_path: Path) -> None:
    result = sync(_salesforce_config(tmp_path, ""), env={"TIERSYNC_SECRETS_DIR": str(tmp_path / "none")})
    assert result.exit_code == 2
    assert _one_line(result) == f"error: TIERSYNC_SECRETS_DIR: {tmp_path / 'none'} is not a folder"
