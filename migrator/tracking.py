"""The per-service tables: tracking (``<prefix>_migrations``) and events
(``<prefix>_migration_events``). Query strings only; the engine decides when."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache

from migrator.errors import UsageError
from migrator.source import Migration, Service

OWNER_EVENT = "MIGRATION_TRACKING_OWNER"  # detail {"service": name}: whose tables these are


@cache
def hostname() -> str:
    """This machine's name, asked once (socket is imported only by the runs that write)."""
    import socket

    return socket.gethostname()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(value) -> str | None:
    """A stored timestamp as ISO-8601 UTC, whatever the driver returned."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class AppliedRow:
    """One tracking row."""

    version: int
    name: str
    checksum: str
    applied_at: str | None
    execution_ms: int
    dirty: bool
    forced: bool
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


class Tracker:
    """Reads and writes one service's tracking and events tables."""

    def __init__(self, db, service: Service):
        self.db = db
        self.service = service
        self.table = db.quote(service.tracking_table)
        self.events = db.quote(service.events_table)

    def exists(self) -> bool:
        return self.db.table_exists(self.service.tracking_table)

    def ensure(self) -> None:
        """Create the tracking and events tables where missing: only then is CREATE needed, so a
        user without it can run an `up` that has nothing to do."""
        names = (self.service.tracking_table, self.service.events_table)
        found = self.db.snapshot(names, kinds=("table",))
        missing = [n for n in names if f"table:{n.lower()}" not in found]
        t = self.db.types
        if self.service.tracking_table in missing:
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                f"version {t['bigint']} NOT NULL PRIMARY KEY, name {t['name']} NOT NULL, "
                f"checksum {t['checksum']} NOT NULL, applied_at {t['timestamp']} NOT NULL, "
                f"execution_ms {t['bigint']} NOT NULL DEFAULT 0, dirty {t['bool']} NOT NULL DEFAULT FALSE, "
                f"forced {t['bool']} NOT NULL DEFAULT FALSE, objects_created {t['text']}, "
                f"objects_dropped {t['text']})"
            )
        if self.service.events_table in missing:
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.events} ("
                f"id {t['serial_pk']}, event {t['name']} NOT NULL, version {t['bigint']}, "
                f"created_at {t['timestamp']} NOT NULL, detail {t['text']} NOT NULL)"
            )

    def rows(self) -> dict[int, AppliedRow]:
        if not self.exists():
            return {}
        out = {}
        canonical = self.db.canonical_objects
        for r in self.db.query(
            f"SELECT version, name, checksum, applied_at, execution_ms, dirty, forced, "
            f"objects_created, objects_dropped FROM {self.table} ORDER BY version"
        ):
            out[int(r[0])] = AppliedRow(int(r[0]), r[1], r[2], iso(r[3]), int(r[4] or 0), bool(r[5]), bool(r[6]),
                                        canonical(json.loads(r[7] or "[]")), canonical(json.loads(r[8] or "[]")))
        return out

    def insert(self, m: Migration, *, dirty: bool, forced: bool = False, created=(), dropped=(),
               execution_ms: int = 0) -> None:
        self.db.execute(*self.insert_sql(m, dirty=dirty, forced=forced, created=created, dropped=dropped,
                                         execution_ms=execution_ms))

    def insert_sql(self, m: Migration, *, dirty: bool, forced: bool = False, created=(), dropped=(),
                   execution_ms: int = 0) -> tuple[str, tuple]:
        return (
            f"INSERT INTO {self.table} (version, name, checksum, applied_at, execution_ms, dirty, forced, "
            f"objects_created, objects_dropped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (m.version, m.name, m.checksum, self.db.db_time(utcnow()), execution_ms, dirty, forced,
             json.dumps(sorted(created)), json.dumps(sorted(dropped))),
        )

    def mark_clean(self, version: int, *, created=(), dropped=(), execution_ms: int = 0) -> None:
        self.db.execute(*self.mark_clean_sql(version, created=created, dropped=dropped,
                                             execution_ms=execution_ms))

    def mark_clean_sql(self, version: int, *, created=(), dropped=(), execution_ms: int = 0):
        return (
            f"UPDATE {self.table} SET dirty = ?, applied_at = ?, execution_ms = ?, objects_created = ?, "
            f"objects_dropped = ? WHERE version = ?",
            (False, self.db.db_time(utcnow()), execution_ms, json.dumps(sorted(created)),
             json.dumps(sorted(dropped)), version),
        )

    def set_dropped(self, version: int, dropped) -> None:
        self.db.execute(f"UPDATE {self.table} SET objects_dropped = ? WHERE version = ?",
                        (json.dumps(sorted(dropped)), version))

    def set_checksum(self, version: int, checksum: str) -> None:
        self.db.execute(f"UPDATE {self.table} SET checksum = ? WHERE version = ?", (checksum, version))

    def set_dirty(self, version: int, dirty: bool) -> None:
        self.db.execute(f"UPDATE {self.table} SET dirty = ? WHERE version = ?", (dirty, version))

    def delete(self, versions) -> None:
        for version in versions:
            self.db.execute(f"DELETE FROM {self.table} WHERE version = ?", (version,))

    def delete_above(self, version: int) -> None:
        self.db.execute(f"DELETE FROM {self.table} WHERE version > ?", (version,))

    def event(self, event: str, version: int | None = None, **detail) -> None:
        self.db.execute(*self.event_sql(event, version, **detail))

    def event_sql(self, event: str, version: int | None = None, **detail) -> tuple[str, tuple]:
        detail.setdefault("host", hostname())
        detail.setdefault("pid", os.getpid())
        return (
            f"INSERT INTO {self.events} (event, version, created_at, detail) VALUES (?, ?, ?, ?)",
            (event, version, self.db.db_time(utcnow()), json.dumps(detail, sort_keys=True, default=str)),
        )

    def list_events(self, limit: int = 1000) -> list[tuple]:
        return self.db.query(
            f"SELECT id, event, version, created_at, detail FROM {self.events} ORDER BY id DESC LIMIT {int(limit)}"
        )

    # -- owner: the service whose rows these are (two services must never share them) --------
    def owner(self) -> str | None:
        """The service recorded as owning these tables (the first OWNER_EVENT), or None:
        no tables yet, or tables of an earlier release that recorded no owner."""
        if not self.db.table_exists(self.service.events_table):
            return None
        found = self.db.query(f"SELECT detail FROM {self.events} WHERE event = ? ORDER BY id LIMIT 1",
                              (OWNER_EVENT,))
        return json.loads(found[0][0]).get("service") if found else None

    def check_owner(self) -> str | None:
        """The recorded owner; refuses (exit 2) tables that another service owns, one that
        uses the same table prefix (in another migrations directory or image)."""
        owner = self.owner()
        if owner is not None and owner != self.service.name:
            raise UsageError(
                f"tracking table {self.service.tracking_table} belongs to service {owner!r}, not "
                f"{self.service.name!r}: both use the table prefix {self.service.table_prefix!r}",
                hint=f"give service {self.service.name!r} its own table_prefix in "
                     f"{self.service.root / 'service.toml'}")
        return owner

    def record_owner(self) -> None:
        """Record this service as the owner (once, under the migration lock, tables created)."""
        self.event(OWNER_EVENT, service=self.service.name)
