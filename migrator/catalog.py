"""Schema objects: what a migration created and dropped, and verification of the
tracking table against the actual schema (two-sided: created objects exist, dropped ones stay gone).

Snapshots are limited to the relations a migration's statements name, so two
services migrating one database at the same moment never record each other's objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from migrator import lexer
from migrator.lexer import Kind
from migrator.objects import Scan, relation_of
from migrator.split import Statement

_CREATES = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?(?:MATERIALIZED\s+)?"
    rf"(?P<kind>TABLE|VIEW|SEQUENCE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:{lexer.NAME}\s*\.\s*)?(?P<name>{lexer.NAME})",
    re.IGNORECASE,
)


# A migration's statements are read several times while it is applied (scope, far-reaching,
# data only, what it created): each is tokenized once.
@lru_cache(maxsize=4096)
def _code(statement: Statement, bodies: bool = False) -> str:
    """The statement with comments, string literals and dollar-quoted bodies blanked; with
    ``bodies``, a dollar-quoted body's own code is kept (a DO block's or a routine's
    statements). A string literal is data, never code: the name it holds may be another
    service's table that a migration only waits for."""
    return lexer.mask(statement.sql, statement.family, bodies)


def _identifier(token: lexer.Token) -> str | None:
    """The name a token stands for when it is an identifier: a bare word or a quoted one (on
    MySQL a double-quoted string too: with ANSI_QUOTES it is an identifier)."""
    if token.kind in (Kind.WORD, Kind.QUOTED) or (token.kind == Kind.STRING and token.text[0] == '"'):
        return lexer.unquote(token.text) or None
    return None


@lru_cache(maxsize=4096)
def _code_tokens(sql: str, family: str, bodies: bool) -> tuple[lexer.Token, ...]:
    """The code tokens of ``sql``; with ``bodies``, those of each dollar-quoted body in its place."""
    if not bodies:
        return tuple(lexer.code(sql, family))
    out = []
    for token in _code_tokens(sql, family, False):
        out.append(token)
        if token.kind == Kind.DOLLAR:
            out += _code_tokens(lexer.dollar_body(token), family, True)
    return tuple(out)


def spelled_names(statements: Iterable[Statement]) -> set[str]:
    """The identifiers of the statements' code (dollar-quoted bodies included) that are not
    lower-case, as written, where the database keeps that case: PostgreSQL a quoted name's
    (it folds a bare one: "User" is the only way to name a relation spelled User), MySQL
    every name's (``CREATE TABLE Orders`` makes Orders)."""
    return {name for statement in statements
            for token in _code_tokens(statement.sql, statement.family, True)
            if token.kind == Kind.QUOTED or (statement.family == "mysql" and _identifier(token))
            for name in [lexer.unquote(token.text, fold=False)] if name != name.lower()}


def names_in(statements: Iterable[Statement]) -> set[str]:
    """Every identifier the statements' code mentions, lower-cased (a superset of the
    relations they can touch); string literals, bodies and comments are not code."""
    out: set[str] = set()
    for statement in statements:
        out.update(filter(None, map(_identifier, lexer.code(statement.sql, statement.family))))
    return out


# Where the grammar of PostgreSQL, MySQL/MariaDB and SQLite puts a relation's name: right after
# one of these words (CREATE TABLE t, DROP INDEX i, REFERENCES p, ON t, JOIN t, RENAME TO t,
# ATTACH PARTITION t, OWNED BY t.c, ...), past any of the words of _SKIPPED, and in a list that
# such a word began (DROP TABLE a, b; FROM a x, b y). A schema-qualified name adds every part.
_BEFORE_RELATION = frozenset("""
    table tables view index sequence from join into update references on to truncate rename
    using like of inherits inherit partition owned lock analyze vacuum cluster reindex
""".split())
# after these, the next identifier is the name even when it is one of the words above (a table
# called view); after the others such a word takes over (CREATE INDEX ON t, RENAME TABLE a)
_NAME_NEXT = frozenset("table tables view sequence references join into from inherits inherit owned like".split())
_SKIPPED = frozenset("""
    if not exists only concurrently lateral as by or ignore abort fail replace rollback low_priority quick
    verbose full freeze
""".split())
# words that, right after one of the words above, show that it introduced no relation there
# (ON DELETE CASCADE, ON CONFLICT, PARTITION BY, RENAME COLUMN, USING btree) ...
_NOT_RELATION = {
    "on": frozenset("delete update insert select truncate conflict duplicate commit constraint column "
                    "schedule".split()),
    "partition": frozenset({"by"}),
    "rename": frozenset("column index key constraint attribute".split()),
    "using": frozenset("btree hash gist gin brin spgist".split()),
}
# ... nor these, which no relation is called bare
_RESERVED = frozenset("all in select set values where with default null true false".split())
# UPDATE after these words is no statement's: FOR UPDATE, ON DUPLICATE KEY UPDATE, DO UPDATE
_NOT_AN_UPDATE = frozenset({"for", "key", "do"})
# options in parentheses before the name (VACUUM (VERBOSE) t); INHERITS (a, b) lists names
_OPTIONS_FIRST = frozenset({"vacuum", "analyze", "reindex", "cluster"})


