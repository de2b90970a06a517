"""Failing migrations, the dirty state and its recovery, checksums, untracked schemas
(SPEC 5 exit codes 1, 3, 4, 6; SPEC 6 transactions)."""

from __future__ import annotations

import json

import pytest
from engine_support import (
    VERSIONS,
    app_tables,
    events,
    logged_events,
    ok,
    plain_lines,
    tracking_rows,
    versions,
)

DIRTY_6 = "Error: Database is in dirty state at version 6"
BROKEN = """CREATE TABLE widgets (id INTEGER PRIMARY KEY);
INSERT INTO widgets (id) VALUES (1);

-- the next statement fails
SELECT no_such_column FROM widgets;
"""
FIXED = "CREATE TABLE widgets (id INTEGER PRIMARY KEY);\nINSERT INTO widgets (id) VALUES (1);\n"
# A no-transaction migration that fails (CONCURRENTLY on PostgreSQL).
BROKEN_NO_TX = {
    "postgres": "-- migrator:no-transaction\nCREATE INDEX CONCURRENTLY orders_bad_idx ON orders (no_such_column);\n",
    "sqlite": "-- migrator:no-transaction\nCREATE INDEX orders_bad_idx ON orders (no_such_column);\n",
}
FIXED_NO_TX = {
    "postgres": "-- migrator:no-transaction\n"
                "CREATE INDEX CONCURRENTLY orders_bad_idx ON orders (user_id, total_cents);\n",
    "sqlite": "-- migrator:no-transaction\nCREATE INDEX orders_bad_idx ON orders (user_id, total_cents);\n",
}


def assert_dirty_refusals(mig, db):
    """While version 6 is dirty: status shows it, and up/down refuse with the exact line."""
    rows = tracking_rows(db)
    r = ok(mig("status"))
    line6 = next(line for line in r.out.splitlines() if line.startswith("6 "))
    assert line6.split()[-1] == "DIRTY"
    data = json.loads(ok(mig("status", "--format", "json")).out)
    assert data["dirty"] is True and data["migrations"][-1]["status"] == "DIRTY"
    ok(mig("status", "--check"), 3)
    for args in (("up",), ("down", "--yes")):
        r = ok(mig(*args), 3)
        assert plain_lines(r.err)[0] == DIRTY_6, r.err
    r = ok(mig("up", log_format="console"), 3)
    assert DIRTY_6 in r.err.splitlines()
    assert tracking_rows(db) == rows, "a refused command changed the tracking table"


def test_failing_migration(mig, db):
    """PostgreSQL and SQLite roll the migration back; MariaDB is left dirty until `force`."""
    ok(mig("up"))
    mig.write("0006_broken.up.sql", BROKEN)
    r = ok(mig("up"), 1)
    error = plain_lines(r.err)[0]
    assert error.startswith("Error: migration 6 failed: 0006_broken.up.sql line 5: "), r.err
    assert "no_such_column" in error
    assert "MIGRATION_FAILED" in logged_events(r.err)
    failed = events(db, event="MIGRATION_FAILED")
    assert [(e[1], e[2]["name"]) for e in failed] == [(6, "broken")]

    if db.dialect != "mysql":
        assert "widgets" not in db.tables(), "the failed migration was not rolled back"
        assert versions(db) == VERSIONS and not any(row.dirty for row in tracking_rows(db))
        assert failed[0][2]["dirty"] is False
        r = ok(mig("status", "--check"), 1)  # behind, not dirty
        assert r.out.splitlines()[-1] == "Database is 1 migration behind."
        ok(mig("up"), 1)  # the same failure again, still nothing recorded
        assert versions(db) == VERSIONS
    else:
        assert "widgets" in db.tables(), "MariaDB commits DDL: the table stays"
        assert versions(db) == VERSIONS + [6] and tracking_rows(db)[-1].dirty
        assert failed[0][2]["dirty"] is True
        assert_dirty_refusals(mig, db)
        db.execute("DROP TABLE widgets")  # the operator reverts the half-applied migration by hand
        r = ok(mig("force", "5", "--yes"))
        assert versions(db) == VERSIONS and not any(row.dirty for row in tracking_rows(db))

    mig.write("0006_broken.up.sql", FIXED)
    ok(mig("up"))
    assert versions(db) == VERSIONS + [6] and not tracking_rows(db)[-1].dirty
    assert db.query("SELECT id FROM widgets") == [(1,)]
    ok(mig("status", "--check"))


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_failing_no_transaction_migration_leaves_dirty_state(mig, db):
    ok(mig("up"))
    mig.write("0006_index.up.sql", BROKEN_NO_TX[db.dialect])
    r = ok(mig("up"), 1)
    assert "0006_index.up.sql line 2" in plain_lines(r.err)[0]
    assert versions(db) == VERSIONS + [6] and tracking_rows(db)[-1].dirty
    assert_dirty_refusals(mig, db)

    r = ok(mig("force", "5", "--yes"))
    assert versions(db) == VERSIONS
    mig.write("0006_index.up.sql", FIXED_NO_TX[db.dialect])
    ok(mig("up"))
    row = tracking_rows(db)[-1]
    assert (row.version, row.dirty, row.created) == (6, False, ["index:orders.orders_bad_idx"])


def test_checksum_mismatch_exits_6_naming_the_file(mig, db):
    ok(mig("up", "--target", "3"))
    rows = tracking_rows(db)
    changed = mig.folder / "0002_create_orders.up.sql"
    original = changed.read_bytes()
    changed.write_bytes(original + b"-- an edit after the fact\n")
    before = db.snapshot()
    r = ok(mig("up"), 6)
    assert str(changed) in plain_lines(r.err)[0], r.err
    assert (tracking_rows(db), db.snapshot()) == (rows, before), "up ran although a checksum changed"
    changed.write_bytes(original)
    ok(mig("up"))
    assert versions(db) == VERSIONS


def test_untracked_schema_is_refused_with_exit_4(mig, db):
    """No tracking table but the first migration's objects exist: exit 4 pointing at force."""
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL)")
    before = db.snapshot()
    r = ok(mig("up"), 4)
    text = " ".join(plain_lines(r.err))
    assert "force" in text and "users" in text
    assert "Traceback" not in r.err and "already exists" not in r.err, "a raw SQL error reached the operator"
    assert db.snapshot() == before, "the refused up changed the schema (even the tracking table)"
    ok(mig("status", "--check"), 4)

    ok(mig("force", "1", "--yes"))  # what the message tells the operator to do
    assert [(r.version, r.forced) for r in tracking_rows(db)] == [(1, True)]
    ok(mig("up"))
    assert versions(db) == VERSIONS and {"users", "orders"} <= app_tables(db)
