"""A rule: a reason code, a condition over evidence columns, and the sentence it says when it holds.

Rules are polars expressions so that one definition serves one account in a test and a million in a
backfill. A condition that is null (evidence missing) does not hold: missing data never proves anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Rule:
    code: str
    holds: pl.Expr
    says: pl.Expr
    test: str = ""
    """The rule in plain words with its threshold ("complaints at least 6"), for ``explain``."""
    reads: tuple[str, ...] = ()
    """The evidence columns the rule looks at: their values are what ``explain`` shows beside it."""


def holds(rule: Rule) -> pl.Expr:
    return rule.holds.fill_null(False)


def any_holds(rules: list[Rule]) -> pl.Expr:
    return pl.any_horizontal(holds(r) for r in rules)


def all_hold(rules: list[Rule]) -> pl.Expr:
    return pl.all_horizontal(holds(r) for r in rules)


LABEL_SEPARATOR = ";"
"""While the classifier builds them, lists of codes (reason codes, traits, gaps, actions) are
';'-joined text: polars list building is an order of magnitude slower over a million rows. The
result frame turns them into lists once (:func:`as_lists`)."""


LABELS_PER_TABLE = 6
"""Conditions looked up together in :func:`labels`: a table of 64 texts."""


def labels(conditions: list[tuple[pl.Expr, str]], separator: str = LABEL_SEPARATOR) -> pl.Expr:
    """The labels whose condition holds, joined in the given order ('' when none; null never holds).

    Up to six conditions at a time make a small number (which of them hold) that is looked up in a
    table of every combination's text: a column of label text per condition would have polars write
    each literal out on every row, most of them to be thrown away."""
    if not conditions:
        return pl.lit("")
    parts = []
    for start in range(0, len(conditions), LABELS_PER_TABLE):
        chunk = conditions[start : start + LABELS_PER_TABLE]
        held = pl.sum_horizontal(
            c.fill_null(False).cast(pl.UInt8) * (1 << bit) for bit, (c, _) in enumerate(chunk)
        )
        texts = {
            combination: separator.join(
                label for bit, (_, label) in enumerate(chunk) if combination >> bit & 1
            )
            or None
            for combination in range(1 << len(chunk))
        }
        parts.append(held.replace_strict(texts, return_dtype=pl.String))
    return pl.concat_str(parts, separator=separator, ignore_nulls=True)


def as_lists(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """The ';'-joined label columns as lists of strings ('' is the empty list).

    A label column holds a few distinct texts (every combination of its labels at most): each is
    split once and gathered per row, instead of every row's text being split."""
    empty = pl.lit([], dtype=pl.List(pl.String))
    lists = []
    for c in columns:
        texts = frame[c].drop_nulls().unique()
        split = pl.select(
            pl.when(pl.lit(texts) == "").then(empty).otherwise(pl.lit(texts).str.split(LABEL_SEPARATOR))
        ).to_series()
        lists.append(split.gather(frame[c].cast(pl.Enum(texts)).to_physical()).alias(c))
    return frame.with_columns(lists)


def codes(rules: list[Rule]) -> pl.Expr:
    """The codes of the rules that hold, in rule order."""
    return labels([(r.holds, r.code) for r in rules])


def holding(rules: list[Rule], where: pl.Expr | None = None) -> dict[str, pl.Expr]:
    """When a code list built by :func:`codes` names each rule (on the rows ``where`` it is built):
    the condition itself, so that a reader of the codes (the playbook) compares numbers instead of
    searching text."""
    return {r.code: holds(r) if where is None else where & holds(r) for r in rules}


def sentence(rules: list[Rule]) -> pl.Expr:
    """What the rules that hold say, joined with '; ' (empty when none holds)."""
    return pl.concat_str([pl.when(holds(r)).then(r.says) for r in rules], separator="; ", ignore_nulls=True)


def number(column: str) -> pl.Expr:
    """A count or amount as plain text: 12, 4500 (amounts rounded to whole units)."""
    return pl.col(column).round(0).cast(pl.Int64).cast(pl.String)


def percent(column: str) -> pl.Expr:
    return (pl.col(column) * 100).round(0).cast(pl.Int64).cast(pl.String) + pl.lit("%")


def plural(column: str, one: str, many: str) -> pl.Expr:
    """``3 complaints`` / ``1 complaint``."""
    return number(column) + pl.when(pl.col(column) == 1).then(pl.lit(f" {one}")).otherwise(pl.lit(f" {many}"))


def window_label(days: int) -> str:
    months = round(days / 30.44)
    return f"{months} months" if days >= 60 else f"{days} days"


def cost_words() -> pl.Expr:
    """``cost to serve 35% of revenue`` (or ``… 400 with no revenue``: the ratio is infinite)."""
    return pl.lit("cost to serve ") + pl.when(pl.col("revenue").fill_null(0) > 0).then(
        percent("cost_ratio") + pl.lit(" of revenue")
    ).otherwise(number("cost_to_serve") + pl.lit(" with no revenue"))


Group = tuple[pl.Expr, list[pl.Expr]] | tuple[pl.Expr, list[pl.Expr], list[pl.Expr]]
"""(condition, expressions) or (condition, expressions, expressions reading the first ones)."""


def by_group(frame: pl.LazyFrame, groups: list[Group]) -> pl.LazyFrame:
    """Adds columns computed per group of rows (the conditions must split the rows: each in one).

    Each group's expressions run on its own rows only, and on a narrow frame: projection pushdown
    keeps every filter to the columns its expressions read, and the results are put back in row
    order beside the materialised frame, so no wide frame is filtered, concatenated or re-sorted.
    A group's third list may read the columns its second list adds (a summary of sentences built
    once), so no sentence is built twice.
    """
    # the in-memory engine: a batch fits in memory by design, and it is faster on these plans
    wide = frame.collect(engine="in-memory")
    indexed = wide.lazy().with_row_index("_row")
    parts = []
    for condition, exprs, *later in groups:
        part = indexed.filter(condition).select("_row", *exprs)
        parts.append(part.with_columns(*later[0]) if later else part)
    added = pl.concat(parts).sort("_row").drop("_row").collect(engine="in-memory")
    return wide.hstack(added).lazy()
