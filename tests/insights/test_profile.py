"""The ideal-client profile: counts, shares and lift on cases small enough to check by hand."""

from __future__ import annotations

import math

import polars as pl
import pytest

from connector.config import Settings
from connector.insights.profile import band_labels, learn_profile
from tests.insights.hand_roster import HAND, roster, settings


def test_lift_counts_and_shares_on_a_hand_made_roster() -> None:
    profile = learn_profile(roster(HAND), settings(min_support=5, smoothing=1.0))
    assert (profile.top_accounts, profile.rest_accounts) == (8, 10)
    assert profile.attributes == ("industry",)
    software = profile.row("industry", "Software")
    retail = profile.row("industry", "Retail")
    assert software is not None and retail is not None
    assert (software.top, software.rest, retail.top, retail.rest) == (6, 2, 2, 6)
    # unknown industries count in neither share: 8 top and 8 rest accounts have one
    assert (software.share_top, software.share_rest, software.share_all) == (0.75, 0.25, 0.5)
    # p_top = (6+1)/(8+2) = 0.7, p_rest = (2+1)/(8+2) = 0.3, p_all = (8+2)/(16+4) = 0.5
    assert software.lift == pytest.approx(1.4)
    assert software.weight == pytest.approx(math.log(7 / 3))
    assert retail.lift == pytest.approx(0.6)
    assert retail.weight == pytest.approx(math.log(3 / 7))
    assert [r.value for r in profile.rows] == ["Software", "Retail"]
    assert profile.prior == pytest.approx(math.log(9 / 11))
    assert [r.value for r in profile.over_indexing()] == ["Software"]


def test_tiny_smoothing_gives_the_textbook_lift() -> None:
    profile = learn_profile(roster(HAND), settings(min_support=5, smoothing=1e-9))
    software = profile.row("industry", "Software")
    assert software is not None
    assert software.lift == pytest.approx(software.share_top / software.share_all)  # 0.75 / 0.5
    assert software.lift == pytest.approx(1.5)


def test_a_value_below_min_support_is_listed_as_thin_after_the_supported_ones() -> None:
    rows = [*HAND, ("amazing", "Mining"), ("good", "Mining")]
    profile = learn_profile(roster(rows), settings(min_support=5))
    mining = profile.row("industry", "Mining")
    assert mining is not None and not mining.supported and mining.top == 2 and mining.rest == 0
    assert mining.lift > profile.row("industry", "Software").lift  # type: ignore[union-attr]
    assert profile.rows[-1] == mining
    assert mining not in profile.over_indexing()


def test_zero_counts_stay_finite() -> None:
    rows = [("good", "Software")] * 5 + [("poor", "Retail")] * 5
    profile = learn_profile(roster(rows), settings(min_support=1))
    retail = profile.row("industry", "Retail")
    assert retail is not None and retail.top == 0 and retail.share_top == 0
    assert 0 < retail.lift < 1 and math.isfinite(retail.weight)


def test_a_roster_without_top_clients_learns_nothing_misleading() -> None:
    profile = learn_profile(roster([("poor", "Retail")] * 4), settings(min_support=1))
    assert profile.top_accounts == 0
    retail = profile.row("industry", "Retail")
    assert retail is not None and retail.share_top == 0
    assert (retail.lift, retail.weight) == (pytest.approx(1.0), pytest.approx(0.0))  # one value: no signal


def test_size_bands_and_free_attributes_are_compared_and_identifiers_left_out() -> None:
    frame = roster(
        [("good", "Software")] * 3 + [("poor", "Retail")] * 3,
        employee_count=[5, 40, 40, 300, 5000, None],
        attr_segment=["smb", "smb", "mid", "ent", "ent", "ent"],
        attr_website=[f"site{i}.example" for i in range(6)],
    )
    profile = learn_profile(frame, settings(min_support=1, employee_bands=[10, 50, 1000], max_values=4))
    assert profile.attributes == ("industry", "size", "segment")
    assert band_labels([10, 50, 1000]) == ["1–10", "11–50", "51–1000", "1001+"]
    size = {r.value: (r.top, r.rest) for r in profile.rows if r.attribute == "size"}
    assert size == {"1–10": (1, 0), "11–50": (2, 0), "51–1000": (0, 1), "1001+": (0, 1)}
    assert all(r.attribute != "website" for r in profile.rows)


def test_top_tiers_are_configurable() -> None:
    profile = learn_profile(roster(HAND), settings(min_support=1, top_tiers=["amazing"]))
    retail = profile.row("industry", "Retail")
    assert profile.top_accounts == 2 and retail is not None and retail.top == 2 and retail.lift > 1


def test_profile_on_a_generated_roster_finds_the_planted_ideal_segment(classified_2000: pl.DataFrame) -> None:
    profile = learn_profile(classified_2000, Settings())
    best = {r.value for r in profile.over_indexing() if r.attribute == "industry"}
    assert best == {"Software", "Fintech", "Healthcare"}  # sample_data.IDEAL_INDUSTRIES
    referral = profile.row("source", "Referral")
    assert referral is not None and referral.lift == max(
        r.lift for r in profile.rows if r.attribute == "source"
    )
