"""The ``<prefix>_backfills`` table: a checkpoint row per backfill, with its runner's lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import null, select, update
from sqlalchemy.exc import DBAPIError

from migrator.source import Service
from migrator.tables import own_tables
from migrator.tracking import iso, utcnow

COLUMNS = ("name", "status", "last_key", "rows_done", "total_estimate", "started_at", "updated_at",
           "completed_at", "error", "runner", "heartbeat_at", "lease_until")
LEASE_COLUMNS = ("runner", "heartbeat_at", "lease_until")  # added to the tables of releases before leases


@dataclass
class Checkpoint:
    name: str
    status: str = "pending"
    last_key: int | None = None
    rows_done: int = 0
    total_estimate: int | None = None
    started_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None
    error: str | None = None
    runner: str | None = None  # the runner holding (or last holding) the lease
    heartbeat_at: str | None = None
    lease_until: datetime | None = None

    @classmethod
    def from_row(cls, row: tuple) -> Checkpoint:
        name, status, last_key, rows_done, total, started, updated, completed, error, runner, beat, until = row
        return cls(name, status, None if last_key is None else int(last_key), int(rows_done or 0),
                   None if total is None else int(total), iso(started), iso(updated), iso(completed), error,
                   runner, iso(beat), None if until is None else datetime.fromisoformat(iso(until)))

    def lease_live(self, now: datetime | None = None) -> bool:
        """A runner holds this backfill and renewed its lease recently enough."""
        return self.runner is not None and self.lease_until is not None and (now or utcnow()) < self.lease_until

    @property
    def shown_status(self) -> str:
        """``interrupted``: stored as running, but no runner holds a live lease."""
        return "interrupted" if self.status == "running" and not self.lease_live() else self.status

    @property
    def percent(self) -> float | None:
        if self.status == "completed":
            return 100.0
        if not self.total_estimate:
            return None
        return round(min(99.9, 100.0 * self.rows_done / self.total_estimate), 1)


class Checkpoints:
    """The ``<prefix>_backfills`` table: one row per backfill that was ever touched."""

    def __init__(self, db, service: Service):
        self.db = db
        self.service = service
        self.table = own_tables(service.table_prefix).backfills
        self.present: set[str] | None = None  # the table's columns, once looked up

    def exists(self) -> bool:
        return self.db.table_exists(self.service.backfills_table)

    def ensure(self) -> None:
        try:
            self.table.metadata.create_all(self.db.conn, tables=[self.table], checkfirst=True)
        except DBAPIError:  # another runner created it between the check and the CREATE
            if not self.exists():
                raise
        self.add_lease_columns()

    def add_lease_columns(self) -> None:
        """A table made by a release without leases gets the lease columns it lacks."""
        for column in LEASE_COLUMNS:
            if column in self.columns():
                continue
            kind = self.table.c[column].type.compile(dialect=self.db.conn.dialect)
            try:
                self.db.execute(f"ALTER TABLE {self.db.quote(self.table.name)} ADD COLUMN {column} {kind} NULL")
            except DBAPIError:  # another runner added it at the same moment
                if column not in self.columns():
                    raise
        self.present = None

    def selected(self) -> list:
        """The table's columns, with NULL for lease columns that a table of an earlier release
        lacks (``status`` reads such a table as it is; ``run`` adds them)."""
        if self.present is None:
            self.present = self.columns()
        return [c if c.name in self.present or c.name not in LEASE_COLUMNS else null().label(c.name)
                for c in self.table.columns]

    def columns(self) -> set[str]:
        prefix = f"column:{self.service.backfills_table.lower()}."
        return {o.removeprefix(prefix) for o in self.db.snapshot({self.service.backfills_table}, kinds=("column",))
                if o.startswith(prefix)}

    def ensure_row(self, name: str) -> None:
        self.db.run(self.db.insert_missing(self.table, dict(name=name, status="pending", rows_done=0,
                                                            updated_at=utcnow())))

    def get(self, name: str, for_update: bool = False) -> Checkpoint | None:
        query = select(*self.selected()).where(self.table.c.name == name)
        row = self.db.run(query.with_for_update() if for_update else query).first()
        return Checkpoint.from_row(tuple(row)) if row else None

    def all(self) -> dict[str, Checkpoint]:
        if not self.exists():
            return {}
        rows = self.db.run(select(*self.selected()).order_by(self.table.c.name))
        return {r[0]: Checkpoint.from_row(tuple(r)) for r in rows}

    def update(self, name: str, **values) -> None:
        assert set(values) <= set(COLUMNS) - {"name", "updated_at"}, values
        self.db.run(update(self.table).where(self.table.c.name == name).values(**values, updated_at=utcnow()))

    def reset(self, name: str) -> None:
        self.update(name, status="pending", last_key=None, rows_done=0, total_estimate=None,
                    started_at=None, completed_at=None, error=None)

    def renew(self, name: str, runner: str, **lease) -> None:
        """The new lease times, if ``runner`` still holds the lease."""
        t = self.table
        self.db.run(update(t).where(t.c.name == name, t.c.runner == runner).values(**lease))

    def release(self, name: str, runner: str) -> None:
        """Give up the lease, if ``runner`` still holds it; the checkpoint stays."""
        t = self.table
        self.db.run(update(t).where(t.c.name == name, t.c.runner == runner)
                    .values(lease_until=None, updated_at=utcnow()))
