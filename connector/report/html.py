"""One self-contained HTML page from :class:`ReportData`: inline CSS and inline SVG charts, no script, no URL.

The page opens from a file, offline, in any browser, and can be mailed as one attachment. Every
value from the CRM goes through Jinja's autoescape, and every chart label through ``html.escape``.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from connector.report.charts import figures
from connector.report.data import ReportData


def _environment(currency: str) -> Environment:
    env = Environment(
        loader=PackageLoader("connector.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda value, digits=0: "–" if value is None else f"{value:.{digits}%}"
    env.filters["num"] = lambda value: "–" if value is None else f"{value:,.0f}"
    env.filters["money"] = lambda value: "–" if value is None else f"{value:,.0f} {currency}"
    env.filters["signed"] = lambda value: "–" if value is None else (f"{value:+d}" if value else "0")
    return env


def render_html(data: ReportData) -> str:
    """The report page as text, ready to write to ``report.html``."""
    template = _environment(data.currency).get_template("report.html.j2")
    return template.render(data=data, charts=figures(data))