def relation_names(statements: Iterable[Statement], *, bodies: bool = False) -> set[str]:
    """The names the statements use where the grammar puts a relation (the tables, views,
    sequences and indexes they can touch). With ``bodies``, the names in the code of
    dollar-quoted bodies count too (what a DO block or a routine touches; not dynamic SQL
    built from strings)."""
    out: set[str] = set()
    for statement in statements:
        _Relations(_code_tokens(statement.sql, statement.family, bodies), out).run()
    return out


class _Relations:
    """One statement's tokens read for the names that stand where a relation does."""

    def __init__(self, tokens: tuple[lexer.Token, ...], out: set[str]):
        self.tokens, self.out = tokens, out
        self.place: str | None = None  # the word whose relation may come next
        self.listing: str | None = None  # after a name: the word whose list it is (a comma continues it)
        self.alias = False  # a word after that name was taken as its alias
        self.previous = ""  # the previous bare word, lower-cased
        self.options = 0  # depth inside an option list of _OPTIONS_FIRST

    def run(self) -> None:
        for i, token in enumerate(self.tokens):
            word = token.text.lower() if token.kind == Kind.WORD else None
            if self.options:
                self.options += (token.text == "(") - (token.text == ")")
            elif not (self.in_place(i, token, word) or self.in_list(token, word)):
                if word in _BEFORE_RELATION and not (word == "update" and self.previous in _NOT_AN_UPDATE):
                    self.place = word
            if word is not None:
                self.previous = word

    def in_place(self, i: int, token: lexer.Token, word: str | None) -> bool:
        """Read ``token`` where a relation's name may stand; False when it stands elsewhere."""
        place = self.place
        if place is None:
            return False
        if token.text == "(" and place in _OPTIONS_FIRST:
            self.options = 1
            return True
        if word in _NOT_RELATION.get(place, ()) or word in _RESERVED:
            self.place = None
            return True
        if (token.text == "(" and place == "inherits") or word in _SKIPPED:
            return True
        self.place = None
        name = _identifier(token)
        if name is None:
            return False
        if word in _BEFORE_RELATION and place not in _NAME_NEXT and self.identifier_at(i + 1):
            return False  # CREATE INDEX ON t: ON takes over
        self.out.add(name)
        self.listing, self.alias = place, False
        return True

    def in_list(self, token: lexer.Token, word: str | None) -> bool:
        """Read ``token`` after a relation's name; False when it ends the list."""
        listing = self.listing
        if listing is None:
            return False
        if token.text in (".", ","):  # the next part of a qualified name, the next relation
            self.place = listing
            return True
        if word is not None and word not in _BEFORE_RELATION and not self.alias:
            self.alias = word != "as"  # FROM a x, b; FROM a AS x, b; LOCK TABLES a WRITE, b READ
            return True
        self.listing = None
        return False

    def identifier_at(self, i: int) -> bool:
        return i < len(self.tokens) and _identifier(self.tokens[i]) is not None


def created_relations(statements: Iterable[Statement]) -> set[str]:
    """``kind:name`` of the tables, views and sequences the statements create."""
    return {
        f"{m['kind'].lower()}:{lexer.unquote(m['name'])}"
        for s in statements
        for m in _CREATES.finditer(_code(s, bodies=True))
    }


