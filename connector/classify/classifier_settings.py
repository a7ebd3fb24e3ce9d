"""What the classifier reads of the settings, as a protocol.

``connector.config.Settings`` satisfies it. The classifier never imports ``connector.config``: config
imports the rule sections from ``connector/classify/`` to compose them, and the other way round would be
a circular import. It also keeps the classifier a pure function of plain data.
"""

from __future__ import annotations

from typing import Protocol

from connector.classify.decision_settings import DecisionSettings
from connector.classify.evidence_settings import EvidenceSettings
from connector.classify.growth_settings import GrowthSettings
from connector.classify.playbook_settings import PlaybookSettings
from connector.classify.tier_settings import TierRules
from connector.classify.trait_settings import TraitRules
from connector.model import Trait


class ShowsCurrency(Protocol):
    @property
    def currency(self) -> str: ...


class ClassifierSettings(Protocol):
    @property
    def evidence(self) -> EvidenceSettings: ...

    @property
    def tiers(self) -> TierRules: ...

    @property
    def traits(self) -> TraitRules: ...

    @property
    def growth(self) -> GrowthSettings: ...

    @property
    def decision(self) -> DecisionSettings: ...

    @property
    def playbook(self) -> PlaybookSettings: ...

    @property
    def insights(self) -> ShowsCurrency:
        """The currency shown with every amount in ``explain``."""
        ...

    def label(self, trait: Trait) -> str:
        """The trait's neutral label, as configured."""
        ...
