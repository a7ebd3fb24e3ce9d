"""The README's command table and the CLI agree: every command it shows exists, with every option."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def commands() -> list[tuple[str, list[str], list[str]]]:
    """(usage as written, command words, options) for each row of the README's command table."""
    text = README.read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n\n", 2)[1]
    rows = []
    for line in table.splitlines():
        found = re.match(r"\| `tiersync ([^`]*)` \|", line)
        if not found:
            continue
        usage = found.group(1).replace("\\|", "|")
        words = []
        for word in usage.split():
            if word.startswith(("-", "[")) or not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        options = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage)))
        rows.append((usage, words, options))
    return rows


def test_the_readme_table_lists_the_commands() -> None:
    assert len(commands()) >= 15


@pytest.mark.parametrize(("usage", "words", "options"), commands(), ids=lambda v: str(v))
def test_every_readme_command_exists_with_the_options_shown(
    usage: str, words: list[str], options: list[str]
) -> None:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, f"`tiersync {usage}`: {result.output}"
    missing = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", result.output)]
    assert missing == [], f"`tiersync {usage}`: the help has no {', '.join(missing)}"
