"""The ``<prefix>_backfills`` table: a checkpoint row per backfill, with its runner's lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from migrator.execute import is_driver_error
from migrator.source import Service
from migrator.tracking import iso, utcnow

COLUMNS = ("name", "status", "last_key", "rows_done", "total_estimate", "started_at", "updated_at",
           "completed_at", "error", "runner", "heartbeat_at", "lease_until")
LEASE_COLUMNS = {"runner": "name", "heartbeat_at": "timestamp", "lease_until": "timestamp"}  # -> types key


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
        self.table = db.quote(service.backfills_table)
        self.present: set[str] | None = None  # the table's columns, once looked up

    def exists(self) -> bool:
        return self.db.table_exists(self.service.backfills_table)

    def ensure(self) -> None:
        t = self.db.types
        try:
            self.db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (name {t['name']} NOT NULL PRIMARY KEY, "
                f"status {t['name']} NOT NULL, last_key {t['bigint']} NULL, "
                f"rows_done {t['bigint']} NOT NULL DEFAULT 0, total_estimate {t['bigint']} NULL, "
                f"started_at {t['timestamp']} NULL, updated_at {t['timestamp']} NOT NULL, "
                f"completed_at {t['timestamp']} NULL, error {t['text']} NULL, runner {t['name']} NULL, "
                f"heartbeat_at {t['timestamp']} NULL, lease_until {t['timestamp']} NULL)"
            )
        except Exception as exc:  # PostgreSQL: IF NOT EXISTS races with another runner creating it
            if not is_driver_error(exc) or not self.exists():
                raise
        self.add_lease_columns()

    def add_lease_columns(self) -> None:
        """A table made by a release without leases gets the lease columns it lacks."""
        for column, kind in LEASE_COLUMNS.items():
            if column in self.columns():
                continue
            try:
                self.db.execute(f"ALTER TABLE {self.table} ADD COLUMN {column} {self.db.types[kind]} NULL")
            except Exception as exc:  # another runner added it at the same moment
                if not is_driver_error(exc) or column not in self.columns():
                    raise
        self.present = None

    def select_list(self) -> str:
        """COLUMNS, with NULL for lease columns that a table of an earlier release lacks
        (``status`` reads such a table as it is; ``run`` adds them)."""
        if self.present is None:
            self.present = self.columns()
        return ", ".join(c if c in self.present or c not in LEASE_COLUMNS else f"NULL AS {c}" for c in COLUMNS)

    def columns(self) -> set[str]:
        prefix = f"column:{self.service.backfills_table.lower()}."
        return {o.removeprefix(prefix) for o in self.db.snapshot({self.service.backfills_table}, kinds=("column",))
                if o.startswith(prefix)}

    def ensure_row(self, name: str) -> None:
        tail = (" ON DUPLICATE KEY UPDATE name = name" if self.db.files_dialect == "mysql"
                else " ON CONFLICT (name) DO NOTHING")
        self.db.execute(f"INSERT INTO {self.table} (name, status, rows_done, updated_at) "
                        f"VALUES (?, 'pending', 0, ?){tail}", (name, self.now()))

    def get(self, name: str, for_update: bool = False) -> Checkpoint | None:
        lock = " FOR UPDATE" if for_update and self.db.files_dialect != "sqlite" else ""
        rows = self.db.query(f"SELECT {self.select_list()} FROM {self.table} WHERE name = ?{lock}", (name,))
        return Checkpoint.from_row(rows[0]) if rows else None

    def all(self) -> dict[str, Checkpoint]:
        if not self.exists():
            return {}
        rows = self.db.query(f"SELECT {self.select_list()} FROM {self.table} ORDER BY name")
        return {r[0]: Checkpoint.from_row(r) for r in rows}

    def update(self, name: str, **values) -> None:
        assert set(values) <= set(COLUMNS) - {"name", "updated_at"}, values
        values["updated_at"] = self.now()
        sets = ", ".join(f"{column} = ?" for column in values)
        self.db.execute(f"UPDATE {self.table} SET {sets} WHERE name = ?", (*values.values(), name))

    def reset(self, name: str) -> None:
        self.update(name, status="pending", last_key=None, rows_done=0, total_estimate=None,
                    started_at=None, completed_at=None, error=None)

    def release(self, name: str, runner: str) -> None:
        """Give up the lease, if ``runner`` still holds it; the checkpoint stays."""
        self.db.execute(f"UPDATE {self.table} SET lease_until = NULL, updated_at = ? WHERE name = ? AND runner = ?",
                        (self.now(), name, runner))

    def now(self):
        return self.db.db_time(utcnow())
