"""PostgreSQL as an operator meets it: the objects a migration is recorded with (sequences that
go with their tables, what a DROP ... CASCADE reaches), the session settings a migration runs
under, the error lines of a failed statement, the runner lock another session holds, a table
lock that times out, and the DSN options checked before connecting.

The CLI runs in this process (``run_here``) where it can, so these tests are quick enough to
judge every mutant of migrator/dialects/postgres.py (see tests/mutation/README.md)."""

from __future__ import annotations

import re
import time
from functools import partial

import pytest
from engine_support import HeldLock, json_lines, migrate_here, ok, run_here, tracking_rows, write_migration

pytestmark = pytest.mark.parametrize("dialect", ["postgres"])

write = partial(write_migration, dialect="postgres")
migrator = migrate_here


SCHEMA = """
CREATE TABLE Parent (id serial PRIMARY KEY, Code text NOT NULL UNIQUE, n int CHECK (n > 0));
CREATE TABLE child (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  parent_id int CONSTRAINT child_parent REFERENCES Parent (id)
);
CREATE INDEX Child_Parent_Idx ON child (parent_id);
CREATE VIEW parent_codes AS SELECT Code FROM Parent;
CREATE MATERIALIZED VIEW parent_count AS SELECT count(*) AS n FROM Parent;
CREATE SEQUENCE tickets;
"""
PARENT = ["table:parent", "column:parent.id", "column:parent.code", "column:parent.n",
          "constraint:parent.parent_pkey", "constraint:parent.parent_code_key", "constraint:parent.parent_n_check",
          "index:parent.parent_pkey", "index:parent.parent_code_key", "sequence:parent_id_seq"]
CHILD = ["table:child", "column:child.id", "column:child.parent_id", "constraint:child.child_pkey",
         "constraint:child.child_parent", "index:child.child_pkey", "index:child.child_parent_idx",
         "sequence:child_id_seq"]


def test_a_migration_records_every_kind_of_object_lower_case(db, tmp_path):
    write(tmp_path, "0001_schema.up.sql", SCHEMA)
    ok(migrator(db.dsn, tmp_path, "up"))
    (row,) = tracking_rows(db)
    assert sorted(row.created) == sorted(PARENT + CHILD + ["view:parent_codes", "view:parent_count", "sequence:tickets"])
    ok(migrator(db.dsn, tmp_path, "verify"))


