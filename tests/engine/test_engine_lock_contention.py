"""A migration that waits for a lock another session holds: the error names that session,
the migration is tried again with backoff while it is safe, CREATE INDEX CONCURRENTLY is
not cut by the DDL lock timeout, an INVALID index a failed run left is rebuilt, and the
runner-lock timeout names the other runner. Real blocking sessions on real servers."""

from __future__ import annotations

import re
import threading
import time

import pytest
from engine_support import HeldLock, json_lines, ok, tracking_rows

ALTER = "ALTER TABLE users ADD COLUMN note VARCHAR(20) NULL;\n"


def blocker(db, *statements: str, app: str = "blocker-app"):
    """A second session, outside the migrator, that ran ``statements`` in an open transaction."""
    from migrator.config import parse_dsn

    d = parse_dsn(db.dsn)
    if db.dialect == "postgres":
        import psycopg

        conn = psycopg.connect(host=d.host, port=d.port, user=d.user, password=d.password, dbname=d.database,
                               application_name=app)  # not autocommit: the transaction stays open
        for s in statements:
            conn.execute(s)
        return conn, conn.info.backend_pid
    import pymysql

    conn = pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "", database=d.database)
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION")
        for s in statements:
            cur.execute(s)
        cur.fetchall()
    return conn, conn.thread_id()


def release_after(conn, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, conn.rollback)
    timer.start()
    return timer


HOLD = {"postgres": "LOCK TABLE users IN ACCESS SHARE MODE", "mysql": "SELECT count(*) FROM users"}


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_lock_timeout_names_the_blocker_and_gives_up_after_the_retries(mig, db, dialect):
    ok(mig("up"))
    mig.write("0006_note.up.sql", ALTER)
    conn, holder = blocker(db, HOLD[dialect])
    try:
        started = time.monotonic()
        result = mig("--ddl-lock-timeout", "1", "--ddl-lock-retries", "2", "up")
        elapsed = time.monotonic() - started
    finally:
        conn.rollback()
        conn.close()
    print(f"{dialect}: 3 tries with a 1 s lock timeout gave up after {elapsed:.1f}s")
    assert result.code == 1, result.err
    assert "Error: migration 6 failed: 0006_note.up.sql line 1: " in result.err
    assert "sessions holding or queued ahead for the lock:" in result.err
    if dialect == "postgres":
        assert re.search(rf"pid {holder} \(application blocker-app, user \w+, idle in transaction, "
                         rf"transaction open \d+s\), last query: LOCK TABLE users IN ACCESS SHARE MODE", result.err)
    else:
        assert re.search(rf"connection {holder} \(user \w+@[\w.:]+, Sleep, transaction open \d+s; metadata "
                         r"locks unknown", result.err), result.err
    retries = [e for e in json_lines(result.err) if e["event"] == "MIGRATION_LOCK_RETRY"]
    assert [e["attempt"] for e in retries] == [1, 2]
    assert all(any(str(holder) in b for b in e["blockers"]) for e in retries), retries  # each try names it
    assert all(0.5 * 2 ** (e["attempt"] - 1) <= e["delay_s"] <= 2 ** (e["attempt"] - 1) for e in retries)
    assert len([e for e in json_lines(result.err) if e["event"] == "MIGRATION_FAILED"]) == 1
    assert 3 <= elapsed < 20
    rows = {r.version: r for r in tracking_rows(db)}
    # PostgreSQL rolled each try back; on MariaDB the row was written dirty and the ALTER never ran
    assert (6 in rows and rows[6].dirty) if dialect == "mysql" else 6 not in rows
    assert "note" not in {o.split(".")[-1] for o in db.snapshot() if o.startswith("column:users.")}


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_a_retry_succeeds_once_the_blocker_is_gone(mig, db, dialect):
    ok(mig("up"))
    mig.write("0006_note.up.sql", f"SELECT 1;\n{ALTER}")  # on MariaDB statement 1 ran: only 2 is retried
    conn, _ = blocker(db, HOLD[dialect])
    timer = release_after(conn, 2.0)
    try:
        started = time.monotonic()
        result = ok(mig("--ddl-lock-timeout", "1", "--ddl-lock-retries", "5", "up"))
        elapsed = time.monotonic() - started
    finally:
        timer.join()
        conn.close()
    print(f"{dialect}: applied after the blocker left at 2 s, in {elapsed:.1f}s")
    retries = [e for e in json_lines(result.err) if e["event"] == "MIGRATION_LOCK_RETRY"]
    assert retries, result.err
    assert "MIGRATION_FAILED" not in result.err
    assert not tracking_rows(db)[-1].dirty
    assert "column:users.note" in db.snapshot()


