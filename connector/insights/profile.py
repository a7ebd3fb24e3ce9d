"""The ideal-client profile: which attribute values over-index among the top clients (docs/rules.md, Learning from the top).

"Learn from the top": marketing and sales target look-alikes of the amazing and good clients, so
the profile compares, for each attribute value (industry Software, region Europe, size 51–250, …),
how common it is among the top clients against how common it is among all clients.

Definitions, per attribute ``a`` and value ``v`` (only accounts whose ``a`` is known count, so that
missing data never dilutes a share):

* ``top`` / ``rest``: accounts with value ``v`` in a top tier / in another tier;
  ``N_top`` / ``N_rest``: accounts with any known value of ``a``; ``K``: distinct values of ``a``.
* ``share_top = top / N_top``, ``share_rest = rest / N_rest``, ``share_all = (top + rest) / N``:
  the plain shares, as counted.
* ``lift = p_top / p_all``, with Laplace-smoothed shares ``p_top = (top + α) / (N_top + αK)``,
  ``p_rest = (rest + α) / (N_rest + αK)`` and ``p_all = (top + rest + 2α) / (N + 2αK)``. Lift 2 means
  "twice as common among top clients as among all clients". Smoothing (``insights.smoothing``)
  keeps a value seen in three accounts from claiming a huge lift and keeps zero counts finite.
* ``weight = ln(p_top / p_rest)``: the value's naive-Bayes log-odds of top against rest, which the
  fit score adds up. Because ``p_all`` is a fixed mix of ``p_top`` and ``p_rest`` within an
  attribute, ``lift`` is a strictly increasing function of ``weight``: ordering values by lift and
  by weight is the same, so a higher-lift value can never lower a fit score.
* ``supported``: ``top + rest >= insights.min_support``. Thinner values stay in the table for
  reading, but the fit treats them as unknown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from connector.config import Settings

SIZE = "size"
"""The attribute made from ``employee_count`` by ``insights.employee_bands``."""
FREE_PREFIX = "attr_"
"""Free account attributes travel as ``attr_<name>`` columns (see ``connector.frames``)."""


def band_labels(bounds: list[int]) -> list[str]:
    """``[10, 50]`` → ``["1–10", "11–50", "51+"]``: one label per band, the last one open."""
    labels, low = [], 1
    for bound in bounds:
        labels.append(f"{low}–{bound}")
        low = bound + 1
    return [*labels, f"{low}+"]


def size_band(employees: pl.Expr, bounds: list[int]) -> pl.Expr:
    """The employee band of each account as text (null when the head count is unknown)."""
    index = pl.lit(0, dtype=pl.Int64)
    for bound in bounds:
        index = index + (employees > bound).cast(pl.Int64)  # null stays null: unknown size
    return index.replace_strict(dict(enumerate(band_labels(bounds))), return_dtype=pl.String)


def attribute_values(
    frame: pl.DataFrame, attributes: Sequence[str], employee_bands: Sequence[int], free_attributes: bool
) -> dict[str, pl.Expr]:
    """Each attribute to compare, as a text expression over ``frame``'s columns.

    Attributes absent from the frame are skipped (a roster without ``source`` simply has no source
    in its profile); free attributes come from the ``attr_*`` columns.
    """
    wanted = list(attributes)
    if free_attributes:
        wanted += [c.removeprefix(FREE_PREFIX) for c in frame.columns if c.startswith(FREE_PREFIX)]
    values: dict[str, pl.Expr] = {}
    for name in dict.fromkeys(wanted):
        if name == SIZE:
            if "employee_count" in frame.columns:
                values[name] = size_band(pl.col("employee_count"), list(employee_bands))
        elif name in frame.columns:
            values[name] = pl.col(name).cast(pl.String)
        elif FREE_PREFIX + name in frame.columns:
            values[name] = pl.col(FREE_PREFIX + name).cast(pl.String)
    return values


def value_counts(frame: pl.DataFrame, columns: dict[str, pl.Expr], is_top: pl.Expr) -> pl.DataFrame:
    """Per (attribute, known value): the accounts of ``frame`` with it among the top (``top``) and the
    rest (``rest``). Blank text counts as unknown, like an empty CSV cell.

    Counted an attribute at a time from two narrow columns: a long (account, attribute, value) frame of a
    million-account roster would hold several hundred MB for a table of a few dozen rows.
    """
    parts = [
        frame.lazy()
        .select(expr.str.strip_chars().replace("", None).alias("value"), is_top.alias("is_top"))
        .filter(pl.col("value").is_not_null())
        .group_by("value")
        .agg(pl.col("is_top").sum().alias("top"), (~pl.col("is_top")).sum().alias("rest"))
        .select(pl.lit(name).alias("attribute"), "value", "top", "rest")
        .collect()
        for name, expr in columns.items()
    ]
    if not parts:
        return pl.DataFrame(
            schema={"attribute": pl.String, "value": pl.String, "top": pl.UInt32, "rest": pl.UInt32}
        )
    return pl.concat(parts)


@dataclass(frozen=True)
class ProfileRow:
    attribute: str
    value: str
    top: int
    rest: int
    share_top: float
    share_rest: float
    share_all: float
    lift: float
    weight: float
    supported: bool

    @property
    def accounts(self) -> int:
        return self.top + self.rest


@dataclass(frozen=True)
class Profile:
    """What top clients look like, learnt from one classified roster; the input of the fit score."""

    top_tiers: tuple[str, ...]
    top_accounts: int
    rest_accounts: int
    attributes: tuple[str, ...]
    """Attributes compared, in settings order (only those with at least one known value)."""
    rows: tuple[ProfileRow, ...]
    """Supported values first, then by lift (highest first), then attribute and value."""
    prior: float
    """Smoothed log-odds of top against rest over all accounts: the fit of an unknown account."""
    employee_bands: tuple[int, ...]
    min_support: int

    def row(self, attribute: str, value: str) -> ProfileRow | None:
        return next((r for r in self.rows if r.attribute == attribute and r.value == value), None)

    def over_indexing(self, limit: int | None = None) -> list[ProfileRow]:
        """Supported values more common among top clients than among all, highest lift first."""
        rows = [r for r in self.rows if r.supported and r.lift > 1]
        return rows if limit is None else rows[:limit]

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [vars(r) for r in self.rows],
            schema={
                "attribute": pl.String,
                "value": pl.String,
                "top": pl.Int64,
                "rest": pl.Int64,
                "share_top": pl.Float64,
                "share_rest": pl.Float64,
                "share_all": pl.Float64,
                "lift": pl.Float64,
                "weight": pl.Float64,
                "supported": pl.Boolean,
            },
        )


def learn_profile(results: pl.DataFrame, settings: Settings) -> Profile:
    """The profile of a classified roster (``classify_frames`` output, or the report's results frame).

    Needs a ``tier`` column and the attribute columns; accounts of any tier count, each once per
    attribute it has a value for. Attributes with more than ``insights.max_values`` values are left
    out: they identify accounts rather than describe them.
    """
    cfg = settings.insights
    alpha = cfg.smoothing
    top_tiers = [t.value for t in cfg.top_tiers]
    is_top = pl.col("tier").is_in(top_tiers)
    n_top = int(results.select(is_top.sum()).item())
    n_rest = results.height - n_top
    columns = attribute_values(results, cfg.attributes, cfg.employee_bands, cfg.free_attributes)
    counts = (
        value_counts(results, columns, is_top)
        .with_columns(pl.len().over("attribute").alias("k"))
        .filter(pl.col("k") <= cfg.max_values)
        .with_columns(
            pl.col("top").sum().over("attribute").alias("n_top"),
            pl.col("rest").sum().over("attribute").alias("n_rest"),
        )
    )
    n_all = pl.col("n_top") + pl.col("n_rest")
    p_top = (pl.col("top") + alpha) / (pl.col("n_top") + alpha * pl.col("k"))
    p_rest = (pl.col("rest") + alpha) / (pl.col("n_rest") + alpha * pl.col("k"))
    p_all = (pl.col("top") + pl.col("rest") + 2 * alpha) / (n_all + 2 * alpha * pl.col("k"))
    table = counts.select(
        "attribute",
        "value",
        pl.col("top").cast(pl.Int64),
        pl.col("rest").cast(pl.Int64),
        _ratio(pl.col("top"), pl.col("n_top")).alias("share_top"),
        _ratio(pl.col("rest"), pl.col("n_rest")).alias("share_rest"),
        _ratio(pl.col("top") + pl.col("rest"), n_all).alias("share_all"),
        (p_top / p_all).alias("lift"),
        (p_top / p_rest).log().alias("weight"),
        ((pl.col("top") + pl.col("rest")) >= cfg.min_support).alias("supported"),
    ).sort(["supported", "lift", "attribute", "value"], descending=[True, True, False, False])
    attributes = tuple(a for a in columns if a in set(table["attribute"]))
    return Profile(
        top_tiers=tuple(top_tiers),
        top_accounts=n_top,
        rest_accounts=n_rest,
        attributes=attributes,
        rows=tuple(ProfileRow(**row) for row in table.iter_rows(named=True)),
        prior=math.log((n_top + alpha) / (n_rest + alpha)),
        employee_bands=tuple(cfg.employee_bands),
        min_support=cfg.min_support,
    )


def _ratio(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part / whole).otherwise(0.0)
