"""What migration files declare, read from their text: the objects each version creates and
drops. Without a tracking table this is all there is to tell which version a schema is at, so
the ``force`` hint of an untracked schema names only a version that every declared object
kind (tables, views, sequences, columns, indexes, constraints) proves.

The reading is deliberately partial: a statement it does not understand declares nothing,
and what it cannot follow (the indexes and constraints of a dropped column) becomes unknown,
never wrongly expected.
"""

from __future__ import annotations

import re

from migrator.lint import sqltext as st
from migrator.objects import relation_of

_CREATE = re.compile(
    r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:UNLOGGED\s+)?"
    rf"(?P<kind>TABLE|(?:MATERIALIZED\s+)?VIEW|SEQUENCE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>{st.IDENT})", st.FLAGS)
_DROP = re.compile(r"\s*DROP\s+(?P<kind>TABLE|(?:MATERIALIZED\s+)?VIEW|SEQUENCE)\s+(?:IF\s+EXISTS\s+)?"
                   rf"(?P<names>{st.IDENT}(?:\s*,\s*{st.IDENT})*)", st.FLAGS)
_RENAME_TABLES = re.compile(rf"({st.IDENT})\s+TO\s+({st.IDENT})", st.FLAGS)
_ALTER_INDEX = re.compile(
    rf"\s*ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?(?P<old>{st.IDENT})\s+RENAME\s+TO\s+(?P<new>{st.IDENT})", st.FLAGS)
_NOT_COLUMN = {"constraint", "primary", "unique", "foreign", "check", "index", "key", "fulltext", "spatial",
               "exclude", "partition", "period", "system", "like"}
_ACTION = re.compile(
    r"(?P<verb>ADD|DROP)\s+"
    r"(?:(?P<what>COLUMN|CONSTRAINT|INDEX|KEY|FOREIGN\s+KEY|UNIQUE(?:\s+(?:INDEX|KEY))?)\s+)?"
    rf"(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?P<name>{st.IDENT})"
    rf"|RENAME\s+(?:(?P<rwhat>COLUMN|INDEX|KEY)\s+)?(?P<old>{st.IDENT})\s+TO\s+(?P<new>{st.IDENT})"
    rf"|RENAME\s+(?:TO|AS)\s+(?P<table>{st.IDENT})"
    rf"|CHANGE\s+(?:COLUMN\s+)?(?P<cold>{st.IDENT})\s+(?P<cnew>{st.IDENT})", st.FLAGS)


class Replay:
    """The declared objects, replayed version by version: ``objects`` exist now, ``dropped``
    were dropped and not created again; ``created`` and ``gone`` collect what the version being
    replayed created and dropped."""

    def __init__(self):
        self.objects: set[str] = set()
        self.dropped: set[str] = set()
        self.index_table: dict[str, str] = {}
        self.created: set[str] = set()
        self.gone: set[str] = set()

    def create(self, obj: str) -> None:
        self.objects.add(obj)
        self.dropped.discard(obj)
        self.created.add(obj)
        if obj.startswith("index:"):
            table, _, index = obj[len("index:"):].partition(".")
            self.index_table[index] = table

    def drop(self, obj: str) -> None:
        self.objects.discard(obj)
        self.dropped.add(obj)
        if obj in self.created:  # created and dropped by the same version: no trace either way
            self.created.discard(obj)
        else:
            self.gone.add(obj)

    def on(self, relation: str, kinds=("column", "index", "constraint")) -> list[str]:
        return [o for o in self.objects if o.split(":", 1)[0] in kinds and relation_of(o) == relation]

    def forget(self, relation: str, kinds: tuple[str, ...]) -> None:
        """What a statement changed that the text does not say (the indexes of a dropped column)."""
        for obj in self.on(relation, kinds):
            self.objects.discard(obj)
            self.created.discard(obj)

    def drop_relation(self, kind: str, name: str) -> None:
        for obj in self.on(name):
            self.drop(obj)
        self.drop(f"{kind}:{name}")

    def rename_relation(self, old: str, new: str) -> None:
        kind = next((k for k in ("table", "view", "sequence") if f"{k}:{old}" in self.objects), "table")
        moved = self.on(old)
        self.drop_relation(kind, old)
        self.create(f"{kind}:{new}")
        for obj in moved:
            kind_of, _, rest = obj.partition(":")
            self.create(f"{kind_of}:{new}.{rest.split('.', 1)[1]}")

    def rename(self, kind: str, table: str, old: str, new: str) -> None:
        if old != new:
            self.drop(f"{kind}:{table}.{old}")
            self.create(f"{kind}:{table}.{new}")


