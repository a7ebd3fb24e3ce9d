"""Building SOQL: field lists, ``WHERE`` clauses, quoted ``IN`` chunks and datetime literals.

Object and field names come from the mapping (trusted configuration); every value that comes from
data — record ids above all — is quoted with ``simple_salesforce.format_soql``. REST sends the query
in the URL: Salesforce caps URI + headers at 16,384 bytes (the SOQL statement itself at 100,000
characters), so ``IN`` lists are cut to keep the URL-encoded query under :data:`MAX_ENCODED_QUERY`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from urllib.parse import quote_plus

from simple_salesforce.format import format_soql

MAX_ENCODED_QUERY = 12_000
"""URL-encoded query length per request, leaving room for the path and headers (about 430 Ids)."""

MODSTAMP = "SystemModstamp"
"""Set by every change to a record, a user's or an automated one (Object Reference, "System Fields"):
the stamp change queries filter on and a write compares with the one it read."""

_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def is_record_id(value: str) -> bool:
    """A well-formed 15- or 18-character Salesforce Id (anything else can only match nothing)."""
    return bool(_RECORD_ID.match(value))


def unique_fields(names: Iterable[str]) -> list[str]:
    """Field names once each, case-insensitively (SOQL rejects a field selected twice)."""
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def select(
    sobject: str, fields: Iterable[str], conditions: Sequence[str | None] = (), order_by: str | None = None
) -> str:
    """``SELECT … FROM … [WHERE (a) AND (b)] [ORDER BY …]``; each condition is parenthesised so that a
    mapping's ``where`` with ``OR`` cannot widen the others."""
    soql = f"SELECT {', '.join(unique_fields(fields))} FROM {sobject}"
    parts = [c for c in conditions if c]
    if parts:
        soql += " WHERE " + " AND ".join(f"({c})" for c in parts)
    if order_by:
        soql += f" ORDER BY {order_by}"
    return soql


def in_list(field: str, values: Sequence[str]) -> str:
    return f"{field} IN " + format_soql("{}", list(values))


def chunked(
    build: Callable[[Sequence[str]], str], values: Sequence[str], budget: int = MAX_ENCODED_QUERY
) -> Iterator[tuple[list[str], str]]:
    """``(chunk, soql)`` pairs covering ``values`` in order, each query's encoded length within ``budget``
    (at least one value per chunk, however long the rest of the query is)."""
    if not values:
        return
    base = len(quote_plus(build(["x"])))  # the query around one minimal quoted value
    chunk: list[str] = []
    size = base
    for value in values:
        cost = len(quote_plus(format_soql("{}", value))) + len(quote_plus(","))
        if chunk and size + cost > budget:
            yield chunk, build(chunk)
            chunk, size = [], base
        chunk.append(value)
        size += cost
    yield chunk, build(chunk)


def datetime_literal(moment: dt.datetime) -> str:
    """A SOQL dateTime literal in UTC, floored to the second (naive means UTC); floors so that
    ``>=`` never misses a record stamped in the same second."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
