"""``tiersync report``: the tiers, headaches, traits, movements, ideal-client profile and playbook,
as data (JSON for BI tools) and as one self-contained HTML page."""

from connector.report.data import ReportData, build_report_data
from connector.report.html import render_html
from connector.report.sources import ReportSource, source_from_results, source_from_state

__all__ = [
    "ReportData",
    "ReportSource",
    "build_report_data",
    "render_html",
    "source_from_results",
    "source_from_state",
]
