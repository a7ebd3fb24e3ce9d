"""A SOQL subset: a tokenizer and a recursive-descent parser producing a small AST.

Supported: ``SELECT`` fields (with parent relationship paths) or ``COUNT()``, ``FROM`` one object,
``WHERE`` with ``= != <> < > <= >= IN / NOT IN / LIKE`` joined by ``AND`` / ``OR`` (not mixed
without parentheses, as in SOQL) and ``NOT``; literals: strings with the escapes
``simple_salesforce.format_soql`` produces, numbers, ``true/false/null``, dates, datetimes, and the date
literals ``TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n, N_DAYS_AGO:n``; ``ORDER BY`` with
``ASC/DESC`` and ``NULLS FIRST/LAST``; ``LIMIT``; ``OFFSET``. Anything else is a ``MALFORMED_QUERY``
error pointing at the token, never a silently different query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from .errors import ApiError, malformed_query
from .values import parse_datetime


class Tok(StrEnum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    OP = "operator"
    PUNCT = "punctuation"
    EOF = "end of query"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    text: str
    """Source text (upper-cased comparisons are done by the parser)."""
    pos: int
    value: object = None
    """Decoded value: str for strings, float|int for numbers, date/datetime for date literals."""
    escaped_wildcards: frozenset[int] = frozenset()
    """Indexes in a decoded string where ``%``/``_`` were written escaped (literal in LIKE)."""


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_UNSUPPORTED_CLAUSES = {
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WITH": "WITH",
    "FOR": "FOR VIEW/REFERENCE/UPDATE",
    "USING": "USING SCOPE",
    "TYPEOF": "TYPEOF",
    "INCLUDES": "INCLUDES",
    "EXCLUDES": "EXCLUDES",
}
DATE_KEYWORDS = frozenset({"TODAY", "YESTERDAY", "TOMORROW"})
N_DATE_KEYWORDS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"})
_OTHER_DATE_LITERALS = frozenset(
    {
        "LAST_WEEK",
        "THIS_WEEK",
        "NEXT_WEEK",
        "LAST_MONTH",
        "THIS_MONTH",
        "NEXT_MONTH",
        "LAST_90_DAYS",
        "NEXT_90_DAYS",
        "THIS_QUARTER",
        "LAST_QUARTER",
        "NEXT_QUARTER",
        "THIS_YEAR",
        "LAST_YEAR",
        "NEXT_YEAR",
        "LAST_N_WEEKS",
        "NEXT_N_WEEKS",
        "LAST_N_MONTHS",
        "NEXT_N_MONTHS",
        "LAST_N_YEARS",
        "NEXT_N_YEARS",
    }
)


def _error_at(source: str, pos: int, message: str) -> ApiError:
    """The API's MALFORMED_QUERY shape: the query, a caret, ``ERROR at Row:1:Column:N`` and the reason."""
    return malformed_query(f"\n{source}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{message}")


