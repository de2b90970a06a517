"""The DSN password never appears in stdout or stderr, whatever the command, its
outcome and the log format (SPEC 4)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from engine_support import HeldLock, Migrator, copy_test_migrations, ok

SECRET = "S3cretPw"  # what must never be printed, encoded or not
PASSWORD, PASSWORD_IN_DSN = SECRET + "/x", SECRET + "%2Fx"  # percent-encoded in the DSN
BROKEN_NO_TX = {
    "postgres": "-- migrator:no-transaction\nCREATE INDEX CONCURRENTLY orders_bad_idx ON orders (no_such_column);\n",
    "mysql": "CREATE INDEX orders_bad_idx ON orders (no_such_column);\n",
}


@pytest.fixture
def mysql_user(make_database):
    """A MariaDB database and a user of its own whose password is SECRET."""
    import pymysql

    mdb = make_database("mysql")
    user = f"mt_{uuid.uuid4().hex[:10]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    hosts = ("%", "localhost", "127.0.0.1")
    with admin.cursor() as cur:
        for host in hosts:
            cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PASSWORD}'")
            cur.execute(f"GRANT ALL ON `{mdb.name}`.* TO '{user}'@'{host}'")
    yield dataclasses.replace(mdb, dsn=f"mysql://{user}:{PASSWORD_IN_DSN}@127.0.0.1:3306/{mdb.name}")
    with admin.cursor() as cur:
        for host in hosts:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
    admin.close()


@pytest.fixture(params=["postgres", "mysql"])
def secret_db(request, make_database):
    """A database reached with a DSN that carries SECRET: PostgreSQL (trust auth ignores
    it) and MariaDB (a user whose password it is)."""
    if request.param == "mysql":
        return request.getfixturevalue("mysql_user")
    pg = make_database("postgres")
    return dataclasses.replace(pg, dsn=pg.dsn.replace("postgres@", f"postgres:{PASSWORD_IN_DSN}@", 1))


def assert_hidden(r, what: str):
    leaked = [line for line in (r.out + r.err).splitlines() if SECRET in line]
    assert not leaked, f"{what}: the password leaked (exit {r.code}):\n" + "\n".join(leaked)


@pytest.mark.parametrize(("log_format", "log_level"), [("json", "info"), ("console", "debug")])
def test_password_never_printed(secret_db, cli, tmp_path, log_format, log_level):
    db = secret_db
    assert SECRET in db.dsn
    root = copy_test_migrations(tmp_path / "migrations", db.dialect)
    mig = Migrator(cli, db, root)
    full = log_format == "json"  # the console run repeats the main commands only

    def run(*args, expect=None, always=False, **kwargs):
        if not (full or always):
            return None
        r = mig("--log-level", log_level, *args, log_format=log_format, **kwargs)
        assert_hidden(r, " ".join(args))
        if expect is not None:
            ok(r, expect)
        return r

    run("up", "--target", "2", expect=0, always=True)
    run("status", expect=0, always=True)
    run("status", "--format", "json", expect=0)
    run("plan", expect=0, always=True)
    run("verify", expect=0, always=True)
    run("wait", "--timeout", "0.2", expect=1)
    run("force", "2", "--yes", expect=0, always=True)
    run("force", "2", expect=1)  # no terminal, no --yes
    run("up", expect=0, always=True)
    run("down", "--yes", expect=0, always=True)
    with HeldLock(db):
        run("--lock-timeout", "0.2", "up", expect=5, always=True)
    changed = mig.folder / "0002_create_orders.up.sql"
    original = changed.read_text()
    changed.write_text(original + "-- edited\n")
    run("up", expect=6, always=True)
    changed.write_text(original)
    mig.write("0006_broken.up.sql", BROKEN_NO_TX[db.dialect])
    run("up", expect=1, always=True)  # a failing migration, left dirty
    run("up", expect=3, always=True)
    run("status", "--check", expect=3)
    run("force", "4", "--yes", expect=0, always=True)
    (mig.folder / "0006_broken.up.sql").unlink()
    db.execute("DROP TABLE orders")
    run("verify", expect=4, always=True)
    run("backfill", "list")
    for bad in (db.dsn.replace("5432", "1").replace("3306", "1"),  # unreachable
                db.dsn.replace("@127.0.0.1", "@bad host!"),  # malformed host
                db.dsn + "/extra"):  # malformed database name
        r = run("status", dsn=bad, always=True)
        assert r.code in (1, 2)


def test_wrong_mysql_password_is_never_printed(cli, make_database, tmp_path):
    """MariaDB rejects root with a password: every command fails, without echoing it."""
    mdb = make_database("mysql")
    root = copy_test_migrations(tmp_path / "migrations", "mysql")
    dsn = f"mysql://root:{SECRET}@127.0.0.1:3306/{mdb.name}"
    go_dsn = f"mysql://root:{SECRET}@tcp(127.0.0.1:3306)/{mdb.name}"
    commands = [("json", dsn, args) for args in (
        ("up",), ("down", "--yes"), ("status",), ("status", "--format", "json"), ("force", "1", "--yes"),
        ("verify",), ("plan",), ("wait", "--timeout", "0"), ("up", "--dry-run"))]
    commands += [("json", go_dsn, ("up",)), ("console", dsn, ("up",)), ("console", dsn, ("status",)),
                 ("console", go_dsn, ("force", "1", "--yes"))]
    for log_format, d, args in commands:
        r = cli(*args, dsn=d, migrations=root, service="app", log_format=log_format)
        assert r.code == 1, r.err
        assert "Access denied" in r.err and "127.0.0.1:3306" in r.err
        assert_hidden(r, " ".join(args))
    assert "app_migrations" not in mdb.tables()
