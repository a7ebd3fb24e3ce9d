"""The report's charts as inline SVG, drawn from :class:`ReportData` only.

Inline SVG needs no script and no library: the page stays a few hundred kilobytes (plotly.js alone
was 4.6 MB), opens offline, and prints. Every label that can come from the CRM (attribute values,
trait labels, action codes) goes through :func:`html.escape`, so a value can never become markup.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from markupsafe import Markup

from connector.insights.pareto import HEADACHE_LABELS, HEADACHES
from connector.model import Tier
from connector.report.data import ReportData

TIER_COLOURS = {
    Tier.AMAZING.value: "#1a9850",
    Tier.GOOD.value: "#91cf60",
    Tier.OKAY.value: "#fdae61",
    Tier.POOR.value: "#d73027",
}
PROFILE_BARS = 12
"""Values drawn in the profile chart: the most over- and under-represented (the table lists them all)."""
WIDTH = 560
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg(name: str, height: int, body: list[str], title: str) -> Markup:
    head = (
        f'<svg id="chart-{name}" class="chart-svg" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg" {FONT}><title>{_e(title)}</title>'
        f'<text x="0" y="16" font-size="14" font-weight="600">{_e(title)}</text>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every value above went through _e


def _short(label: str, most: int = 32) -> str:
    """A label that fits the chart's left margin (the full text stays in the tooltip and the table)."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _legend(items: Sequence[tuple[str, str]], y: int) -> list[str]:
    out, x = [], 0
    for label, colour in items:
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="{y}">{_e(label)}</text>')
        x += 24 + 7 * len(label)
    return out


def _columns(
    name: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    stacked: bool,
) -> Markup:
    """Vertical bars of shares (0-100%) per category: grouped, or stacked to 100%."""
    top, plot, left = 30, 200, 40
    height = top + plot + 60
    width = WIDTH - left - 10
    slot = width / max(len(categories), 1)
    body = []
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot * (1 - tick)
        body.append(f'<line x1="{left}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:.0%}</text>')
    peak = 1.0
    for i, category in enumerate(categories):
        x0 = left + i * slot + slot * 0.15
        bar = slot * 0.7 / (1 if stacked else len(series))
        base = 0.0
        for j, (label, colour, values) in enumerate(series):
            value = values[i]
            h = plot * value / peak
            x = x0 if stacked else x0 + j * bar
            y = top + plot - h - (plot * base / peak if stacked else 0)
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(h, 0):.1f}" '
                f'fill="{colour}"><title>{_e(label)}, {_e(category)}: {value:.0%}</title></rect>'
            )
            if stacked:
                base += value
        body.append(
            f'<text x="{left + (i + 0.5) * slot:.1f}" y="{top + plot + 16}" text-anchor="middle">{_e(category)}</text>'
        )
    body += _legend([(label, colour) for label, colour, _ in series], top + plot + 44)
    return _svg(name, height, body, title)


def _heatmap(
    name: str, title: str, xs: Sequence[str], ys: Sequence[str], matrix: Sequence[Sequence[int]]
) -> Markup:
    left, top, cell_w, cell_h = 150, 30, (WIDTH - 160) / max(len(xs), 1), 30
    height = top + cell_h * len(ys) + 100
    peak = max([v for row in matrix for v in row] + [1])
    body = []
    for i, label in enumerate(ys):
        y = top + i * cell_h
        body.append(f'<text x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end">{_e(label)}</text>')
        for j, value in enumerate(matrix[i]):
            x = left + j * cell_w
            shade = 0.08 + 0.8 * value / peak
            ink = "#fff" if shade > 0.5 else "#1f2933"
            body.append(
                f'<rect class="cell" x="{x:.1f}" y="{y}" width="{cell_w - 2:.1f}" height="{cell_h - 2}" '
                f'fill="#e6550d" fill-opacity="{shade:.2f}"/>'
                f'<text x="{x + cell_w / 2:.1f}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="middle" fill="{ink}">{value}</text>'
            )
    for j, label in enumerate(xs):  # slanted, so that long labels never run into each other
        x, y = left + (j + 0.5) * cell_w, top + cell_h * len(ys) + 14
        body.append(
            f'<text x="{x:.1f}" y="{y}" text-anchor="end" transform="rotate(-30 {x:.1f} {y})">{_e(label)}</text>'
        )
    return _svg(name, height, body, title)


def _hbars(
    name: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]]
) -> Markup:
    """Horizontal stacked bars of counts."""
    left, top, row = 230, 30, 24
    height = top + row * len(labels) + 40
    peak = max([sum(values[i] for _, _, values in series) for i in range(len(labels))] + [1])
    width = WIDTH - left - 50
    body = []
    for i, label in enumerate(labels):
        y = top + i * row
        body.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{_e(_short(label))}<title>{_e(label)}</title></text>'
        )
        x = float(left)
        for name_, colour, values in series:
            w = width * values[i] / peak
            body.append(
                f'<rect class="bar" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{colour}">'
                f"<title>{_e(name_)}: {values[i]:,.0f}</title></rect>"
            )
            x += w
        total = sum(values[i] for _, _, values in series)
        body.append(f'<text x="{x + 4:.1f}" y="{y + 15}">{total:,.0f}</text>')
    body += _legend([(n, c) for n, c, _ in series], top + row * len(labels) + 24)
    return _svg(name, height, body, title)


