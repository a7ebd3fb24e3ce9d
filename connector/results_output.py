"""Writing classification results to CSV/JSON files, for spreadsheets and BI tools.

Code lists stay lists in JSON; a CSV cell holds them ';'-joined (``write_frame``).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from connector.classify.classifier import RESULT_COLUMNS
from connector.csv_cells import write_frame


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
        path.write_text(json.dumps(rows, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
        written.append(path)
    return written
