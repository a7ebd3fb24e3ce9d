"""The mapping's ``where`` for HubSpot: a small filter language, evaluated on the records read.

HubSpot has no query language, and most evidence is read by id (batch read after associations), so a
source's extra condition is checked here on each record instead of being sent: conditions joined by
``AND``, each ``property = value``, ``property != value``, ``property IN (a, b)`` or
``property NOT IN (a, b)``; values bare or in single quotes. Comparison ignores case, as HubSpot search
does for text. A record without a value fails ``=``/``IN`` and passes ``!=``/``NOT IN`` (HubSpot's
``NEQ`` matches records without the property too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_CLAUSE = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?:(?P<op>!=|=)\s*(?P<value>'[^']*'|[^\s']+)|(?P<in>NOT\s+IN|IN)\s*\((?P<values>[^)]*)\))\s*$",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


@dataclass(frozen=True)
class Clause:
    name: str
    values: frozenset[str]
    """Case-folded."""
    negated: bool

    def matches(self, row: Mapping[str, Any]) -> bool:
        value = row.get(self.name)
        present = value is not None and str(value) != ""
        inside = present and str(value).casefold() in self.values
        return not inside if self.negated else inside


@dataclass(frozen=True)
class Where:
    text: str
    clauses: tuple[Clause, ...]

    @property
    def properties(self) -> list[str]:
        return list(dict.fromkeys(c.name for c in self.clauses))

    def matches(self, row: Mapping[str, Any]) -> bool:
        return all(c.matches(row) for c in self.clauses)


class WhereSyntaxError(ValueError):
    pass


def parse_where(text: str) -> Where:
    """The parsed condition; :class:`WhereSyntaxError` naming the clause HubSpot's reading cannot take."""
    clauses: list[Clause] = []
    for part in _AND.split(text.strip()):
        match = _CLAUSE.match(part)
        if match is None:
            raise WhereSyntaxError(
                f"cannot read {part.strip()!r}: use property = value, != value, IN (a, b) or NOT IN (a, b), "
                "joined by AND"
            )
        if match["op"]:
            values = [_unquote(match["value"])]
            negated = match["op"] == "!="
        else:
            values = [_unquote(v) for v in match["values"].split(",") if v.strip()]
            negated = match["in"].upper().startswith("NOT")
            if not values:
                raise WhereSyntaxError(f"cannot read {part.strip()!r}: IN needs at least one value")
        clauses.append(Clause(match["name"], frozenset(v.casefold() for v in values), negated))
    return Where(text, tuple(clauses))
