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

from migrator import lexer
from migrator.lexer import Kind
from migrator.dialects import sql_family

_COMPOUND = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:TEMP(?:ORARY)?\s+)?"
    r"(?:AGGREGATE\s+)?(?:TRIGGER|PROCEDURE|FUNCTION|EVENT)\b",
    re.IGNORECASE,
)
_CLOSERS = {"IF", "LOOP", "WHILE", "REPEAT", "CASE"}


def _before_code(token: lexer.Token) -> bool:
    """Whitespace or a comment that ends: what may stand before a statement's code. A block
    comment left open is code, sent for the database to report."""
    if token.kind == Kind.COMMENT and token.text.startswith("/*"):
        return len(token.text) >= 4 and token.text.endswith("*/")
    return token.kind in lexer.NOT_CODE


@dataclass(frozen=True)
class Statement:
    """One statement: ``sql`` without its terminating semicolon, ``line`` (1-based) of its
    first token, ``comments`` between the previous statement and this one, ``family`` the
    SQL it is written in (postgres, mysql or sqlite)."""

    sql: str
    line: int
    comments: str
    family: str


class _Splitter:
    def __init__(self, text: str, dialect: str):
        self.text = text
        self.family = sql_family(dialect)
        self.tokens = list(lexer.tokens(text, self.family))
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.out: list[Statement] = []

    def line_of(self, pos: int) -> int:
        return bisect_right(self.newlines, pos - 1) + 1

    def emit(self, start: int, code: int | None, end: int) -> None:
        """The statement from offset ``start`` to ``end`` whose first code token is at ``code``."""
        if code is not None:
            sql = self.text[code:end].strip()
            self.out.append(Statement(sql, self.line_of(code), self.text[start:code].strip(), self.family))

    def next_word(self, i: int) -> str:
        """The word after token ``i`` (past whitespace), upper-cased; "" when a word does not follow."""
        for token in self.tokens[i + 1:]:
            if token.kind != Kind.SPACE:
                return token.text.upper() if token.kind == Kind.WORD else ""
        return ""

    def opens_block(self, code: int, i: int) -> bool:
        """The BEGIN at token ``i`` opens a compound body (not a transaction BEGIN)."""
        following = self.next_word(i)
        if self.family == "postgres":
            return following == "ATOMIC"
        head = self.text[code:self.tokens[i].start]
        if not head:
            return following == "NOT"  # MariaDB: BEGIN NOT ATOMIC ... END
        return bool(_COMPOUND.match(head))

    def run(self) -> list[Statement]:
        start, code, depth, skip = 0, None, 0, False
        for i, token in enumerate(self.tokens):
            if token.kind in lexer.NOT_CODE and (code is not None or _before_code(token)):
                continue
            if token.text == ";" and depth == 0:
                self.emit(start, code, token.start)
                start, code = token.end, None
                continue
            if code is None:
                code = token.start
            if skip:  # the IF of END IF: no opener
                skip = False
            elif token.is_word("BEGIN", "END", "CASE"):
                depth = self.track_block(token.text.upper(), code, i, depth)
                skip = token.is_word("END") and self.next_word(i) in _CLOSERS
        self.emit(start, code, len(self.text))
        return self.out

    def track_block(self, word: str, code: int, i: int, depth: int) -> int:
        if word == "BEGIN":
            if depth or self.opens_block(code, i):
                return depth + 1
            return depth
        if not depth:
            return 0
        if word == "CASE":
            return depth + 1
        if self.next_word(i) in _CLOSERS - {"CASE"}:
            return depth  # END IF / END LOOP / END WHILE / END REPEAT
        return depth - 1


def split(text: str, dialect: str) -> list[Statement]:
    """Return the statements of ``text`` for ``dialect`` (postgres, mysql, sqlite, cockroach)."""
    return _Splitter(text, dialect).run()
