"""Which playbook actions (docs/rules.md, The playbook) each classified client gets, from the configured action table."""

from __future__ import annotations

import polars as pl

from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.growth import point_present
from connector.classify.playbook_settings import Action
from connector.classify.rules import labels
from connector.classify.tiers import tier_code_holds
from connector.classify.traits import trait_code_holds, trait_present
from connector.model import GrowthPoint, Trait


def _applies(
    action: Action,
    traits: dict[Trait, pl.Expr],
    points: dict[GrowthPoint, pl.Expr],
    reasons: dict[str, pl.Expr],
) -> pl.Expr:
    """Whether ``action`` applies, from the conditions the tier, trait and growth labels were made of
    (comparisons of numbers, not searches of the label text)."""
    condition = pl.lit(True)
    if action.tiers:
        condition &= pl.col("tier").is_in([t.value for t in action.tiers])
    for trait in action.traits:
        condition &= traits[trait]
    if action.reasons:
        condition &= pl.any_horizontal(reasons.get(code, pl.lit(False)) for code in action.reasons)
    if action.decisions:
        condition &= pl.col("decision").is_in([d.value for d in action.decisions])
    if action.growth_points:
        condition &= pl.any_horizontal(points[p] for p in action.growth_points)
    return condition


def with_actions(frame: pl.LazyFrame, settings: ClassifierSettings) -> pl.LazyFrame:
    """Adds ``actions``: every action that applies, less the generic ones a more specific action
    replaces (``Action.replaced_by``): one task says what to do, not two. Whether each action applies
    is computed once, as a column, and read by the actions it replaces."""
    actions = settings.playbook.actions
    traits, points = trait_present(settings), point_present(settings)
    reasons = {**tier_code_holds(settings), **trait_code_holds(settings)}
    applies = {a.code: f"_applies_{i}" for i, a in enumerate(actions)}
    kept = []
    for action in actions:
        condition = pl.col(applies[action.code])
        for code in action.replaced_by:
            condition &= ~pl.col(applies[code])
        kept.append((condition, action.code))
    return (
        frame.with_columns(_applies(a, traits, points, reasons).alias(applies[a.code]) for a in actions)
        .with_columns(labels(kept).alias("actions"))
        .drop(applies.values())
    )


def actions_by_code(settings: ClassifierSettings) -> dict[str, Action]:
    return {a.code: a for a in settings.playbook.actions}
