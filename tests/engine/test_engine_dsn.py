"""DSNs (SPEC 4): parse_dsn unit tests (every form, with reserved characters in the user,
the password and the query), bad DSNs on the CLI (exit 2, one line naming the check, no
password), unreachable servers (exit 1 naming host and port), -e/--read-from-env, and the
query parameters on the real servers: libpq's on PostgreSQL, the Go driver's options and
session variables on MariaDB, ``tls=``."""

from __future__ import annotations

from urllib.parse import quote

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
    ("mysql://tcp(db:3307)/app", dict(dialect="mysql", host="db", port=3307, user=None, password=None)),
    ("mysql://user:secret@db:3306/app",
     dict(dialect="mysql", host="db", port=3306, password="secret", database="app")),
    ("mysql://user@db/app", dict(dialect="mysql", port=3306, user="user", password=None)),
    ("mysql://u@unix(/run/mysqld/mysqld.sock)/app", dict(socket="/run/mysqld/mysqld.sock", host=None)),
    ("mysql://u@/app?socket=/run/mysqld/mysqld.sock", dict(socket="/run/mysqld/mysqld.sock", params=())),
    ("cockroach://user@crdb:26257/app",
     dict(dialect="cockroach", host="crdb", port=26257, user="user", database="app")),
    ("postgres://u:p%40ss%2Fw%3Ard@db:6543/app", dict(password="p@ss/w:rd", port=6543)),
    ("postgres://u:pa:ss@db/app", dict(user="u", password="pa:ss")),
    ("postgres://u:p@ss@db/app", dict(user="u", password="p@ss", host="db")),
    ("postgres://u@[::1]:5433/app", dict(host="::1", port=5433)),
    ("postgres://u@db.example.internal/app-db_1", dict(host="db.example.internal", database="app-db_1")),
    ("POSTGRES://u@db/app", dict(dialect="postgres")),
    ("postgres://db:1/app", dict(port=1)),
    ("postgres://db:65535/app", dict(port=65535)),
    # an '@' in the query is the query's: the connection stays where the authority says
    ("postgres://u:pw@127.0.0.1:5432/db?options=x@127.0.0.1:5432/db2",
     dict(host="127.0.0.1", port=5432, database="db", password="pw", params=(("options", "x@127.0.0.1:5432/db2"),))),
    ("postgres://u@db/app?application_name=a@b", dict(database="app", params=(("application_name", "a@b"),))),
    ("mysql://u:pw@tcp(db:3306)/app?init=a@tcp(evil:1)/db2", dict(host="db", database="app", password="pw")),
    # libpq: ?host=, ?port= and ?dbname= win over the URI's parts; a host that is a directory is a socket
    ("postgres://u@/app?host=/var/run/postgresql", dict(socket="/var/run/postgresql", host=None, params=())),
    ("postgres://u@%2Fvar%2Frun%2Fpostgresql/app", dict(socket="/var/run/postgresql", host=None)),
    ("postgres://u@/app?host=/tmp&port=6000", dict(socket="/tmp", port=6000)),
    ("postgres://u@db:5432/?dbname=app&host=other&port=6432", dict(host="other", port=6432, database="app")),
    # user and password as query parameters stay parameters: the dialect applies them in order
    ("postgres://db/app?user=postgres&password=x", dict(user=None, password=None,
                                                         params=(("user", "postgres"), ("password", "x")))),
    # percent-decoding only: '+' is a plus, as libpq reads it
    ("postgres://u:a+b@db/app?application_name=c+d", dict(password="a+b", params=(("application_name", "c+d"),))),
    # a Secret made from a file ends with a newline
    ("postgres://u:pw@db:5432/app\n", dict(password="pw", database="app", port=5432)),
    ("  mysql://u:pw@tcp(db:3306)/app\r\n", dict(password="pw", database="app")),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[g[0].strip() for g in GOOD])
