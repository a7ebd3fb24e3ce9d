"""A generated roster of 2,000 clients, classified once for the insight tests."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from connector.classify.classifier import classify_frames
from connector.config import Settings
from connector.sample_data import generate

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="session")
def classified_2000() -> pl.DataFrame:
    return classify_frames(generate(2000, seed=7, as_of=AS_OF).frames, Settings(), AS_OF)
