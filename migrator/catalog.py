"""Schema objects: what a migration created and dropped, and verification of the
tracking table against the actual schema (SPEC section 6).

Snapshots are limited to the relations a migration's statements name, so two
services migrating one database at the same moment never record each other's objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migrator._lazy import lazy_re
from migrator._record import Record
from migrator.split import Statement

_IDENT = lazy_re(r'"((?:[^"]|"")+)"|`((?:[^`]|``)+)`|\[([^\]]+)\]|([A-Za-z_][A-Za-z0-9_$]*)')
_CREATES = lazy_re(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?(?:MATERIALIZED\s+)?"
    r"(?P<kind>TABLE|VIEW|SEQUENCE)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?:[\w\"`]+\.)?[\"`\[]?(?P<name>[A-Za-z_][A-Za-z0-9_$]*)",
    re.IGNORECASE,
)


_NOT_CODE = lazy_re(
    r"--[^\n]*|/\*.*?\*/|'(?:[^'\\]|''|\\.)*'|\$([A-Za-z_][A-Za-z0-9_]*|)\$.*?\$\1\$", re.DOTALL)


def names_in(statements: Iterable[Statement]) -> set[str]:
    """Every identifier the statements' code mentions, lower-cased (a superset of the
    relations they can touch); string literals, bodies and comments are not code."""
    out: set[str] = set()
    for statement in statements:
        for m in _IDENT.finditer(_NOT_CODE.sub(" ", statement.sql)):
            out.add(next(g for g in m.groups() if g is not None).lower())
    return out


def created_relations(statements: Iterable[Statement]) -> set[str]:
    """``kind:name`` of the tables, views and sequences the statements create."""
    return {
        f"{m['kind'].lower()}:{m['name'].lower()}"
        for s in statements
        for m in _CREATES.finditer(s.sql)
    }


def relation_of(obj: str) -> str:
    """The relation an object string lives on: ``column:t.c`` -> ``t``."""
    kind, _, rest = obj.partition(":")
    return rest if kind in ("table", "view", "sequence") else rest.split(".", 1)[0]


def without_own(objects: Iterable[str], own_tables: frozenset[str]) -> set[str]:
    return {o for o in objects if relation_of(o) not in own_tables}


class Change(Record):
    _fields = ("created", "dropped")

    def __init__(self, created: set[str], dropped: set[str]):
        self._set(created=created, dropped=dropped)


def diff(before: set[str], after: set[str], own_tables: frozenset[str]) -> Change:
    return Change(without_own(after - before, own_tables), without_own(before - after, own_tables))


class Desync(Record):
    """What verification found, per clean applied version: the objects it created that are
    missing (``missing``; ``invalid``: the PostgreSQL indexes among them that exist but are not
    valid), the objects it dropped that exist again (``resurrected``), and what stands in the way
    of running the versions from the oldest affected one on again: objects they create that exist
    (``present``: left behind) and objects they drop that are gone (``not_back``).
    ``recording`` lists the clean applied versions that recorded objects, ascending; ``applied``
    every clean applied version."""

    _fields = ("missing", "resurrected", "present", "not_back", "invalid", "recording", "applied")

    def __init__(self, missing: dict[int, list[str]], resurrected: dict[int, list[str]],
                 present: dict[int, list[str]], not_back: dict[int, list[str]], invalid: list[str],
                 recording: list[int], applied: list[int]):
        self._set(missing=missing, resurrected=resurrected, present=present, not_back=not_back,
                  invalid=invalid, recording=recording, applied=applied)

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


class History(Record):
    """The tracking rows replayed in version order: ``live`` (object -> the version that created
    it, for objects no later version dropped) and ``gone`` (object -> (the version that dropped
    it, the version that had created it or None), for objects no later version created again)."""

    _fields = ("live", "gone")

    def __init__(self, rows, unsure: frozenset[str] = frozenset()):
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
        self._set(live=live, gone=gone)

    def relations(self) -> set[str]:
        return {relation_of(o) for o in (*self.live, *self.gone)}


def live_objects(rows) -> dict[str, int]:
    """Object -> the applied version that created it, after later drops."""
    return History(rows).live


# Statements whose effects can reach relations they do not name (CASCADE, routines, triggers,
# extensions, dynamic SQL): after one of them the run's SchemaModel starts again from the catalog.
_FAR_REACHING = lazy_re(
    r"\b(CASCADE|FUNCTION|PROCEDURE|TRIGGER|RULE|EXTENSION|SCHEMA|DATABASE|DO|CALL|EXEC|EXECUTE|"
    r"PREPARE|IMPORT|SOURCE|INHERITS|PARTITION|POLICY|PUBLICATION)\b", re.IGNORECASE)


def far_reaching(statements: Iterable[Statement]) -> bool:
    return any(_FAR_REACHING.search(_NOT_CODE.sub(" ", s.sql)) for s in statements)


_DATA_ONLY = lazy_re(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def data_only(statements: list[Statement]) -> bool:
    """Plain INSERT/UPDATE/DELETE statements (no routine, no trigger, nothing far-reaching):
    they change rows, never the schema, so they need no catalog snapshot."""
    return bool(statements) and all(_DATA_ONLY.match(_NOT_CODE.sub(" ", s.sql)) for s in statements) \
        and not far_reaching(statements)


class SchemaModel:
    """The catalog's objects on the relations one run has looked at, kept current by each
    migration's after-snapshot, so that a migration's before-snapshot needs no query.

    The model is exact for the relations in ``known``: it holds every object whose relation
    is named in a snapshot filter, refreshed after every migration that names that relation
    (or an index on it). A migration whose statements can reach further (``far_reaching``)
    resets it. Nothing here trusts the model across runs: each ``up`` builds its own.
    """

    def __init__(self, db):
        self.db = db
        self.known: set[str] = set()
        self.objects: dict[str, set[str]] = {}  # relation -> its objects
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
        self.indexes.clear()

    def _take(self, found: set[str], scope: set[str]) -> None:
        by_index_name = self._by_index_name
        for relation in scope:
            for o in self.objects.pop(relation, ()):
                if by_index_name and o.startswith("index:"):
                    self.indexes[o.partition(".")[2]].discard(relation)
        for o in found:
            relation = relation_of(o)
            if relation in scope:
                self.objects.setdefault(relation, set()).add(o)
                if by_index_name and o.startswith("index:"):
                    self.indexes.setdefault(o.partition(".")[2], set()).add(relation)
        self.known |= scope

    def _learn(self, names: set[str]) -> None:
        new = names - self.known
        if not new:
            return
        found = self.db.snapshot(new)
        # relations a name reaches through one of their indexes (PostgreSQL's snapshot filter
        # matches those; SQLite's returns the index alone): read them whole, by name
        owners = {relation_of(o) for o in found} - self.known - new
        if owners:
            found |= self.db.snapshot(owners)
        self._take(found, new | owners)

    def scope(self, names: Iterable[str]) -> set[str]:
        """The relations a migration naming ``names`` can touch: those names, and, where
        index names are schema-wide, the relations holding an index of one of those names."""
        names = {n.lower() for n in names}
        self._learn(names)
        return names.union(*(self.indexes.get(n, ()) for n in names))

    def before(self, relations: set[str]) -> set[str]:
        return {o for relation in relations for o in self.objects.get(relation, ())}

    def after(self, relations: set[str]) -> set[str]:
        """One catalog query: the objects on ``relations`` now; the model takes them."""
        now = self.db.snapshot(relations, via_indexes=False)
        self._take(now, relations)
        return {o for o in now if relation_of(o) in relations}


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
    history = History(rows, unsure)
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
