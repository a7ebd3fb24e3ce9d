"""The README's "Running against a real org" names only commands and options the CLI has, and every
config key it quotes exists with the default it states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.config import SalesforceSettings, SyncSettings

README = Path(__file__).resolve().parents[1] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Running against a real org", 1)[1].split("\n## ", 1)[0]


def commands() -> list[str]:
    return sorted(set(re.findall(r"`tiersync ([^`]+)`", section())))


def test_the_section_names_the_first_commands() -> None:
    named = {" ".join(c.split()[:2]) for c in commands()}
    assert {"doctor", "setup-fields --dry-run", "plan --out", "config check"} <= named


@pytest.mark.parametrize("usage", commands())
def test_every_command_in_the_section_exists_with_its_options(usage: str) -> None:
    words = [w for w in usage.split() if re.fullmatch(r"[a-z][a-z-]*", w)]
    options = re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage)
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, f"`tiersync {usage}`: {result.output}"
    assert [o for o in options if o not in result.output] == [], f"`tiersync {usage}`"


@pytest.mark.parametrize(
    ("key", "default"),
    [
        (("sync", "api_limit_share"), 0.8),
        (("sync", "page_size"), 2000),
        (("sync", "record_retry_attempts"), 4),
        (("sync", "lookback_minutes"), 10),
        (("salesforce", "bulk_threshold"), 10_000),
        (("salesforce", "bulk_page_size"), 25_000),
        (("salesforce", "bulk_poll_timeout"), 1800),
    ],
)
def test_quoted_settings_have_the_stated_defaults(key: tuple[str, str], default: float) -> None:
    section_name, name = key
    model = SyncSettings if section_name == "sync" else SalesforceSettings
    assert f"`{section_name}.{name}`" in section()
    assert model.model_fields[name].default == default
