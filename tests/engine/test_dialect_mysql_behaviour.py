"""MariaDB (the MySQL dialect) as an operator meets it: the objects a migration is recorded
with, the session a migration runs in (the DSN's variables, lock_wait_timeout from
--ddl-lock-timeout), the DSN's driver options checked before connecting, the error of a failed
statement, the runner lock another connection holds and a table lock that times out.

The CLI runs in this process (``run_here``) where it can, so these tests are quick enough to
judge every mutant of migrator/dialects/mysql.py (see tests/mutation/README.md)."""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from functools import partial

import pytest
from engine_support import HeldLock, json_lines, migrate_here, ok, run_here, tracking_rows, write_migration

pytestmark = pytest.mark.parametrize("dialect", ["mysql"])

write = partial(write_migration, dialect="mysql")
migrator = migrate_here


SCHEMA = """
CREATE TABLE Parent (id INT PRIMARY KEY, Code VARCHAR(10) NOT NULL, n INT,
                     CONSTRAINT parent_code UNIQUE (Code), CONSTRAINT parent_n CHECK (n > 0));
CREATE TABLE child (id INT PRIMARY KEY, parent_id INT, n INT, INDEX Child_N_Idx (n),
                    CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES Parent (id));
CREATE VIEW parent_codes AS SELECT Code FROM Parent;
"""
PARENT = ["table:parent", "column:parent.id", "column:parent.code", "column:parent.n",
          "constraint:parent.primary", "constraint:parent.parent_code", "constraint:parent.parent_n",
          "index:parent.primary", "index:parent.parent_code"]
CHILD = ["table:child", "column:child.id", "column:child.parent_id", "column:child.n", "constraint:child.primary",
         "constraint:child.child_parent", "index:child.primary", "index:child.child_parent", "index:child.child_n_idx"]


def test_a_migration_records_every_kind_of_object_lower_case(db, tmp_path):
    write(tmp_path, "0001_schema.up.sql", SCHEMA)
    ok(migrator(db.dsn, tmp_path, "up"))
    (row,) = tracking_rows(db)
    assert sorted(row.created) == sorted(PARENT + CHILD + ["view:parent_codes"])
    ok(migrator(db.dsn, tmp_path, "verify"))


