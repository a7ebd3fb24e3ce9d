"""The sync's progress bar knows its total and shows the time remaining, through the real command:
an incremental run counts the changed accounts, a full run expects the last full read's size."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from connector.cli import app, sync_cmds
from tests.sync.conftest import Org, make_org


@pytest.fixture
def sf_org(tmp_path: Path) -> Iterator[Org]:
    yield from make_org(tmp_path / "org", 40, crm="salesforce")


def test_a_full_sync_after_a_first_one_shows_its_total_and_an_eta(
    sf_org: Org, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stderr is not a terminal under the runner: render the bar as a terminal would
    monkeypatch.setattr(sync_cmds, "err", Console(stderr=True, force_terminal=True, width=160))
    config = sf_org.write_config(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["--config", str(config), "sync", "--full"], env=sf_org.cli_env())
    assert first.exit_code == 0, first.output
    assert "0/40" not in first.stderr, "the first full read has no size to expect yet"
    second = runner.invoke(app, ["--config", str(config), "sync", "--full"], env=sf_org.cli_env())
    assert second.exit_code == 0, second.output
    bar = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", second.stderr)
    assert "40/40" in bar
    assert re.search(r"40/40 \d:\d\d:\d\d \d:\d\d:\d\d", bar), bar[-400:]  # elapsed, then remaining
