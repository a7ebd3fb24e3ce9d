"""Writing classification results to CSV/JSON files, for spreadsheets and BI tools."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from connector.classify.classifier import RESULT_COLUMNS
from connector.classify.rules import split_labels
from connector.csv_cells import write_frame

LABEL_COLUMNS = (
    "tier_codes",
    "traits",
    "trait_codes",
    "data_gaps",
    "growth_points",
    "growth_point_codes",
    "decision_codes",
    "actions",
)
"""';'-joined in CSV (a cell is text); lists in JSON."""


def write_results(
    results: pl.DataFrame, directory: Path, formats: tuple[str, ...] = ("csv", "json")
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    if "csv" in formats:
        path = directory / "classifications.csv"
        write_frame(results.select(RESULT_COLUMNS), path)
        written.append(path)
    if "json" in formats:
        path = directory / "classifications.json"
        rows = results.select(RESULT_COLUMNS).to_dicts()
        for row in rows:
            for column in LABEL_COLUMNS:
                row[column] = list(split_labels(row[column]))
        path.write_text(json.dumps(rows, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
        written.append(path)
    return written
