"""The HTML page: one self-contained file of at most 2 MB, charts as inline SVG, every CRM value escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from connector.config import Settings
from connector.report import build_report_data, render_html, source_from_results, source_from_state
from connector.sync.state import State
from tests.report.conftest import EVIL_INDUSTRY, EVIL_OWNER, REPORT_DAY, SCRIPT_NAME, TAGS_NAME, Classified


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(page)
    return parser.tags


@pytest.fixture(scope="module")
def page(state_path: Path) -> str:
    state = State(state_path)
    try:
        data = build_report_data(source_from_state(state, "default"), Settings(), REPORT_DAY)
    finally:
        state.close()
    return render_html(data)


def test_page_loads_nothing_from_outside(page: str) -> None:
    tags = elements(page)
    for tag, attrs in tags:
        for name in ("src", "href", "action", "data", "poster"):
            value = attrs.get(name) or ""
            assert "://" not in value and not value.startswith("//"), (tag, name, value)
    assert not [t for t, a in tags if t == "link"]
    assert all(not a.get("src") for t, a in tags if t == "script")
    assert "@import" not in page and "url(" not in page.split("</style>")[0]


def test_charts_are_inline_svg_and_the_page_is_small(page: str) -> None:
    tags = elements(page)
    charts = [a.get("id") for t, a in tags if t == "svg"]
    assert charts == [
        f"chart-{n}" for n in ("tiers", "pareto", "overlap", "movements", "profile", "playbook")
    ]
    assert len(page.encode("utf-8")) <= 2_000_000


def test_crm_values_are_escaped_in_the_markup(page: str) -> None:
    assert SCRIPT_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;quotes&#34; &amp; &lt;b&gt;tags&lt;/b&gt;" in page
    assert TAGS_NAME not in page
    assert EVIL_INDUSTRY not in page
    assert EVIL_OWNER not in page
    tags = elements(page)
    assert not [t for t, _ in tags if t in ("img", "b", "i")]
    assert all(not any(name.startswith("on") for name in attrs) for _, attrs in tags)


def test_the_page_has_no_script_at_all(page: str) -> None:
    """The charts need none, so no value can ever reach one."""
    assert [t for t, _ in elements(page) if t == "script"] == []


def test_offline_page_renders_without_history(classified: Classified) -> None:
    data = build_report_data(source_from_results(classified.results, "input x"), Settings(), REPORT_DAY)
    page = render_html(data)
    assert "Tier movements need the run history of a sync" in page
    assert page.count('<svg id="chart-') == 5
    assert page.startswith("<!DOCTYPE html>")


def test_money_shows_its_currency_and_jargon_is_gone(page: str) -> None:
    assert " USD</td>" in page
    assert "Laplace" not in page
    assert "0.5 half as common" in page


def test_lift_axis_is_logarithmic_and_centred_at_one(page: str) -> None:
    svg = page.split('<svg id="chart-profile"', 1)[1].split("</svg>", 1)[0]
    ticks = re.findall(r'<line x1="([\d.]+)"[^>]*/><text[^>]*>([\d.]+)×</text>', svg)
    positions = {float(label): float(x) for x, label in ticks}
    assert 1.0 in positions and 0.5 in positions and 2.0 in positions
    assert positions[1.0] - positions[0.5] == pytest.approx(positions[2.0] - positions[1.0], abs=0.2)
