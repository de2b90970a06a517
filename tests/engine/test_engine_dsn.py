"""DSNs (SPEC 4): parse_dsn unit tests, bad DSNs on the CLI (exit 2, one line, no
password), unreachable servers (exit 1 naming host and port), -e/--read-from-env."""

from __future__ import annotations

import pytest
from engine_support import ok, plain_lines, versions

from migrator.config import parse_dsn
from migrator.errors import UsageError

SECRET = "S3cretPw"

GOOD = [
    ("sqlite:///var/lib/app/data.db", dict(dialect="sqlite", database="/var/lib/app/data.db")),
    ("sqlite://relative.db", dict(dialect="sqlite", database="relative.db")),
    ("postgres://user:secret@db:5432/app?sslmode=disable",
     dict(dialect="postgres", host="db", port=5432, user="user", password="secret", database="app",
          params=(("sslmode", "disable"),))),
    ("postgresql://user:secret@db/app", dict(dialect="postgres", host="db", port=5432, database="app")),
    ("mysql://user:secret@tcp(db:3306)/app?parseTime=true",
     dict(dialect="mysql", host="db", port=3306, user="user", password="secret", database="app",
          params=(("parseTime", "true"),))),
    ("mysql://user:secret@tcp(db)/app", dict(dialect="mysql", host="db", port=3306, database="app")),
    ("mysql://user:secret@db:3306/app",
     dict(dialect="mysql", host="db", port=3306, password="secret", database="app")),
    ("mysql://user@db/app", dict(dialect="mysql", port=3306, user="user", password=None)),
    ("cockroach://user@crdb:26257/app",
     dict(dialect="cockroach", host="crdb", port=26257, user="user", database="app")),
    ("postgres://u:p%40ss%2Fw%3Ard@db:6543/app", dict(password="p@ss/w:rd", port=6543)),
    ("postgres://u:pa:ss@db/app", dict(user="u", password="pa:ss")),
    ("postgres://u@[::1]:5433/app", dict(host="::1", port=5433)),
    ("postgres://u@db.example.internal/app-db_1", dict(host="db.example.internal", database="app-db_1")),
    ("POSTGRES://u@db/app", dict(dialect="postgres")),
]

# Each: a bad DSN whose password (S3cretPw, or its first part S3cret) must never be echoed.
BAD = {
    "unknown scheme": "oracle://scott:S3cretPw@db:1521/app",
    "no scheme": "S3cretPw@db:5432/app",
    "missing database name": "postgres://app:S3cretPw@db:5432/",
    "missing database name, no slash": "postgres://app:S3cretPw@db:5432",
    "missing database name, mysql": "mysql://app:S3cretPw@db:3306",
    "missing database name, Go form": "mysql://app:S3cretPw@tcp(db:3306)/",
    "malformed host": "postgres://app:S3cretPw@bad host!:5432/app",
    "missing host": "postgres://app:S3cretPw@:5432/app",
    "two ports": "mysql://app:S3cretPw@db:3306:1/app",
    "unclosed IPv6 bracket": "postgres://app:S3cretPw@[::1:5432/app",
    "malformed port": "postgres://app:S3cretPw@db:54x2/app",
    "port zero": "postgres://app:S3cretPw@db:0/app",
    "port out of range": "mysql://app:S3cretPw@db:70000/app",
    "malformed Go-driver form": "mysql://app:S3cretPw@tcp(db:3306/app",
    "malformed Go-driver port": "mysql://app:S3cretPw@tcp(db:33a06)/app",
    "empty Go-driver address": "mysql://app:S3cretPw@tcp()/app",
    "empty sqlite path": "sqlite://",
    "empty absolute sqlite path": "sqlite:///",
    "empty sqlite path with a query": "sqlite://?mode=ro",
    # operator typos that put the password where a host or port belongs
    "host forgotten": "postgres://app:S3cretPw/appdb",
    "unencoded slash in password": "postgres://app:S3cret/Pw@db:5432/app",
    "unencoded slash in password, mysql": "mysql://app:S3cret/Pw@db:3306/app",
}


BAD_CASES = list(BAD)


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_parse_dsn_accepts(text, expected):
    dsn = parse_dsn(text)
    for key, value in expected.items():
        assert getattr(dsn, key) == value, key
    if dsn.password:
        assert dsn.password not in str(dsn) and dsn.password not in repr(dsn)
        assert ":***@" in dsn.redacted()


@pytest.mark.parametrize("case", BAD_CASES)
def test_parse_dsn_rejects(case):
    text = BAD[case]
    try:
        dsn = parse_dsn(text)
    except UsageError as exc:
        assert exc.exit_status == 2
        assert exc.message.startswith("invalid DSN: ")
        assert "S3cret" not in exc.message, f"the error echoes the password: {exc.message}"
        return
    # the only acceptable alternative: the password (with its slash) was understood as the password
    assert "unencoded slash" in case and dsn.password == "S3cret/Pw" and "S3cret" not in dsn.redacted(), dsn


def test_redaction_of_query_passwords():
    dsn = parse_dsn(f"postgres://u@db/app?sslmode=require&password={SECRET}")
    assert SECRET not in dsn.redacted() and "sslmode=require" in dsn.redacted()


