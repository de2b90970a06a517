"""SQLite as an operator meets it: the objects a migration is recorded with, the errors of a
database file that cannot be opened, foreign keys that hold, a migration that fails as a whole,
the runner's lock file and a database another process is writing to.

The CLI runs in this process (``run_here``) where it can, so these tests are quick enough to
judge every mutant of migrator/dialects/sqlite.py (see tests/mutation/README.md)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import stat
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from engine_support import json_lines, migrate_here, ok, run_here, tracking_rows, write_migration

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"])

write = partial(write_migration, dialect="sqlite")


def migrator(db, root: Path, *args):
    return migrate_here(db.dsn, root, *args)


SCHEMA = """
CREATE TABLE Parent (id INTEGER PRIMARY KEY, Code TEXT NOT NULL UNIQUE, x INT, y INT, UNIQUE (y, x));
CREATE TABLE child (
  id INTEGER PRIMARY KEY,
  parent_id INTEGER REFERENCES Parent (id),
  px INT, py INT,
  FOREIGN KEY (py, px) REFERENCES Parent (y, x)
);
CREATE INDEX Child_PX ON child (px);
CREATE VIEW parent_codes AS SELECT Code FROM Parent;
"""


def test_a_migration_records_every_kind_of_object_lower_case(db, tmp_path):
    write(tmp_path, "0001_schema.up.sql", SCHEMA)
    ok(migrator(db, tmp_path, "up"))
    (row,) = tracking_rows(db)
    assert sorted(row.created) == sorted([
        "table:parent", "column:parent.id", "column:parent.code", "column:parent.x", "column:parent.y",
        "constraint:parent.unique(code)", "constraint:parent.unique(y,x)",
        "table:child", "column:child.id", "column:child.parent_id", "column:child.px", "column:child.py",
        "constraint:child.fk(parent_id)", "constraint:child.fk(py,px)",
        "index:child.child_px", "view:parent_codes",
    ])
    assert row.dropped == []
    ok(migrator(db, tmp_path, "verify"))


def test_drop_index_by_its_name_alone_records_the_index_of_its_table(db, tmp_path):
    write(tmp_path, "0001_schema.up.sql", SCHEMA)
    write(tmp_path, "0002_drop_index.up.sql", "DROP INDEX Child_PX;\n")
    write(tmp_path, "0003_drop_view.up.sql", "DROP VIEW parent_codes;\n")
    write(tmp_path, "0004_drop_child.up.sql", "DROP TABLE child;\n")
    ok(migrator(db, tmp_path, "up"))
    rows = tracking_rows(db)
    assert [(r.version, r.created, sorted(r.dropped)) for r in rows[1:]] == [
        (2, [], ["index:child.child_px"]),
        (3, [], ["view:parent_codes"]),
        (4, [], sorted(["table:child", "column:child.id", "column:child.parent_id", "column:child.px",
                        "column:child.py", "constraint:child.fk(parent_id)", "constraint:child.fk(py,px)"])),
    ]
    ok(migrator(db, tmp_path, "verify"))
    # ... and the objects that stay are those of the first migration that were not dropped
    ok(migrator(db, tmp_path, "down", "--steps", "1", "-y"), 2)  # no down files: nothing to roll back


def test_a_table_renamed_elsewhere_keeps_the_foreign_keys_of_its_children(db, tmp_path):
    """A foreign key is named by its own columns: renaming the table it points at (which SQLite
    rewrites into the child's definition) changes nothing recorded about the child."""
    write(tmp_path, "0001_schema.up.sql", SCHEMA)
    write(tmp_path, "0002_rename.up.sql", "ALTER TABLE Parent RENAME TO elder;\n")
    ok(migrator(db, tmp_path, "up"))
    second = tracking_rows(db)[1]
    assert not [o for o in second.created + second.dropped if o.startswith("constraint:child")]
    ok(migrator(db, tmp_path, "verify"))


def test_foreign_keys_are_enforced(db, tmp_path):
    write(tmp_path, "0001_schema.up.sql", SCHEMA)
    write(tmp_path, "0002_orphan.up.sql", "INSERT INTO child (id, parent_id) VALUES (1, 42);\n")
    result = ok(migrator(db, tmp_path, "up"), 1)
    assert "FOREIGN KEY constraint failed" in result.err
    assert [r.version for r in tracking_rows(db)] == [1]
    assert db.query("SELECT count(*) FROM child") == [(0,)]


def test_a_failing_migration_leaves_none_of_its_statements(db, tmp_path):
    write(tmp_path, "0001_two.up.sql", "CREATE TABLE kept_not (id INT);\nINSERT INTO nowhere VALUES (1);\n")
    result = ok(migrator(db, tmp_path, "up"), 1)
    assert "no such table: nowhere" in result.err
    assert "table:kept_not" not in db.snapshot()
    assert tracking_rows(db) == []


def test_a_missing_directory_is_named(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    missing = tmp_path / "no" / "such" / "dir"
    result = run_here("--database", f"sqlite://{missing}/app.db", "--migrations", tmp_path, "--service", "app", "up")
    assert result.code == 1, result.err
    assert f"cannot open SQLite database {missing}/app.db: directory {missing} does not exist" in result.err
    assert not missing.parent.exists()


def test_a_missing_directory_of_a_relative_path_is_named(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    result = run_here("--database", "sqlite://no/such/app.db", "--migrations", tmp_path, "--service", "app", "up")
    assert result.code == 1, result.err
    assert "cannot open SQLite database no/such/app.db: directory no/such does not exist" in result.err, result.err


def test_a_database_path_that_is_a_directory_cannot_be_opened(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    folder = tmp_path / "a_dir.db"
    folder.mkdir()
    result = run_here("--database", f"sqlite://{folder}", "--migrations", tmp_path, "--service", "app", "up")
    assert result.code == 1, result.err
    assert f"Error: cannot open SQLite database {folder}: unable to open database file" in result.err


def test_a_file_that_is_no_database_cannot_be_opened(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"these are notes, not a database\n" * 100)
    result = run_here("--database", f"sqlite://{junk}", "--migrations", tmp_path, "--service", "app", "up")
    assert result.code == 1, result.err
    assert "file is not a database" in result.err, result.err
    assert junk.read_bytes() == b"these are notes, not a database\n" * 100


def test_an_in_memory_database_migrates(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a lock file would land
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    result = run_here("--log-format", "json", "--database", "sqlite://:memory:", "--migrations", tmp_path,
                      "--service", "app", "up")
    assert result.code == 0, result.err
    assert [e.get("version") for e in json_lines(result.err) if e["event"] == "MIGRATION_APPLIED"] == [1]
    assert not list(tmp_path.glob("*migrator-lock"))


def lock_file(db) -> Path:
    return Path(f"{db.path}.app.migrator-lock")


def test_the_lock_file_is_private_and_empty_once_the_runner_is_done(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    ok(migrator(db, tmp_path, "up"))
    assert stat.S_IMODE(lock_file(db).stat().st_mode) == 0o600
    assert lock_file(db).read_text() == ""
    fd = os.open(lock_file(db), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: free to take
    finally:
        os.close(fd)
    ok(migrator(db, tmp_path, "status"))  # and the runner takes it again


@pytest.mark.parametrize("written, named", [
    ("process 4242 on build-7 since 2026-01-02 03:04:05 UTC", "  held by process 4242 on build-7 since"),
    ("", "  the database does not tell which session holds it"),
    ("x" * 300, "  held by " + "x" * 200 + "\n"),  # a runaway file is cut short
])
def test_a_held_lock_file_times_out_naming_its_holder(db, tmp_path, written, named):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    fd = os.open(lock_file(db), os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, written.encode())
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        started = time.monotonic()
        result = migrator(db, tmp_path, "--lock-timeout", "0.3", "up")
        elapsed = time.monotonic() - started
    finally:
        os.close(fd)
    assert result.code == 5, result.err
    assert "lock not acquired within 0.3s" in result.err
    assert named in result.err
    assert 0.3 <= elapsed < 5
    assert lock_file(db).read_text() == written  # the waiting runner never wrote into it
    ok(migrator(db, tmp_path, "up"))


def hold_write_lock(path: Path, seconds: float):
    """Another process writing the file: SQLite's write lock, released after ``seconds``."""
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")

    def release():
        writer.execute("ROLLBACK")
        writer.close()

    timer = threading.Timer(seconds, release)
    timer.start()
    return timer


def test_a_busy_database_is_waited_for_up_to_the_ddl_lock_timeout(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    ok(migrator(db, tmp_path, "up"))
    write(tmp_path, "0002_u.up.sql", "CREATE TABLE u (id INT);\n")
    timer = hold_write_lock(db.path, 1.5)
    try:
        started = time.monotonic()
        result = migrator(db, tmp_path, "--ddl-lock-timeout", "0.4", "--ddl-lock-retries", "0", "up")
        elapsed = time.monotonic() - started
    finally:
        timer.join()
    assert result.code == 1, result.err
    assert "Error: migration 2 failed: its transaction could not start: database is locked" in result.err, result.err
    assert elapsed < 1.5  # gave up after its 0.4 s, before the writer let go
    assert [r.version for r in tracking_rows(db)] == [1]


def test_ddl_lock_timeout_zero_waits_for_the_writer(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    ok(migrator(db, tmp_path, "up"))
    write(tmp_path, "0002_u.up.sql", "CREATE TABLE u (id INT);\n")
    timer = hold_write_lock(db.path, 1.0)
    try:
        result = migrator(db, tmp_path, "--ddl-lock-timeout", "0", "up")  # in this process: no start-up delay
    finally:
        timer.join()
    assert result.code == 0, result.err
    assert not [e for e in json_lines(result.err) if e["event"] == "MIGRATION_LOCK_RETRY"]
    assert [r.version for r in tracking_rows(db)] == [1, 2]


def test_a_busy_database_is_retried_once_the_writer_is_gone(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    ok(migrator(db, tmp_path, "up"))
    write(tmp_path, "0002_u.up.sql", "CREATE TABLE u (id INT);\n")
    timer = hold_write_lock(db.path, 0.5)
    try:
        result = migrator(db, tmp_path, "--ddl-lock-timeout", "0.1", "up")
    finally:
        timer.join()
    assert result.code == 0, result.err
    retries = [e for e in json_lines(result.err) if e["event"] == "MIGRATION_LOCK_RETRY"]
    assert retries and retries[0]["version"] == 2 and "database is locked" in retries[0]["error"], result.err
    assert [r.version for r in tracking_rows(db)] == [1, 2]


def test_a_relative_database_path_is_locked_too(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    fd = os.open("relative.db.app.migrator-lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        result = run_here("--database", "sqlite://relative.db", "--migrations", tmp_path, "--service", "app",
                          "--lock-timeout", "0.3", "up")
    finally:
        os.close(fd)
    assert result.code == 5, result.err
    assert run_here("--database", "sqlite://relative.db", "--migrations", tmp_path, "--service", "app", "up").code == 0
    assert (tmp_path / "relative.db").exists()