def test_parse_dsn_accepts(text, expected):
    dsn = parse_dsn(text)
    for key, value in expected.items():
        assert getattr(dsn, key) == value, key
    if dsn.password:
        assert dsn.password not in str(dsn) and dsn.password not in repr(dsn)
        assert ":***@" in dsn.redacted()


# Reserved characters everywhere: a user and a password holding every one of them, written
# percent-encoded (what the README asks), and the password once more with '@' and ':' left as
# they are (accepted unencoded); a query value with '@', '/', '?', ':' (and '#' encoded).
USER, PASSWORD, VALUE = "us@r:/?#%x", "p@ss:w/o?r#d%x", "a@b/c?d:e#f"
LOOSE_PASSWORD = PASSWORD.replace("/", "%2F").replace("?", "%3F").replace("#", "%23").replace("%x", "%25x")
FORMS = {
    "postgres": ("postgres://{u}:{p}@db:6432/app?application_name={v}", dict(host="db", port=6432)),
    "postgresql": ("postgresql://{u}:{p}@db/app?application_name={v}", dict(host="db", port=5432)),
    "postgres socket": ("postgres://{u}:{p}@/app?host=/var/run/postgresql&application_name={v}",
                        dict(socket="/var/run/postgresql")),
    "cockroach": ("cockroach://{u}:{p}@crdb:26257/app?application_name={v}", dict(host="crdb", port=26257)),
    "mysql URL": ("mysql://{u}:{p}@db:3307/app?sql_mode={v}", dict(host="db", port=3307)),
    "mysql Go": ("mysql://{u}:{p}@tcp(db:3307)/app?sql_mode={v}", dict(host="db", port=3307)),
    "mysql Go unix": ("mysql://{u}:{p}@unix(/run/mysqld/mysqld.sock)/app?sql_mode={v}",
                      dict(socket="/run/mysqld/mysqld.sock")),
    "mariadb": ("mariadb://{u}:{p}@[::1]:3307/app?sql_mode={v}", dict(host="::1", port=3307)),
}


@pytest.mark.parametrize("written", ["encoded", "loose"])
@pytest.mark.parametrize("form", FORMS)
def test_reserved_characters_in_user_password_and_query(form, written):
    template, where = FORMS[form]
    password = quote(PASSWORD, safe="") if written == "encoded" else LOOSE_PASSWORD
    text = template.format(u=quote(USER, safe=""), p=password, v=VALUE.replace("#", "%23"))
    dsn = parse_dsn(text)
    assert (dsn.user, dsn.password, dsn.database) == (USER, PASSWORD, "app")
    for key, value in where.items():
        assert getattr(dsn, key) == value, key
    assert dsn.params[-1][1] == VALUE
    assert PASSWORD not in dsn.redacted() and password not in dsn.redacted()


def test_sqlite_query_values_with_reserved_characters():
    dsn = parse_dsn("sqlite:///var/lib/a%40b.db?mode=ro&vfs=a@b/c?d:e%23f")
    assert dsn.database == "/var/lib/a@b.db" and dsn.params == (("mode", "ro"), ("vfs", "a@b/c?d:e#f"))