def test_drops_record_what_went_with_them(db, tmp_path):
    write(tmp_path, "0001_schema.up.sql", SCHEMA)
    write(tmp_path, "0002_drop_index.up.sql", "DROP INDEX Child_N_Idx ON child;\n")
    write(tmp_path, "0003_drop_view.up.sql", "DROP VIEW parent_codes;\n")
    write(tmp_path, "0004_drop_child.up.sql", "DROP TABLE child;\n")
    write(tmp_path, "0005_sequence.up.sql", "CREATE SEQUENCE tickets;\n")
    write(tmp_path, "0006_drop_sequence.up.sql", "DROP SEQUENCE tickets;\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    rows = tracking_rows(db)
    assert [(r.version, r.created, sorted(r.dropped)) for r in rows[1:4]] == [
        (2, [], ["index:child.child_n_idx"]),
        (3, [], ["view:parent_codes"]),
        (4, [], sorted(set(CHILD) - {"index:child.child_n_idx"})),
    ]
    assert "sequence:tickets" in rows[4].created and "sequence:tickets" in rows[5].dropped
    ok(migrator(db.dsn, tmp_path, "verify"))


def test_a_view_records_no_columns(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (a INT, b INT);\n")
    write(tmp_path, "0002_v.up.sql", "CREATE VIEW v AS SELECT a, b FROM t;\n")
    write(tmp_path, "0003_c.up.sql", "ALTER TABLE t ADD COLUMN c INT;\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    assert [(r.created, r.dropped) for r in tracking_rows(db)] == [
        (sorted(["table:t", "column:t.a", "column:t.b"]), []), (["view:v"], []), (["column:t.c"], [])]
    ok(migrator(db.dsn, tmp_path, "verify"))


CHECK = """BEGIN NOT ATOMIC
  IF {condition} THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'not as the DSN and flags say';
  END IF;
END;
"""


@pytest.mark.parametrize("seconds, expected", [("1.5", 2), ("0.2", 1), ("3", 3), ("0", 31536000),
                                               ("99999999", 31536000)])
def test_statements_wait_for_table_locks_as_long_as_the_flag_says(db, tmp_path, seconds, expected):
    write(tmp_path, "0001_check.up.sql", CHECK.format(condition=f"@@SESSION.lock_wait_timeout <> {expected}"))
    ok(migrator(db.dsn, tmp_path, "--ddl-lock-timeout", seconds, "up"))


@pytest.mark.parametrize("query, condition", [
    ("?sql_mode='ANSI_QUOTES'", "@@SESSION.sql_mode <> 'ANSI_QUOTES'"),
    ("?foreign_key_checks=0", "@@SESSION.foreign_key_checks <> 0"),
    ("?max_statement_time=3", "@@SESSION.max_statement_time <> 3"),
    ("?charset=latin1", "@@SESSION.character_set_client <> 'latin1'"),
    ("?user=root&tls=false&parseTime=true", "@@SESSION.character_set_client <> 'utf8mb4'"),
    ("?charset=utf8mb4,latin1", "@@SESSION.character_set_client <> 'utf8mb4'"),  # the first of a list
    ("?timeout=1m30s&readTimeout=500ms&writeTimeout=1h", "FALSE"),
    # up to a year, in every unit of a Go duration
    ("?timeout=8760h&readTimeout=525600m&writeTimeout=31536000s", "FALSE"),
    ("?timeout=31536001ms&readTimeout=31536001us&writeTimeout=31536001ns", "FALSE"),
    ("?readTimeout=31536001\u00b5s", "FALSE"),
    ("?sql_mode=''", "@@SESSION.sql_mode <> ''"),
    ("?group_concat_max_len=4096", "@@SESSION.group_concat_max_len <> 4096"),
    ("?tls=preferred", "FALSE"),
])
def test_dsn_parameters_shape_the_session(db, tmp_path, query, condition):
    write(tmp_path, "0001_check.up.sql", CHECK.format(condition=condition))
    result = migrator(db.dsn + query, tmp_path, "up")
    ok(result)


@pytest.mark.parametrize("query", ["?user=root", "?USER=root", "?User=root"])
def test_credentials_in_the_query_win_over_the_userinfo(db, tmp_path, query):
    from migrator.config import parse_dsn

    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    d = parse_dsn(db.dsn)
    ok(migrator(f"mysql://nobody@{d.host}:{d.port}/{db.name}{query}", tmp_path, "up"))
    assert [r.version for r in tracking_rows(db)] == [1]


@pytest.mark.parametrize("key", ["password", "PASSWORD", "Password"])
def test_a_password_in_the_query_is_taken_in_any_case(db, tmp_path, login, key):
    from migrator.config import parse_dsn

    db.execute(f"GRANT ALL PRIVILEGES ON `{db.name}`.* TO '{login}'@'%'")
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    d = parse_dsn(db.dsn)
    ok(migrator(f"mysql://{login}@{d.host}:{d.port}/{db.name}?{key}=pw", tmp_path, "up"))
    assert [r.version for r in tracking_rows(db)] == [1]


@pytest.mark.parametrize("query, message", [
    ("?timeout=10x", "invalid DSN option: timeout='10x' (expected a duration such as 10s or 500ms)"),
    ("?readTimeout=0s", "invalid DSN option: readTimeout='0s' (expected a duration from 1ms to 1 year)"),
    ("?writeTimeout=8761h", "invalid DSN option: writeTimeout='8761h' (expected a duration from 1ms to 1 year)"),
    ("?timeout=525601m", "invalid DSN option: timeout='525601m' (expected a duration from 1ms to 1 year)"),
    ("?timeout=31536001s", "invalid DSN option: timeout='31536001s' (expected a duration from 1ms to 1 year)"),
    ("?timeout=31536000001ms", "invalid DSN option: timeout='31536000001ms' (expected a duration from 1ms to 1 year)"),
    ("?tls=maybe", "invalid DSN option: tls='maybe' (expected true, false, skip-verify or preferred)"),
    ("?charset=klingon", "invalid DSN option: charset='klingon' (expected a MySQL character set such as utf8mb4)"),
    ("?collation=no_such_collation", "invalid DSN option: collation: "),
    ("?no-such-thing=1", "invalid DSN option: 'no-such-thing' is neither a driver option nor a variable name"),
    ("?autocommit=0", "invalid DSN option: 'autocommit': the DSN sets only session variables"),
    ("?old_password=x", "invalid DSN option: 'old_password': the DSN sets only session variables"),
    ("?no_such_variable=1", "invalid DSN option: no_such_variable: Unknown system variable 'no_such_variable' "
                            "(error 1193)"),
    ("?max_connections=10", "invalid DSN option: max_connections: Variable 'max_connections' is a GLOBAL variable "
                            "and should be set with SET GLOBAL (error 1229)"),
    ("?version_comment=x", "invalid DSN option: version_comment: Variable 'version_comment' is a read only "
                           "variable (error 1238)"),
    ("?sql_mode=NOPE", "invalid DSN option: sql_mode: Variable 'sql_mode' can't be set to the value of 'NOPE' "
                       "(error 1231)"),
    ("?max_statement_time=soon", "invalid DSN option: max_statement_time: Incorrect argument type to variable "
                                 "'max_statement_time' (error 1232)"),
    ("?charset=latin1&collation=utf8mb4_bin", "invalid DSN option: collation: COLLATION 'utf8mb4_bin' is not valid "
                                              "for CHARACTER SET 'latin1' (error 1253)"),
    ("?tls=true", "cannot connect to mysql at "),
    ("?tls=skip-verify", "cannot connect to mysql at "),
])
def test_dsn_parameters_that_are_refused(db, tmp_path, query, message):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    result = migrator(db.dsn + query, tmp_path, "up")
    assert result.code == (1 if message.startswith("cannot") else 2), result.err
    assert message in result.err, result.err
    assert tracking_rows(db) == []


def test_a_failed_statement_shows_the_server_error_number(db, tmp_path):
    write(tmp_path, "0001_bad.up.sql", "SELECT * FROM nowhere;\n")
    result = ok(migrator(db.dsn, tmp_path, "up"), 1)
    assert f"Table '{db.name}.nowhere' doesn't exist (error 1146)" in result.err, result.err
    assert "MIGRATION_LOCK_RETRY" not in result.err, result.err  # an error, not a lock to wait for


def test_the_runner_lock_held_elsewhere_names_the_connection(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    with HeldLock(db) as held:
        connection = held.handle.thread_id()
        result = migrator(db.dsn, tmp_path, "--lock-timeout", "0.3", "up")
    assert result.code == 5, result.err
    assert re.search(rf"  held by connection {connection} \(user root@[\w.:]+, Sleep for \d+s\)", result.err), \
        result.err
    ok(migrator(db.dsn, tmp_path, "up"))
    assert [r.version for r in tracking_rows(db)] == [1]


def test_a_busy_lock_holder_is_named_with_what_it_does(db, tmp_path):
    import threading

    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    with HeldLock(db) as held:
        connection = held.handle.thread_id()
        sleeper = threading.Thread(target=lambda: held.handle.cursor().execute("SELECT SLEEP(2)"))
        sleeper.start()
        time.sleep(0.2)
        result = migrator(db.dsn, tmp_path, "--lock-timeout", "0.3", "up")
        sleeper.join()
    assert result.code == 5, result.err
    assert re.search(rf"  held by connection {connection} \(user root@[\w.:]+, Query for \d+s, User sleep\)",
                     result.err), result.err


def test_a_server_user_without_the_privilege_is_told_so(db, tmp_path, login):
    from migrator.config import parse_dsn

    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    db.execute(f"GRANT ALL PRIVILEGES ON `{db.name}`.* TO '{login}'@'%'")
    d = parse_dsn(db.dsn)
    result = migrator(f"mysql://{login}:pw@{d.host}:{d.port}/{db.name}?sql_log_off=1", tmp_path, "up")
    assert result.code == 2, result.err
    assert "invalid DSN option: sql_log_off: Access denied; you need (at least one of) the SUPER" in result.err, \
        result.err
    assert "(error 1227)" in result.err


def test_the_runner_lock_is_per_service(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    with HeldLock(db, prefix="other"):
        ok(migrator(db.dsn, tmp_path, "--lock-timeout", "0.3", "up"))


@pytest.mark.parametrize("length", [64, 65])
def test_a_long_lock_name_still_excludes_a_second_runner(db, tmp_path, length):
    """GET_LOCK takes names of at most 64 characters: a longer one is shortened, the same way by
    every release (two releases side by side during a rollout exclude each other)."""
    service = "s" * (length - len(f"migrator:{db.name}:"))
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n", service=service)
    first = migrator(db.dsn, tmp_path, "up", service=service)
    ok(first)
    name = f"migrator:{db.name}:{service}"
    if length > 64:  # the name every release takes for it: a digest of the long one
        name = "migrator:" + hashlib.sha256(name.encode()).hexdigest()[:40]
    with held_lock(db, name):
        result = migrator(db.dsn, tmp_path, "--lock-timeout", "0.3", "up", service=service)
    assert result.code == 5, result.err


@contextlib.contextmanager
def held_lock(db, name: str):
    import pymysql

    from migrator.config import parse_dsn

    d = parse_dsn(db.dsn)
    conn = pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "", database=d.database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 5)", (name,))
            assert cur.fetchone()[0] == 1
        yield
    finally:
        conn.close()


def test_a_table_lock_timeout_names_the_blocking_connection(db, tmp_path):
    import pymysql

    from migrator.config import parse_dsn

    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    write(tmp_path, "0002_alter.up.sql", "ALTER TABLE t ADD COLUMN note TEXT;\n")
    d = parse_dsn(db.dsn)
    blocker = pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "", database=d.database)
    queued = pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "", database=d.database)
    try:
        with blocker.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM t")  # an open transaction holding the table's metadata lock
        with queued.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 3")
        ahead = threading.Thread(target=lambda: _fails(queued, "ALTER TABLE t ADD COLUMN other INT"))
        ahead.start()  # other DDL, queued for the same lock ahead of the migration
        time.sleep(0.3)
        started = time.monotonic()
        result = migrator(db.dsn, tmp_path, "--ddl-lock-timeout", "1", "--ddl-lock-retries", "0", "up")
        elapsed = time.monotonic() - started
        connection, waiting = blocker.thread_id(), queued.thread_id()
        ahead.join()
    finally:
        blocker.close()
        queued.close()
    assert result.code == 1, result.err
    assert "Lock wait timeout exceeded; try restarting transaction (error 1205)" in result.err, result.err
    assert re.search(rf"connection {connection} \(user root@[\w.:]+, Sleep, transaction open \d+s; metadata locks "
                     r"unknown: the metadata_lock_info plugin is not loaded\): -", result.err), result.err
    assert re.search(rf"connection {waiting} \(user root@[\w.:]+, queued: Waiting for table metadata lock for "
                     r"\d+s\): ALTER TABLE t ADD COLUMN other INT", result.err), result.err
    assert elapsed < 6
    assert [(r.version, r.dirty) for r in tracking_rows(db)] == [(1, False), (2, True)]


def test_a_closed_port_is_unreachable_and_retried(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    result = run_here("--log-format", "json", "--database", "mysql://root@127.0.0.1:1/x", "--migrations", tmp_path,
                      "--service", "app", "--connect-timeout", "0.6", "up")
    assert result.code == 1, result.err
    assert "database still unreachable after --connect-timeout 0.6s" in result.err, result.err
    assert "cannot connect to mysql at 127.0.0.1:1" in result.err
    assert [e["attempt"] for e in json_lines(result.err) if e["event"] == "MIGRATION_CONNECT_RETRY"][:1] == [1]


def test_an_unknown_database_is_not_retried(db, tmp_path):
    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT);\n")
    started = time.monotonic()
    result = migrator(db.dsn + "_missing", tmp_path, "--connect-timeout", "5", "up")
    assert result.code == 1, result.err
    assert f"Unknown database '{db.name}_missing' (error 1049)" in result.err, result.err
    assert "MIGRATION_CONNECT_RETRY" not in result.err
    assert time.monotonic() - started < 3


def test_the_collation_of_the_dsn_reaches_the_session(db, tmp_path):
    write(tmp_path, "0001_check.up.sql", CHECK.format(condition="@@SESSION.collation_connection <> 'utf8mb4_bin'"))
    ok(migrator(db.dsn + "?charset=utf8mb4&collation=utf8mb4_bin", tmp_path, "up"))


@pytest.fixture
def login(db):
    """A fresh login on the server (dropped afterwards); its grants are the test's."""
    import uuid

    name = f"mt_u_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'pw'")
    yield name
    db.execute(f"DROP USER '{name}'@'%'")


