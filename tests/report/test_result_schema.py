"""One result schema: code lists are lists in the classifier's frame, in the state and in the report's
frame built from the state, and the same lists whichever way they came."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from connector.classify.classifier import LIST_COLUMNS
from connector.report.sources import results_frame
from connector.sync.state import State
from tests.report.conftest import Classified

SAVED = ["tier_codes", "traits", "data_gaps", "actions"]
"""The code lists the report's state fixture saves (as ``SyncEngine._save_results`` does)."""


def test_code_lists_stay_lists_from_the_classifier_through_the_state_to_the_report(
    classified: Classified, state_path: Path
) -> None:
    offline = classified.results
    assert all(offline.schema[c] == pl.List(pl.String) for c in LIST_COLUMNS)
    state = State(state_path)
    try:
        saved = state.results("default")
    finally:
        state.close()
    assert all(isinstance(row[c], list) for row in saved for c in SAVED)
    from_state = results_frame(saved)
    assert all(from_state.schema[c] == pl.List(pl.String) for c in SAVED)
    columns = ["account_id", *SAVED]
    assert from_state.select(columns).sort("account_id").equals(offline.select(columns).sort("account_id"))
    assert offline["traits"].list.len().sum() > 0 and offline["actions"].list.len().sum() > 0
