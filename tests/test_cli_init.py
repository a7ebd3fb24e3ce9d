"""`tiersync init` through the real command: it asks for the CRM (or takes --crm), writes a config
that loads and a mapping beside it, prints the next commands, and never overwrites. Shell completion
is Typer's `--install-completion`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.config import load_settings
from connector.crm.mapping import default_mapping

runner = CliRunner()


def test_init_asks_for_the_crm_and_writes_a_config_that_loads(tmp_path: Path) -> None:
    folder = tmp_path / "ops"
    result = runner.invoke(app, ["init", "--dir", str(folder)], input="hubspot\n")
    assert result.exit_code == 0, result.output
    assert "Which CRM do you use?" in result.stdout
    config, mapping = folder / "tiersync.toml", folder / "mapping-hubspot.toml"
    assert mapping.read_bytes() == default_mapping("hubspot").read_bytes()
    settings = load_settings(config)
    assert (settings.crm, settings.mapping, settings.state_path) == (
        "hubspot",
        mapping,
        folder / "tiersync-state.sqlite",
    )
    out = result.stdout.replace("\n", " ")
    assert "TIERSYNC_HUBSPOT__ACCESS_TOKEN" in out
    for step, command in enumerate(("doctor", "setup-fields", "plan"), start=1):
        assert f"{step}. tiersync --config {config} {command}" in out
    check = runner.invoke(app, ["--config", str(config), "config", "check"])
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_init_with_crm_needs_no_question_and_refuses_to_overwrite(crm: str, tmp_path: Path) -> None:
    first = runner.invoke(app, ["init", "--crm", crm, "--dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "Which CRM" not in first.stdout
    assert load_settings(tmp_path / "tiersync.toml").crm == crm
    before = (tmp_path / "tiersync.toml").read_text(encoding="utf-8")
    again = runner.invoke(app, ["init", "--crm", crm, "--dir", str(tmp_path)])
    assert again.exit_code == 2
    assert "already exists; init never overwrites" in again.stderr
    assert (tmp_path / "tiersync.toml").read_text(encoding="utf-8") == before


def test_an_unknown_crm_is_refused_naming_the_choices(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--crm", "pipedrive", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "salesforce" in result.stderr and "hubspot" in result.stderr
    assert not (tmp_path / "tiersync.toml").exists()


def test_shell_completion_installs_with_install_completion() -> None:
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout
