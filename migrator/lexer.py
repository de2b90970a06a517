"""The SQL lexer: migration text cut into tokens, for the splitter, the catalog's reading of
what a migration names, the lint rules and the backfill declarations.

Three families of SQL are told apart (cockroach speaks postgres): they differ in how they
quote strings and identifiers and write comments. Every character of the text belongs to
exactly one token, so the tokens' texts put together give the text back.

- PostgreSQL: ``'...'`` and ``E'...'`` strings, ``"..."`` identifiers, dollar-quoted strings
  (``$$ ... $$``, ``$fn$ ... $fn$``), ``--`` and ``/* */`` comments;
- MySQL/MariaDB: ``'...'`` and ``"..."`` strings with backslash escapes, backquoted
  identifiers, ``#`` comments too;
- SQLite: ``'...'`` strings, ``"..."``, backquoted and ``[...]`` identifiers.

A string, identifier or comment left open runs to the end of the text.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from typing import NamedTuple


class Kind(enum.Enum):
    """What a token is; the name is its group's name in the patterns below."""

    SPACE = "space"
    COMMENT = "comment"
    STRING = "string"  # a string literal, quotes (and an E prefix) included
    DOLLAR = "dollar"  # a PostgreSQL dollar-quoted string, both tags included
    QUOTED = "quoted"  # a quoted identifier, quotes included
    WORD = "word"  # a keyword or a bare identifier
    NUMBER = "number"
    PUNCT = "punct"  # any other single character: ; , . ( ) : = ...


NOT_CODE = frozenset({Kind.SPACE, Kind.COMMENT})

_SPACE = r"(?P<SPACE>\s+)"
_COMMENT = r"(?P<COMMENT>--[^\n]*|/\*.*?(?:\*/|\Z))"
_WORD = r"(?P<WORD>[^\W\d][\w$]*)"
_NUMBER = r"(?P<NUMBER>(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?)"
_PUNCT = r"(?P<PUNCT>.)"

_FAMILIES = {
    "postgres": [
        _SPACE, _COMMENT,
        r"(?P<STRING>[Ee]'(?:[^'\\]|''|\\.)*(?:'|\Z)|'(?:[^']|'')*(?:'|\Z))",
        r'(?P<QUOTED>"(?:[^"]|"")*(?:"|\Z))',
        r"(?P<DOLLAR>\$(?:[^\W\d]\w*)?\$)",
        _WORD, _NUMBER, _PUNCT,
    ],
    "mysql": [
        _SPACE, r"(?P<COMMENT>--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))",
        r"""(?P<STRING>'(?:[^'\\]|''|\\.)*(?:'|\Z)|"(?:[^"\\]|""|\\.)*(?:"|\Z))""",
        r"(?P<QUOTED>`(?:[^`]|``)*(?:`|\Z))",
        _WORD, _NUMBER, _PUNCT,
    ],
    "sqlite": [
        _SPACE, _COMMENT,
        r"(?P<STRING>'(?:[^']|'')*(?:'|\Z))",
        r'(?P<QUOTED>"(?:[^"]|"")*(?:"|\Z)|`(?:[^`]|``)*(?:`|\Z)|\[[^\]]*(?:\]|\Z))',
        _WORD, _NUMBER, _PUNCT,
    ],
}
_PATTERNS = {family: re.compile("|".join(parts), re.DOTALL) for family, parts in _FAMILIES.items()}

# One identifier, quoted in any family's way or bare, for patterns over a statement's code.
NAME = r'(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`|\[[^\]]+\]|[^\W\d][\w$]*)'


class Token(NamedTuple):
    kind: Kind
    text: str
    start: int  # offset of the token in the text

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def is_word(self, *words: str) -> bool:
        """A bare word, one of ``words`` (given in upper case) when any are given."""
        return self.kind == Kind.WORD and (not words or self.text.upper() in words)


def tokens(text: str, family: str) -> Iterator[Token]:
    """The tokens of ``text`` in the SQL of ``family`` (postgres, mysql or sqlite)."""
    pattern, pos = _PATTERNS[family], 0
    while (m := pattern.match(text, pos)) is not None:
        kind, end = Kind[m.lastgroup], m.end()
        if kind == Kind.DOLLAR:
            try:
                end = text.index(m.group(), end) + len(m.group())
            except ValueError:  # left open: it runs to the end
                end = len(text)
        yield Token(kind, text[pos:end], pos)
        pos = end


def code(text: str, family: str) -> list[Token]:
    """The tokens of ``text`` without whitespace and comments."""
    return [t for t in tokens(text, family) if t.kind not in NOT_CODE]


def dollar_body(token: Token) -> str:
    """What a dollar-quoted string holds, between its tags."""
    tag = token.text[:token.text.index("$", 1) + 1]
    return token.text[len(tag):].removesuffix(tag)


_CLOSING = {'"': '"', "`": "`", "[": "]"}


def unquote(name: str, fold: bool = True) -> str:
    """An identifier as the database knows it (quotes removed, doubled quotes undone),
    lower-cased unless ``fold`` is false."""
    closing = _CLOSING.get(name[:1])
    if closing is not None:
        name = name[1:].removesuffix(closing).replace(closing * 2, closing)
    return name.lower() if fold else name


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def mask(text: str, family: str, bodies: bool = False) -> str:
    """``text`` with comments, the insides of string literals and dollar-quoted strings
    blanked to spaces: same length, newlines kept, so that a keyword pattern never matches
    inside a literal and an offset still points at its line. With ``bodies`` the code of a
    dollar-quoted body is kept (masked in turn): a DO block's or a routine's statements."""
    out = []
    for t in tokens(text, family):
        if t.kind == Kind.COMMENT:
            out.append(_blank(t.text))
        elif t.kind == Kind.STRING:
            out.append(t.text[0] + _blank(t.text[1:-1]) + t.text[-1] if len(t.text) > 1 else " ")
        elif t.kind == Kind.DOLLAR and bodies:
            tag = t.text.index("$", 1) + 1
            body = dollar_body(t)
            out.append(" " * tag + mask(body, family, bodies) + " " * (len(t.text) - tag - len(body)))
        elif t.kind == Kind.DOLLAR:
            out.append(_blank(t.text))
        else:
            out.append(t.text)
    return "".join(out)
