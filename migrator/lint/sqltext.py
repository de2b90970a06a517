"""Just enough SQL text handling for the lint rules.

Statements come from :func:`migrator.split.split`; here they are *masked*
(:func:`migrator.lexer.mask`: comments and string literals blanked, same length) so that
keyword regexes never match inside a literal or a function body, and positions still map
to lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrator import lexer
from migrator.split import split

IDENT = rf"{lexer.NAME}(?:\s*\.\s*{lexer.NAME})*"
_PARTS = re.compile(lexer.NAME)
FLAGS = re.IGNORECASE | re.DOTALL


@dataclass(frozen=True)
class Stmt:
    index: int
    line: int  # 1-based line of the statement's first token
    sql: str
    masked: str

    def line_at(self, pos: int) -> int:
        return self.line + self.sql.count("\n", 0, pos)


def statements(text: str, dialect: str) -> list[Stmt]:
    return [Stmt(i, s.line, s.sql, lexer.mask(s.sql, s.family)) for i, s in enumerate(split(text, dialect))]


def name(raw: str) -> str:
    """The last part of a possibly qualified, possibly quoted identifier, lower-cased."""
    parts = _PARTS.findall(raw)
    return lexer.unquote(parts[-1] if parts else raw)


def qualified(raw: str) -> list[str]:
    """Every part of a dotted identifier, unquoted and lower-cased."""
    return [name(p) for p in _PARTS.findall(raw)]


# --- statement heads -------------------------------------------------------------------

CREATE_TABLE = re.compile(
    rf"\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?"
    rf"(?:TABLE|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<table>{IDENT})", FLAGS)
CREATE_INDEX = re.compile(
    rf"\s*CREATE\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX\s+(?P<conc>CONCURRENTLY\s+)?"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?(?:(?!ON\b)(?P<index>{IDENT})\s+)?(?:USING\s+\w+\s+)?"
    rf"ON\s+(?:ONLY\s+)?(?P<table>{IDENT})", FLAGS)
DROP_INDEX = re.compile(
    rf"\s*DROP\s+INDEX\s+(?P<conc>CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?P<index>{IDENT})"
    rf"(?:\s+ON\s+(?P<table>{IDENT}))?", FLAGS)
ALTER_TABLE = re.compile(
    rf"\s*ALTER\s+(?P<online>ONLINE\s+)?(?:IGNORE\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?"
    rf"(?P<table>{IDENT})\s*\*?", FLAGS)
UPDATE = re.compile(
    rf"\bUPDATE\s+(?:LOW_PRIORITY\s+)?(?:IGNORE\s+)?(?:OR\s+[A-Za-z]+\s+)?(?:ONLY\s+)?(?P<table>{IDENT})", FLAGS)
DELETE = re.compile(
    rf"\bDELETE\s+(?:LOW_PRIORITY\s+)?(?:QUICK\s+)?(?:IGNORE\s+)?(?:{IDENT}\s*(?:\.\s*\*)?\s+)?"
    rf"FROM\s+(?:ONLY\s+)?(?P<table>{IDENT})", FLAGS)
INSERT = re.compile(rf"\s*(?:INSERT|REPLACE)\s+(?:OR\s+[A-Za-z]+\s+)?(?:INTO\s+)?(?P<table>{IDENT})", FLAGS)
FROM = re.compile(rf"\bFROM\s+(?P<table>{IDENT})", FLAGS)
RENAME_TABLE = re.compile(rf"\s*RENAME\s+TABLE\s+(?P<table>{IDENT})\s+TO\s+(?P<new>{IDENT})", FLAGS)
TABLE_TARGET = re.compile(
    rf"\s*(?:VACUUM\s+(?:\([^)]*\)\s*|(?:FULL|FREEZE|VERBOSE|ANALYZE)\s+)*|CLUSTER\s+(?:VERBOSE\s+)?|"
    rf"REINDEX\s+(?:\([^)]*\)\s*)?TABLE\s+(?:CONCURRENTLY\s+)?|TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?|"
    rf"OPTIMIZE\s+(?:NO_WRITE_TO_BINLOG\s+|LOCAL\s+)?TABLE\s+|LOCK\s+(?:TABLE\s+)?(?:ONLY\s+)?)"
    rf"(?P<table>{IDENT})", FLAGS)


def starts_with(stmt: Stmt, *words: str) -> bool:
    pattern = r"\s*" + r"\s+".join(words) + r"\b"
    return re.match(pattern, stmt.masked, FLAGS) is not None


# --- ALTER TABLE -----------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    pos: int  # offset of the action in the statement
    text: str  # masked text of one comma-separated ALTER TABLE action, stripped


@dataclass(frozen=True)
class Alter:
    table: str
    online: bool  # MariaDB ALTER ONLINE TABLE (= LOCK=NONE)
    actions: list[Action]


def _split_actions(masked: str, start: int) -> list[Action]:
    depth, begin, spans = 0, start, []
    for i in range(start, len(masked)):
        ch = masked[i]
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            spans.append((begin, i))
            begin = i + 1
    spans.append((begin, len(masked)))
    actions = []
    for lo, hi in spans:
        text = masked[lo:hi]
        if text.strip():
            actions.append(Action(lo + len(text) - len(text.lstrip()), text.strip()))
    return actions


def parse_alter(stmt: Stmt) -> Alter | None:
    m = ALTER_TABLE.match(stmt.masked)
    if m is None:
        return None
    return Alter(name(m["table"]), bool(m["online"]), _split_actions(stmt.masked, m.end()))


def target_table(stmt: Stmt) -> str | None:
    """The table a statement changes, when it is one of the kinds the rules look at."""
    for pattern in (ALTER_TABLE, CREATE_INDEX, INSERT, RENAME_TABLE, TABLE_TARGET):
        m = pattern.match(stmt.masked)
        if m is not None:
            return name(m["table"])
    for pattern in (UPDATE, DELETE):
        m = pattern.search(stmt.masked)
        if m is not None and re.match(r"\s*(?:UPDATE|DELETE|WITH)\b", stmt.masked, FLAGS):
            return name(m["table"])
    return None
