"""What verification relies on: every created object is recorded, however many there are."""

from __future__ import annotations

import pytest
from verify_support import REPAIR_ENV, REPAIR_HINT, REPAIRED, applied_objects, assert_fatal_then, events

TABLES = 120
COLUMNS = 10


def _big_migration() -> str:
    out = []
    for i in range(TABLES):
        cols = ", ".join(f"a_reasonably_descriptive_column_name_{j:02d} VARCHAR(20) NULL" for j in range(COLUMNS))
        out.append(f"CREATE TABLE catalogue_entry_with_long_name_{i:04d} "
                   f"(id BIGINT NOT NULL PRIMARY KEY, {cols});")
        out.append(f"CREATE INDEX ix_catalogue_entry_with_long_name_{i:04d}_c0 "
                   f"ON catalogue_entry_with_long_name_{i:04d} (a_reasonably_descriptive_column_name_00);")
    return "\n".join(out) + "\n"


def test_a_migration_creating_many_objects_is_recorded_in_full(db, write_migrations, cli):
    """~1,500 objects, ~90 KB of JSON: more than a MySQL TEXT column (64 KB) holds."""
    files = {"0001_small.up.sql": "CREATE TABLE head (id BIGINT NOT NULL PRIMARY KEY);\n",
             "0002_big.up.sql": _big_migration()}
    migrations = write_migrations({db.dialect: files}, service="svc")

    up = cli("up", dsn=db.dsn, migrations=migrations)

    assert up.code == 0, up.text[-2000:]
    recorded = applied_objects(db)[2]
    assert len(recorded) >= TABLES * (COLUMNS + 3)
    assert f"table:catalogue_entry_with_long_name_{TABLES - 1:04d}" in recorded
    assert cli("verify", dsn=db.dsn, migrations=migrations).code == 0

    db.execute(*[f"DROP TABLE catalogue_entry_with_long_name_{i:04d}" for i in range(TABLES)])
    refused = cli("up", dsn=db.dsn, migrations=migrations)
    assert refused.code == 4
    assert_fatal_then(refused, REPAIR_HINT.format(version=2))
    repaired = cli("up", dsn=db.dsn, migrations=migrations, env=REPAIR_ENV)
    assert repaired.code == 0, repaired.text[-2000:]
    assert len(events(db, REPAIRED)[0][1]["missing"]["2"]) == len(recorded)