ENCODE = "percent-encode '/', '?', '#' and '%' in the user and password (%2F, %3F, %23, %25)"
MISSING_PATH = "missing database path (use sqlite:///absolute/path.db or sqlite://relative.db)"
GO_FORM = "malformed Go-driver address (expected user:pass@tcp(host:port)/dbname)"
# Each: a bad DSN whose password (S3cretPw, or a part of it) must never be echoed, and the
# message of the check that must reject it.
BAD = {
    "unknown scheme": ("oracle://scott:S3cretPw@db:1521/app",
                       "unknown scheme 'oracle' (expected sqlite, postgres, postgresql, mysql, cockroach)"),
    "no scheme": ("S3cretPw@db:5432/app", "expected SCHEME://... (sqlite, postgres, postgresql, mysql, cockroach)"),
    "missing database name": ("postgres://app:S3cretPw@db:5432/", "missing database name"),
    "missing database name, no slash": ("postgres://app:S3cretPw@db:5432", "missing database name"),
    "missing database name, mysql": ("mysql://app:S3cretPw@db:3306", "missing database name"),
    "missing database name, Go form": ("mysql://app:S3cretPw@tcp(db:3306)/", "missing database name"),
    "slash in database name": ("postgres://app:S3cretPw@db/a%2Fb", "malformed database name 'a/b'"),
    "malformed host": ("postgres://app:S3cretPw@bad host!:5432/app", "malformed host 'bad host!'"),
    "missing host": ("postgres://app:S3cretPw@:5432/app", "missing host"),
    "missing host, empty authority": ("postgres://app:S3cretPw@/app", "missing host"),
    "two ports": ("mysql://app:S3cretPw@db:3306:1/app", f"malformed host (more than one ':'; {ENCODE})"),
    "unclosed IPv6 bracket": ("postgres://app:S3cretPw@[::1:5432/app",
                              "malformed host (unclosed '[' in an IPv6 address)"),
    "text after IPv6 bracket": ("postgres://app:S3cretPw@[::1]x/app",
                                "malformed host (text after ']' that is not ':port')"),
    "malformed port": ("postgres://app:S3cretPw@db:54x2/app", f"malformed port (not a number; {ENCODE})"),
    "non-ASCII digits in the port": ("postgres://app:S3cretPw@db:٥٤٣٢/app", f"malformed port (not a number; {ENCODE})"),
    "port zero": ("postgres://app:S3cretPw@db:0/app", "port out of range (expected 1 to 65535)"),
    "port 65536": ("postgres://app:S3cretPw@db:65536/app", "port out of range (expected 1 to 65535)"),
    "port out of range, mysql": ("mysql://app:S3cretPw@db:70000/app", "port out of range (expected 1 to 65535)"),
    "port 65536 as a libpq parameter": ("postgres://app:S3cretPw@db/app?port=65536",
                                        "port out of range (expected 1 to 65535)"),
    "malformed Go-driver form": ("mysql://app:S3cretPw@tcp(db:3306/app", GO_FORM),
    "Go-driver form without a slash": ("mysql://app:S3cretPw@tcp(db:3306)app", GO_FORM),
    "malformed Go-driver port": ("mysql://app:S3cretPw@tcp(db:33a06)/app", f"malformed port (not a number; {ENCODE})"),
    "empty Go-driver address": ("mysql://app:S3cretPw@tcp()/app", "missing host"),
    "relative Go-driver socket": ("mysql://app:S3cretPw@unix(mysql.sock)/app",
                                  "malformed socket path (expected unix(/absolute/path))"),
    "empty sqlite path": ("sqlite://", MISSING_PATH),
    "empty absolute sqlite path": ("sqlite:///", MISSING_PATH),
    "empty sqlite path with a query": ("sqlite://?mode=ro", MISSING_PATH),
    "query parameter without a name": ("postgres://app:S3cretPw@db/app?=x", f"malformed query parameter name: {ENCODE}"),
    # operator typos that put the password where a host, port or query belongs
    "host forgotten": ("postgres://app:S3cretPw/appdb", f"malformed port (not a number; {ENCODE})"),
    "host forgotten, ':' in password": ("postgres://app:S3c:retPw/appdb", f"malformed host (more than one ':'; {ENCODE})"),
    "unencoded slash in password": ("postgres://app:S3cret/Pw@db:5432/app", f"unexpected '@' after the host: {ENCODE}"),
    "unencoded slash in password, mysql": ("mysql://app:S3cret/Pw@db:3306/app", f"unexpected '@' after the host: {ENCODE}"),
    "unencoded slash in password, no database": ("postgres://app:5432/S3cretPw@db", f"unexpected '@' after the host: {ENCODE}"),
    "unencoded slash in password, Go form": ("mysql://app:S3cret/Pw@tcp(db:3306)/app",
                                             f"unencoded '/' before the Go-driver address: {ENCODE}"),
    "unencoded question mark in password": ("postgres://app:S3c?retPw@db:5432/app",
                                            f"malformed query parameter name: {ENCODE}"),
    "unencoded hash in password": ("postgres://app:S3c#retPw@db:5432/app",
                                   "unencoded '#' (a DSN has no fragment: write '#' as %23)"),
    "unencoded hash in a query value": ("mysql://app:S3cretPw@tcp(db)/app?sql_mode=a#b",
                                        "unencoded '#' (a DSN has no fragment: write '#' as %23)"),
}


