"""The report's charts as Plotly figures, drawn from :class:`ReportData` only.

Plotly renders a little HTML inside labels (``<b>``, ``<a href>``…), so every label that can come
from the CRM (attribute values, trait labels, owner ids) is HTML-escaped before it reaches a
figure: Plotly shows the entity as the literal character and never builds an element from it.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

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
"""Over-indexing values drawn in the profile chart (the table lists them all)."""


def _text(value: object) -> str:
    return html.escape(str(value), quote=False)


def _layout(fig: go.Figure, title: str, height: int = 340, **extra: Any) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.15},
        font={"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
        **extra,
    )
    return fig


def tiers_chart(data: ReportData) -> go.Figure:
    tiers = [t.tier for t in data.tiers]
    fig = go.Figure(
        [
            go.Bar(name="share of clients", x=tiers, y=[t.share for t in data.tiers], marker_color="#4575b4"),
            go.Bar(
                name="share of revenue",
                x=tiers,
                y=[t.revenue_share for t in data.tiers],
                marker_color="#abd9e9",
            ),
        ]
    )
    return _layout(fig, "Clients and revenue per tier", barmode="group", yaxis={"tickformat": ".0%"})


def pareto_chart(data: ReportData) -> go.Figure:
    measures = ["clients", *(HEADACHE_LABELS[name] for name in HEADACHES)]
    fig = go.Figure(
        [
            go.Bar(
                name=row.tier,
                x=measures,
                y=[row.account_share, *(row.shares[name] for name in HEADACHES)],
                marker_color=TIER_COLOURS[row.tier],
                hovertemplate="%{x}: %{y:.0%}<extra>" + row.tier + "</extra>",
            )
            for row in data.pareto.by_tier
        ]
    )
    return _layout(fig, "Who causes the headaches", barmode="stack", yaxis={"tickformat": ".0%"})


def overlap_chart(data: ReportData) -> go.Figure:
    labels = [_text(label) for label in data.overlap.labels]
    counts = data.overlap.counts
    fig = go.Figure(
        go.Heatmap(z=counts, x=labels, y=labels, colorscale="Oranges", texttemplate="%{z}", showscale=False)
    )
    return _layout(
        fig, "Traits that come together (accounts with both)", height=380, yaxis={"autorange": "reversed"}
    )


def movements_chart(data: ReportData) -> go.Figure:
    tiers = data.movements.tiers
    fig = go.Figure(
        go.Heatmap(
            z=data.movements.matrix,
            x=[f"now {t}" for t in tiers],
            y=[f"was {t}" for t in tiers],
            colorscale="Blues",
            texttemplate="%{z}",
            showscale=False,
        )
    )
    return _layout(fig, "Tier movements in the last run", height=340, yaxis={"autorange": "reversed"})


def profile_chart(data: ReportData) -> go.Figure:
    rows = [r for r in data.profile.rows if r.supported and r.lift > 1][:PROFILE_BARS]
    rows.reverse()
    fig = go.Figure(
        go.Bar(
            x=[r.lift for r in rows],
            y=[_text(f"{r.attribute}: {r.value}") for r in rows],
            orientation="h",
            marker_color="#1a9850",
            customdata=[[r.top, r.top + r.rest] for r in rows],
            hovertemplate="lift %{x:.2f}× — %{customdata[0]} of %{customdata[1]} are top clients<extra></extra>",
        )
    )
    fig.add_vline(x=1, line_dash="dot", line_color="#888")
    return _layout(
        fig,
        "What top clients have in common (lift)",
        height=max(260, 40 + 28 * len(rows)),
        xaxis={"rangemode": "tozero"},
    )


def playbook_chart(data: ReportData) -> go.Figure:
    lines = [a for a in data.playbook.by_action if a.accounts or a.open][::-1]
    names = [_text(a.action) for a in lines]
    if data.playbook.tasks_available:
        series = {
            "open": ([(a.open or 0) - (a.overdue or 0) for a in lines], "#4575b4"),
            "overdue": ([a.overdue or 0 for a in lines], "#d73027"),
        }
        title = "Open playbook tasks per action"
    else:
        series = {"accounts": ([a.accounts or 0 for a in lines], "#4575b4")}
        title = "Accounts per recommended action"
    traces = [
        go.Bar(name=name, y=names, x=values, orientation="h", marker_color=colour)
        for name, (values, colour) in series.items()
    ]
    return _layout(go.Figure(traces), title, height=max(260, 80 + 26 * len(lines)), barmode="stack")


def figures(data: ReportData) -> dict[str, go.Figure]:
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
