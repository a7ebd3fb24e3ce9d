"""`state_path` and `mapping` resolve the same way, relative to the config file (not the working
folder), and `doctor` names the mapping file in use."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.crm.mapping import default_mapping
from tests.sync.conftest import AS_OF, Org, make_org


@pytest.fixture
def sf_org(tmp_path: Path) -> Iterator[Org]:
    yield from make_org(tmp_path / "org", 30, crm="salesforce")


def test_relative_mapping_and_state_path_are_relative_to_the_config_file(
    sf_org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "tiersync"
    folder.mkdir(parents=True)
    shutil.copy(default_mapping("salesforce"), folder / "our-mapping.toml")
    info = sf_org.sandbox.salesforce_settings()
    config = folder / "tiersync.toml"
    config.write_text(
        'mapping = "our-mapping.toml"\nstate_path = "state/tiersync.sqlite"\n'
        f"[evidence]\nas_of = {AS_OF.isoformat()}\n"
        f'[salesforce]\ninstance_url = "{info["instance_url"]}"\nca_bundle = "{info["ca_bundle"]}"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    runner = CliRunner()
    doctor = runner.invoke(app, ["--config", str(config), "doctor"], env=sf_org.cli_env())
    assert doctor.exit_code == 0, doctor.output
    assert f"(mapping: {folder / 'our-mapping.toml'})" in doctor.stdout.replace("\n", "")
    sync = runner.invoke(app, ["--config", str(config), "sync", "--quiet"], env=sf_org.cli_env())
    assert sync.exit_code == 0, sync.output
    assert json.loads(sync.stdout.splitlines()[-1])["accounts_read"] == 30
    assert (folder / "state" / "tiersync.sqlite").is_file()
    assert list(elsewhere.iterdir()) == [], "nothing is written to the working folder"


def test_a_missing_mapping_is_named_relative_to_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "tiersync.toml"
    config.write_text(
        'mapping = "nope.toml"\n[salesforce]\ninstance_url = "https://example.my.salesforce.com"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["--config", str(config), "doctor"], env={"TIERSYNC_SALESFORCE__SESSION_ID": "x"}
    )
    assert result.exit_code == 2
    assert str(tmp_path / "nope.toml") in result.stderr