class Lexer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            token = self._next()
            out.append(token)
            if token.kind is Tok.EOF:
                return out

    def _peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.source[index] if index < len(self.source) else ""

    def _next(self) -> Token:
        src = self.source
        while self.pos < len(src) and src[self.pos].isspace():
            self.pos += 1
        start = self.pos
        if start >= len(src):
            return Token(Tok.EOF, "", start)
        char = src[start]
        if char.isalpha() or char == "_":
            while self._peek().isalnum() or self._peek() == "_":
                self.pos += 1
            return Token(Tok.IDENT, src[start : self.pos], start)
        if char == "'":
            return self._string()
        if char.isdigit() or (char in "+-" and self._peek(1).isdigit()):
            return self._number_or_date()
        for op in ("!=", "<>", "<=", ">=", "=", "<", ">"):
            if src.startswith(op, start):
                self.pos += len(op)
                return Token(Tok.OP, "!=" if op == "<>" else op, start)
        if char in "(),.:":
            self.pos += 1
            return Token(Tok.PUNCT, char, start)
        raise _error_at(src, start, f"unexpected token: {char!r}")

    def _string(self) -> Token:
        src = self.source
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        escaped: set[int] = set()
        while True:
            if self.pos >= len(src):
                raise _error_at(src, start, "unterminated string literal")
            char = src[self.pos]
            if char == "'":
                self.pos += 1
                break
            if char == "\\":
                nxt = self._peek(1)
                if nxt in _ESCAPES:
                    chars.append(_ESCAPES[nxt])
                    self.pos += 2
                elif nxt in "%_":
                    escaped.add(len(chars))
                    chars.append(nxt)
                    self.pos += 2
                elif nxt == "u" and all(
                    c in "0123456789abcdefABCDEF" for c in src[self.pos + 2 : self.pos + 6]
                ):
                    chars.append(chr(int(src[self.pos + 2 : self.pos + 6], 16)))
                    self.pos += 6
                else:
                    raise _error_at(src, self.pos, f"Invalid string literal: invalid escape sequence \\{nxt}")
                continue
            chars.append(char)
            self.pos += 1
        return Token(Tok.STRING, src[start : self.pos], start, "".join(chars), frozenset(escaped))

    def _number_or_date(self) -> Token:
        src = self.source
        start = self.pos
        self.pos += 1
        while self._peek().isdigit():
            self.pos += 1
        digits = src[start : self.pos]
        if len(digits) == 4 and digits.isdigit() and self._peek() == "-":
            return self._date(start)
        if self._peek() == "." and self._peek(1).isdigit():
            self.pos += 1
            while self._peek().isdigit():
                self.pos += 1
            text = src[start : self.pos]
            return Token(Tok.NUMBER, text, start, float(text))
        return Token(Tok.NUMBER, digits, start, int(digits))

    def _date(self, start: int) -> Token:
        src = self.source
        end = start + 10
        date_text = src[start:end]
        try:
            day = dt.date.fromisoformat(date_text)
        except ValueError:
            raise _error_at(src, start, f"invalid date: {date_text}") from None
        self.pos = end
        if self._peek() != "T":
            return Token(Tok.DATE, date_text, start, day)
        self.pos += 1
        while self._peek() and (self._peek().isdigit() or self._peek() in ":.+-Zz"):
            self.pos += 1
        text = src[start : self.pos]
        time_part = text[11:]
        has_zone = time_part.endswith(("Z", "z")) or "+" in time_part or "-" in time_part
        parsed = parse_datetime(text) if has_zone else None
        if parsed is None:
            raise _error_at(src, start, f"invalid datetime (needs a time zone, e.g. Z): {text}")
        return Token(Tok.DATETIME, text, start, parsed)


# -- AST -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRef:
    path: tuple[str, ...]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Literal:
    kind: str
    """``string``, ``number``, ``boolean``, ``null``, ``date``, ``datetime`` or ``date_literal``."""
    value: object
    pos: int
    text: str
    escaped_wildcards: frozenset[int] = frozenset()
    n: int = 0
    """The ``n`` of ``LAST_N_DAYS:n`` and friends."""


@dataclass(frozen=True, slots=True)
class Comparison:
    field: FieldRef
    op: str
    """One of ``= != < <= > >= LIKE IN NOT IN``."""
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Condition


@dataclass(frozen=True, slots=True)
class Junction:
    op: str
    """``AND`` or ``OR``."""
    operands: tuple[Condition, ...]


Condition = Comparison | Not | Junction


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: FieldRef
    descending: bool
    nulls_first: bool


@dataclass(frozen=True, slots=True)
class Query:
    source: str
    fields: tuple[FieldRef, ...]
    count: bool
    sobject: str
    sobject_pos: int
    where: Condition | None
    order_by: tuple[OrderKey, ...]
    limit: int | None
    offset: int | None


class Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = Lexer(source).tokens()
        self.index = 0

    # -- token helpers --------------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def _advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Tok.EOF:
            self.index += 1
        return token

    def _is_keyword(self, word: str, offset: int = 0) -> bool:
        token = self.tokens[min(self.index + offset, len(self.tokens) - 1)]
        return token.kind is Tok.IDENT and token.text.upper() == word

    def _is_punct(self, char: str) -> bool:
        return self.current.kind is Tok.PUNCT and self.current.text == char

    def _unexpected(self, token: Token | None = None, hint: str = "") -> ApiError:
        token = token or self.current
        shown = token.text or "<EOF>"
        return _error_at(self.source, token.pos, f"unexpected token: {shown}{hint}")

    def _expect_keyword(self, word: str) -> Token:
        if not self._is_keyword(word):
            raise self._unexpected()
        return self._advance()

    def _expect_punct(self, char: str) -> Token:
        if not self._is_punct(char):
            raise self._unexpected()
        return self._advance()

    # -- grammar --------------------------------------------------------------------------------
    def parse(self) -> Query:
        self._expect_keyword("SELECT")
        fields, count = self._select_list()
        self._expect_keyword("FROM")
        if self.current.kind is not Tok.IDENT:
            raise self._unexpected()
        sobject_token = self._advance()
        if self.current.kind is Tok.IDENT and self.current.text.upper() not in (
            "WHERE",
            "ORDER",
            "LIMIT",
            "OFFSET",
            *_UNSUPPORTED_CLAUSES,
        ):
            raise self._unexpected(hint=" (object aliases are not emulated by the tiersync sandbox)")
        where = None
        if self._is_keyword("WHERE"):
            self._advance()
            where = self._condition()
        order_by: tuple[OrderKey, ...] = ()
        if self._is_keyword("ORDER"):
            self._advance()
            self._expect_keyword("BY")
            order_by = self._order_list()
        limit = offset = None
        if self._is_keyword("LIMIT"):
            self._advance()
            limit = self._integer()
        if self._is_keyword("OFFSET"):
            self._advance()
            offset = self._integer()
            if offset > 2000:
                raise ApiError(400, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        trailing = self.tokens[self.index]
        if trailing.kind is not Tok.EOF:
            clause = _UNSUPPORTED_CLAUSES.get(trailing.text.upper())
            hint = f" ({clause} is not emulated by the tiersync sandbox)" if clause else ""
            raise self._unexpected(trailing, hint=hint)
        return Query(
            self.source, fields, count, sobject_token.text, sobject_token.pos, where, order_by, limit, offset
        )

    def _select_list(self) -> tuple[tuple[FieldRef, ...], bool]:
        if self._is_keyword("COUNT") and self.tokens[self.index + 1].text == "(":
            start = self.current
            self._advance()
            self._advance()
            if not self._is_punct(")"):
                raise _error_at(
                    self.source, start.pos, "COUNT(field) aggregates are not emulated by the tiersync sandbox"
                )
            self._advance()
            return (), True
        fields = [self._select_item()]
        while self._is_punct(","):
            self._advance()
            fields.append(self._select_item())
        return tuple(fields), False

    def _select_item(self) -> FieldRef:
        if self._is_punct("("):
            raise self._unexpected(hint=" (subqueries are not emulated by the tiersync sandbox)")
        if self.current.kind is Tok.IDENT and self.tokens[self.index + 1].text == "(":
            raise _error_at(
                self.source,
                self.current.pos,
                f"function {self.current.text}() is not emulated by the tiersync sandbox",
            )
        return self._field_ref()

    def _field_ref(self) -> FieldRef:
        if self.current.kind is not Tok.IDENT:
            raise self._unexpected()
        first = self._advance()
        path = [first.text]
        while self._is_punct("."):
            self._advance()
            if self.current.kind is not Tok.IDENT:
                raise self._unexpected()
            path.append(self._advance().text)
        return FieldRef(tuple(path), first.pos)

    def _condition(self) -> Condition:
        operands = [self._unary()]
        joiner: str | None = None
        while self._is_keyword("AND") or self._is_keyword("OR"):
            word = self.current.text.upper()
            if joiner is not None and word != joiner:
                raise self._unexpected(hint=" (mixing AND and OR needs parentheses in SOQL)")
            joiner = word
            self._advance()
            operands.append(self._unary())
        if joiner is None:
            return operands[0]
        return Junction(joiner, tuple(operands))

    def _unary(self) -> Condition:
        if self._is_keyword("NOT"):
            self._advance()
            return Not(self._unary())
        if self._is_punct("("):
            self._advance()
            inner = self._condition()
            self._expect_punct(")")
            return inner
        return self._comparison()

    def _comparison(self) -> Comparison:
        field = self._field_ref()
        token = self.current
        if token.kind is Tok.OP:
            self._advance()
            return Comparison(field, token.text, self._literal())
        if self._is_keyword("LIKE"):
            self._advance()
            return Comparison(field, "LIKE", self._literal())
        if self._is_keyword("IN"):
            self._advance()
            return Comparison(field, "IN", self._literal_list())
        if self._is_keyword("NOT") and self._is_keyword("IN", 1):
            self._advance()
            self._advance()
            return Comparison(field, "NOT IN", self._literal_list())
        clause = _UNSUPPORTED_CLAUSES.get(token.text.upper())
        raise self._unexpected(hint=f" ({clause} is not emulated by the tiersync sandbox)" if clause else "")

    def _literal_list(self) -> tuple[Literal, ...]:
        self._expect_punct("(")
        if self._is_keyword("SELECT"):
            raise self._unexpected(hint=" (semi-join subqueries are not emulated by the tiersync sandbox)")
        values = [self._literal()]
        while self._is_punct(","):
            self._advance()
            values.append(self._literal())
        self._expect_punct(")")
        return tuple(values)

    def _literal(self) -> Literal:
        token = self.current
        if token.kind is Tok.STRING:
            self._advance()
            return Literal("string", token.value, token.pos, token.text, token.escaped_wildcards)
        if token.kind is Tok.NUMBER:
            self._advance()
            return Literal("number", token.value, token.pos, token.text)
        if token.kind is Tok.DATE:
            self._advance()
            return Literal("date", token.value, token.pos, token.text)
        if token.kind is Tok.DATETIME:
            self._advance()
            return Literal("datetime", token.value, token.pos, token.text)
        if token.kind is Tok.IDENT:
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                self._advance()
                return Literal("boolean", word == "TRUE", token.pos, token.text)
            if word == "NULL":
                self._advance()
                return Literal("null", None, token.pos, token.text)
            if word in DATE_KEYWORDS:
                self._advance()
                return Literal("date_literal", word, token.pos, token.text)
            if word in N_DATE_KEYWORDS:
                self._advance()
                self._expect_punct(":")
                n = self._integer()
                return Literal("date_literal", word, token.pos, f"{token.text}:{n}", n=n)
            if word in _OTHER_DATE_LITERALS:
                raise _error_at(
                    self.source, token.pos, f"date literal {word} is not emulated by the tiersync sandbox"
                )
        raise self._unexpected()

    def _order_list(self) -> tuple[OrderKey, ...]:
        keys = [self._order_key()]
        while self._is_punct(","):
            self._advance()
            keys.append(self._order_key())
        return tuple(keys)

    def _order_key(self) -> OrderKey:
        field = self._field_ref()
        descending = False
        if self._is_keyword("ASC") or self._is_keyword("DESC"):
            descending = self._advance().text.upper() == "DESC"
        nulls_first = not descending
        if self._is_keyword("NULLS"):
            self._advance()
            if self._is_keyword("FIRST") or self._is_keyword("LAST"):
                nulls_first = self._advance().text.upper() == "FIRST"
            else:
                raise self._unexpected()
        return OrderKey(field, descending, nulls_first)

    def _integer(self) -> int:
        token = self.current
        if token.kind is not Tok.NUMBER or not isinstance(token.value, int) or token.value < 0:
            raise self._unexpected()
        self._advance()
        return token.value


def parse(source: str) -> Query:
    """Parse one SOQL statement; raises :class:`ApiError` (MALFORMED_QUERY) on anything outside the subset."""
    if not source.strip():
        raise malformed_query("empty query")
    return Parser(source).parse()