@pytest.mark.parametrize("case", BAD)
def test_parse_dsn_rejects(case):
    text, reason = BAD[case]
    with pytest.raises(UsageError) as caught:
        parse_dsn(text)
    assert caught.value.exit_status == 2
    assert caught.value.message == f"invalid DSN: {reason}"
    for part in ("S3cret", "retPw", "Pw@"):
        assert part not in caught.value.message, f"the error echoes the password: {caught.value.message}"


@pytest.mark.parametrize(("query", "hidden"), [
    ("sslmode=require&password=S3cretPw", "password=***"),
    ("PASSWORD=S3cretPw&sslmode=require", "PASSWORD=***"),
    ("sslmode=require&PassWord=S3cretPw", "PassWord=***"),
    ("sslmode=require&sslpassword=S3cretPw", "sslpassword=***"),
    ("sslmode=require&oauth_client_secret=S3cretPw", "oauth_client_secret=***"),
])
def test_redaction_of_query_secrets(query, hidden):
    dsn = parse_dsn(f"postgres://u:other@db/app?{query}")
    assert "S3cret" not in dsn.redacted() and "other" not in dsn.redacted() and "S3cret" not in repr(dsn)
    assert hidden in dsn.redacted() and "sslmode=require" in dsn.redacted()
    assert set(dsn.secrets) == {"other", SECRET}


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
             "malformed port", "port 65536", "malformed Go-driver form", "empty sqlite path", "host forgotten",
             "unencoded slash in password, mysql", "unencoded hash in password"]


@pytest.mark.parametrize("case", CLI_CASES)
def test_bad_dsn_on_the_cli_exits_2(case, cli, any_migrations):
    text, reason = BAD[case]
    r = ok(cli("status", dsn=text, migrations=any_migrations), 2)
    assert assert_one_error_line(r) == f"Error: invalid DSN: {reason}"


def test_dsn_with_a_trailing_newline_works(cli, tmp_path, any_migrations):
    """A Secret made from a file (kubectl create secret --from-file) ends with a newline."""
    path = tmp_path / "app.db"
    ok(cli("-e", "up", migrations=any_migrations, env={"DSN": f"sqlite://{path}\n"}))
    assert path.exists() and not (tmp_path / "app.db\n").exists()


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


# -- PostgreSQL: the query parameters go to libpq ----------------------------------------------

def _pg_parts(test_db):
    d = parse_dsn(test_db.dsn)
    return d.user, d.host, d.port


def test_an_at_sign_in_the_query_does_not_move_the_connection(cli, make_database, any_migrations):
    pg, other = make_database("postgres"), make_database("postgres")
    user, host, port = _pg_parts(pg)
    dsn = f"postgres://{user}:pw@{host}:{port}/{pg.name}?application_name=x@{host}:{port}/{other.name}"
    ok(cli("up", dsn=dsn, migrations=any_migrations))
    assert versions(pg, "svc") == [1] and "t1" in pg.tables()
    assert other.tables() == set()


@pytest.mark.parametrize("auth", ["", "nobody@"])
def test_user_and_password_as_query_parameters(auth, cli, make_database, any_migrations):
    """libpq takes ``user`` and ``password`` from the query, over the userinfo's."""
    pg = make_database("postgres")
    user, host, port = _pg_parts(pg)
    r = ok(cli("up", dsn=f"postgres://{auth}{host}:{port}/{pg.name}?user={user}&password={SECRET}",
               migrations=any_migrations))
    assert SECRET not in r.out + r.err
    assert versions(pg, "svc") == [1]