def test_drops_record_what_went_with_them(db, tmp_path):
    write(tmp_path, "0001_schema.up.sql", SCHEMA)
    write(tmp_path, "0002_drop_index.up.sql", "DROP INDEX Child_Parent_Idx;\n")
    write(tmp_path, "0003_drop_child.up.sql", "DROP TABLE child;\n")
    write(tmp_path, "0004_drop_parent.up.sql", "DROP TABLE Parent CASCADE;\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    rows = tracking_rows(db)
    assert [(r.version, r.created, sorted(r.dropped)) for r in rows[1:]] == [
        (2, [], ["index:child.child_parent_idx"]),
        (3, [], sorted(set(CHILD) - {"index:child.child_parent_idx"})),
        (4, [], sorted(PARENT + ["view:parent_codes", "view:parent_count"])),
    ]
    ok(migrator(db.dsn, tmp_path, "verify"))


def test_a_partitioned_table_records_its_partitions_objects(db, tmp_path):
    write(tmp_path, "0001_p.up.sql", "CREATE TABLE events (at date NOT NULL, n int) PARTITION BY RANGE (at);\n"
                                     "CREATE TABLE events_2026 PARTITION OF events "
                                     "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n")
    write(tmp_path, "0002_drop.up.sql", "DROP TABLE events;\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    first, second = tracking_rows(db)
    objects = ["table:events", "column:events.at", "column:events.n",
               "table:events_2026", "column:events_2026.at", "column:events_2026.n"]
    assert sorted(first.created) == sorted(objects)
    assert sorted(second.dropped) == sorted(objects)
    ok(migrator(db.dsn, tmp_path, "verify"))


SETTINGS = """DO $$ BEGIN
  IF current_setting('lock_timeout') <> '{lock}' OR current_setting('client_connection_check_interval') <> '1s' THEN
    RAISE EXCEPTION 'lock_timeout %, client_connection_check_interval %',
      current_setting('lock_timeout'), current_setting('client_connection_check_interval');
  END IF;
END $$;
"""


@pytest.mark.parametrize("seconds, lock", [("1.5", "1500ms"), ("0", "0"), ("0.0004", "0"), ("9999999", "2147483647ms")])
def test_migrations_run_under_the_ddl_lock_timeout(db, tmp_path, seconds, lock):
    write(tmp_path, "0001_settings.up.sql", SETTINGS.format(lock=lock))
    ok(migrator(db.dsn, tmp_path, "--ddl-lock-timeout", seconds, "up"))


def test_a_failed_statement_shows_its_sqlstate_detail_and_hint(db, tmp_path):
    write(tmp_path, "0001_boom.up.sql", "DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail', "
                                        "HINT = 'the hint'; END $$;\n")
    result = ok(migrator(db.dsn, tmp_path, "up"), 1)
    assert "Error: migration 1 failed: 0001_boom.up.sql line 1: boom (SQLSTATE P0001)" in result.err, result.err
    assert "DETAIL: the detail" in result.err
    assert "HINT: the hint" in result.err


def test_an_error_without_detail_has_no_detail_lines(db, tmp_path):
    write(tmp_path, "0001_bad.up.sql", "SELECT * FROM nowhere;\n")
    result = ok(migrator(db.dsn, tmp_path, "up"), 1)
    assert 'relation "nowhere" does not exist (SQLSTATE 42P01)' in result.err
    assert "DETAIL:" not in result.err and "HINT:" not in result.err


def test_the_runner_lock_held_elsewhere_names_the_session(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    with HeldLock(db) as held:
        pid = held.handle.info.backend_pid
        result = migrator(db.dsn, tmp_path, "--lock-timeout", "0.3", "up")
        other = migrator(db.dsn, tmp_path, "--service", "app", "--lock-timeout", "0.3", "status")
    assert result.code == 5, result.err
    assert re.search(rf"  held by pid {pid} \(application -, client [0-9.:]+, connected since "
                     rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \S+, idle\)", result.err), result.err
    assert other.code == 0, other.err  # status takes no lock
    ok(migrator(db.dsn, tmp_path, "up"))
    assert [r.version for r in tracking_rows(db)] == [1]


def test_the_runner_lock_is_per_service(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    with HeldLock(db, prefix="other"):
        ok(migrator(db.dsn, tmp_path, "--lock-timeout", "0.3", "up"))


def test_a_table_lock_timeout_names_the_blocking_session(db, tmp_path, make_database):
    import psycopg

    from migrator.config import parse_dsn

    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    write(tmp_path, "0002_alter.up.sql", "ALTER TABLE t ADD COLUMN note text;\n")
    d = parse_dsn(db.dsn)
    blocker = psycopg.connect(host=d.host, port=d.port, user=d.user, dbname=d.database,
                              application_name="blocker-app")
    try:
        blocker.execute("SELECT * FROM t")  # an open transaction holding the table's ACCESS SHARE lock
        started = time.monotonic()
        result = migrator(db.dsn, tmp_path, "--ddl-lock-timeout", "0.3", "--ddl-lock-retries", "0", "up")
        elapsed = time.monotonic() - started
        pid = blocker.info.backend_pid
    finally:
        blocker.close()
    assert result.code == 1, result.err
    assert "canceling statement due to lock timeout (SQLSTATE 55P03)" in result.err, result.err
    assert re.search(rf"pid {pid} \(application blocker-app, user \w+, idle in transaction, transaction open "
                     rf"\d+s\), last query: SELECT \* FROM t", result.err), result.err
    assert elapsed < 5
    assert [r.version for r in tracking_rows(db)] == [1]


@pytest.mark.parametrize("query, message", [
    ("?sslmode=sometimes", "invalid DSN option: sslmode='sometimes' (expected one of allow, disable, prefer, "
                           "require, verify-ca, verify-full)"),
    ("?no_such_option=1", "invalid DSN option: 'no_such_option' is not a libpq connection parameter"),
    ("?connect_timeout=soon", "invalid DSN option: "),
])
def test_dsn_options_are_checked_before_connecting(db, tmp_path, query, message):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    result = migrator(db.dsn + query, tmp_path, "up")
    assert result.code == 2, result.err
    assert message in result.err


def test_options_of_the_dsn_reach_the_session(db, tmp_path):
    write(tmp_path, "0001_app.up.sql", "DO $$ BEGIN IF current_setting('application_name') <> 'billing' "
                                       "THEN RAISE EXCEPTION 'application_name %', current_setting('application_name'); "
                                       "END IF; END $$;\n")
    ok(migrator(db.dsn + "?application_name=billing&sslmode=disable", tmp_path, "up"))


def test_without_options_the_session_is_named_migrator(db, tmp_path):
    write(tmp_path, "0001_app.up.sql", "DO $$ BEGIN IF current_setting('application_name') <> 'migrator' "
                                       "THEN RAISE EXCEPTION 'application_name %', current_setting('application_name'); "
                                       "END IF; END $$;\n")
    result = ok(migrator(db.dsn, tmp_path, "up"))
    assert "MIGRATION_CONNECTION_UNENCRYPTED" not in result.err  # the server is on this machine


@pytest.mark.parametrize("where", ["127.0.0.1:1", "[::1]:1"])
def test_a_closed_port_is_unreachable_and_retried(db, tmp_path, where):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    result = run_here("--log-format", "json", "--database", f"postgres://postgres@{where}/x", "--migrations", tmp_path,
                      "--service", "app", "--connect-timeout", "0.6", "up")
    assert result.code == 1, result.err
    assert re.search(r"database still unreachable after --connect-timeout 0.6s \(\d attempts\): "
                     rf"cannot connect to postgres at {re.escape(where)}", result.err), result.err
    assert [e["attempt"] for e in json_lines(result.err) if e["event"] == "MIGRATION_CONNECT_RETRY"][:1] == [1]


def test_an_unknown_database_is_not_retried(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    started = time.monotonic()
    result = migrator(db.dsn + "_missing", tmp_path, "--connect-timeout", "5", "up")
    assert result.code == 1, result.err
    assert f'database "{db.name}_missing" does not exist' in result.err
    assert "MIGRATION_CONNECT_RETRY" not in result.err
    assert time.monotonic() - started < 3


def test_a_missing_unix_socket_is_unreachable_and_retried(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    result = migrator(f"postgres://postgres@/{db.name}?host={tmp_path}&port=5999", tmp_path,
                      "--connect-timeout", "0.6", "up")
    assert result.code == 1, result.err
    assert "database still unreachable after --connect-timeout 0.6s" in result.err, result.err


@pytest.fixture
def plain_user(db):
    """A login without pg_read_all_stats, owning the public schema's new tables: other users'
    sessions are hidden from it."""
    import uuid

    name = f"mt_plain_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'", f"GRANT ALL ON SCHEMA public TO {name}")
    yield name
    db.execute(f"DROP OWNED BY {name}", f"DROP ROLE {name}")


def test_another_users_sessions_are_named_without_their_details(db, tmp_path, plain_user):
    import psycopg

    from migrator.config import parse_dsn

    d = parse_dsn(db.dsn)
    dsn = f"postgres://{plain_user}:pw@{d.host}:{d.port}/{db.name}"
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int);\n")
    ok(migrator(dsn, tmp_path, "up"))
    write(tmp_path, "0002_alter.up.sql", "ALTER TABLE t ADD COLUMN note text;\n")
    hidden = "details hidden: the migrator's database user needs pg_read_all_stats to see other users' sessions"
    with HeldLock(db) as held:  # the runner lock, held by the superuser
        holder = held.handle.info.backend_pid
        result = migrator(dsn, tmp_path, "--lock-timeout", "0.3", "up")
    assert result.code == 5, result.err
    assert f"  held by pid {holder} ({hidden})" in result.err, result.err
    blocker = psycopg.connect(host=d.host, port=d.port, user=d.user, dbname=d.database)
    try:
        blocker.execute("SELECT * FROM t")  # the superuser's open transaction on the table
        result = migrator(dsn, tmp_path, "--ddl-lock-timeout", "0.3", "--ddl-lock-retries", "0", "up")
        pid = blocker.info.backend_pid
    finally:
        blocker.close()
    assert result.code == 1, result.err
    assert f"pid {pid} (user {d.user}; {hidden})" in result.err, result.err


def test_dropping_an_index_made_by_hand_records_it_under_its_table(db, tmp_path):
    """An index no migration created (made by hand, or by another tool) is found through its
    name alone: DROP INDEX names no table."""
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id int, a int);\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    db.execute("CREATE INDEX handmade ON t (a)")
    write(tmp_path, "0002_drop.up.sql", "DROP INDEX handmade;\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    assert tracking_rows(db)[1].dropped == ["index:t.handmade"]
