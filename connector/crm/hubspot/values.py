"""Python values -> the strings HubSpot property values are, and back for the few the adapter reads itself.

Canonical records are built from HubSpot's strings by the mapping-driven record builder (``100``,
``4.5``, ``true``, ``2026-01-01``, ``2026-01-01T12:00:00.000Z``, ``a;b`` all read as the canonical
field's type). Writing: multi-value enumerations as ``a;b``, datetimes as ISO 8601 UTC with
milliseconds, dates as epoch milliseconds at midnight UTC (HubSpot refuses any other time of day for a
date property), and ``""`` for None — HubSpot clears a property given an empty string.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def iso_datetime(moment: dt.datetime) -> str:
    """``2026-11-26T06:50:00.000Z`` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def epoch_ms(moment: dt.datetime) -> int:
    """Epoch milliseconds of a datetime (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def midnight_ms(day: dt.date) -> int:
    return epoch_ms(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC))


def parse_datetime(value: Any) -> dt.datetime | None:
    """A HubSpot datetime (ISO text or epoch milliseconds) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def to_hubspot(value: Any) -> str:
    """A write-back value as a HubSpot property value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return iso_datetime(value)
    if isinstance(value, dt.date):
        return str(midnight_ms(value))
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(str(v) for v in value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)  # str, StrEnum members, int
