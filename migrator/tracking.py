"""The per-service tables: tracking (``<prefix>_migrations``) and events
(``<prefix>_migration_events``). Statements only; the engine decides when."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.sql.dml import Insert, Update

from migrator.errors import UsageError
from migrator.source import Migration, Service
from migrator.tables import own_tables

OWNER_EVENT = "MIGRATION_TRACKING_OWNER"  # detail {"service": name}: whose tables these are


@cache
def hostname() -> str:
    """This machine's name, asked once (socket is imported only by the runs that write)."""
    import socket

    return socket.gethostname()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(value: datetime | None) -> str | None:
    """A stored moment (read through tables.Moment: timezone-aware, UTC) as ISO-8601."""
    return None if value is None else value.isoformat(timespec="seconds")


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
        tables = own_tables(service.table_prefix)
        self.metadata = tables.metadata
        self.table = tables.migrations
        self.events = tables.events
        # the statements written once per migration, built once: the values come with each use
        self._insert_row = insert(self.table)
        self._clean_row = update(self.table).where(self.table.c.version == bindparam("row_version"))
        self._insert_event = insert(self.events)

    def exists(self) -> bool:
        return self.db.table_exists(self.service.tracking_table)

    def ensure(self) -> None:
        """Create the tracking and events tables where missing: only then is CREATE needed, so a
        user without it can run an `up` that has nothing to do."""
        self.metadata.create_all(self.db.conn, tables=[self.table, self.events], checkfirst=True)

    def rows(self) -> dict[int, AppliedRow]:
        if not self.exists():
            return {}
        out = {}
        canonical = self.db.canonical_objects
        t = self.table
        for r in self.db.run(select(t.c.version, t.c.name, t.c.checksum, t.c.applied_at, t.c.execution_ms,
                                    t.c.dirty, t.c.forced, t.c.objects_created, t.c.objects_dropped)
                             .order_by(t.c.version)):
            out[int(r[0])] = AppliedRow(int(r[0]), r[1], r[2], iso(r[3]), int(r[4] or 0), bool(r[5]), bool(r[6]),
                                        canonical(json.loads(r[7] or "[]")), canonical(json.loads(r[8] or "[]")))
        return out

    def insert(self, m: Migration, *, dirty: bool, forced: bool = False, created=(), dropped=(),
               execution_ms: int = 0) -> None:
        self.db.run(*self.insert_statement(m, dirty=dirty, forced=forced, created=created, dropped=dropped,
                                           execution_ms=execution_ms))

    def insert_statement(self, m: Migration, *, dirty: bool, forced: bool = False, created=(), dropped=(),
                         execution_ms: int = 0) -> tuple[Insert, dict]:
        """The tracking row of ``m``: a statement built once per service, and its values."""
        return self._insert_row, dict(
            version=m.version, name=m.name, checksum=m.checksum, applied_at=utcnow(), execution_ms=execution_ms,
            dirty=dirty, forced=forced, objects_created=json.dumps(sorted(created)),
            objects_dropped=json.dumps(sorted(dropped)))

    def mark_clean(self, version: int, *, created=(), dropped=(), execution_ms: int = 0) -> None:
        self.db.run(*self.mark_clean_statement(version, created=created, dropped=dropped,
                                               execution_ms=execution_ms))

    def mark_clean_statement(self, version: int, *, created=(), dropped=(), execution_ms: int = 0
                             ) -> tuple[Update, dict]:
        return self._clean_row, dict(
            row_version=version, dirty=False, applied_at=utcnow(), execution_ms=execution_ms,
            objects_created=json.dumps(sorted(created)), objects_dropped=json.dumps(sorted(dropped)))

    def _update(self, version: int, **values) -> Update:
        return update(self.table).where(self.table.c.version == version).values(**values)

    def set_dropped(self, version: int, dropped) -> None:
        self.db.run(self._update(version, objects_dropped=json.dumps(sorted(dropped))))

    def set_checksum(self, version: int, checksum: str) -> None:
        self.db.run(self._update(version, checksum=checksum))

    def set_dirty(self, version: int, dirty: bool) -> None:
        self.db.run(self._update(version, dirty=dirty))

    def delete(self, versions) -> None:
        for version in versions:
            self.db.run(delete(self.table).where(self.table.c.version == version))

    def delete_above(self, version: int) -> None:
        self.db.run(delete(self.table).where(self.table.c.version > version))

    def event(self, event: str, version: int | None = None, **detail) -> None:
        self.db.run(*self.event_statement(event, version, **detail))

    def event_statement(self, event: str, version: int | None = None, **detail) -> tuple[Insert, dict]:
        detail.setdefault("host", hostname())
        detail.setdefault("pid", os.getpid())
        return self._insert_event, dict(event=event, version=version, created_at=utcnow(),
                                        detail=json.dumps(detail, sort_keys=True, default=str))

    def list_events(self, limit: int = 1000) -> list[tuple]:
        e = self.events
        return [tuple(r) for r in self.db.run(select(e.c.id, e.c.event, e.c.version, e.c.created_at, e.c.detail)
                                              .order_by(e.c.id.desc()).limit(limit))]

    # -- owner: the service whose rows these are (two services must never share them) --------
    def owner(self) -> str | None:
        """The service recorded as owning these tables (the first OWNER_EVENT), or None:
        no tables yet, or tables of an earlier release that recorded no owner."""
        if not self.db.table_exists(self.service.events_table):
            return None
        e = self.events
        found = self.db.run(select(e.c.detail).where(e.c.event == OWNER_EVENT).order_by(e.c.id).limit(1)).first()
        return json.loads(found[0]).get("service") if found else None

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
