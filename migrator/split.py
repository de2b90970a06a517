"""Split a migration file into statements.

Survives string literals with semicolons, quoted identifiers, comments, PostgreSQL
dollar-quoted bodies (``$$ ... $$``, ``$fn$ ... $fn$``) and ``BEGIN ATOMIC`` bodies,
and MySQL/SQLite compound statements (``CREATE TRIGGER/PROCEDURE/FUNCTION/EVENT ...
BEGIN ... END``) written without ``DELIMITER``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from migrator.dialects import sql_family

_COMMON = r"""
  (?P<line>--[^\n]*)
| (?P<block>/\*.*?(?:\*/|\Z))
| (?P<semi>;)
| (?P<word>\b(?:BEGIN|END|CASE)\b)
"""
_STRINGS = {
    "postgres": r"""
| (?P<estr>[Ee]'(?:[^'\\]|''|\\.)*(?:'|\Z))
| (?P<str>'(?:[^']|'')*(?:'|\Z))
| (?P<ident>"(?:[^"]|"")*(?:"|\Z))
| (?P<dollar>(?<![A-Za-z0-9_$])\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)
""",
    "mysql": r"""
| (?P<hash>\#[^\n]*)
| (?P<str>'(?:[^'\\]|''|\\.)*(?:'|\Z))
| (?P<dq>"(?:[^"\\]|""|\\.)*(?:"|\Z))
| (?P<bt>`(?:[^`]|``)*(?:`|\Z))
""",
    "sqlite": r"""
| (?P<str>'(?:[^']|'')*(?:'|\Z))
| (?P<ident>"(?:[^"]|"")*(?:"|\Z))
| (?P<bt>`(?:[^`]|``)*(?:`|\Z))
| (?P<br>\[[^\]]*(?:\]|\Z))
""",
}
_FLAGS = re.VERBOSE | re.IGNORECASE | re.DOTALL
_TOKENS = {d: re.compile(_COMMON + s, _FLAGS) for d, s in _STRINGS.items()}
_LEADING = {
    "postgres": re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL),
    "mysql": re.compile(r"(?:\s+|--[^\n]*|\#[^\n]*|/\*.*?\*/)*", re.DOTALL),
}
_LEADING["sqlite"] = _LEADING["postgres"]
_COMPOUND = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:TEMP(?:ORARY)?\s+)?"
    r"(?:AGGREGATE\s+)?(?:TRIGGER|PROCEDURE|FUNCTION|EVENT)\b",
    re.IGNORECASE,
)
_NEXT_WORD = re.compile(r"\s*([A-Za-z_]+)")
_CLOSERS = {"IF", "LOOP", "WHILE", "REPEAT", "CASE"}


@dataclass(frozen=True)
class Statement:
    """One statement: ``sql`` without its terminating semicolon, ``line`` (1-based) of its
    first token, ``comments`` between the previous statement and this one."""

    sql: str
    line: int
    comments: str


class _Splitter:
    def __init__(self, text: str, dialect: str):
        self.text = text
        self.dialect = sql_family(dialect)
        self.tokens = _TOKENS[self.dialect]
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.out: list[Statement] = []

    def line_of(self, pos: int) -> int:
        return bisect_right(self.newlines, pos - 1) + 1

    def emit(self, start: int, end: int) -> None:
        code = _LEADING[self.dialect].match(self.text, start, end).end()
        sql = self.text[code:end].strip()
        if sql:
            self.out.append(Statement(sql, self.line_of(code), self.text[start:code].strip()))

    def opens_block(self, start: int, pos: int, end: int) -> bool:
        """A BEGIN at ``pos`` opens a compound body (not a transaction BEGIN)."""
        head = self.text[_LEADING[self.dialect].match(self.text, start).end():pos]
        nxt = _NEXT_WORD.match(self.text, end)
        following = nxt.group(1).upper() if nxt else ""
        if self.dialect == "postgres":
            return following == "ATOMIC"
        if not head.strip():
            return following == "NOT"  # MariaDB: BEGIN NOT ATOMIC ... END
        return bool(_COMPOUND.match(head))

    def run(self) -> list[Statement]:
        text, start, pos, depth = self.text, 0, 0, 0
        while True:
            m = self.tokens.search(text, pos)
            if m is None:
                break
            kind, pos = m.lastgroup, m.end()
            if kind == "dollar":
                close = text.find(m.group(0), pos)
                pos = len(text) if close < 0 else close + len(m.group(0))
            elif kind == "semi" and depth == 0:
                self.emit(start, m.start())
                start = pos
            elif kind == "word":
                depth = self.track_block(m, start, depth)
                if m.group(0).upper() == "END":
                    pos = self.skip_closer(pos)
        self.emit(start, len(text))
        return self.out

    def track_block(self, m: re.Match, start: int, depth: int) -> int:
        word = m.group(0).upper()
        if word == "BEGIN":
            if depth or self.opens_block(start, m.start(), m.end()):
                return depth + 1
            return depth
        if not depth:
            return 0
        if word == "CASE":
            return depth + 1
        nxt = _NEXT_WORD.match(self.text, m.end())
        if nxt and nxt.group(1).upper() in _CLOSERS - {"CASE"}:
            return depth  # END IF / END LOOP / END WHILE / END REPEAT
        return depth - 1

    def skip_closer(self, pos: int) -> int:
        """After END, step over IF/LOOP/WHILE/REPEAT/CASE so CASE is not counted as an opener."""
        nxt = _NEXT_WORD.match(self.text, pos)
        if nxt and nxt.group(1).upper() in _CLOSERS:
            return nxt.end()
        return pos


def split(text: str, dialect: str) -> list[Statement]:
    """Return the statements of ``text`` for ``dialect`` (postgres, mysql, sqlite, cockroach)."""
    return _Splitter(text, dialect).run()
