"""`force V` and the confirmation prompts of `force` and `down` (SPEC 5)."""

from __future__ import annotations

import hashlib
import os
import pty
import subprocess

import pytest
from engine_support import (
    NAMES,
    VERSIONS,
    clean_env,
    events,
    migrator_cmd,
    ok,
    tracking_rows,
    versions,
)


def test_force_semantics(mig, db):
    ok(mig("up", "--target", "3"))
    schema = db.snapshot()

    ok(mig("force", "1", "--yes"))  # rows above V are deleted, no SQL runs
    assert versions(db) == [1]
    assert db.snapshot() == schema

    ok(mig("force", "4", "--yes"))  # shipped versions up to V without a row get one, as forced
    rows = tracking_rows(db)
    assert [(r.version, r.name, r.forced, r.dirty) for r in rows] == [
        (1, NAMES[1], False, False), (2, NAMES[2], True, False), (3, NAMES[3], True, False), (4, NAMES[4], True, False)]
    for row in rows:  # forced rows carry the file's checksum, so the next up does not stop with exit 6
        up_file = next(mig.folder.glob(f"{row.version:04d}_*.up.sql"))
        assert row.checksum == hashlib.sha256(up_file.read_bytes()).hexdigest()
    assert db.snapshot() == schema, "force ran the SQL of version 4"

    db.execute("UPDATE app_migrations SET dirty = TRUE WHERE version = 2")
    ok(mig("force", "3", "--yes"))  # rows up to V are marked clean
    assert [(r.version, r.dirty) for r in tracking_rows(db)] == [(1, False), (2, False), (3, False)]
    assert [e[1] for e in events(db, event="MIGRATION_FORCED")] == [1, 4, 3]
    assert events(db, event="MIGRATION_FORCED")[-1][2]["cleaned"] == [2]

    r = ok(mig("force", "99", "--yes"), 2)  # a version no file has
    assert "99" in r.err
    assert versions(db) == [1, 2, 3]

    ok(mig("up"))  # from the forced state, up applies the rest
    assert versions(db) == VERSIONS

    ok(mig("force", "0", "--yes"))  # clears the tracker, leaves the schema alone
    assert tracking_rows(db) == []
    assert {"users", "orders"} <= db.tables()
    ok(mig("up"), 4)  # now the schema is untracked: refused, not re-applied over it


def test_force_and_down_refuse_without_a_terminal(mig, db):
    ok(mig("up"))
    state = (db.snapshot(), tracking_rows(db))
    for args in (("force", "2"), ("down", "--steps", "3")):
        r = ok(mig(*args), 1)
        assert "--yes" in r.err
    assert (db.snapshot(), tracking_rows(db)) == state, "an unconfirmed command changed the database"
    assert events(db, event="MIGRATION_FORCED") == [] and events(db, event="MIGRATION_ROLLED_BACK") == []


def run_on_tty(mig, answer: str, *args):
    """Run the CLI with a terminal on stdin that types ``answer``."""
    master, slave = pty.openpty()
    try:
        os.write(master, answer.encode() + b"\n")
        cmd = migrator_cmd() + ["--log-format", "json", "--database", mig.db.dsn, "--migrations",
                                str(mig.migrations), "--service", mig.service, *args]
        p = subprocess.run(cmd, stdin=slave, capture_output=True, text=True, env=clean_env(), timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    return p


@pytest.mark.parametrize("dialect", ["sqlite"])  # the prompt comes before any database work
def test_prompt_on_a_terminal(mig, db):
    ok(mig("up"))
    state = (db.snapshot(), tracking_rows(db))
    p = run_on_tty(mig, "n", "down")
    assert p.returncode == 1, p.stderr
    assert "[y/N]" in p.stdout
    p = run_on_tty(mig, "", "force", "2")  # Enter alone is no
    assert p.returncode == 1, p.stderr
    assert (db.snapshot(), tracking_rows(db)) == state
    p = run_on_tty(mig, "y", "down", "--steps", "2")
    assert p.returncode == 0, p.stderr
    assert versions(db) == [1, 2, 3]


def test_force_on_an_applied_version_accepts_its_edited_file(mig, db):
    """An intentional edit of an applied file: `force V` takes the file's checksum, once."""
    ok(mig("up"))
    path = next(mig.folder.glob("0005_*.up.sql"))
    path.write_text(path.read_text() + "-- clarified after it was applied\n")
    r = ok(mig("up"), 6)
    assert "0005_noop.up.sql" in r.err
    before = tracking_rows(db)

    r = ok(mig("force", "5", "--yes"))
    assert "accepted the current file of 5 (checksum updated)" in r.out
    rows = tracking_rows(db)
    assert rows[-1].checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [(r.version, r.created, r.dropped, r.forced) for r in rows] == [
        (r.version, r.created, r.dropped, r.forced) for r in before], "force must change only the checksum"
    assert events(db, event="MIGRATION_FORCED")[-1][2]["checksum_accepted"] == 5
    r = ok(mig("up"))
    assert "No pending migrations" in r.out
    ok(mig("verify"))


def test_force_after_an_index_only_migration_was_finished_by_hand(migrator_for, db, write_migrations):
    """2 drops an index and then fails (no transaction: the drop stays, the row is dirty). The
    operator fixes the file and forces 2: the index must be recorded as dropped by 2, or
    verification would expect it forever (a false desync)."""
    drop_index = "DROP INDEX ix_items_code ON items" if db.dialect == "mysql" else "DROP INDEX ix_items_code"
    files = {
        "0001_items.up.sql": "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, code VARCHAR(20) NOT NULL);\n"
                             "CREATE INDEX ix_items_code ON items (code);\n",
        "0002_drop_items_code_index.up.sql": f"-- migrator:no-transaction\n{drop_index};\n"
                                             "UPDATE no_such_table SET x = 1;\n",
    }
    root = write_migrations({db.dialect: files}, service="app")
    mig = migrator_for(db, root, "app")
    r = ok(mig("up"), 1)
    assert "Hint: the database is now dirty at version 2" in r.err
    assert "index:items.ix_items_code" not in db.snapshot()

    (mig.folder / "0002_drop_items_code_index.up.sql").write_text(f"-- migrator:no-transaction\n{drop_index};\n")
    ok(mig("force", "2", "--yes"))

    rows = tracking_rows(db)
    assert [(r.version, r.dirty) for r in rows] == [(1, False), (2, False)]
    assert rows[1].dropped == ["index:items.ix_items_code"]
    ok(mig("verify"))
    r = ok(mig("up"))
    assert "No pending migrations" in r.out
