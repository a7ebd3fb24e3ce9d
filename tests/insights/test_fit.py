"""Look-alike fit: explained, neutral on the unknown, and monotone in lift."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from connector.config import Settings
from connector.insights.fit import fit_scores
from connector.insights.profile import Profile, learn_profile
from tests.insights.hand_roster import HAND, roster, settings

TIERS = ["amazing", "good", "okay", "poor"]


def hand_profile() -> Profile:
    return learn_profile(
        roster(HAND + [("good", "Mining")] * 2, region=["Europe", "APAC"] * 10),
        settings(min_support=5),
    )


def score(profile: Profile, **attributes: Any) -> tuple[float, str]:
    frame = pl.DataFrame({"id": ["P1"], "name": ["Prospect"], **{k: [v] for k, v in attributes.items()}})
    row = fit_scores(profile, frame).row(0, named=True)
    return row["fit_score"], "; ".join(row["fit_reasons"])


def sigmoid(x: float) -> float:
    return 100 / (1 + math.exp(-x))


def test_a_matching_value_raises_the_fit_and_says_why() -> None:
    profile = hand_profile()
    software, why = score(profile, industry="Software", region="Europe")
    retail, _ = score(profile, industry="Retail", region="Europe")
    assert software > retail
    lift = profile.row("industry", "Software").lift  # type: ignore[union-attr]
    assert why.startswith(f"industry Software: {lift:.1f}× more common among top clients")
    weights = profile.row("industry", "Software").weight + profile.row("region", "Europe").weight  # type: ignore[union-attr]
    assert software == pytest.approx(round(sigmoid(profile.prior + weights), 1))


def test_unknown_unseen_and_thin_values_are_neutral_and_say_so() -> None:
    profile = hand_profile()
    neutral = round(sigmoid(profile.prior), 1)
    assert score(profile, industry=None, region=None)[0] == neutral
    unseen, why = score(profile, industry="Aerospace", region="")
    assert unseen == neutral
    assert "industry Aerospace: no client has it yet (neutral)" in why
    assert "region unknown (neutral)" in why
    thin, why = score(profile, industry="Mining")
    assert thin == neutral
    assert "industry Mining: only 2 clients have it, too few to tell (neutral)" in why
    assert "region unknown (neutral)" in why  # no region column at all


def test_reasons_come_strongest_first_and_accounts_keep_their_order() -> None:
    profile = hand_profile()
    frame = pl.DataFrame(
        {"account_id": ["B", "A"], "industry": ["Retail", "Software"], "region": ["Europe", "APAC"]}
    )
    scores = fit_scores(profile, frame)
    assert scores["account_id"].to_list() == ["B", "A"]
    assert scores.columns == ["account_id", "fit_score", "fit_reasons"]
    first, second = scores["fit_reasons"][0]
    assert first.startswith("industry Retail") and second.startswith("region Europe")


def test_fit_ranks_the_generated_tiers_in_order(classified_2000: pl.DataFrame) -> None:
    profile = learn_profile(classified_2000, Settings())
    scored = fit_scores(profile, classified_2000).join(
        classified_2000.select("account_id", "tier"), on="account_id"
    )
    means = dict(scored.group_by("tier").agg(pl.col("fit_score").mean()).iter_rows())
    assert means["amazing"] > means["good"] > means["okay"] > means["poor"]
    assert scored["fit_score"].is_between(0, 100).all()


@st.composite
def rosters(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(4, 60))
    tiers = draw(st.lists(st.sampled_from(TIERS), min_size=n, max_size=n))
    industries = draw(st.lists(st.sampled_from(["A", "B", "C", "D", None]), min_size=n, max_size=n))
    regions = draw(st.lists(st.sampled_from(["X", "Y", "Z"]), min_size=n, max_size=n))
    return pl.DataFrame(
        {"tier": tiers, "industry": industries, "region": regions}, schema_overrides={"industry": pl.String}
    )


@hypothesis_settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    frame=rosters(),
    min_support=st.integers(1, 4),
    smoothing=st.sampled_from([0.1, 0.5, 1.0, 3.0]),
    region=st.sampled_from(["X", "Y", "Z", None]),
)
def test_a_higher_lift_value_never_lowers_the_fit(
    frame: pl.DataFrame, min_support: int, smoothing: float, region: str | None
) -> None:
    profile = learn_profile(frame, settings(min_support=min_support, smoothing=smoothing))
    supported = [r for r in profile.rows if r.attribute == "industry" and r.supported]
    prospects = pl.DataFrame(
        {
            "id": [r.value for r in supported],
            "industry": [r.value for r in supported],
            "region": [region] * len(supported),
        }
    )
    fit = dict(fit_scores(profile, prospects).select("account_id", "fit_score").iter_rows())
    neutral = fit_scores(profile, pl.DataFrame({"id": ["?"], "industry": [None], "region": [region]}))[
        "fit_score"
    ][0]
    for low in supported:
        for high in supported:
            if high.lift >= low.lift:
                assert high.weight >= low.weight - 1e-12  # lift and weight order values alike
                assert fit[high.value] >= fit[low.value], (low, high)
        assert (fit[low.value] >= neutral) == (low.weight >= 0) or fit[low.value] == neutral
