"""Object strings and what one catalog query returns: the vocabulary the dialects (which
read the catalog) and the catalog module (which compares what they read) share.

An object string is ``kind:name``: ``table:t``, ``view:v``, ``sequence:s`` for relations,
``column:t.c``, ``index:t.i``, ``constraint:t.k`` for what lives on one."""

from __future__ import annotations

from dataclasses import dataclass, field


def relation_of(obj: str) -> str:
    """The relation an object string lives on: ``column:t.c`` -> ``t``."""
    kind, _, rest = obj.partition(":")
    return rest if kind in ("table", "view", "sequence") else rest.split(".", 1)[0]


@dataclass(frozen=True)
class Scan:
    """What one catalog query saw: ``objects`` (as ``snapshot`` returns them) and ``owned``,
    relation -> the relations that go with it, created and dropped with it (PostgreSQL: the
    sequences of its SERIAL and IDENTITY columns, its partitions)."""

    objects: set[str]
    owned: dict[str, set[str]] = field(default_factory=dict)
    # the relations' names as the catalog spells them, where that is not lower-case (a quoted
    # "User" on PostgreSQL): what a later scan by exact name needs
    spellings: set[str] = field(default_factory=set)

    @property
    def relations(self) -> set[str]:
        """The relations the query read whole (a name may reach just an index on SQLite)."""
        return {o.partition(":")[2] for o in self.objects if o.startswith(("table:", "view:", "sequence:"))}
