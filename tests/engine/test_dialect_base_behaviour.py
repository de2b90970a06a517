"""What every database backend shares, as an operator meets it: a server that does not answer
yet is retried with a doubling delay up to --connect-timeout, the runner lock is waited for
and given up on, a migration is one transaction where the database allows it, identifiers are
quoted in the grants an operator is told to run, and CockroachDB reads PostgreSQL's files.

The CLI runs in this process (``run_here``) where it can, so these tests are quick enough to
judge every mutant of migrator/dialects/__init__.py and base.py (see tests/mutation/README.md)."""

from __future__ import annotations

import fcntl
import os
import re
import time
import uuid
from pathlib import Path

import pytest
from engine_support import json_lines, run_here, tracking_rows


def write(root: Path, dialect: str, name: str, sql: str) -> None:
    folder = root / "app" / dialect
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(sql)


def retries(result) -> list[dict]:
    return [e for e in json_lines(result.err) if e["event"] == "MIGRATION_CONNECT_RETRY"]


def test_without_a_connect_timeout_a_refused_connection_fails_at_once(tmp_path):
    write(tmp_path, "postgres", "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    result = run_here("--log-format", "json", "--database", "postgres://postgres@127.0.0.1:1/app",
                      "--migrations", tmp_path, "--service", "app", "up")
    assert result.code == 1, result.err
    assert "Error: cannot connect to postgres at 127.0.0.1:1: " in result.err, result.err
    assert not retries(result)


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_a_held_runner_lock_is_waited_for_then_given_up(db, tmp_path, dialect):
    write(tmp_path, "sqlite", "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    fd = os.open(f"{db.path}.app.migrator-lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        started = time.monotonic()
        result = run_here("--log-format", "json", "--database", db.dsn, "--migrations", tmp_path,
                          "--service", "app", "--lock-timeout", "0.5", "up")
        elapsed = time.monotonic() - started
    finally:
        os.close(fd)
    assert result.code == 5, result.err
    assert (f"Error: lock not acquired within 0.5s: another migrator holds the lock for this service on "
            f"sqlite://{db.path}") in result.err, result.err
    assert "Hint: wait for the other runner, or raise --lock-timeout" in result.err
    assert len([e for e in json_lines(result.err) if e["event"] == "MIGRATION_LOCK_WAIT"]) == 1
    assert 0.5 <= elapsed < 1.2  # polled every 0.2 s: given up soon after the deadline
    assert tracking_rows(db) == []


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_a_lock_freed_while_waiting_is_taken(db, tmp_path, dialect):
    import threading

    write(tmp_path, "sqlite", "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    fd = os.open(f"{db.path}.app.migrator-lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    timer = threading.Timer(0.4, os.close, (fd,))
    timer.start()
    try:
        result = run_here("--log-format", "json", "--database", db.dsn, "--migrations", tmp_path,
                          "--service", "app", "--lock-timeout", "5", "up")
    finally:
        timer.join()
    assert result.code == 0, result.err
    assert len([e for e in json_lines(result.err) if e["event"] == "MIGRATION_LOCK_WAIT"]) == 1
    assert [r.version for r in tracking_rows(db)] == [1]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_failing_transactional_migration_leaves_nothing_and_the_next_run_applies_it(db, tmp_path, dialect):
    write(tmp_path, dialect, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    write(tmp_path, dialect, "0002_two.up.sql", "CREATE TABLE half (id INT);\nINSERT INTO nowhere VALUES (1);\n")
    args = ("--log-format", "json", "--database", db.dsn, "--migrations", tmp_path, "--service", "app")
    result = run_here(*args, "up")
    assert result.code == 1, result.err
    assert "migration 2 failed: 0002_two.up.sql line 2: " in result.err
    assert "table:half" not in db.snapshot()
    assert [(r.version, r.dirty) for r in tracking_rows(db)] == [(1, False)]
    write(tmp_path, dialect, "0002_two.up.sql", "CREATE TABLE half (id INT);\n")
    assert run_here(*args, "up").code == 0
    assert [(r.version, r.dirty) for r in tracking_rows(db)] == [(1, False), (2, False)]
    assert "table:half" in db.snapshot()


@pytest.mark.parametrize("dialect", ["postgres"])
def test_the_grant_an_operator_is_told_to_run_quotes_the_user_name(db, tmp_path, dialect):
    from migrator.config import parse_dsn

    write(tmp_path, "postgres", "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    args = ("--migrations", tmp_path, "--service", "app")
    assert run_here("--database", db.dsn, *args, "up").code == 0
    user = f'mt "odd" {uuid.uuid4().hex[:6]}'
    quoted = '"' + user.replace('"', '""') + '"'
    db.execute(f"CREATE ROLE {quoted} LOGIN PASSWORD 'pw'", f"GRANT USAGE ON SCHEMA public TO {quoted}")
    try:
        d = parse_dsn(db.dsn)
        from urllib.parse import quote

        result = run_here("--database", f"postgres://{quote(user, safe='')}:pw@{d.host}:{d.port}/{db.name}",
                          *args, "verify")
    finally:
        db.execute(f"DROP OWNED BY {quoted}", f"DROP ROLE {quoted}")
    assert result.code == 2, result.err
    assert f'GRANT SELECT ON "public"."app_migrations" TO {quoted}' in result.err, result.err


def test_cockroach_reads_the_postgres_files_beneath_its_own(tmp_path):
    write(tmp_path, "postgres", "0001_index.up.sql", "CREATE INDEX i ON t (a);\n")
    result = run_here("--migrations", tmp_path, "lint", "--dialect", "cockroach")
    assert result.code == 1, result.text
    assert re.search(r"app/postgres/0001_index\.up\.sql:1: \[require-concurrent-index-creation\]", result.text)
    write(tmp_path, "cockroach", "0001_index.up.sql", "CREATE TABLE u (id INT);\n")  # its own file wins
    result = run_here("--migrations", tmp_path, "lint", "--dialect", "cockroach")
    assert result.code == 0, result.text


def test_a_refused_connection_is_retried_with_a_doubling_delay_until_the_timeout(tmp_path):
    write(tmp_path, "postgres", "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    started = time.monotonic()
    result = run_here("--log-format", "json", "--database", "postgres://postgres@127.0.0.1:1/app",
                      "--migrations", tmp_path, "--service", "app", "--connect-timeout", "4.5", "up")
    elapsed = time.monotonic() - started
    assert result.code == 1, result.err
    tries = retries(result)
    assert re.search(rf"Error: database still unreachable after --connect-timeout 4.5s \({len(tries) + 1} attempts\): "
                     r"cannot connect to postgres at 127\.0\.0\.1:1", result.err), result.err
    assert "Hint: check that the database is up and reachable from here, or raise --connect-timeout" in result.err
    assert [e["attempt"] for e in tries] == list(range(1, len(tries) + 1)) and len(tries) >= 3, result.err
    # 0.5 s, then doubled, and the last wait never past the deadline
    assert [e["delay"] for e in tries[:2]] == [0.5, 1.0], result.err
    assert 1.0 < tries[2]["delay"] <= 2.0, result.err
    assert all(0 < e["delay"] == round(e["delay"], 2) for e in tries), result.err  # logged to 1/100 s
    assert "refused" in tries[0]["error"].lower()
    assert 4.5 <= elapsed < 7