def tiers_chart(data: ReportData) -> Markup:
    return _columns(
        "tiers",
        "Clients and revenue per tier",
        [t.tier for t in data.tiers],
        [
            ("share of clients", "#4575b4", [t.share for t in data.tiers]),
            ("share of revenue", "#abd9e9", [t.revenue_share for t in data.tiers]),
        ],
        stacked=False,
    )


def pareto_chart(data: ReportData) -> Markup:
    measures = ["clients", *(HEADACHE_LABELS[name] for name in HEADACHES)]
    series = [
        (row.tier, TIER_COLOURS[row.tier], [row.account_share, *(row.shares[name] for name in HEADACHES)])
        for row in data.pareto.by_tier
    ]
    return _columns("pareto", "Who causes the headaches", measures, series, stacked=True)


def overlap_chart(data: ReportData) -> Markup:
    labels = list(data.overlap.labels)
    return _heatmap(
        "overlap", "Traits that come together (clients with both)", labels, labels, data.overlap.counts
    )


def movements_chart(data: ReportData) -> Markup:
    tiers = data.movements.tiers
    return _heatmap(
        "movements",
        "Tier movements in the last run",
        [f"now {t}" for t in tiers],
        [f"was {t}" for t in tiers],
        data.movements.matrix,
    )


def profile_chart(data: ReportData) -> Markup:
    """Lift on a log scale centred at 1×: 0.5× and 2× are equally far from 'as common as overall'."""
    supported = [r for r in data.profile.rows if r.supported and r.lift > 0]
    ranked = sorted(supported, key=lambda r: -abs(math.log(r.lift)))[:PROFILE_BARS]
    rows = sorted(ranked, key=lambda r: -r.lift)
    left, top, row = 230, 30, 24
    height = top + row * len(rows) + 44
    span = max([abs(math.log2(r.lift)) for r in rows] + [1.0])
    span = math.ceil(span)
    width = WIDTH - left - 20
    centre = left + width / 2

    def at(lift: float) -> float:
        return centre + (width / 2) * math.log2(lift) / span

    body = []
    for k in range(-span, span + 1):
        x = at(2.0**k)
        label = f"{2.0**k:g}×"
        stroke = 'stroke="#888" stroke-dasharray="3,3"' if k == 0 else 'stroke="#e4e7eb"'
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + row * len(rows)}" {stroke}/>'
            f'<text x="{x:.1f}" y="{top + row * len(rows) + 14}" text-anchor="middle">{label}</text>'
        )
    for i, r in enumerate(rows):
        y = top + i * row
        x = at(r.lift)
        label = f"{r.attribute}: {r.value}"
        colour = "#1a9850" if r.lift >= 1 else "#d73027"
        body.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{_e(_short(label))}<title>{_e(label)}</title></text>'
            f'<rect class="bar" x="{min(x, centre):.1f}" y="{y + 3}" width="{abs(x - centre):.1f}" '
            f'height="{row - 6}" fill="{colour}"><title>{_e(r.value)}: {r.lift:.2f}×, {r.top} of '
            f"{r.top + r.rest} are top clients</title></rect>"
        )
    body.append(
        f'<text x="{centre:.1f}" y="{top + row * len(rows) + 32}" text-anchor="middle" fill="#616e7c">'
        "← rarer among top clients · more common →</text>"
    )
    return _svg("profile", height, body, "What top clients have in common (lift)")


def playbook_chart(data: ReportData) -> Markup:
    lines = [a for a in data.playbook.by_action if a.accounts or a.open]
    labels = [a.title for a in lines]
    if data.playbook.tasks_available:
        series = [
            ("open", "#4575b4", [float((a.open or 0) - (a.overdue or 0)) for a in lines]),
            ("overdue", "#d73027", [float(a.overdue or 0) for a in lines]),
        ]
        title = "Open playbook tasks per action"
    else:
        series = [("clients", "#4575b4", [float(a.accounts or 0) for a in lines])]
        title = "Clients per recommended action"
    return _hbars("playbook", title, labels, series)


def figures(data: ReportData) -> dict[str, Markup]:
    """Every chart the page shows, by the name the template places it under."""
    charts = {
        "tiers": tiers_chart(data),
        "pareto": pareto_chart(data),
        "overlap": overlap_chart(data),
        "profile": profile_chart(data),
        "playbook": playbook_chart(data),
    }
    if data.movements.available:
        charts["movements"] = movements_chart(data)
    return charts
