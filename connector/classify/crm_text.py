"""What a CRM user (and sometimes the client) may read about a classification.

Every text tiersync writes into the CRM comes from here, so that traits always appear under their
neutral labels (``trait_labels``, e.g. "Conduct concerns") and never as codes such as ``bully``, and
so that a task says only the reasons that led to its own action, with their evidence figures.
"""

from __future__ import annotations

from connector.classify.classifier import Classification
from connector.classify.classifier_settings import ClassifierSettings
from connector.classify.playbook_settings import Action

TIER_SENTENCE_SEPARATOR = "; "
"""How ``tier_reason`` joins its rules' sentences (``rules.sentence``), in ``tier_codes`` order."""


def tier_sentences(c: Classification) -> dict[str, str]:
    """Each tier reason code with its own sentence ("poor.complaints" -> "7 complaints in 12 months").

    Tier sentences hold only figures, never CRM text, so splitting on the separator is exact; if the
    counts ever disagree every code gets the whole sentence rather than a wrong one."""
    parts = c.tier_reason.split(TIER_SENTENCE_SEPARATOR) if c.tier_reason else []
    if len(parts) == len(c.tier_codes):
        return dict(zip(c.tier_codes, parts, strict=True))
    return dict.fromkeys(c.tier_codes, c.tier_reason)


def record_reasons(c: Classification, settings: ClassifierSettings) -> str:
    """Tier reason, trait reasons (under their labels) and data gaps in one paragraph, for the
    record's Reasons field."""
    parts = [f"{c.tier.value}: {c.tier_reason}" if c.tier_reason else c.tier.value]
    parts += [f"{settings.label(trait)}: {text}" for trait, text in c.traits.items()]
    if c.data_gaps_reason:
        parts.append(f"data gaps: {c.data_gaps_reason}")
    if c.growth_reason:
        parts.append(f"growth points: {c.growth_reason}")
    if c.decision_reason:
        parts.append(f"next step: {c.decision_reason}")
    return ". ".join(parts) + "."


def action_reasons(c: Classification, action: Action, settings: ClassifierSettings) -> list[str]:
    """The reasons that led to ``action`` for this client, one line each, with their figures: its tier
    when it asks for one, the traits it needs (labelled), the reason codes it names (tier or trait),
    the growth points it names (labelled) and the decision's reasons when it names decisions."""
    lines: list[str] = []
    if action.tiers:
        lines.append(f"{c.tier.value} client: {c.tier_reason}" if c.tier_reason else f"{c.tier.value} client")
    for trait in action.traits:
        if trait in c.traits:
            lines.append(f"{settings.label(trait)}: {c.traits[trait]}")
    if action.reasons:
        tier_text = tier_sentences(c)
        for code in action.reasons:
            if code in tier_text and not action.tiers:
                lines.append(tier_text[code])
            owner = next((t for t in c.traits if code.startswith(f"{t.value}.")), None)
            if owner is not None and code in c.trait_codes and owner not in action.traits:
                lines.append(f"{settings.label(owner)}: {c.traits[owner]}")
    for point in action.growth_points:
        if point in c.growth_points:
            lines.append(f"{settings.growth.label(point)}: {c.growth_points[point]}")
    if action.decisions and c.decision_reason:
        lines.append(c.decision_reason)
    return list(dict.fromkeys(lines))