_QNAME = rf"(?:{lexer.NAME}\s*\.\s*)?(?P<name>{lexer.NAME})"
_CREATE_OBJECT = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?"
    r"(?:UNIQUE\s+)?(?:MATERIALIZED\s+)?(?P<kind>TABLE|VIEW|SEQUENCE|INDEX)\s+(?:CONCURRENTLY\s+)?"
    rf"(?:IF\s+NOT\s+EXISTS\s+)?{_QNAME}"
    rf"(?:\s+ON\s+(?:ONLY\s+)?(?:{lexer.NAME}\s*\.\s*)?(?P<table>{lexer.NAME}))?",
    re.IGNORECASE)
_ALTER_TABLE = re.compile(rf"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QNAME}", re.IGNORECASE)
_ADD_IF_NOT_EXISTS = re.compile(
    r"\bADD\s+(?P<what>COLUMN\s+|CONSTRAINT\s+|(?:UNIQUE\s+)?(?:INDEX|KEY)\s+|UNIQUE\s+)?"
    rf"IF\s+NOT\s+EXISTS\s+(?P<name>{lexer.NAME})", re.IGNORECASE)
_NOT_COLUMNS = frozenset("constraint primary foreign check exclude like period".split())
_INDEX_WORDS = frozenset("unique index key fulltext spatial".split())


def _table_items(code: str, start: int, family: str) -> list[list[str]]:
    """The words of each top-level item of the parenthesised list opening at ``start``."""
    rest = code[start:].lstrip()
    if not rest.startswith("("):
        return []
    depth, items, begin = 0, [], 1
    for i, char in enumerate(rest):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if (char == "," and depth == 1) or depth == 0:
            items.append(rest[begin:i])
            begin = i + 1
        if depth == 0:
            break
    words = ([t.text for t in lexer.code(item, family) if _identifier(t) is not None] for item in items)
    return [w for w in words if w]


def _table_objects(table: str, items: list[list[str]]) -> set[str]:
    """What the column list of ``CREATE TABLE table (...)`` names: its columns, and its named
    constraints and indexes (as either: which one it is depends on the database)."""
    out = set()
    for words in items:
        first = words[0].lower()
        if first == "constraint" and len(words) > 1:
            name = lexer.unquote(words[1])
            out |= {f"constraint:{table}.{name}", f"index:{table}.{name}"}
        elif first in _INDEX_WORDS:
            rest = [w for w in words[1:] if w.lower() not in _INDEX_WORDS]
            if rest:
                name = lexer.unquote(rest[0])
                out |= {f"constraint:{table}.{name}", f"index:{table}.{name}"}
        elif first not in _NOT_COLUMNS:
            out.add(f"column:{table}.{lexer.unquote(words[0])}")
    return out


def named_created(statements: Iterable[Statement]) -> set[str]:
    """The objects the statements name as created (``CREATE TABLE/VIEW/SEQUENCE/INDEX``, with
    ``OR REPLACE`` or ``IF NOT EXISTS`` or not, ``ADD ... IF NOT EXISTS``): candidates, kept
    by the caller when they exist after the migration, whether or not they did before."""
    out: set[str] = set()
    for statement in statements:
        code = _code(statement)
        m = _CREATE_OBJECT.match(code)
        if m:
            kind, name = m["kind"].lower(), lexer.unquote(m["name"])
            if kind == "index":
                if m["table"] and name != "on":
                    out.add(f"index:{lexer.unquote(m['table'])}.{name}")
            else:
                out.add(f"{kind}:{name}")
                if kind == "table":
                    out |= _table_objects(name, _table_items(code, m.end(), statement.family))
            continue
        m = _ALTER_TABLE.match(code)
        if m:
            table = lexer.unquote(m["name"])
            for add in _ADD_IF_NOT_EXISTS.finditer(code, m.end()):
                what, name = (add["what"] or "column").split()[0].lower(), lexer.unquote(add["name"])
                out |= ({f"column:{table}.{name}"} if what == "column"
                        else {f"index:{table}.{name}", f"constraint:{table}.{name}"})
    return out


def without_own(objects: Iterable[str], own_tables: frozenset[str]) -> set[str]:
    return {o for o in objects if relation_of(o) not in own_tables}


# The migrator's own tables, of whatever service: the name's ending and two of its columns
_MIGRATOR_TABLES = {"_migrations": ("checksum", "objects_created"), "_migration_events": ("event", "detail"),
                    "_backfills": ("rows_done", "last_key")}


