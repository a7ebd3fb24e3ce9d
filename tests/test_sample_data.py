"""The synthetic roster has the known 80/20 shape that tests, benchmarks and the sandbox rely on."""

from __future__ import annotations

import polars as pl

from connector.classify.classifier import classify_frames
from connector.config import Settings
from connector.frames import to_frames, to_roster
from connector.sample_data import generate
from tests.roster_builder import AS_OF


def test_generated_tiers_follow_personas_and_the_poor_fifth_causes_most_complaints() -> None:
    generated = generate(4000, seed=11, as_of=AS_OF)
    results = classify_frames(generated.frames, Settings(), AS_OF).join(
        generated.personas, left_on="account_id", right_on="id"
    )
    share = results["tier"].value_counts(normalize=True)
    shares = dict(zip(share["tier"], share["proportion"], strict=True))
    assert 0.15 <= shares["poor"] <= 0.35
    assert 0.08 <= shares["amazing"] <= 0.2
    agreement = (results["tier"] == results["persona"]).mean()
    assert agreement is not None and float(agreement) > 0.75  # type: ignore[arg-type]
    complaints = results.group_by("tier").agg(pl.col("complaints").sum())
    by_tier = dict(complaints.iter_rows())
    assert by_tier["poor"] / sum(by_tier.values()) > 0.6
    for trait in ("bully", "goalpost_mover", "high_touch_low_pay", "vendor_not_partner"):
        planted = results.filter(pl.col(trait))
        found = planted.filter(pl.col("traits").list.contains(trait)).height
        assert planted.height > 0 and found / planted.height > 0.7, trait


def test_frames_round_trip_through_records() -> None:
    frames = generate(50, seed=2, as_of=AS_OF).frames
    again = to_frames(to_roster(frames))
    assert again.accounts.equals(frames.accounts)
    assert again.invoices is not None and frames.invoices is not None
    assert again.invoices.equals(frames.invoices)