@pytest.mark.parametrize("form", ["query", "encoded host"])
def test_postgres_over_a_unix_socket(form, cli, make_database, any_migrations):
    pg = make_database("postgres")
    user, _, port = _pg_parts(pg)
    directory = pg.query("SHOW unix_socket_directories")[0][0].split(",")[0].strip()
    dsn = (f"postgres://{user}@/{pg.name}?host={directory}&port={port}" if form == "query"
           else f"postgres://{user}@{quote(directory, safe='')}:{port}/{pg.name}")
    r = ok(cli("up", dsn=dsn, migrations=any_migrations))
    assert versions(pg, "svc") == [1]
    assert "MIGRATION_CONNECTION_UNENCRYPTED" not in r.err  # a socket is this machine


def test_unknown_libpq_parameter_is_exit_2(cli, make_database, any_migrations):
    """libpq's names are case-sensitive: ``PASSWORD`` is not one (and is never echoed)."""
    pg = make_database("postgres")
    r = ok(cli("up", dsn=f"{pg.dsn}?PASSWORD={SECRET}", migrations=any_migrations), 2)
    assert assert_one_error_line(r) == "Error: invalid DSN option: 'PASSWORD' is not a libpq connection parameter"
    assert pg.tables() == set()


# -- MySQL: the Go driver's options, session variables, tls= --------------------------------------

# The migration needs both settings: ANSI quotes, and a foreign key to a table not there yet.
NEEDS_SESSION = {"mysql": {"0001_child.up.sql": 'CREATE TABLE "child" (id INT PRIMARY KEY, parent_id INT, '
                                                 "CONSTRAINT child_parent FOREIGN KEY (parent_id) "
                                                 "REFERENCES later_parent (id));\n"}}


@pytest.mark.parametrize("form", ["url", "go"])
def test_mysql_parameters_set_session_variables(form, cli, make_database, write_migrations):
    migrations = write_migrations(NEEDS_SESSION)
    my, plain = make_database("mysql"), make_database("mysql")
    d = parse_dsn(my.dsn)
    base = (f"mysql://{d.user}@{d.host}:{d.port}/{my.name}" if form == "url"
            else f"mysql://{d.user}@tcp({d.host}:{d.port})/{my.name}")
    query = "?parseTime=true&foreign_key_checks=0&sql_mode='ANSI'&loc=UTC" if form == "url" else \
        "?sql_mode=%27ANSI%27&FOREIGN_KEY_CHECKS=0&timeout=5s&readTimeout=1m&charset=utf8mb4,utf8"
    ok(cli("up", dsn=base + query, migrations=migrations))
    assert "child" in my.tables() and versions(my, "svc") == [1]
    ok(cli("up", dsn=plain.dsn, migrations=write_migrations(NEEDS_SESSION)), 1)  # without them: refused
    assert "child" not in plain.tables()


