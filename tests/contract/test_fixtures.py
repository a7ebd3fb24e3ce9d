"""Every documented example names the page it was copied from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_json_fixture_names_its_vendor_page(path: Path) -> None:
    source = json.loads(path.read_text())["_source"]
    host = (
        "https://developer.salesforce.com/"
        if path.parent.name == "salesforce"
        else "https://developers.hubspot.com/"
    )
    assert source["title"] and source["url"].startswith(host)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in FIXTURES.glob("*/*") if p.name != "README.md"),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_fixture_is_listed_with_its_page_in_the_readme(path: Path) -> None:
    readme = (path.parent / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith(f"| `{path.name}` |")]
    assert "https://" in row
