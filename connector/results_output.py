"""Writing classification results to CSV/JSON files, for spreadsheets and BI tools.

Code lists stay lists in JSON; a CSV cell holds them ';'-joined (``write_frame``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import polars as pl

from connector.classify.classifier import RESULT_COLUMNS
from connector.csv_cells import FrameAppender, write_frame


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


class ResultsWriter:
    """:func:`write_results` a chunk of results at a time: the same files, in bounded memory."""

    def __init__(self, directory: Path, formats: tuple[str, ...] = ("csv", "json")) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._csv = FrameAppender(directory / "classifications.csv") if "csv" in formats else None
        self._json_path = directory / "classifications.json"
        self._json: IO[str] | None = (
            self._json_path.open("w", encoding="utf-8") if "json" in formats else None
        )
        self._rows = 0

    def write(self, results: pl.DataFrame) -> None:
        if self._csv is not None:
            self._csv.append(results.select(RESULT_COLUMNS))
        if self._json is not None:
            for row in results.select(RESULT_COLUMNS).iter_rows(named=True):
                # json.dumps(rows, indent=1) indents each row one more space: written row by row
                text = json.dumps(row, indent=1, default=str, ensure_ascii=False)
                self._json.write(("[\n " if self._rows == 0 else ",\n ") + text.replace("\n", "\n "))
                self._rows += 1

    def close(self) -> list[Path]:
        written = []
        if self._csv is not None:
            written.append(self._csv.close())
        if self._json is not None:
            self._json.write("\n]" if self._rows else "[]")
            self._json.close()
            written.append(self._json_path)
        return written
