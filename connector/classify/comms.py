"""The communication plan (docs/rules.md, The communication plan): which planned touches each client gets.

Categories follow tier, size (revenue band) and network (referrals made): a baseline for every
client, more touches for higher categories. Pure: the sync turns touches into tasks once per period.
"""

from __future__ import annotations

from connector.classify.comms_settings import CommsSettings, Touch
from connector.model import Tier

TOUCH_PREFIX = "comms:"
"""Task actions for touches carry this prefix, so that they never collide with playbook action codes."""


def is_networked(referrals: int | None, comms: CommsSettings) -> bool:
    return (referrals or 0) >= comms.network_referrals_at_least


def touches_for(
    tier: Tier, revenue: float | None, referrals: int | None, comms: CommsSettings
) -> list[Touch]:
    if not comms.enabled:
        return []
    size = comms.size_band(revenue)
    networked = is_networked(referrals, comms)
    return [
        t
        for t in comms.touches
        if (not t.tiers or tier in t.tiers)
        and (not t.sizes or size in t.sizes)
        and (t.networked is None or t.networked == networked)
    ]
