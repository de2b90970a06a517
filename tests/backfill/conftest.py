"""Fixtures for the backfill suite: a tiny service with an ``items`` table and a
backfill whose ``touched`` counter proves every row is processed exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import TestDB, migrator_cmd

ROWS = 200_000
NAME = "items_total"
LEASE_SECONDS = 3  # a dead runner's lease runs out this fast in the tests (default 30)
LEASE_ENV = {"MIGRATOR_BACKFILL_LEASE_SECONDS": str(LEASE_SECONDS)}
ITEMS = {
    "postgres": "CREATE TABLE items (id bigint PRIMARY KEY, amount int NOT NULL, total int NULL, "
                "touched int NOT NULL DEFAULT 0);",
    "mysql": "CREATE TABLE items (id BIGINT PRIMARY KEY, amount INT NOT NULL, total INT NULL, "
             "touched INT NOT NULL DEFAULT 0) ENGINE=InnoDB;",
    "sqlite": "CREATE TABLE items (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL, total INTEGER NULL, "
              "touched INTEGER NOT NULL DEFAULT 0);",
}
SECOND = {  # a second migration, for "required migration not applied"
    "postgres": "CREATE TABLE notes (id bigint PRIMARY KEY);",
    "mysql": "CREATE TABLE notes (id BIGINT PRIMARY KEY) ENGINE=InnoDB;",
    "sqlite": "CREATE TABLE notes (id INTEGER PRIMARY KEY);",
}
UPDATE = ("UPDATE items SET total = amount * 2, touched = touched + 1 "
          "WHERE id >= :lo AND id < :hi AND total IS NULL")
PLAIN_UPDATE = "UPDATE {table} SET total = amount * 2, touched = touched + 1 WHERE total IS NULL"


def toml_value(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string is a JSON string for our texts
    return str(value).lower() if isinstance(value, bool) else str(value)


def declaration(sql: dict | None = None, **fields) -> str:
    """The text of a backfill declaration; ``None`` values drop a key."""
    values = {"requires": 1, "table": "items", "key": "id", "batch_size": 5000, "pause_ms": 0}
    values.update(fields)
    lines = [f"{k} = {toml_value(v)}" for k, v in values.items() if v is not None]
    lines.append("[sql]")
    lines += [f"{d} = {toml_value(s)}" for d, s in (sql or {}).items()]
    return "\n".join(lines) + "\n"


@dataclass
class Service:
    """The test service on one throwaway database, driven through the real CLI."""

    db: TestDB
    root: Path
    cli: object
    name: str = "svc"
    prefix: str = "svc"
    procs: list = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.root / self.name / "backfills"

    def write_backfill(self, name: str = NAME, text: str | None = None, **fields) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.toml"
        if text is None:
            text = declaration({self.db.dialect: fields.pop("sql", UPDATE)}, **fields)
        path.write_text(text)
        return path

    def run(self, *args, env=None, **kwargs):
        return self.cli(*args, dsn=self.db.dsn, migrations=self.root, env={**LEASE_ENV, **(env or {})}, **kwargs)

    def up(self, *args):
        result = self.run("up", *args)
        assert result.code == 0, result.text
        return result

    def spawn(self, *args) -> subprocess.Popen:
        cmd = migrator_cmd() + ["--log-format", "json", "--database", self.db.dsn,
                                "--migrations", str(self.root), *map(str, args)]
        env = {k: v for k, v in os.environ.items() if k not in ("DSN", "DATABASE_URL")}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, env={**env, **LEASE_ENV})
        self.procs.append(proc)
        return proc

    def checkpoint(self, name: str = NAME) -> dict | None:
        rows = self.db.query(f"SELECT status, last_key, rows_done, total_estimate, error, runner, lease_until "
                             f"FROM {self.prefix}_backfills WHERE name = :name", {"name": name})
        if not rows:
            return None
        status, last_key, rows_done, total, error, runner, lease_until = rows[0]
        return {"status": status, "last_key": None if last_key is None else int(last_key),
                "rows_done": int(rows_done), "total_estimate": total, "error": error, "runner": runner,
                "leased": lease_until is not None}

    def wait_for(self, predicate, timeout: float = 60.0, what: str = "condition") -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                state = self.checkpoint()
            except Exception:  # the table may not exist yet
                state = None
            if state is not None and predicate(state):
                return state
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; last checkpoint {state}")

    def status(self, name: str = NAME) -> dict:
        result = self.run("backfill", "status", name, "--format", "json")
        assert result.code == 0, result.text
        return json.loads(result.out)["backfills"][0]

    def events(self) -> list[tuple[str, dict]]:
        rows = self.db.query(f"SELECT event, detail FROM {self.prefix}_migration_events "
                             "WHERE event LIKE :pattern ORDER BY id", {"pattern": "MIGRATION_BACKFILL_%"})
        return [(event, json.loads(detail)) for event, detail in rows]

    def touched(self) -> dict:
        """How often each row was processed, and whether totals are right."""
        (total, once, more, never, wrong, top), = self.db.query(
            "SELECT COUNT(*), SUM(CASE WHEN touched = 1 THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN touched > 1 THEN 1 ELSE 0 END), SUM(CASE WHEN touched = 0 THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN touched = 1 AND (total IS NULL OR total <> amount * 2) THEN 1 ELSE 0 END), "
            "MAX(CASE WHEN touched > 0 THEN id END) FROM items")
        return {"rows": int(total), "once": int(once or 0), "more": int(more or 0), "never": int(never or 0),
                "wrong": int(wrong or 0), "max_touched_id": None if top is None else int(top)}


def seed(db: TestDB, rows: int = ROWS, step: int = 1, table: str = "items") -> None:
    """Insert ``rows`` rows with ids step, 2*step, ...: generate_series, a recursive CTE, or doubling."""
    value = f"g * {step}, g % 1000"
    if db.dialect == "postgres":
        db.execute(f"INSERT INTO {table} (id, amount) SELECT {value} FROM generate_series(1::bigint, {rows}) g",
                   f"ANALYZE {table}")
    elif db.dialect == "sqlite":
        db.execute(f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) "
                   f"INSERT INTO {table} (id, amount) SELECT {value} FROM s")
    else:  # MariaDB caps recursive CTEs at 1000 iterations: double a sequence table instead
        statements = ["CREATE TABLE seed_seq (g BIGINT PRIMARY KEY) ENGINE=InnoDB",
                      "INSERT INTO seed_seq VALUES (1)"]
        have = 1
        while have < rows:
            statements.append(f"INSERT INTO seed_seq SELECT g + {have} FROM seed_seq WHERE g + {have} <= {rows}")
            have *= 2
        statements += [f"INSERT INTO {table} (id, amount) SELECT {value} FROM seed_seq",
                       "DROP TABLE seed_seq", f"ANALYZE TABLE {table}"]
        db.execute(*statements)


@pytest.fixture
def service(db, cli, write_migrations):
    """The ``svc`` service with migration 1 (items) and 2 (notes), not yet applied."""
    root = write_migrations({db.dialect: {"0001_items.up.sql": ITEMS[db.dialect],
                                          "0002_notes.up.sql": SECOND[db.dialect]}})
    svc = Service(db, root, cli)
    yield svc
    for proc in svc.procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def seeded(service):
    """The service migrated, 200,000 rows seeded, and the items_total backfill declared."""
    service.up()
    seed(service.db)
    service.write_backfill()
    return service