@pytest.mark.parametrize("grant, enough", [
    ("GRANT SELECT, SHOW VIEW ON `{like}`.* TO '{user}'@'%'", True),   # a pattern matching the database
    ("GRANT SELECT, SHOW VIEW ON `{one}`.* TO '{user}'@'%'", True),    # `_`: any one character
    ("GRANT SELECT, SHOW VIEW ON *.* TO '{user}'@'%'", True),          # every schema
    ("GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'%'", True),
    ("GRANT SELECT, INSERT ON `{db}`.* TO '{user}'@'%'", True),         # SELECT and any one more
    ("GRANT SELECT ON `{db}`.* TO '{user}'@'%'", False),                # SELECT alone shows no constraints
    ("GRANT SELECT, SHOW VIEW ON `{other}`.* TO '{user}'@'%'; "        # a pattern of other databases
     "GRANT SELECT ON `{db}`.`app_migrations` TO '{user}'@'%'", False),
    ("GRANT SELECT, SHOW VIEW ON `{db}`.`app_migrations` TO '{user}'@'%'", False),  # one table is not the schema
])
def test_schema_wide_grants_verification_needs(db, tmp_path, login, grant, enough):
    from migrator.config import parse_dsn

    write(tmp_path, "0001_t.up.sql", "CREATE TABLE t (id INT PRIMARY KEY, u INT UNIQUE);\n")
    ok(migrator(db.dsn, tmp_path, "up"))
    like = db.name.replace("_", "\\_")[:-4] + "%"  # mt\_1234...% : LIKE, as GRANT reads it
    other = "zz" + db.name[2:]
    one = db.name[0] + "_" + db.name[2:]  # m_... for mt...
    db.execute(*grant.format(like=like, one=one, db=db.name, other=other, user=login).split("; "))
    d = parse_dsn(db.dsn)
    result = migrator(f"mysql://{login}:pw@{d.host}:{d.port}/{db.name}", tmp_path, "verify")
    if enough:
        assert result.code == 0, result.err
    else:
        assert result.code == 2, result.err
        assert f"GRANT SELECT, SHOW VIEW ON `{db.name}`.* TO '{login}'@'%'" in result.err, result.err


def _fails(conn, sql: str) -> None:
    """Run ``sql``, which is expected to give up (a lock wait timeout)."""
    import pymysql

    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute(sql)
