"""Salesforce JSON values <-> Python values.

Salesforce answers dates as ``2026-01-01``, datetimes as ``2026-01-01T00:00:00.000+0000`` (UTC),
numbers as JSON numbers (``9.0`` for a 2,0 number field), multi-select picklists as ``a;b``, and
null for anything empty (checkboxes excepted, which are never null). A value that cannot be read
becomes None — missing, never a zero that looks like evidence.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def value_at(row: dict[str, Any], path: str) -> Any:
    """A field's value, following ``Owner.Name``-style relationship paths (None past a null link).

    Field names are case-insensitive in SOQL while answers use the canonical spelling, so a mapping
    that says ``accountid`` still finds ``AccountId``.
    """
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
        else:
            lowered = part.lower()
            value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


def to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def to_int(value: Any) -> int | None:
    number = to_float(value)
    return round(number) if number is not None else None


def to_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def to_datetime(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from a Salesforce datetime (a bare date reads as midnight UTC)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def to_date(value: Any) -> dt.date | None:
    """The date of a Salesforce date or datetime (datetimes are UTC: their UTC calendar day)."""
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    if len(text) == 10:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None
    moment = to_datetime(text)
    return moment.date() if moment is not None else None


def to_codes(value: Any) -> tuple[str, ...]:
    """A multi-select picklist (``a;b``) as a sorted tuple."""
    if value is None or value == "":
        return ()
    parts = [str(v) for v in value] if isinstance(value, list | tuple) else str(value).split(";")
    return tuple(sorted(p.strip() for p in parts if p.strip()))


def format_datetime(moment: dt.datetime) -> str:
    """``2026-11-26T06:50:00.000Z``: UTC with milliseconds, as Salesforce writes them (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def to_salesforce(value: Any) -> Any:
    """A Python value as Salesforce JSON: lists -> ``a;b`` (empty -> null), datetimes, dates, enums."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        joined = ";".join(str(v) for v in value)
        return joined or None
    if isinstance(value, str):  # StrEnum members included
        return str(value)
    return value
