"""The communication plan's size bands and touches (docs/rules.md, The communication plan)."""

from __future__ import annotations

from pydantic import Field, model_validator

from connector.model import Tier
from connector.sections import Section


class SizeBand(Section):
    """A revenue band: the first band whose ``revenue_below`` exceeds the client's revenue (the last
    band, without a bound, takes the rest)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    revenue_below: float | None = Field(None, gt=0)


class Touch(Section):
    """A planned contact (docs/rules.md, The communication plan): created as a task once per ``cadence_days`` for every client
    matching all conditions given (empty = any)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    title: str = Field(min_length=1, max_length=255)
    description: str = ""
    cadence_days: int = Field(ge=7)
    due_in_days: int = Field(14, ge=0)
    tiers: list[Tier] = Field(default_factory=list)
    sizes: list[str] = Field(default_factory=list)
    networked: bool | None = Field(
        None, description="true: only clients who refer others; false: only those who don't."
    )


DEFAULT_SIZE_BANDS = [
    SizeBand(name="small", revenue_below=10_000),
    SizeBand(name="medium", revenue_below=100_000),
    SizeBand(name="large"),
]

DEFAULT_TOUCHES = [
    Touch(
        code="yearly_survey", title="Send the yearly satisfaction survey", cadence_days=365, due_in_days=30
    ),
    Touch(code="checkin_email", title="Send a check-in email", cadence_days=182, due_in_days=14),
    Touch(
        code="quarterly_review",
        title="Hold the quarterly business review",
        description="A client who pays a lot every quarter gets a meeting every quarter.",
        cadence_days=91,
        due_in_days=30,
        tiers=[Tier.AMAZING, Tier.GOOD],
        sizes=["large"],
    ),
    Touch(
        code="monthly_call",
        title="Monthly call with the account lead",
        cadence_days=30,
        due_in_days=10,
        tiers=[Tier.AMAZING],
        sizes=["medium", "large"],
    ),
    Touch(
        code="network_thank_you",
        title="Thank the client for referrals and keep them close",
        description="A small client with a big network deserves more attention than its revenue says.",
        cadence_days=91,
        due_in_days=21,
        networked=True,
    ),
]


class CommsSettings(Section):
    """The communication plan: a baseline every client gets, more touches for higher categories."""

    enabled: bool = True
    size_bands: list[SizeBand] = Field(default_factory=lambda: list(DEFAULT_SIZE_BANDS))
    network_referrals_at_least: int = Field(
        2, ge=1, description="Referrals in the window that make a client networked."
    )
    touches: list[Touch] = Field(default_factory=lambda: list(DEFAULT_TOUCHES))

    @model_validator(mode="after")
    def _consistent(self) -> CommsSettings:
        names = [b.name for b in self.size_bands]
        if not names or self.size_bands[-1].revenue_below is not None:
            raise ValueError("size_bands: the last band must have no revenue_below (it takes the rest)")
        bounds = [b.revenue_below for b in self.size_bands[:-1]]
        if any(b is None for b in bounds) or bounds != sorted(bounds):  # type: ignore[type-var]
            raise ValueError(
                "size_bands: revenue_below must be given and increasing, except on the last band"
            )
        for touch in self.touches:
            unknown = set(touch.sizes) - set(names)
            if unknown:
                raise ValueError(
                    f"touch {touch.code!r}: unknown size band {', '.join(sorted(unknown))} (known: {', '.join(names)})"
                )
        codes = [t.code for t in self.touches]
        if len(codes) != len(set(codes)):
            raise ValueError("touches: duplicate code")
        return self

    def size_band(self, revenue: float | None) -> str:
        for band in self.size_bands:
            if band.revenue_below is None or (revenue or 0.0) < band.revenue_below:
                return band.name
        return self.size_bands[-1].name