MYSQL_REFUSED = {
    "global variable": ("max_connections=10", "invalid DSN option: max_connections: Variable 'max_connections' "
                                              "is a GLOBAL variable and should be set with SET GLOBAL (error 1229)"),
    "read-only variable": ("version=x", "invalid DSN option: version: Variable 'version' is a read only variable "
                                        "(error 1238)"),
    "unknown variable": ("no_such_variable=1", "invalid DSN option: no_such_variable: Unknown system variable "
                                               "'no_such_variable' (error 1193)"),
    "bad value": ("sql_mode=BOGUS", "invalid DSN option: sql_mode: Variable 'sql_mode' can't be set to the value "
                                    "of 'BOGUS' (error 1231)"),
    "a value is never SQL": ("sql_mode=%27ANSI%27%3B%20DROP%20TABLE%20keep",
                             "invalid DSN option: sql_mode: Variable 'sql_mode' can't be set to the value of "
                             "''ANSI'; DROP TABLE keep' (error 1231)"),
    "not a name": ("sql-mode=ANSI", "invalid DSN option: 'sql-mode' is neither a driver option nor a variable name"),
    "unknown collation": ("collation=klingon_ci", "invalid DSN option: collation: Unknown collation: 'klingon_ci' "
                                                  "(error 1273)"),
    "collation of another charset": ("charset=latin1&collation=utf8mb4_bin",
                                     "invalid DSN option: collation: COLLATION 'utf8mb4_bin' is not valid for "
                                     "CHARACTER SET 'latin1' (error 1253)"),
    "unknown charset": ("charset=klingon", "invalid DSN option: charset='klingon' (expected a MySQL character set "
                                           "such as utf8mb4)"),
    "bad duration": ("timeout=soon", "invalid DSN option: timeout='soon' (expected a duration such as 10s or 500ms)"),
    "zero duration": ("readTimeout=0s", "invalid DSN option: readTimeout='0s' (expected a duration from 1ms to 1 year)"),
    "tls typo": ("tls=ture", "invalid DSN option: tls='ture' (expected true, false, skip-verify or preferred)"),
    "tls empty": ("tls=", "invalid DSN option: tls='' (expected true, false, skip-verify or preferred)"),
    "tls required": ("tls=required", "invalid DSN option: tls='required' (expected true, false, skip-verify or "
                                     "preferred)"),
}
NEVER_SET = "the DSN sets only session variables that leave the account, the server and the migrator's own " \
            "settings alone"
for _name in ("old_passwords", "Password_Reuse_Check", "authentication_string", "autocommit", "sql_log_bin",
              "binlog_format", "skip_replication", "server_id", "gtid_domain_id", "pseudo_thread_id",
              "lock_wait_timeout", "wsrep_on"):
    MYSQL_REFUSED[f"never {_name}"] = (f"{_name}=1", f"invalid DSN option: {_name!r}: {NEVER_SET}")


@pytest.mark.parametrize("case", MYSQL_REFUSED)
def test_mysql_parameters_that_are_refused(case, cli, make_database, any_migrations):
    query, message = MYSQL_REFUSED[case]
    my = make_database("mysql")
    my.execute("CREATE TABLE keep (id INT)")
    r = ok(cli("up", dsn=f"{my.dsn}?parseTime=true&{query}", migrations=any_migrations), 2)
    assert assert_one_error_line(r) == f"Error: {message}"
    assert my.tables() == {"keep"}, "the database changed"


def test_mysql_tls_modes_against_a_server_without_tls(cli, make_database, any_migrations):
    """``tls=true`` and ``skip-verify`` get TLS or fail, never plain text; ``preferred`` falls
    back to plain text when the server has no TLS (as the Go driver does); no ``tls`` and
    ``tls=false`` are plain text."""
    my = make_database("mysql")
    if my.query("SHOW VARIABLES LIKE 'have_ssl'")[0][1] == "YES":
        pytest.skip("this MariaDB serves TLS: the test needs one that does not")
    for mode in ("true", "TRUE", "skip-verify"):
        r = ok(cli("up", dsn=f"{my.dsn}?tls={mode}", migrations=any_migrations), 1)
        assert assert_one_error_line(r).endswith(
            ": SSL is required but the server doesn't support it (error 2026)"), r.err
        assert my.tables() == set()
    for mode, expected in (("preferred", [1]), ("false", [1])):
        ok(cli("up", dsn=f"{my.dsn}?tls={mode}", migrations=any_migrations))
        assert versions(my, "svc") == expected
    ok(cli("status", dsn=my.dsn, migrations=any_migrations))


def test_mysql_over_a_unix_socket(cli, make_database, any_migrations):
    my = make_database("mysql")
    d = parse_dsn(my.dsn)
    socket = my.query("SELECT @@socket")[0][0]
    ok(cli("up", dsn=f"mysql://{d.user}@unix({socket})/{my.name}", migrations=any_migrations))
    assert versions(my, "svc") == [1]
