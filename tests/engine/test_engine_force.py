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
