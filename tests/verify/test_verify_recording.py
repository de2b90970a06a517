"""What verification relies on: every created object is recorded, however many there are."""

from __future__ import annotations

import json

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


def _dropped(db) -> dict[int, list[str]]:
    return {int(v): json.loads(d or "[]")
            for v, d in db.query("SELECT version, objects_dropped FROM svc_migrations ORDER BY version")}


DROP_INDEX = {"postgres": "DROP INDEX ix_items_a;", "sqlite": "DROP INDEX ix_items_a;",
              "mysql": "DROP INDEX ix_items_a ON items;"}


def test_dropping_an_index_records_the_index_alone(db, write_migrations, cli):
    """DROP INDEX names no table; the table the index was on is not dropped, and stays verified
    (the engine once recorded the whole table as dropped on PostgreSQL)."""
    files = {"0001_items.up.sql": "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, a INT NULL);\n"
                                  "CREATE INDEX ix_items_a ON items (a);\n",
             "0002_drop_ix.up.sql": DROP_INDEX[db.dialect] + "\n"}
    migrations = write_migrations({db.dialect: files}, service="svc")
    assert cli("up", "--target", "1", dsn=db.dsn, migrations=migrations).code == 0

    up = cli("up", dsn=db.dsn, migrations=migrations)  # a run that reaches items by the index name alone

    assert up.code == 0, up.text[-2000:]
    assert _dropped(db) == {1: [], 2: ["index:items.ix_items_a"]}
    assert applied_objects(db)[2] == []  # not the table it was on, nor its columns
    assert cli("verify", dsn=db.dsn, migrations=migrations).code == 0
    db.execute("DROP TABLE items")
    gone = cli("verify", dsn=db.dsn, migrations=migrations)
    assert gone.code == 4, gone.text[-2000:]
    assert "table:items" in gone.text


def test_a_cascade_is_not_hidden_from_later_migrations_of_the_same_run(db, write_migrations, cli):
    """up reads the catalog once per migration and keeps a model of it for the next one's
    'before'; DROP ... CASCADE removes a view the statement does not name, so the model must
    start again, or version 3 would not record the view it creates again."""
    if db.dialect != "postgres":
        pytest.skip("DROP TABLE ... CASCADE of a dependent view is PostgreSQL's")
    create = ("CREATE TABLE parts (id BIGINT NOT NULL PRIMARY KEY);\n"
              "CREATE VIEW parts_view AS SELECT id FROM parts;\n")
    files = {"0001_parts.up.sql": create, "0002_drop.up.sql": "DROP TABLE parts CASCADE;\n",
             "0003_parts_again.up.sql": create}
    migrations = write_migrations({db.dialect: files}, service="svc")

    up = cli("up", dsn=db.dsn, migrations=migrations)

    assert up.code == 0, up.text[-2000:]
    assert "view:parts_view" in applied_objects(db)[3]
    db.execute("DROP VIEW parts_view")
    gone = cli("verify", dsn=db.dsn, migrations=migrations)
    assert gone.code == 4, gone.text[-2000:]
    assert "view:parts_view" in gone.text