@pytest.fixture(scope="module")
def any_migrations(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsn-migrations")
    for dialect in ("sqlite", "postgres", "mysql"):
        (root / "svc" / dialect).mkdir(parents=True)
        (root / "svc" / dialect / "0001_t.up.sql").write_text("CREATE TABLE t1 (id INTEGER PRIMARY KEY);\n")
    return root


def assert_one_error_line(r, *must_contain: str):
    lines = plain_lines(r.err)
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.err
    for text in must_contain:
        assert text in lines[0], lines[0]
    assert "S3cret" not in r.out + r.err, "the password leaked"
    assert "Traceback" not in r.err
    return lines[0]


CLI_CASES = ["unknown scheme", "missing database name", "missing database name, Go form", "malformed host",
             "malformed port", "malformed Go-driver form", "empty sqlite path", "empty absolute sqlite path",
             "host forgotten", "unencoded slash in password, mysql"]


@pytest.mark.parametrize("case", [c for c in BAD_CASES if (c if isinstance(c, str) else c.values[0]) in CLI_CASES])
def test_bad_dsn_on_the_cli_exits_2(case, cli, any_migrations):
    r = cli("status", dsn=BAD[case], migrations=any_migrations)
    if "unencoded slash" in case and r.code == 1:  # understood as the password: the host "db" is unknown
        assert_one_error_line(r, "db:")
        return
    assert r.code == 2, r.err
    assert_one_error_line(r, "DSN")


def test_read_from_env_without_variables_exits_2(cli, any_migrations):
    r = ok(cli("-e", "status", migrations=any_migrations), 2)
    assert_one_error_line(r, "DSN", "DATABASE_URL")


def test_read_from_env_prefers_dsn_then_database_url(cli, tmp_path, any_migrations):
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    env = {"DSN": f"sqlite://{first}", "DATABASE_URL": f"sqlite://{second}"}
    ok(cli("-e", "up", migrations=any_migrations, env=env))
    assert first.exists() and not second.exists()
    ok(cli("--read-from-env", "up", migrations=any_migrations, env={"DATABASE_URL": f"sqlite://{second}"}))
    assert second.exists()
    ok(cli("-e", "up", migrations=any_migrations, env={"DSN": "", "DATABASE_URL": f"sqlite://{second}"}))
    r = ok(cli("-e", "up", migrations=any_migrations, env={"DSN": f"bogus://u:{SECRET}@h/db"}), 2)
    assert_one_error_line(r, "bogus")


UNREACHABLE = {
    "postgres, closed port": (f"postgres://postgres:{SECRET}@127.0.0.1:1/app", "127.0.0.1:1"),
    "mysql, closed port": (f"mysql://root:{SECRET}@127.0.0.1:1/app", "127.0.0.1:1"),
    "mysql Go form, closed port": (f"mysql://root:{SECRET}@tcp(127.0.0.1:1)/app", "127.0.0.1:1"),
    "postgres, unknown host": (f"postgres://postgres:{SECRET}@no-such-host.invalid:5432/app",
                               "no-such-host.invalid:5432"),
}


@pytest.mark.parametrize("case", UNREACHABLE)
def test_unreachable_server_exits_1_naming_host_and_port(case, cli, any_migrations):
    dsn, address = UNREACHABLE[case]
    r = ok(cli("up", dsn=dsn, migrations=any_migrations, timeout=60), 1)
    assert_one_error_line(r, address)


def test_missing_sqlite_directory_exits_1(cli, tmp_path, any_migrations):
    r = ok(cli("up", dsn=f"sqlite://{tmp_path}/no/such/dir/x.db", migrations=any_migrations), 1)
    assert_one_error_line(r, "no/such/dir")


@pytest.mark.parametrize("args", [
    ("up", "--bogus"), ("--lock-timeout", "soon", "up"), ("force", "two"), ("status", "--format", "xml"),
    (), ("frobnicate",), ("down", "--steps", "x"),
])
def test_usage_errors_exit_2_with_one_line(args, cli, tmp_path, any_migrations):
    r = ok(cli(*args, dsn=f"sqlite://{tmp_path}/x.db", migrations=any_migrations), 2)
    assert_one_error_line(r)
    assert not (tmp_path / "x.db").exists()


def test_password_in_query_string_is_used_and_hidden(cli, make_database, any_migrations):
    pg = make_database("postgres")
    r = cli("up", dsn=f"{pg.dsn}?password={SECRET}", migrations=any_migrations)
    assert SECRET not in r.out + r.err
    assert "internal error" not in r.err, r.err
    assert r.code == 0, r.err
    assert versions(pg, "svc") == [1]


def test_mysql_tls_only_when_the_dsn_asks(cli, make_database, any_migrations):
    """Without ``tls`` the connection is plain (the Go driver's default, whatever the PyMySQL
    version would otherwise try); ``tls=true`` must get TLS or fail, never fall back."""
    my = make_database("mysql")
    have_ssl = my.query("SHOW VARIABLES LIKE 'have_ssl'")[0][1]
    if have_ssl == "YES":
        pytest.skip("this MariaDB serves TLS: the test needs one that does not")
    r = cli("up", dsn=my.dsn, migrations=any_migrations)
    assert r.code == 0, r.err
    r = cli("up", dsn=f"{my.dsn}?tls=true", migrations=any_migrations)
    assert r.code == 1, r.text
    assert_one_error_line(r)
    assert "cannot connect to mysql" in r.err, r.err