def replay(replayed: Replay, text: str, dialect: str) -> None:
    """Replay one migration file's statements."""
    for stmt in st.statements(text, dialect):
        sql = stmt.masked
        if m := _CREATE.match(sql):
            kind = "table" if m["kind"].upper() == "TABLE" else m["kind"].split()[-1].lower()
            replayed.create(f"{kind}:{st.name(m['name'])}")
            if kind == "table":
                for obj in _table_body(st.name(m["name"]), sql[m.end():], dialect):
                    replayed.create(obj)
        elif (m := st.CREATE_INDEX.match(sql)) and m["index"]:
            replayed.create(f"index:{st.name(m['table'])}.{st.name(m['index'])}")
        elif m := st.DROP_INDEX.match(sql):
            index = st.name(m["index"])
            table = st.name(m["table"]) if m["table"] else replayed.index_table.get(index)
            if table:
                replayed.drop(f"index:{table}.{index}")
        elif m := _DROP.match(sql):
            kind = "table" if m["kind"].upper() == "TABLE" else m["kind"].split()[-1].lower()
            for raw in re.split(r"\s*,\s*", m["names"]):
                replayed.drop_relation(kind, st.name(raw))
        elif m := st.RENAME_TABLE.match(sql):
            for old, new in _RENAME_TABLES.findall(sql[sql.upper().index("TABLE") + 5:]):
                replayed.rename_relation(st.name(old), st.name(new))
        elif m := _ALTER_INDEX.match(sql):
            old = st.name(m["old"])
            table = replayed.index_table.get(old)
            if table:
                replayed.rename("index", table, old, st.name(m["new"]))
        elif alter := st.parse_alter(stmt):
            for action in alter.actions:
                _alter(replayed, alter.table, action.text)


def _table_body(table: str, rest: str, dialect: str) -> list[str]:
    """The columns a ``CREATE TABLE t (...)`` defines, and its named constraints (SQLite's catalog
    knows constraints by what they hold, not by name: there only the columns)."""
    body = re.match(r"\s*\((.*)\)", rest, re.DOTALL)
    if body is None:
        return []  # CREATE TABLE ... AS SELECT, LIKE, ...
    out, depth, start, text = [], 0, 0, body[1]
    for i, ch in enumerate(text + ","):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            words = re.match(rf"\s*({st.IDENT})(?:\s+({st.IDENT}))?", text[start:i])
            start = i + 1
            if words is None:
                continue
            first = st.name(words[1])
            if first not in _NOT_COLUMN:
                out.append(f"column:{table}.{first}")
            elif first == "constraint" and words[2] and dialect != "sqlite":
                out.append(f"constraint:{table}.{st.name(words[2])}")
    return out


def _alter(replayed: Replay, table: str, text: str) -> None:
    m = _ACTION.match(text)
    if m is None:
        return
    if m["table"]:
        replayed.rename_relation(table, st.name(m["table"]))
    elif m["cold"]:
        replayed.rename("column", table, st.name(m["cold"]), st.name(m["cnew"]))
    elif m["old"]:
        kind = "index" if (m["rwhat"] or "").upper() in ("INDEX", "KEY") else "column"
        replayed.rename(kind, table, st.name(m["old"]), st.name(m["new"]))
    else:
        what = re.sub(r"\s+", " ", (m["what"] or "COLUMN").upper())
        name = st.name(m["name"])
        if what == "COLUMN" and name in _NOT_COLUMN:
            return
        kind = ("constraint" if what in ("CONSTRAINT", "FOREIGN KEY")
                else "index" if what in ("INDEX", "KEY", "UNIQUE", "UNIQUE INDEX", "UNIQUE KEY") else "column")
        obj = f"{kind}:{table}.{name}"
        if m["verb"].upper() == "ADD":
            replayed.create(obj)
        else:
            replayed.drop(obj)
            if kind == "column":  # its indexes and constraints may have gone with it
                replayed.forget(table, ("index", "constraint"))


class Step:
    """One version's declared effect and the declared state after it."""

    def __init__(self, version: int, created: set[str], gone: set[str], objects: set[str], dropped: set[str]):
        self.version, self.created, self.gone = version, created, gone
        self.objects, self.dropped = objects, dropped


def steps(files: list[tuple[int, str]], dialect: str) -> list[Step]:
    """The versions (ascending) whose files declare something, each with the state after it."""
    replayed = Replay()
    out = []
    for version, text in files:
        replayed.created, replayed.gone = set(), set()
        replay(replayed, text, dialect)
        if replayed.created or replayed.gone:
            out.append(Step(version, set(replayed.created), set(replayed.gone), set(replayed.objects),
                            set(replayed.dropped)))
    return out


def proven_version(history: list[Step], schema: set[str]) -> int | None:
    """The newest version whose declared state the schema shows exactly: everything it and the
    versions before it left exists, everything they dropped is gone, nothing a later version
    creates exists yet and everything a later version drops is still there. 0 when the schema
    shows none of the declared objects; None when no version is proven."""
    for i in range(len(history), -1, -1):
        objects = history[i - 1].objects if i else set()
        dropped = history[i - 1].dropped if i else set()
        if not objects <= schema or dropped & schema:
            continue
        absent, present = _later(history[i:], objects)
        if not absent & schema and present <= schema:
            return history[i - 1].version if i else 0
    return None


def _later(later: list[Step], objects: set[str]) -> tuple[set[str], set[str]]:
    """What the versions after a state need of it: the objects they create first (absent) and
    those they drop first (present)."""
    absent: set[str] = set()
    present: set[str] = set()
    seen: set[str] = set()
    for step in later:
        present |= step.gone - seen  # a drop before a create in one file: it existed
        seen |= step.gone
        absent |= step.created - seen - objects
        seen |= step.created
    return absent, present


def relations(history: list[Step]) -> set[str]:
    return {relation_of(o) for step in history for o in (*step.objects, *step.dropped, *step.created, *step.gone)}