@pytest.mark.parametrize("dialect", ["postgres"])
def test_create_index_concurrently_waits_for_an_older_transaction(mig, db, dialect):
    """CIC waits for transactions older than it, whatever they touch: the DDL lock timeout must
    not cut that wait (it did, leaving an INVALID index and a dirty row)."""
    ok(mig("up"))
    mig.write("0006_idx.up.sql", "-- migrator:no-transaction\nCREATE INDEX CONCURRENTLY users_created_idx "
                                 "ON users (created_at);\n")
    # a snapshot older than the build, on nothing the migration names
    conn, _ = blocker(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SELECT 1")
    timer = release_after(conn, 3.0)
    try:
        started = time.monotonic()
        result = ok(mig("--ddl-lock-timeout", "1", "up"))
        elapsed = time.monotonic() - started
    finally:
        timer.join()
        conn.close()
    assert elapsed >= 2.5, "the index was built without waiting for the older transaction?"
    assert not db.query("SELECT 1 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                        "WHERE c.relname = 'users_created_idx' AND NOT x.indisvalid")
    assert "MIGRATION_LOCK_RETRY" not in result.err


@pytest.mark.parametrize("dialect", ["postgres"])
def test_an_invalid_index_left_by_a_failed_run_is_rebuilt(mig, db, dialect):
    ok(mig("up"))
    db.execute("INSERT INTO users (id, email) VALUES (101, 'A@x'), (102, 'a@X')")
    mig.write("0006_uq.up.sql", "-- migrator:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "
                                "users_email_lower_uq ON users (lower(email));\nALTER TABLE users ADD COLUMN "
                                "note VARCHAR(20) NULL;\n")
    assert mig("up").code == 1
    invalid = ("SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
               "WHERE c.relname = 'users_email_lower_uq' AND NOT x.indisvalid")
    assert db.query(invalid)[0][0] == 1  # what the failed run left
    db.execute("DELETE FROM users WHERE id = 102")
    ok(mig("force", "5", "--yes"))
    result = ok(mig("up"))
    dropped = [e for e in json_lines(result.err) if e["event"] == "MIGRATION_INVALID_INDEX_DROPPED"]
    assert [e["index"] for e in dropped] == ["users_email_lower_uq"]
    assert db.query(invalid)[0][0] == 0
    assert "index:users.users_email_lower_uq" in db.snapshot()  # rebuilt, valid
    # the ALTER after it ran with the DDL lock timeout restored
    assert "column:users.note" in db.snapshot()


def test_runner_lock_timeout_names_the_other_runner(mig, db, dialect):
    ok(mig("up", "--target", "1"))
    with HeldLock(db) as held:
        result = mig("--lock-timeout", "0.5", "up")
        holder = held.handle.info.backend_pid if dialect == "postgres" else (
            held.handle.thread_id() if dialect == "mysql" else None)
    assert result.code == 5, result.err
    if dialect == "postgres":
        assert re.search(rf"  held by pid {holder} \(application -, client [\d.]+, connected since "
                         r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, idle\)", result.err), result.err
    elif dialect == "mysql":
        assert re.search(rf"  held by connection {holder} \(user \w+@[\w.:]+, Sleep for \d+s\)", result.err), result.err
    else:  # the test's holder wrote nothing into the lock file: a migrator does (next test)
        assert "  the database does not tell which session holds it" in result.err


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_sqlite_runner_lock_timeout_names_the_other_process(mig, db, dialect):
    import os
    import signal

    mig.write("0006_long.up.sql", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                                  "WHERE x < 200000000) SELECT count(*) FROM c;\n")
    first = mig.spawn("--progress-interval", "0.2", "up")
    try:
        assert "MIGRATION_STATEMENT_RUNNING" in "".join(iter_until(first, "MIGRATION_STATEMENT_RUNNING"))
        result = mig("--lock-timeout", "0.3", "up")
    finally:
        os.kill(first.pid, signal.SIGTERM)
        first.communicate(timeout=30)
    assert result.code == 5, result.err
    assert re.search(rf"  held by process {first.pid} on \S+ since \d{{4}}-\d\d-\d\d", result.err), result.err


def iter_until(proc, wanted: str):
    for line in proc.stderr:
        yield line
        if wanted in line:
            return


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_sigterm_while_waiting_for_a_table_lock(mig, db, dialect):
    """A Job stopped while its DDL queues behind application traffic: the wait is cancelled."""
    import signal

    ok(mig("up"))
    mig.write("0006_note.up.sql", ALTER)
    conn, _ = blocker(db, HOLD[dialect])
    try:
        proc = mig.spawn("--ddl-lock-timeout", "60", "--progress-interval", "0.5", "up")
        assert "MIGRATION_STATEMENT_RUNNING" in "".join(iter_until(proc, "MIGRATION_STATEMENT_RUNNING"))
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
        seconds = time.monotonic() - sent
    finally:
        conn.rollback()
        conn.close()
    print(f"{dialect}: exit {proc.returncode} {seconds:.2f}s after SIGTERM while waiting for a table lock")
    assert proc.returncode == 143 and seconds < 5, err
    assert "Error: interrupted by SIGTERM: migration 6 stopped in 0006_note.up.sql line 1" in err
    assert "column:users.note" not in db.snapshot()


@pytest.mark.parametrize("dialect", ["mysql"])
def test_mariadb_names_the_ddl_queued_ahead_too(mig, db, dialect):
    ok(mig("up"))
    mig.write("0006_note.up.sql", ALTER)
    conn, holder = blocker(db, HOLD[dialect])
    queued, queued_id = blocker(db)  # another session's DDL, queued behind the reader before us
    queued.autocommit(True)
    ahead = threading.Thread(target=lambda: queued.cursor().execute(
        "ALTER TABLE users ADD COLUMN other INT NULL"), daemon=True)
    try:
        with queued.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 20")
        ahead.start()
        time.sleep(0.5)
        result = mig("--ddl-lock-timeout", "1", "--ddl-lock-retries", "0", "up")
    finally:
        conn.rollback()
        conn.close()
        ahead.join(timeout=30)
        queued.close()
    assert result.code == 1, result.err
    assert re.search(rf"connection {holder} \(user \w+@[\w.:]+, Sleep, transaction open \d+s", result.err)
    assert re.search(rf"connection {queued_id} \(user \w+@[\w.:]+, queued: Waiting for table metadata lock "
                     r"for \d+s\): ALTER TABLE users ADD COLUMN other INT NULL", result.err), result.err


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_sqlite_busy_database_is_retried(mig, db, dialect):
    import sqlite3

    ok(mig("up", "--target", "4"))
    writer = sqlite3.connect(db.path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # another process writing: the file's write lock
    timer = threading.Timer(1.5, writer.execute, ("ROLLBACK",))
    timer.start()
    try:
        result = ok(mig("--ddl-lock-timeout", "0.3", "up"))
    finally:
        timer.join()
        writer.close()
    retries = [e for e in json_lines(result.err) if e["event"] == "MIGRATION_LOCK_RETRY"]
    assert retries and retries[0]["version"] == 5, result.err
    assert "database is locked" in retries[0]["error"]
    assert [r.version for r in tracking_rows(db)] == [1, 2, 3, 4, 5]
