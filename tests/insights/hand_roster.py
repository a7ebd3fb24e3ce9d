"""A roster small enough to check lift and fit by hand."""

from __future__ import annotations

from typing import Any

import polars as pl

from connector.config import Settings


def settings(**insights: Any) -> Settings:
    return Settings.model_validate({"insights": insights})


def roster(rows: list[tuple[str, str | None]], **extra: list[Any]) -> pl.DataFrame:
    return pl.DataFrame(
        {"tier": [t for t, _ in rows], "industry": [i for _, i in rows], **extra},
        schema_overrides={"industry": pl.String},
    )


# top: Software ×6, Retail ×2; rest: Software ×2, Retail ×6, unknown ×2
HAND = [("good", "Software")] * 6 + [("amazing", "Retail")] * 2 + [("okay", "Software")] * 2
HAND += [("poor", "Retail")] * 6 + [("poor", None)] * 2
