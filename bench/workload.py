"""Generate one benchmark workload in every contender's format, from the same SQL.

    python bench/workload.py --dialect postgres --count 200 --out DIR

writes, under DIR:

    migrator/bench/service.toml                 ours (service "bench", table prefix "bench")
    migrator/bench/<dialect>/<v>_<title>.up.sql
    dbmate/<v>_<title>.sql                      dbmate (-- migrate:up / -- migrate:down)
    yoyo/<v>_<title>.sql (+ .rollback.sql)      yoyo
    alembic/alembic.ini, env.py, versions/*.py  alembic (op.execute per statement,
                                                one transaction per migration)
    floor.json                                  the statements, per migration, for the floor
    expected.json                               what the schema holds afterwards

The migrations cycle through four kinds, one table per cycle: CREATE TABLE (5-8
columns), ALTER TABLE ... ADD COLUMN, CREATE INDEX, and a seed INSERT of 10 rows.
The output is deterministic for a given (dialect, count, seed).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

DIALECTS = ("postgres", "mysql", "sqlite")
KINDS = ("create_table", "add_column", "create_index", "seed")
NOUNS = ("orders", "invoices", "accounts", "projects", "events", "tickets", "assets", "reports",
         "bindings", "prompts", "workflows", "profiles", "branches", "secrets", "sessions", "jobs")
SERVICE = "bench"
TABLE_PREFIX = "bench"
WIDTH = 6  # digits of a version

# name -> (postgres, mysql, sqlite) type, sample value maker
_ID = {"postgres": "BIGSERIAL PRIMARY KEY", "mysql": "BIGINT AUTO_INCREMENT PRIMARY KEY",
       "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT"}
_FIXED = [  # always present, after id
    ("name", {"postgres": "VARCHAR(120) NOT NULL", "mysql": "VARCHAR(120) NOT NULL",
              "sqlite": "TEXT NOT NULL"}),
    ("status", {"postgres": "VARCHAR(32) NOT NULL DEFAULT 'new'",
                "mysql": "VARCHAR(32) NOT NULL DEFAULT 'new'", "sqlite": "TEXT NOT NULL DEFAULT 'new'"}),
]
_OPTIONAL = [
    ("amount", {"postgres": "NUMERIC(12,2)", "mysql": "DECIMAL(12,2)", "sqlite": "NUMERIC"}),
    ("created_at", {"postgres": "TIMESTAMPTZ NOT NULL DEFAULT now()",
                    "mysql": "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
                    "sqlite": "TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP"}),
    ("is_active", {"postgres": "BOOLEAN NOT NULL DEFAULT TRUE", "mysql": "BOOLEAN NOT NULL DEFAULT TRUE",
                   "sqlite": "INTEGER NOT NULL DEFAULT 1"}),
    ("owner_id", {"postgres": "BIGINT", "mysql": "BIGINT", "sqlite": "INTEGER"}),
    ("payload", {"postgres": "TEXT", "mysql": "TEXT", "sqlite": "TEXT"}),
    ("external_ref", {"postgres": "VARCHAR(64)", "mysql": "VARCHAR(64)", "sqlite": "TEXT"}),
    ("quantity", {"postgres": "INTEGER NOT NULL DEFAULT 0", "mysql": "INT NOT NULL DEFAULT 0",
                  "sqlite": "INTEGER NOT NULL DEFAULT 0"}),
]
_EXTRA = {"postgres": "VARCHAR(200) NULL", "mysql": "VARCHAR(200) NULL", "sqlite": "TEXT NULL"}
_INDEXABLE = ("status", "owner_id", "external_ref", "quantity", "amount", "name")


def _value(column: str, row: int, rng: random.Random) -> str:
    if column == "name":
        return f"'item {row} {rng.choice(NOUNS)}'"
    if column == "status":
        return f"'{rng.choice(('new', 'active', 'archived'))}'"
    if column == "amount":
        return f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}"
    if column == "created_at":
        return f"'2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}'"
    if column == "is_active":
        return rng.choice(("TRUE", "FALSE"))
    if column in ("owner_id", "quantity"):
        return str(rng.randint(1, 10_000))
    if column == "payload":
        return f"'{{\"k\": {rng.randint(0, 999)}, \"tags\": [\"a\", \"b\"]}}'"
    if column == "external_ref":
        return f"'ext-{rng.getrandbits(48):012x}'"
    raise ValueError(column)


@dataclass
class Migration:
    version: int
    title: str
    up: list[str]  # statements, without the terminating semicolon
    down: list[str]

    @property
    def stem(self) -> str:
        return f"{self.version:0{WIDTH}d}_{self.title}"


@dataclass
class Workload:
    dialect: str
    migrations: list[Migration]
    tables: list[str]
    indexes: list[str]
    rows: int


def generate(dialect: str, count: int, seed: int = 20260101) -> Workload:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    rng = random.Random(f"{seed}:{dialect}")
    migrations: list[Migration] = []
    tables: list[str] = []
    indexes: list[str] = []
    rows = 0
    table = ""
    columns: list[str] = []
    for i in range(count):
        version = i + 1
        kind = KINDS[i % len(KINDS)]
        k = i // len(KINDS) + 1
        if kind == "create_table":
            table = f"w{k:04d}_{NOUNS[k % len(NOUNS)]}"
            extra = rng.sample(_OPTIONAL, rng.randint(2, 5))  # 1 + 2 + (2..5) = 5..8 columns
            defs = [("id", _ID[dialect])] + [(n, t[dialect]) for n, t in _FIXED + extra]
            columns = [n for n, _ in defs]
            body = ",\n  ".join(f"{n} {t}" for n, t in defs)
            tables.append(table)
            migrations.append(Migration(version, f"create_{table}", [f"CREATE TABLE {table} (\n  {body}\n)"],
                                        [f"DROP TABLE {table}"]))
        elif kind == "add_column":
            column = f"note_{k}"
            columns.append(column)
            migrations.append(Migration(
                version, f"add_{column}_to_{table}",
                [f"ALTER TABLE {table} ADD COLUMN {column} {_EXTRA[dialect]}"],
                [f"ALTER TABLE {table} DROP COLUMN {column}"]))
        elif kind == "create_index":
            column = rng.choice([c for c in _INDEXABLE if c in columns])
            index = f"ix_{table}_{column}"
            indexes.append(index)
            drop = f"DROP INDEX {index} ON {table}" if dialect == "mysql" else f"DROP INDEX {index}"
            migrations.append(Migration(version, f"index_{table}_{column}",
                                        [f"CREATE INDEX {index} ON {table} ({column})"], [drop]))
        else:
            seeded = [c for c in columns if c != "id" and not c.startswith("note_")]
            values = ",\n  ".join(
                "(" + ", ".join(_value(c, r, rng) for c in seeded) + ")" for r in range(1, 11))
            rows += 10
            migrations.append(Migration(
                version, f"seed_{table}",
                [f"INSERT INTO {table} ({', '.join(seeded)}) VALUES\n  {values}"],
                [f"DELETE FROM {table}"]))
    return Workload(dialect, migrations, tables, indexes, rows)


def _sql(statements: list[str]) -> str:
    return "".join(f"{s};\n" for s in statements)


def write_migrator(w: Workload, root: Path) -> None:
    service = root / SERVICE
    folder = service / w.dialect
    folder.mkdir(parents=True)
    (service / "service.toml").write_text(f'table_prefix = "{TABLE_PREFIX}"\n')
    for m in w.migrations:
        (folder / f"{m.stem}.up.sql").write_text(f"-- {m.title}\n" + _sql(m.up))
        (folder / f"{m.stem}.down.sql").write_text(_sql(m.down))


def write_dbmate(w: Workload, root: Path) -> None:
    root.mkdir(parents=True)
    for m in w.migrations:
        (root / f"{m.stem}.sql").write_text(f"-- migrate:up\n{_sql(m.up)}\n-- migrate:down\n{_sql(m.down)}")


def write_yoyo(w: Workload, root: Path) -> None:
    root.mkdir(parents=True)
    for m in w.migrations:
        (root / f"{m.stem}.sql").write_text(f"-- {m.title}\n" + _sql(m.up))
        (root / f"{m.stem}.rollback.sql").write_text(_sql(m.down))


_ALEMBIC_INI = """[alembic]
script_location = %(here)s
"""
_ALEMBIC_ENV = '''"""Minimal env.py: online mode, the URL from $BENCH_ALEMBIC_URL, one transaction
per migration."""
import os

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

engine = create_engine(os.environ["BENCH_ALEMBIC_URL"], poolclass=NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
'''


def write_alembic(w: Workload, root: Path) -> None:
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(_ALEMBIC_INI)
    (root / "env.py").write_text(_ALEMBIC_ENV)
    previous = None
    for m in w.migrations:
        rev = f"{m.version:0{WIDTH}d}"
        up = "\n".join(f"    op.execute({s!r})" for s in m.up)
        down = "\n".join(f"    op.execute({s!r})" for s in reversed(m.down))
        (versions / f"{m.stem}.py").write_text(
            f'"""{m.title}"""\nfrom alembic import op\n\nrevision = {rev!r}\n'
            f"down_revision = {previous!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n{up}\n\n\ndef downgrade():\n{down}\n")
        previous = rev


def write_all(w: Workload, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    write_migrator(w, out / "migrator")
    write_dbmate(w, out / "dbmate")
    write_yoyo(w, out / "yoyo")
    write_alembic(w, out / "alembic")
    (out / "floor.json").write_text(json.dumps([m.up for m in w.migrations]))
    (out / "expected.json").write_text(json.dumps(
        {"dialect": w.dialect, "migrations": len(w.migrations), "tables": w.tables,
         "indexes": w.indexes, "rows": w.rows, "statements": sum(len(m.up) for m in w.migrations)}))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dialect", choices=DIALECTS, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    write_all(generate(a.dialect, a.count, a.seed), a.out)
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