def migrator_tables(objects: set[str]) -> set[str]:
    """The tracking, events and backfill tables of any service among ``objects``: services
    share databases, and no service records another's (nor its own)."""
    out = set()
    for o in objects:
        if o.startswith("table:"):
            name = o[len("table:"):]
            for suffix, columns in _MIGRATOR_TABLES.items():
                if name.endswith(suffix) and all(f"column:{name}.{c}" in objects for c in columns):
                    out.add(name)
    return out


@dataclass(frozen=True)
class Change:
    created: set[str]
    dropped: set[str]


def diff(before: set[str], after: set[str], own_tables: frozenset[str]) -> Change:
    return Change(without_own(after - before, own_tables), without_own(before - after, own_tables))


def recorded(before: set[str], after: set[str], statements: Iterable[Statement], own_tables) -> Change:
    """What a migration changed: the catalog's difference, and the objects its statements
    name as created that exist after it even when they existed before (a re-run
    ``CREATE INDEX IF NOT EXISTS`` that found the index there); never ``own_tables``'."""
    change = diff(before, after, own_tables)
    return Change(change.created | without_own(named_created(statements) & after, own_tables), change.dropped)


@dataclass(frozen=True)
class Desync:
    """What verification found, per clean applied version: the objects it created that are
    missing (``missing``; ``invalid``: the PostgreSQL indexes among them that exist but are not
    valid), the objects it dropped that exist again (``resurrected``), and what stands in the way
    of running the versions from the oldest affected one on again: objects they create that exist
    (``present``: left behind) and objects they drop that are gone (``not_back``).
    ``recording`` lists the clean applied versions that recorded objects, ascending; ``applied``
    every clean applied version."""

    missing: dict[int, list[str]]
    resurrected: dict[int, list[str]]
    present: dict[int, list[str]]
    not_back: dict[int, list[str]]
    invalid: list[str]
    recording: list[int]
    applied: list[int]

    @property
    def versions(self) -> list[int]:
        """The affected versions: something they created is missing, or something they dropped is back."""
        return sorted(set(self.missing) | set(self.resurrected))

    @property
    def contiguous_newest(self) -> bool:
        """The affected versions are the newest of those that recorded objects (the others
        neither prove nor break anything)."""
        return self.versions == self.recording[len(self.recording) - len(self.versions):]

    @property
    def repairable(self) -> bool:
        return self.contiguous_newest and not self.present and not self.not_back and not self.invalid

    @property
    def rewind_from(self) -> int:
        return self.versions[0]

    @property
    def rewind(self) -> list[int]:
        """The tracking rows a repair deletes: the affected versions and every applied version
        above the oldest of them (versions that recorded no objects among or above them)."""
        return [v for v in self.applied if v >= self.rewind_from]

    def as_json(self) -> dict:
        return {"versions": self.versions, "missing": {str(v): o for v, o in self.missing.items()},
                "resurrected": {str(v): o for v, o in self.resurrected.items()},
                "repairable": self.repairable}


@dataclass(frozen=True)
class History:
    """The tracking rows replayed in version order: ``live`` (object -> the version that created
    it, for objects no later version dropped) and ``gone`` (object -> (the version that dropped
    it, the version that had created it or None), for objects no later version created again)."""

    live: dict[str, int]
    gone: dict[str, tuple[int, int | None]]

    @classmethod
    def replay(cls, rows, unsure: frozenset[str] = frozenset()) -> History:
        """Replay ``rows``; the objects in ``unsure`` (a dirty version's) are neither live nor gone."""
        live: dict[str, int] = {}
        gone: dict[str, tuple[int, int | None]] = {}
        for row in sorted(rows, key=lambda r: r.version):
            for obj in row.dropped:
                gone[obj] = (row.version, live.pop(obj, None))
            for obj in row.created:
                live[obj] = row.version
                gone.pop(obj, None)
        for obj in unsure:
            live.pop(obj, None)
            gone.pop(obj, None)
        return cls(live, gone)

    def relations(self) -> set[str]:
        return {relation_of(o) for o in (*self.live, *self.gone)}


def live_objects(rows) -> dict[str, int]:
    """Object -> the applied version that created it, after later drops."""
    return History.replay(rows).live


