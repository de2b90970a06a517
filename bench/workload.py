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

Kinds of workload (``--kind``), each deterministic for a given (dialect, count, seed):

  apply    migrations cycling through four kinds, one table per cycle: CREATE TABLE (5-8
           columns), ALTER TABLE ... ADD COLUMN, CREATE INDEX, and a seed INSERT of 10 rows
           (a prefix of a longer workload is the shorter one)
  history  a history shaped like a long-lived service: tables created with foreign keys,
           columns added and renamed, tables renamed, tables rebuilt (SQLite: create the new
           table, copy, drop, rename, re-create its indexes; PostgreSQL and MariaDB: ALTER
           ... TYPE / MODIFY), indexes, foreign keys added later, seed INSERTs and UPDATEs
  verify   COUNT tables in migrations of 100: each table with 5 columns, a primary key, a
           secondary index and (every other table) a foreign key to the one before it
  lock     COUNT migrations each ``ALTER TABLE hot ADD COLUMN ...`` (the table ``hot``
           exists beforehand, created by the bench, not by a migration)
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


def generate_verify(dialect: str, count: int, per: int = 100) -> Workload:
    """``count`` tables in migrations of ``per`` tables (the schema of the verify scenario)."""
    text, number, stamp = {
        "postgres": ("VARCHAR(100)", "NUMERIC(12,2)", "TIMESTAMPTZ NOT NULL DEFAULT now()"),
        "mysql": ("VARCHAR(100)", "DECIMAL(12,2)", "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
        "sqlite": ("VARCHAR(100)", "NUMERIC", "TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP"),
    }[dialect]
    migrations, tables, indexes = [], [], []
    for m in range(-(-count // per)):
        up, down = [], []
        for i in range(m * per, min(count, (m + 1) * per)):
            name = f"t{i:04d}"
            fk = (f", CONSTRAINT fk_{name}_parent FOREIGN KEY (parent_id) REFERENCES t{i - 1:04d} (id)"
                  if i % 2 else "")
            columns = (f"id BIGINT NOT NULL PRIMARY KEY, parent_id BIGINT NULL, name {text} NOT NULL, "
                       f"amount {number} NULL, created_at {stamp}")
            if dialect == "mysql":  # the index inside CREATE TABLE: one DDL statement (one commit) less
                up.append(f"CREATE TABLE {name} ({columns}, INDEX ix_{name}_name (name){fk})")
            else:
                up.append(f"CREATE TABLE {name} ({columns}{fk})")
                up.append(f"CREATE INDEX ix_{name}_name ON {name} (name)")
            down.insert(0, f"DROP TABLE {name}")
            tables.append(name)
            indexes.append(f"ix_{name}_name")
        migrations.append(Migration(m + 1, f"tables_{m * per:04d}", up, down))
    return Workload(dialect, migrations, tables, indexes, 0)


def generate_lock(dialect: str, count: int) -> Workload:
    """``count`` migrations, each adding one column to the table ``hot``."""
    migrations = [Migration(i, f"hot_add_c{i:04d}", [f"ALTER TABLE hot ADD COLUMN c{i:04d} INTEGER"],
                            [f"ALTER TABLE hot DROP COLUMN c{i:04d}"]) for i in range(1, count + 1)]
    return Workload(dialect, migrations, ["hot"], [], 0)


# -- a real-shaped history ----------------------------------------------------------------
_HISTORY_MIX = (  # kind, weight
    ("create_table", 18), ("add_column", 14), ("create_index", 14), ("seed", 12), ("update", 8),
    ("rename_column", 8), ("rename_table", 5), ("rebuild", 11), ("foreign_key", 7), ("drop_index", 3),
)


@dataclass
class _Table:
    name: str
    columns: dict[str, str]  # name -> type, in order (id first)
    indexes: dict[str, str]  # index name -> column
    parent: str | None = None  # the table its parent_id references (a foreign key)
    seeded: int = 0


def generate_history(dialect: str, count: int, seed: int = 20260101) -> Workload:
    """A history like a long-lived service's: see the module's docstring."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    rng = random.Random(f"{seed}:history:{dialect}")
    kinds = [k for k, _ in _HISTORY_MIX]
    weights = [w for _, w in _HISTORY_MIX]
    live: dict[str, _Table] = {}
    made = 0
    migrations: list[Migration] = []
    fk_type = {"postgres": "BIGINT", "mysql": "BIGINT", "sqlite": "INTEGER"}[dialect]

    def referenced(name: str) -> bool:
        return any(t.parent == name for t in live.values())

    def seedable(t: _Table) -> list[str]:
        return [c for c in t.columns if c in dict(_FIXED) or c in dict(_OPTIONAL)]

    def insert(t: _Table, n: int) -> str:
        cols = seedable(t)
        values = ",\n  ".join("(" + ", ".join(_value(c, t.seeded + r, rng) for c in cols) + ")"
                              for r in range(1, n + 1))
        t.seeded += n
        return f"INSERT INTO {t.name} ({', '.join(cols)}) VALUES\n  {values}"

    def create_sql(t: _Table, name: str) -> str:
        defs = [f"{c} {ty}" for c, ty in t.columns.items()]
        if t.parent:
            defs.append(f"CONSTRAINT fk_{name}_parent FOREIGN KEY (parent_id) REFERENCES {t.parent} (id)")
        return f"CREATE TABLE {name} (\n  " + ",\n  ".join(defs) + "\n)"

    while len(migrations) < count:  # a kind that does not fit the table drawn draws again
        version = len(migrations) + 1
        kind = "create_table" if len(live) < 3 else rng.choices(kinds, weights)[0]
        tables = sorted(live)
        t = live[rng.choice(tables)] if tables else None
        up: list[str] = []
        if kind == "create_table":
            made += 1
            name = f"{NOUNS[made % len(NOUNS)]}_{made:03d}"
            extra = rng.sample(_OPTIONAL, rng.randint(2, 5))
            t = _Table(name, {"id": _ID[dialect], **{n: ty[dialect] for n, ty in _FIXED + extra}}, {})
            if live and rng.random() < 0.5:
                t.parent = rng.choice(tables)
                t.columns["parent_id"] = f"{fk_type} NULL"
            up.append(create_sql(t, name))
            live[name] = t
            if rng.random() < 0.5:
                column = rng.choice([c for c in _INDEXABLE if c in t.columns])
                t.indexes[f"ix_{name}_{column}"] = column
                up.append(f"CREATE INDEX ix_{name}_{column} ON {name} ({column})")
            title = f"create_{name}"
        elif kind == "add_column":
            column = f"note_{version}"
            t.columns[column] = _EXTRA[dialect]
            up.append(f"ALTER TABLE {t.name} ADD COLUMN {column} {_EXTRA[dialect]}")
            title = f"add_{column}_to_{t.name}"
        elif kind == "create_index":
            free = [c for c in t.columns if c != "id" and c not in t.indexes.values()
                    and (c in _INDEXABLE or c.startswith(("note_", "code_", "parent_id")))]
            if not free:
                continue
            column = rng.choice(free)
            index = f"ix_{t.name}_{column}_{version}"
            t.indexes[index] = column
            up.append(f"CREATE INDEX {index} ON {t.name} ({column})")
            title = f"index_{t.name}_{column}"
        elif kind == "drop_index":
            droppable = sorted(ix for ix, c in t.indexes.items() if c != "parent_id")  # MySQL: a foreign key's
            if not droppable:
                continue
            index = rng.choice(droppable)
            del t.indexes[index]
            up.append(f"DROP INDEX {index} ON {t.name}" if dialect == "mysql" else f"DROP INDEX {index}")
            title = f"drop_{index}"
        elif kind == "seed":
            up.append(insert(t, 10))
            title = f"seed_{t.name}"
        elif kind == "update":
            if not t.seeded:
                up.append(insert(t, 5))
            up.append(f"UPDATE {t.name} SET status = 'active' WHERE status = 'new'")
            if "quantity" in t.columns:
                up.append(f"UPDATE {t.name} SET quantity = quantity + 1 WHERE id % 3 = 0")
            title = f"backfill_{t.name}_status"
        elif kind == "rename_column":
            notes = [c for c in t.columns if c.startswith("note_")]
            if not notes:
                continue
            old = rng.choice(notes)
            new = f"code_{version}"
            t.columns = {(new if c == old else c): ty for c, ty in t.columns.items()}
            t.indexes = {ix: (new if c == old else c) for ix, c in t.indexes.items()}
            up.append(f"ALTER TABLE {t.name} RENAME COLUMN {old} TO {new}")
            title = f"rename_{t.name}_{old}"
        elif kind == "rename_table":
            old = t.name
            new = f"{old.rsplit('_v', 1)[0]}_v{version}"
            up.append(f"ALTER TABLE {old} RENAME TO {new}")
            del live[old]
            t.name = new
            live[new] = t
            for other in live.values():
                if other.parent == old:
                    other.parent = new
            title = f"rename_{old}"
        elif kind == "rebuild":
            width = 120 + version
            if dialect == "postgres":
                up.append(f"ALTER TABLE {t.name} ALTER COLUMN name TYPE VARCHAR({width})")
                t.columns["name"] = f"VARCHAR({width}) NOT NULL"
            elif dialect == "mysql":
                up.append(f"ALTER TABLE {t.name} MODIFY COLUMN name VARCHAR({width}) NOT NULL")
                t.columns["name"] = f"VARCHAR({width}) NOT NULL"
            else:
                if referenced(t.name):  # a parent would need foreign_keys off: not in a migration
                    continue
                # the documented SQLite recipe: new table, copy, drop, rename, indexes again
                t.columns["name"] = f"VARCHAR({width}) NOT NULL"
                cols = ", ".join(t.columns)
                up += [create_sql(t, f"{t.name}_new"),
                       f"INSERT INTO {t.name}_new ({cols}) SELECT {cols} FROM {t.name}",
                       f"DROP TABLE {t.name}",
                       f"ALTER TABLE {t.name}_new RENAME TO {t.name}"]
                up += [f"CREATE INDEX {ix} ON {t.name} ({c})" for ix, c in t.indexes.items()]
            title = f"rebuild_{t.name}"
        else:  # foreign_key
            if t.parent or len(live) < 2:
                continue
            t.parent = rng.choice([n for n in tables if n != t.name])
            t.columns["parent_id"] = f"{fk_type} NULL"
            if dialect == "sqlite":
                up.append(f"ALTER TABLE {t.name} ADD COLUMN parent_id {fk_type} REFERENCES {t.parent} (id)")
            else:
                up += [f"ALTER TABLE {t.name} ADD COLUMN parent_id {fk_type} NULL",
                       f"ALTER TABLE {t.name} ADD CONSTRAINT fk_{t.name}_parent FOREIGN KEY (parent_id) "
                       f"REFERENCES {t.parent} (id)"]
            title = f"fk_{t.name}_parent"
        migrations.append(Migration(version, title, up, []))
    return Workload(dialect, migrations, sorted(live),
                    sorted(ix for t in live.values() for ix in t.indexes), 0)


GENERATORS = {"apply": generate, "history": generate_history, "verify": generate_verify, "lock": generate_lock}


def _sql(statements: list[str]) -> str:
    return "".join(f"{s};\n" for s in statements)


def write_migrator(w: Workload, root: Path) -> None:
    service = root / SERVICE
    folder = service / w.dialect
    folder.mkdir(parents=True)
    (service / "service.toml").write_text(f'table_prefix = "{TABLE_PREFIX}"\n')
    for m in w.migrations:
        (folder / f"{m.stem}.up.sql").write_text(f"-- {m.title}\n" + _sql(m.up))
        if m.down:
            (folder / f"{m.stem}.down.sql").write_text(_sql(m.down))


def write_dbmate(w: Workload, root: Path) -> None:
    root.mkdir(parents=True)
    for m in w.migrations:
        (root / f"{m.stem}.sql").write_text(f"-- migrate:up\n{_sql(m.up)}\n-- migrate:down\n{_sql(m.down)}")


def write_yoyo(w: Workload, root: Path) -> None:
    root.mkdir(parents=True)
    for m in w.migrations:
        (root / f"{m.stem}.sql").write_text(f"-- {m.title}\n" + _sql(m.up))
        if m.down:
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
        down = "\n".join(f"    op.execute({s!r})" for s in reversed(m.down)) or "    pass"
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
    p.add_argument("--kind", choices=sorted(GENERATORS), default="apply")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    make = GENERATORS[a.kind]
    w = make(a.dialect, a.count, a.seed) if a.kind in ("apply", "history") else make(a.dialect, a.count)
    write_all(w, a.out)
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
