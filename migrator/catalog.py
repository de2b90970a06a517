"""Schema objects: what a migration created and dropped, and verification of the
tracking table against the actual schema (SPEC section 6).

Snapshots are limited to the relations a migration's statements name, so two
services migrating one database at the same moment never record each other's objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from migrator.split import Statement

_IDENT = re.compile(r'"((?:[^"]|"")+)"|`((?:[^`]|``)+)`|\[([^\]]+)\]|([A-Za-z_][A-Za-z0-9_$]*)')
_CREATES = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?(?:MATERIALIZED\s+)?"
    r"(?P<kind>TABLE|VIEW|SEQUENCE)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?:[\w\"`]+\.)?[\"`\[]?(?P<name>[A-Za-z_][A-Za-z0-9_$]*)",
    re.IGNORECASE,
)


_NOT_CODE = re.compile(
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


@dataclass
class Change:
    created: set[str]
    dropped: set[str]


def diff(before: set[str], after: set[str], own_tables: frozenset[str]) -> Change:
    return Change(without_own(after - before, own_tables), without_own(before - after, own_tables))


@dataclass
class Desync:
    """Applied versions whose recorded objects are missing."""

    missing: dict[int, list[str]]  # version -> missing objects
    present: dict[int, list[str]] = field(default_factory=dict)  # version -> objects still there
    newest: list[int] = field(default_factory=list)  # applied versions, ascending

    @property
    def versions(self) -> list[int]:
        return sorted(self.missing)

    @property
    def partial(self) -> list[int]:
        return [v for v in self.versions if self.present.get(v)]

    @property
    def contiguous_newest(self) -> bool:
        return self.versions == self.newest[-len(self.versions):]

    @property
    def repairable(self) -> bool:
        return self.contiguous_newest and not self.partial

    @property
    def rewind_from(self) -> int:
        return self.versions[0]


def live_objects(rows) -> dict[str, int]:
    """Object -> the applied version that created it, after later drops."""
    live: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: r.version):
        for obj in row.dropped:
            live.pop(obj, None)
        for obj in row.created:
            live[obj] = row.version
    return live


def check(db, rows) -> Desync | None:
    """Compare what the tracking rows say exists with the schema, in one bulk query."""
    rows = [r for r in rows if not r.dirty]
    live = live_objects(rows)
    if not live:
        return None
    # every recorded object names its relation (index:t.i -> t): the relations are the whole filter
    current = db.snapshot({relation_of(o) for o in live})
    missing: dict[int, list[str]] = {}
    present: dict[int, list[str]] = {}
    for obj, version in sorted(live.items()):
        (present if obj in current else missing).setdefault(version, []).append(obj)
    if not missing:
        return None
    return Desync(missing, {v: present.get(v, []) for v in missing}, [r.version for r in rows])