# Statements whose effects can reach relations they do not name (CASCADE, routines, triggers,
# extensions, dynamic SQL): their migration's snapshots take in every relation that depends on
# the named ones, and the run's SchemaModel starts again from the catalog after it.
_FAR_REACHING = re.compile(
    r"\b(CASCADE|FUNCTION|PROCEDURE|TRIGGER|RULE|EXTENSION|SCHEMA|DATABASE|INHERITS|PARTITION|POLICY|"
    r"PUBLICATION)\b|^\s*(DO|CALL|EXEC|EXECUTE|PREPARE|IMPORT|SOURCE)\b", re.IGNORECASE)
# what a foreign key does to rows, not to the schema: REFERENCES p (id) ON DELETE CASCADE
_REFERENTIAL_ACTION = re.compile(r"\bON\s+(DELETE|UPDATE)\s+CASCADE\b", re.IGNORECASE)
_DATA_ONLY = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def _far_reaching(code: str) -> bool:
    return not _DATA_ONLY.match(code) and bool(_FAR_REACHING.search(_REFERENTIAL_ACTION.sub(" ", code)))


def far_reaching(statements: Iterable[Statement]) -> bool:
    """Whether a statement can change relations it does not name. INSERT, UPDATE and DELETE
    never count (``ON CONFLICT DO NOTHING`` is no DO block; a column may be called source),
    nor does a foreign key's ``ON DELETE CASCADE``."""
    return any(_far_reaching(_code(s)) for s in statements)


def data_only(statements: list[Statement]) -> bool:
    """Plain INSERT/UPDATE/DELETE statements: they change rows, never the schema, so they
    need no catalog snapshot (a statement calling a routine, CALL or DO, is not one of them)."""
    return bool(statements) and all(_DATA_ONLY.match(_code(s)) for s in statements)


class SchemaModel:
    """The catalog's objects on the relations one run has looked at, kept current by each
    migration's after-snapshot, so that a migration's before-snapshot needs no query.

    The model is exact for the relations in ``known``: it holds every object of a relation
    that a scan read, and the relations that go with it (``owned``: PostgreSQL's SERIAL and
    IDENTITY sequences, partitions), refreshed after every migration that names that relation
    (or an index on it). A migration whose statements can reach further (``far_reaching``)
    reads its own wider scope, and the model starts again after it. Nothing here trusts the
    model across runs: each ``up`` builds its own.
    """

    def __init__(self, db, spellings: Iterable[str] = ()):
        self.db = db
        # the relation names not in lower case that this run may look for (as its statements
        # spell them, or as seen in the catalog): scans look names up as spelled, by the index
        self.spellings: set[str] = set(spellings)
        self.known: set[str] = set()
        self.objects: dict[str, set[str]] = {}  # relation -> its objects
        self.owned: dict[str, set[str]] = {}  # relation -> the relations that go with it
        # index name -> the relations holding one so named; kept only where index names are
        # schema-wide. Not on MySQL: its index names are per table (every DROP INDEX names its
        # table), and every table has one called PRIMARY, which any CREATE TABLE with a primary
        # key names: through it the scope of each CREATE TABLE grew to every table, and
        # applying N migrations read O(N^2) catalog rows.
        self.indexes: dict[str, set[str]] = {}
        self._by_index_name = db.schema_wide_index_names

    def reset(self) -> None:
        self.known.clear()
        self.objects.clear()
        self.owned.clear()
        self.indexes.clear()

    def _take(self, scan: Scan, scope: set[str]) -> set[str]:
        """Take what a scan of ``scope`` read; returns the relations it covered."""
        covered = scope | scan.relations
        by_index_name = self._by_index_name
        for relation in covered:
            self.owned.pop(relation, None)
            for o in self.objects.pop(relation, ()):
                if by_index_name and o.startswith("index:"):
                    self.indexes[o.partition(".")[2]].discard(relation)
        for o in scan.objects:
            relation = relation_of(o)
            if relation in covered:
                self.objects.setdefault(relation, set()).add(o)
                if by_index_name and o.startswith("index:"):
                    self.indexes.setdefault(o.partition(".")[2], set()).add(relation)
        self.owned.update((r, deps) for r, deps in scan.owned.items() if r in covered)
        self.spellings |= scan.spellings
        self.known |= covered
        return covered

    def _learn(self, names: set[str]) -> None:
        new = names - self.known
        if not new:
            return
        scan = self.db.scan(new, spelled=self.spellings)
        # relations a name reaches through one of their indexes (SQLite's scan returns the
        # index alone; PostgreSQL's the whole relation): read them whole, by name
        owners = {relation_of(o) for o in scan.objects} - scan.relations - self.known - new
        if owners:
            more = self.db.scan(owners, spelled=self.spellings)
            scan = Scan(scan.objects | more.objects, {**scan.owned, **more.owned}, scan.spellings | more.spellings)
        self._take(scan, new | owners)

    def with_owned(self, relations: set[str]) -> set[str]:
        """``relations`` and, as far as the model knows, the relations that go with them."""
        out, todo = set(relations), list(relations)
        while todo:
            for r in self.owned.get(todo.pop(), ()):
                if r not in out:
                    out.add(r)
                    todo.append(r)
        return out

    def scope(self, names: Iterable[str]) -> set[str]:
        """The relations a migration naming ``names`` can touch: those names, where index names
        are schema-wide the relations holding an index of one of those names, and the
        relations that go with any of them."""
        names = {n.lower() for n in names}
        self._learn(names)
        return self.with_owned(names.union(*(self.indexes.get(n, ()) for n in names)))

    def wide_scope(self, names: Iterable[str]) -> set[str]:
        """For a far-reaching migration: one catalog query for the named relations and every
        relation that depends on them; the model takes what it read."""
        names = {n.lower() for n in names}
        return self._take(self.db.scan(names, cascade=True, spelled=self.spellings), names)

    def before(self, relations: set[str]) -> set[str]:
        return {o for relation in relations for o in self.objects.get(relation, ())}

    def after(self, relations: set[str]) -> set[str]:
        """One catalog query: the objects on ``relations`` and on the relations that now go
        with them (new ones: a SERIAL column's sequence); the model takes them."""
        scan = self.db.scan(relations, via_indexes=False, spelled=self.spellings)
        covered = self._take(scan, relations)
        return {o for o in scan.objects if relation_of(o) in covered}


