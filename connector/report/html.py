"""One self-contained HTML page from :class:`ReportData`: inline CSS, plotly.js inlined once, no URL.

The page opens from a file, offline, in any browser, and can be mailed as one attachment. Every
value from the CRM goes through Jinja's autoescape; chart data goes through Plotly's JSON, which
escapes ``<``, ``>`` and ``/`` so that no value can close a ``<script>``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from connector.report.charts import figures
from connector.report.data import ReportData

PLOTLY_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}
"""No Plotly logo: it is a link to an external site."""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("connector.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda value, digits=0: "–" if value is None else f"{value:.{digits}%}"
    env.filters["num"] = lambda value: "–" if value is None else f"{value:,.0f}"
    env.filters["signed"] = lambda value: "–" if value is None else (f"{value:+d}" if value else "0")
    return env


def render_html(data: ReportData) -> str:
    """The report page as text, ready to write to ``report.html``."""
    charts = {
        name: Markup(  # noqa: S704 - Plotly's own output: its JSON escapes '<', '>' and '/'
            fig.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG, div_id=f"chart-{name}")
        )
        for name, fig in figures(data).items()
    }
    template = _environment().get_template("report.html.j2")
    return template.render(
        data=data,
        charts=charts,
        plotly_js=Markup(get_plotlyjs()),  # noqa: S704 - the bundled library, contains no '</script'
    )
