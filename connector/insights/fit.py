"""Look-alike fit: how much an account or a prospect looks like the top clients, from 0 to 100.

Naive Bayes over the profile's attributes: the fit is ``100 · σ(prior + Σ weight(value))``, where
``weight`` is the value's smoothed log-odds of top against rest (see ``profile.py``) and ``prior``
the top/rest log-odds of the whole roster. So the score reads as "the chance that a client like
this one ends up amazing or good", 50 meaning a coin toss.

What a caller may rely on:

* **Monotone.** Within an attribute, weight orders values exactly as lift does, and σ is
  increasing, so switching one attribute to a value with a higher lift never lowers the score.
* **Unknown is neutral.** A missing value, a value no client has, and a value held by fewer than
  ``min_support`` clients add 0, and the reasons say which of the three it was.
* **Explained.** Each score comes with one reason per attribute, the strongest first, e.g.
  "industry Software: 2.1× more common among top clients".
"""

from __future__ import annotations

import polars as pl

from connector.insights.profile import Profile, ProfileRow, attribute_values

SAME_WITHIN = 1.05
"""A lift within this factor of 1 is described as "as common among top clients as among all"."""


def describe(attribute: str, row: ProfileRow) -> str:
    """The reason one profile value gives, in plain words."""
    label = f"{attribute} {row.value}"
    if not row.supported:
        clients = "client has" if row.accounts == 1 else "clients have"
        return f"{label}: only {row.accounts} {clients} it, too few to tell (neutral)"
    if row.lift >= SAME_WITHIN:
        return f"{label}: {row.lift:.1f}× more common among top clients"
    if row.lift <= 1 / SAME_WITHIN:
        return f"{label}: {1 / row.lift:.1f}× less common among top clients"
    return f"{label}: as common among top clients as among all"


def _weights(profile: Profile, attribute: str) -> tuple[dict[str, float], dict[str, str]]:
    rows = [r for r in profile.rows if r.attribute == attribute]
    weights = {r.value: r.weight for r in rows if r.supported}
    reasons = {r.value: describe(attribute, r) for r in rows}
    return weights, reasons


def fit_scores(profile: Profile, accounts: pl.DataFrame) -> pl.DataFrame:
    """``account_id`` (from ``account_id`` or ``id``), ``name`` when present, ``fit_score`` (0–100,
    one decimal) and ``fit_reasons`` (a list, strongest first), in the input's order.

    ``accounts`` is any frame with the account attribute columns: a roster's accounts, a
    ``classify_frames`` result or prospects read like ``accounts.csv``.
    """
    key = "account_id" if "account_id" in accounts.columns else "id"
    columns = attribute_values(accounts, profile.attributes, profile.employee_bands, free_attributes=False)
    weights: list[pl.Expr] = []
    reasons: list[pl.Expr] = []
    for attribute in profile.attributes:
        if attribute not in columns:
            weights.append(pl.lit(0.0))
            reasons.append(pl.struct(w=pl.lit(0.0), text=pl.lit(f"{attribute} unknown (neutral)")))
            continue
        value = columns[attribute].str.strip_chars().replace("", None)
        known, texts = _weights(profile, attribute)
        weight = value.replace_strict(known, default=0.0, return_dtype=pl.Float64).fill_null(0.0)
        text = (
            pl.when(value.is_null())
            .then(pl.lit(f"{attribute} unknown (neutral)"))
            .otherwise(
                value.replace_strict(texts, default=None, return_dtype=pl.String).fill_null(
                    pl.format(f"{attribute} {{}}: no client has it yet (neutral)", value)
                )
            )
        )
        weights.append(weight)
        reasons.append(pl.struct(w=weight, text=text))
    logit = pl.lit(profile.prior) + (pl.sum_horizontal(weights) if weights else pl.lit(0.0))
    ordered = (
        pl.concat_list(reasons)
        .list.eval(
            pl.element().sort_by(pl.element().struct.field("w").abs(), descending=True, maintain_order=True)
        )
        .list.eval(pl.element().struct.field("text"))
        if reasons
        else pl.lit([], dtype=pl.List(pl.String))
    )
    selected = [pl.col(key).alias("account_id")]
    if "name" in accounts.columns:
        selected.append(pl.col("name"))
    return accounts.select(
        *selected,
        (100.0 / (1.0 + (-logit).exp())).round(1).alias("fit_score"),
        ordered.alias("fit_reasons"),
    )