def check(db, rows) -> Desync | None:
    """Compare the tracking rows with the schema, both ways, in one bulk catalog query (two on
    PostgreSQL, which also asks for invalid indexes): every object an applied version created
    and no later one dropped must exist, every object one dropped and no later one created again
    must be absent."""
    rows = list(rows)
    # what a dirty version did is unknown (that is what dirty means): its objects are neither
    # expected nor expected gone
    unsure = frozenset(o for r in rows if r.dirty for o in (*r.created, *r.dropped))
    rows = [r for r in rows if not r.dirty]
    history = History.replay(rows, unsure)
    if not history.live and not history.gone:
        return None
    # every recorded object names its relation (index:t.i -> t): the relations are the whole filter
    relations = history.relations()
    current = db.snapshot(relations)
    invalid = db.invalid_indexes(relations) & set(history.live)
    valid = current - invalid
    missing: dict[int, list[str]] = {}
    resurrected: dict[int, list[str]] = {}
    for obj, version in sorted(history.live.items()):
        if obj not in valid:
            missing.setdefault(version, []).append(obj)
    for obj, (version, _) in sorted(history.gone.items()):
        if obj in current:
            resurrected.setdefault(version, []).append(obj)
    if not missing and not resurrected:
        return None
    recording = [r.version for r in rows if r.created or r.dropped]
    start = min((*missing, *resurrected))
    present, not_back = _in_the_way(history, current, valid, start)
    return Desync(missing, resurrected, present, not_back, sorted(invalid), recording,
                  [r.version for r in rows])


def _in_the_way(history: History, current: set[str], valid: set[str], start: int):
    """What stops the versions from ``start`` on from running again on this schema: objects they
    create that exist (left behind, including one that a later version dropped but that is back),
    and objects they drop that existed before ``start`` but are gone now (not back)."""
    present: dict[int, list[str]] = {}
    not_back: dict[int, list[str]] = {}
    for obj, version in sorted(history.live.items()):
        if version >= start and obj in valid:
            present.setdefault(version, []).append(obj)
    for obj, (version, creator) in sorted(history.gone.items()):
        if version < start:
            continue
        if creator is not None and creator >= start:
            if obj in current:
                present.setdefault(creator, []).append(obj)
        elif obj not in current:
            not_back.setdefault(version, []).append(obj)
    return present, not_back
