"""Field values in and out: the JSON/CSV value a client sends -> the stored value, and timestamp formats.

Stored values are already in the REST API's JSON shape (dates ``YYYY-MM-DD``, datetimes
``2026-11-26T06:50:00.000+0000`` in UTC, numbers, booleans), so reads need no conversion and
datetime strings compare correctly as text.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from . import ids
from .errors import RecordError
from .schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, FieldType

SKIP = object()
"""A Bulk CSV cell that leaves the field as it is (an empty cell; ``#N/A`` clears it)."""


def format_datetime(value: dt.datetime) -> str:
    """``2026-11-26T06:50:00.000+0000``: the REST API's datetime shape, always UTC."""
    utc = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def csv_datetime(stored: str) -> str:
    """Bulk API CSV shows datetimes with a ``Z``: ``2026-11-26T06:50:00.000Z``."""
    return stored[:-5] + "Z" if stored.endswith("+0000") else stored


def parse_datetime(text: str) -> dt.datetime | None:
    """ISO 8601 with ``Z``, ``+hh:mm`` or ``+hhmm`` offsets and optional fractions; naive means UTC."""
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    if len(candidate) >= 5 and candidate[-5] in "+-" and candidate[-4:].isdigit() and "T" in candidate:
        candidate = candidate[:-2] + ":" + candidate[-2:]
    try:
        parsed = dt.datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if "T" not in candidate and " " not in candidate:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_date(text: str) -> dt.date | None:
    if len(text) != 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _bad_value(fd: FieldDef, value: Any, expected: str) -> RecordError:
    return RecordError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {expected} from {type(value).__name__} value {value!r} "
        f"or request may be missing a required field",
        [fd.name],
    )


def coerce(fd: FieldDef, value: Any, *, exists: Any = None) -> Any:
    """Check ``value`` against the field's type and restrictions; return what to store.

    ``exists`` tells whether a reference target is live (``exists(object_names, id) -> bool``).
    """
    if value is None:
        if fd.type is FieldType.BOOLEAN:
            return False
        return None
    kind = fd.type
    if kind in TEXT_TYPES:
        return _coerce_text(fd, value)
    if kind in NUMBER_TYPES:
        return _coerce_number(fd, value)
    if kind is FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _bad_value(fd, value, "boolean")
    if kind is FieldType.DATE:
        if isinstance(value, str) and parse_date(value) is not None:
            return value
        raise _bad_value(fd, value, "date")
    if kind is FieldType.DATETIME:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise _bad_value(fd, value, "datetime")
        return format_datetime(parsed)
    if kind in (FieldType.REFERENCE, FieldType.ID):
        return _coerce_reference(fd, value, exists)
    if kind is FieldType.COMPLEX:
        return value
    raise _bad_value(fd, value, kind.value)


def _coerce_text(fd: FieldDef, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad_value(fd, value, "String")
    text = value if isinstance(value, str) else str(value)
    if fd.length and len(text) > fd.length:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{fd.label or fd.name}: data value too large: {text[:40]} (max length={fd.length})",
            [fd.name],
        )
    if fd.restricted and fd.type is FieldType.PICKLIST and text not in fd.picklist:
        raise RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{fd.label or fd.name}: bad value for restricted picklist field: {text}",
            [fd.name],
        )
    if fd.restricted and fd.type is FieldType.MULTIPICKLIST:
        for part in text.split(";"):
            if part and part not in fd.picklist:
                raise RecordError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{fd.label or fd.name}: bad value for restricted picklist field: {part}",
                    [fd.name],
                )
    return text


def _coerce_number(fd: FieldDef, value: Any) -> int | float:
    number: float
    if isinstance(value, bool):
        raise _bad_value(fd, value, "double")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _bad_value(fd, value, "double") from None
    else:
        raise _bad_value(fd, value, "double")
    if math.isnan(number) or math.isinf(number):
        raise _bad_value(fd, value, "double")
    if fd.type is FieldType.INT:
        if number != int(number):
            raise _bad_value(fd, value, "int")
        return int(number)
    scale = fd.scale
    rounded = round(number, scale)
    if fd.precision and abs(rounded) >= 10 ** (fd.precision - scale):
        raise RecordError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{fd.label or fd.name}: value outside of valid range on numeric field: {value}",
            [fd.name],
        )
    return rounded


def _coerce_reference(fd: FieldDef, value: Any, exists: Any) -> str:
    normalized = ids.normalize(value) if isinstance(value, str) else None
    if normalized is None:
        raise RecordError(
            "MALFORMED_ID", f"{fd.label or fd.name}: id value of incorrect type: {value}", [fd.name]
        )
    if fd.type is FieldType.REFERENCE and exists is not None and not exists(fd.reference_to, normalized):
        raise RecordError(
            "INVALID_CROSS_REFERENCE_KEY",
            f"{fd.label or fd.name}: id value of incorrect type: {value}",
            [fd.name],
        )
    return normalized


def from_csv(fd: FieldDef, cell: str) -> Any:
    """A Bulk API CSV cell as the JSON value the REST path would receive (SKIP for an empty cell)."""
    if cell == "":
        return SKIP
    if cell == "#N/A":
        return None
    if fd.type is FieldType.BOOLEAN:
        lowered = cell.strip().lower()
        if lowered in ("1", "true", "yes"):
            return True
        if lowered in ("0", "false", "no"):
            return False
        return cell
    if fd.type is FieldType.DATE and "T" in cell:
        parsed = parse_datetime(cell)
        return parsed.date().isoformat() if parsed else cell
    return cell


def to_csv(value: Any, fd: FieldDef | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if fd is not None and fd.type is FieldType.DATETIME and isinstance(value, str):
        return csv_datetime(value)
    if isinstance(value, float) and value.is_integer() and fd is not None and fd.scale == 0:
        return str(int(value))
    return str(value)
