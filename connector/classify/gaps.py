"""Data gaps: the evidence a client's tier could not use, said out loud (docs/rules.md, Tiers)."""

from __future__ import annotations

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.rules import labels, window_label

OPTIONAL_FIELDS: dict[tuple[str, str], str] = {
    ("invoices", "discount"): "no discount on invoices: discounts granted unknown",
    ("invoices", "cost"): "no cost on invoices: margin unknown",
    ("tickets", "rush_request"): "no rush-request category on tickets: rush requests unknown",
    ("tickets", "deadline_request"): "no deadline-request category on tickets: deadline requests unknown",
}
"""Evidence fields a source may lack (a CRM without cost fields): unknown for everyone, said out loud."""


def gap_columns(
    settings: ClassifierSettings,
    sources_missing: list[str],
    fields_missing: list[tuple[str, str]] | None = None,
) -> list[pl.Expr]:
    """``data_gaps`` (codes) and ``data_gaps_reason`` (one sentence).

    A missing source, or a field no record of a source holds, is the same gap for every account, so
    it arrives as a plain list.
    """
    w = window_label(settings.evidence.window_days)
    icp = settings.traits.outside_icp
    gaps: list[tuple[str, pl.Expr, str]] = [
        (f"source_missing.{kind}", pl.lit(True), f"no {kind} data source") for kind in sources_missing
    ]
    gaps += [
        (f"field_missing.{kind}.{name}", pl.lit(True), OPTIONAL_FIELDS[(kind, name)])
        for kind, name in fields_missing or []
    ]
    gaps += [
        ("no_invoices", pl.col("invoices") == 0, f"no invoices in {w}: payment behaviour unknown"),
        (
            "invoice_dates_missing",
            pl.col("invoices_missing_dates") > 0,
            "some invoices lack a due or paid date and were left out of the on-time rate",
        ),
        ("no_survey", pl.col("surveys") == 0, f"no NPS/CSAT answer in {w}"),
        (
            "owner_unknown",
            pl.col("owner_id").is_null(),
            "no account owner: playbook tasks cannot be assigned",
        ),
    ]
    if icp.industries:
        gaps.append(
            ("industry_unknown", pl.col("industry").is_null(), "industry unknown: segment fit not checked")
        )
    if icp.regions:
        gaps.append(("region_unknown", pl.col("region").is_null(), "region unknown: segment fit not checked"))
    if icp.employees_min is not None or icp.employees_max is not None:
        gaps.append(
            (
                "size_unknown",
                pl.col("employee_count").is_null(),
                "employee count unknown: size fit not checked",
            )
        )
    return [
        labels([(cond, code) for code, cond, _ in gaps]).alias("data_gaps"),
        labels([(cond, text) for _, cond, text in gaps], separator="; ").alias("data_gaps_reason"),
    ]
