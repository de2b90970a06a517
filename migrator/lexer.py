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

import re
from collections.abc import Iterator
from dataclasses import dataclass

# token kinds
SPACE = "space"
COMMENT = "comment"
STRING = "string"  # a string literal, quotes (and an E prefix) included
DOLLAR = "dollar"  # a PostgreSQL dollar-quoted string, both tags included
QUOTED = "quoted"  # a quoted identifier, quotes included
WORD = "word"  # a keyword or a bare identifier
NUMBER = "number"
PUNCT = "punct"  # any other single character: ; , . ( ) : = ...

NOT_CODE = frozenset({SPACE, COMMENT})

_SPACE = r"(?P<space>\s+)"
_COMMENT = r"(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))"
_WORD = r"(?P<word>[^\W\d][\w$]*)"
_NUMBER = r"(?P<number>(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?)"
_PUNCT = r"(?P<punct>.)"

_FAMILIES = {
    "postgres": [
        _SPACE, _COMMENT,
        r"(?P<string>[Ee]'(?:[^'\\]|''|\\.)*(?:'|\Z)|'(?:[^']|'')*(?:'|\Z))",
        r'(?P<quoted>"(?:[^"]|"")*(?:"|\Z))',
        r"(?P<dollar>\$(?:[^\W\d]\w*)?\$)",
        _WORD, _NUMBER, _PUNCT,
    ],
    "mysql": [
        _SPACE, r"(?P<comment>--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))",
        r"""(?P<string>'(?:[^'\\]|''|\\.)*(?:'|\Z)|"(?:[^"\\]|""|\\.)*(?:"|\Z))""",
        r"(?P<quoted>`(?:[^`]|``)*(?:`|\Z))",
        _WORD, _NUMBER, _PUNCT,
    ],
    "sqlite": [
        _SPACE, _COMMENT,
        r"(?P<string>'(?:[^']|'')*(?:'|\Z))",
        r'(?P<quoted>"(?:[^"]|"")*(?:"|\Z)|`(?:[^`]|``)*(?:`|\Z)|\[[^\]]*(?:\]|\Z))',
        _WORD, _NUMBER, _PUNCT,
    ],
}
_PATTERNS = {family: re.compile("|".join(parts), re.DOTALL) for family, parts in _FAMILIES.items()}

# One identifier, quoted in any family's way or bare, for patterns over a statement's code.
NAME = r'(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`|\[[^\]]+\]|[^\W\d][\w$]*)'


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int  # offset of the token in the text

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def is_word(self, *words: str) -> bool:
        """A bare word, one of ``words`` (given in upper case) when any are given."""
        return self.kind == WORD and (not words or self.text.upper() in words)


def tokens(text: str, family: str) -> Iterator[Token]:
    """The tokens of ``text`` in the SQL of ``family`` (postgres, mysql or sqlite)."""
    pattern, pos = _PATTERNS[family], 0
    while pos < len(text):
        m = pattern.match(text, pos)
        kind, end = m.lastgroup, m.end()
        if kind == DOLLAR:
            close = text.find(m.group(), end)
            end = len(text) if close < 0 else close + len(m.group())
        yield Token(kind, text[pos:end], pos)
        pos = end


def code(text: str, family: str) -> list[Token]:
    """The tokens of ``text`` without whitespace and comments."""
    return [t for t in tokens(text, family) if t.kind not in NOT_CODE]


def dollar_body(token: Token) -> str:
    """What a dollar-quoted string holds, between its tags."""
    tag = token.text[:token.text.index("$", 1) + 1]
    body = token.text[len(tag):]
    return body[:-len(tag)] if body.endswith(tag) and len(body) >= len(tag) else body


def unquote(name: str) -> str:
    """An identifier as the database knows it (quotes removed, doubled quotes undone), lower-cased."""
    if name[:1] in ('"', "`") and len(name) >= 2 and name[-1] == name[0]:
        name = name[1:-1].replace(name[0] * 2, name[0])
    elif name[:1] == "[" and name[-1:] == "]":
        name = name[1:-1]
    return name.lower()


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def mask(text: str, family: str, bodies: bool = False) -> str:
    """``text`` with comments, the insides of string literals and dollar-quoted strings
    blanked to spaces: same length, newlines kept, so that a keyword pattern never matches
    inside a literal and an offset still points at its line. With ``bodies`` the code of a
    dollar-quoted body is kept (masked in turn): a DO block's or a routine's statements."""
    out = []
    for t in tokens(text, family):
        if t.kind == COMMENT:
            out.append(_blank(t.text))
        elif t.kind == STRING and len(t.text) >= 2:
            out.append(t.text[0] + _blank(t.text[1:-1]) + t.text[-1])
        elif t.kind == DOLLAR:
            if bodies:
                body = dollar_body(t)
                tag = t.text.index("$", 1) + 1
                out.append(" " * tag + mask(body, family, bodies) + " " * (len(t.text) - tag - len(body)))
            else:
                out.append(_blank(t.text))
        else:
            out.append(_blank(t.text) if t.kind == STRING else t.text)
    return "".join(out)
