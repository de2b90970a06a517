"""4. Bad input corpus: every case gets one clear line of error, the right exit code, no
password, and leaves the database as it was.

For each CLI case: the first stderr line that starts with `Error:` exists (and matches
what the case expects), there is no Python traceback (nor an "internal error") anywhere
in the output, the exit code is the SPEC's, none of the case's secrets appear (the DSN
password, percent-decoded or not), and the target database — a PostgreSQL database
holding the example `auth` service at version 4 and a small test service `svc` at
version 1 — is unchanged: same catalog objects (tables, columns, indexes,
constraints, views, sequences, triggers, functions), same tracking rows, no new events
(a failed migration may add its MIGRATION_FAILED event).

Every DSN aimed at the target carries a password; the shared server trusts 127.0.0.1,
so it is ignored there but must never be printed. Real password checks: MariaDB
rejects a wrong root password, and the suite's own PostgreSQL server (tests/reliability
conftest `scratch_pg`) has a role that must authenticate with scram-sha-256.

Unreadable files and folders are checked by running the CLI as `nobody` (root reads
everything). Chart values with typos or wrong types go through the real `helm
template --set` (Helm 3 and Helm 4), which must refuse them.

Legal-but-odd input is here too: gapped versions and timestamps (applied fine), and a
20 MB migration of INSERTs (must work, or fail clearly, within the time limit).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import MIGRATIONS, MYSQL_ADMIN, make_db
from tests.reliability import support
from tests.reliability.support import PW_PASSWORD, PW_ROLE, PREFIXES, describe, error_line, event_rows, inspect, run, tracking_rows

SECRET = "Bad1nput-S3cret"
SVC_BASE = {
    "0001_base.up.sql": "CREATE TABLE bad_input_base (id bigint PRIMARY KEY, note text);\n",
    "0001_base.down.sql": "DROP TABLE bad_input_base;\n",
}
GOOD_BACKFILL = """\
requires = 1
table = "bad_input_base"
key = "id"
batch_size = 100
[sql]
postgres = "UPDATE bad_input_base SET note = 'x' WHERE id >= :lo AND id < :hi AND note IS NULL"
"""


def admin_parts(dsn: str):
    from migrator.config import parse_dsn

    return parse_dsn(dsn)


# -- the target database ----------------------------------------------------------------

@dataclass
class Target:
    test_db: object
    dsn: str  # with SECRET as password
    base: Path  # svc migrations as applied
    host: str
    port: int


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    test_db, drop = make_db("postgres", root)
    d = admin_parts(test_db.dsn)
    dsn = f"postgres://{d.user}:{SECRET}@{d.host}:{d.port}/{d.database}"
    base = root / "svc-base"
    (base / "svc" / "postgres").mkdir(parents=True)
    for name, text in SVC_BASE.items():
        (base / "svc" / "postgres" / name).write_text(text)
    r = run("up", "--target", "4", dsn=dsn, migrations=MIGRATIONS, service="auth")
    assert r.code == 0, describe(r)
    r = run("up", dsn=dsn, migrations=base, service="svc")
    assert r.code == 0, describe(r)
    yield Target(test_db, dsn, base, d.host, d.port)
    drop()


def db_state(test_db) -> tuple:
    db = test_db.connect()
    try:
        objects = support.inspect_db(db, test_db.dialect)
        rows = {p: [tuple(vars(r).values()) for r in (tracking_rows(db, p) or [])] for p in (PREFIXES["auth"], "svc")}
        events = {p: event_rows(db, p) for p in (PREFIXES["auth"], "svc")}
    finally:
        db.close()
    return objects, rows, events


def assert_unchanged(before, after, allow_events=frozenset()) -> None:
    (objects0, rows0, events0), (objects1, rows1, events1) = before, after
    assert objects1 == objects0, (f"catalog changed: added {sorted(objects1 - objects0)[:10]}, "
                                  f"removed {sorted(objects0 - objects1)[:10]}")
    assert rows1 == rows0, f"tracking rows changed: {rows0} -> {rows1}"
    for prefix, events in events1.items():
        old = events0[prefix]
        assert events[:len(old)] == old, f"{prefix} events rewritten"
        new = [e for e, _, _ in events[len(old):]]
        assert set(new) <= set(allow_events), f"{prefix}: new events {new}"


# -- cases ----------------------------------------------------------------------------------

@dataclass
class Ctx:
    target: Target
    root: Path  # a private folder for the case
    scratch: object = None  # the suite's PostgreSQL server (password role), when the case needs it


@dataclass
class Case:
    id: str
    args: list
    code: int | tuple  # the exit code (or the acceptable ones)
    expect: str | None = None  # regex searched in the Error: line
    dsn: object = "target"  # "target", None (no --database), a string, or f(ctx) -> str
    migrations: object = "examples"  # "examples", a path string, or f(ctx) -> Path
    service: str | None = "auth"
    env: dict = field(default_factory=dict)
    secrets: tuple = (SECRET,)
    nobody: bool = False
    scratch: bool = False
    allow_events: frozenset = frozenset()
    bug: str | None = None  # a known bug: xfail(strict=True)


def svc_tree(ctx: Ctx, files: dict | None = None, toml: str | bytes | None = None, backfills: dict | None = None,
             drop: tuple = (), dialect: str = "postgres", root: Path | None = None) -> Path:
    """A copy of the applied `svc` set, plus/minus files."""
    dest = (root or ctx.root) / "migrations"
    shutil.copytree(ctx.target.base, dest)
    folder = dest / "svc" / dialect
    folder.mkdir(parents=True, exist_ok=True)
    for name in drop:
        (dest / "svc" / "postgres" / name).unlink()
    for name, text in (files or {}).items():
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    if toml is not None:
        (dest / "svc" / "service.toml").write_bytes(toml if isinstance(toml, bytes) else toml.encode())
    if backfills:
        (dest / "svc" / "backfills").mkdir()
        for name, text in backfills.items():
            (dest / "svc" / "backfills" / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return dest


def only_mysql(root: Path) -> Path:
    (root / "svc" / "postgres").rename(root / "svc" / "mysql")
    return root


def svc(files=None, **kw):
    return lambda ctx: svc_tree(ctx, files, **kw)


def pg(host_part: str) -> str:
    return f"postgres://app:{SECRET}@{host_part}"


def target_with(suffix: str):
    return lambda ctx: ctx.target.dsn + suffix


def target_db(name: str):
    return lambda ctx: f"postgres://postgres:{SECRET}@{ctx.target.host}:{ctx.target.port}/{name}"


def mysql(user_password: str, database: str = "mysql") -> str:
    d = admin_parts(MYSQL_ADMIN)
    return f"mysql://{user_password}@{d.host}:{d.port}/{database}"


def garbage_sqlite(ctx: Ctx) -> str:
    path = ctx.root / "garbage.db"
    path.write_bytes(b"this is not a database, " * 100)
    return f"sqlite://{path}"


NESTED_TOML = "deep = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"  # tomllib: RecursionError


def symlink_out(ctx: Ctx) -> Path:
    """A migration file that is a symbolic link to a file outside the migrations directory."""
    root = svc_tree(ctx)
    (root / "svc" / "postgres" / "0002_host.up.sql").symlink_to("/etc/hostname")
    return root


def sparse_huge(ctx: Ctx) -> Path:
    """A 3 GiB migration file (sparse: nothing on disk), refused by its size before a read."""
    root = svc_tree(ctx)
    with open(root / "svc" / "postgres" / "0002_huge.up.sql", "wb") as f:
        f.truncate(3 * 2**30)
    return root


def with_folder(name: str, toml: str | None = None):
    """The example platform plus a service folder ``name`` (its own service.toml or none)."""
    def make(ctx: Ctx) -> Path:
        root = ctx.root / "migrations"
        shutil.copytree(MIGRATIONS, root)
        (root / name / "postgres").mkdir(parents=True)
        (root / name / "postgres" / "0001_x.up.sql").write_text("SELECT 1;\n")
        if toml is not None:
            (root / name / "service.toml").write_text(toml)
        return root
    return make


def intruder(ctx: Ctx) -> Path:
    """Another image's service `intruder` with the prefix of the target's `svc`."""
    root = ctx.root / "other-image"
    shutil.copytree(ctx.target.base / "svc", root / "intruder")
    (root / "intruder" / "service.toml").write_text('table_prefix = "svc"\n')
    return root


def backfill(text, name="fill_notes.toml"):
    return svc(backfills={name: text})


def bad_backfill(id_, text, expect, name="fill_notes.toml", **kw):
    return Case(id_, ["backfill", "list"], 2, expect or re.escape(name), service="svc",
                migrations=backfill(text, name), **kw)


CASES = [
    # -- DSNs: usage errors (2), naming the problem, never the password
    Case("dsn-no-scheme", ["status"], 2, r"expected SCHEME://", dsn=f"{SECRET}@127.0.0.1/app"),
    Case("dsn-unknown-scheme", ["status"], 2, r"unknown scheme 'oracle'", dsn=f"oracle://app:{SECRET}@db/app"),
    Case("dsn-missing-host", ["status"], 2, r"missing host", dsn=pg("/app")),
    Case("dsn-port-out-of-range", ["status"], 2, r"port out of range \(expected 1 to 65535\)", dsn=pg("127.0.0.1:99999/app")),
    Case("dsn-port-not-a-number", ["status"], 2, r"malformed port", dsn=pg("127.0.0.1:54x2/app")),
    Case("dsn-missing-database", ["status"], 2, r"missing database name", dsn=pg("127.0.0.1:5432")),
    Case("dsn-empty-database", ["status"], 2, r"missing database name", dsn=pg("127.0.0.1:5432/")),
    Case("dsn-host-with-space", ["status"], 2, r"malformed host", dsn=pg("bad host:5432/app")),
    Case("dsn-two-ports", ["status"], 2, r"malformed host", dsn=pg("127.0.0.1:5432:5433/app")),
    Case("dsn-unclosed-ipv6", ["status"], 2, r"malformed host", dsn=pg("[::1/app")),
    Case("dsn-slash-in-database", ["status"], 2, r"malformed database name", dsn=pg("127.0.0.1:5432/a/b")),
    Case("dsn-go-mysql-unclosed", ["status"], 2, r"Go-driver", dsn=f"mysql://app:{SECRET}@tcp(127.0.0.1:3306/app"),
    Case("dsn-go-mysql-no-database", ["status"], 2, r"missing database",
         dsn=f"mysql://app:{SECRET}@tcp(127.0.0.1:3306)/"),
    Case("dsn-go-mysql-relative-socket", ["status"], 2, r"socket", dsn=f"mysql://app:{SECRET}@unix(mysql.sock)/app"),
    Case("dsn-sqlite-no-path", ["status"], 2, r"missing database path", dsn="sqlite://"),
    # an unencoded '/' in the password ends the host part there (RFC 3986): rejected, naming the
    # encoding; an '@' may stay unencoded (the userinfo ends at the host part's last '@'). No
    # fragment of the password may be printed either way.
    Case("dsn-password-with-unencoded-slash", ["status"], 2, r"unexpected '@' after the host: percent-encode",
         dsn=f"postgres://app:Xy7q/{SECRET}@127.0.0.1:1/app", secrets=(SECRET, "Xy7q")),
    Case("dsn-password-with-unencoded-slash-2", ["status"], 2, r"unexpected '@' after the host: percent-encode",
         dsn=f"postgres://app:5432/{SECRET}@127.0.0.1:1/app", secrets=(SECRET, "5432/")),
    Case("dsn-password-with-unencoded-at", ["status"], 1, r"cannot connect to mysql at 127\.0\.0\.1:1\b",
         dsn=f"mysql://app:p@ss{SECRET}@127.0.0.1:1/app", secrets=(SECRET, "p@ss")),
    Case("dsn-bad-option-value", ["status"], 2, r"connect_timeout", dsn=target_with("?connect_timeout=soon")),
    Case("dsn-unknown-option", ["status"], 2, r"frobnicate", dsn=target_with("?frobnicate=1")),
    Case("dsn-bad-sslmode", ["status"], 2, r"sslmode", dsn=target_with("?sslmode=sometimes")),
    Case("env-dsn-missing", ["-e", "status"], 2, r"neither DSN nor DATABASE_URL", dsn=None),
    Case("env-dsn-invalid", ["-e", "status"], 2, r"missing host", dsn=None, env={"DSN": pg("/app")}),
    Case("no-database", ["status"], 2, r"no database given", dsn=None),
    # -- unreachable servers, wrong credentials: database errors (1)
    Case("pg-closed-port", ["status"], 1, r"cannot connect to postgres at 127\.0\.0\.1:1\b",
         dsn=pg("127.0.0.1:1/app")),
    Case("mysql-closed-port", ["status"], 1, r"cannot connect to mysql at 127\.0\.0\.1:1\b",
         dsn=f"mysql://app:{SECRET}@127.0.0.1:1/app"),
    Case("unresolvable-host", ["status"], 1, r"cannot connect to postgres at no-such-host\.invalid",
         dsn=pg("no-such-host.invalid:5432/app")),
    Case("pg-database-missing", ["status"], 1, r"does not exist", dsn=target_db("mt_reliability_no_such_db")),
    Case("mysql-database-missing", ["status"], 1, r"Unknown database",
         dsn=lambda ctx: mysql("root", "mt_reliability_no_such_db"), secrets=()),
    Case("mysql-wrong-root-password", ["status"], 1, r"Access denied", dsn=lambda ctx: mysql(f"root:{SECRET}")),
    Case("mysql-unknown-user", ["status"], 1, r"Access denied",
         dsn=lambda ctx: mysql(f"reliability_nobody:{SECRET}")),
    Case("pg-wrong-password", ["status"], 1, r"password authentication failed", scratch=True,
         dsn=lambda ctx: ctx.scratch.dsn("postgres", PW_ROLE, SECRET)),
    Case("pg-password-missing", ["status"], 1, r"password", scratch=True,
         dsn=lambda ctx: ctx.scratch.dsn("postgres", PW_ROLE), secrets=(SECRET, PW_PASSWORD)),
    Case("sqlite-directory-missing", ["status"], 1, r"does not exist",
         dsn="sqlite:///nonexistent-reliability-dir/app.db", secrets=()),
    Case("sqlite-not-a-database", ["status"], 1, r"not a database", dsn=garbage_sqlite, secrets=()),
    Case("sqlite-path-is-a-directory", ["status"], 1, r"unable to open", dsn="sqlite:///tmp", secrets=()),
    # -- the migrations folder and its files: invalid migration set (2), before any connection
    Case("migrations-missing", ["up"], 2, r"does not exist", migrations="/nonexistent-reliability/migrations"),
    Case("migrations-empty", ["up"], 2, r"holds no service", migrations=lambda ctx: ctx.root),
    Case("migrations-is-a-file", ["up"], 2, r"migrations directory",
         migrations=lambda ctx: MIGRATIONS / "README.md"),
    Case("no-folder-for-dialect", ["up"], 2, r"no migrations for dialect 'postgres'", service="svc",
         migrations=lambda ctx: only_mysql(svc_tree(ctx))),
    Case("unreadable-file", ["up"], 2, r"0002_secret\.up\.sql: cannot read", service="svc", nobody=True,
         migrations="unreadable-file"),
    Case("unreadable-dialect-folder", ["up"], 2, r"svc/postgres", service="svc", nobody=True,
         migrations="unreadable-dialect-folder"),
    Case("unreadable-migrations-root", ["up"], 2, r"migrations", service="svc", nobody=True,
         migrations="unreadable-root"),
    Case("non-utf8-up-file", ["up"], 2, r"0002_latin1\.up\.sql: not valid UTF-8", service="svc",
         migrations=svc({"0002_latin1.up.sql": "INSERT INTO bad_input_base VALUES (1, 'caf\xe9');".encode("latin-1")})),
    Case("non-utf8-down-file", ["up"], 2, r"0002_x\.down\.sql: not valid UTF-8", service="svc",
         migrations=svc({"0002_x.up.sql": "SELECT 1;", "0002_x.down.sql": b"-- \xff\xfe\n"})),
    Case("non-utf8-service-toml", ["up"], 2, r"service\.toml", service="svc",
         migrations=svc(toml=b"description = '\xff'\n")),
    Case("invalid-service-toml", ["up"], 2, r"service\.toml: invalid TOML", service="svc",
         migrations=svc(toml="table_prefix = \n")),
    Case("service-toml-unknown-key", ["up"], 2, r"unknown key\(s\) tabel_prefix", service="svc",
         migrations=svc(toml="tabel_prefix = 'svc'\n")),
    Case("duplicate-version", ["up"], 2, r"version 2", service="svc",
         migrations=svc({"0002_a.up.sql": "SELECT 1;", "0002_b.up.sql": "SELECT 2;"})),
    Case("duplicate-version-padding", ["up"], 2, r"duplicate migration version 2", service="svc",
         migrations=svc({"002_a.up.sql": "SELECT 1;", "0002_a.up.sql": "SELECT 2;"})),
    Case("down-without-up", ["up"], 2, r"without its \.up\.sql", service="svc",
         migrations=svc({"0002_a.down.sql": "SELECT 1;"})),
    Case("unparsable-file-name", ["up"], 2, r"unparsable migration file name", service="svc",
         migrations=svc({"add_column.up.sql": "SELECT 1;"})),
    Case("version-zero", ["up"], 2, r"unparsable migration file name", service="svc",
         migrations=svc({"0000_zero.up.sql": "SELECT 1;"})),
    Case("unknown-directive", ["up"], 2, r"unknown directive 'migrator:no-transactoin'", service="svc",
         migrations=svc({"0002_idx.up.sql": "-- migrator:no-transactoin\nCREATE INDEX ix_bad_input ON bad_input_base (note);"})),
    Case("forward-only-with-down-file", ["up"], 2, r"forward_only", service="svc",
         migrations=svc(toml="forward_only = true\n")),
    Case("forward-only-not-a-boolean", ["up"], 2, r"forward_only must be true or false", service="svc",
         migrations=svc(toml="forward_only = 'yes'\n")),
    Case("prefix-with-quote", ["up"], 2, r"invalid table prefix", service="svc",
         migrations=svc(toml="table_prefix = 'svc\"; DROP TABLE bad_input_base; --'\n")),
    Case("prefix-with-semicolon", ["up"], 2, r"invalid table prefix", service="svc",
         migrations=svc(toml="table_prefix = 'svc;drop'\n")),
    Case("prefix-too-long", ["up"], 2, r"invalid table prefix", service="svc",
         migrations=svc(toml=f"table_prefix = '{'s' * 42}'\n")),
    Case("prefix-upper-case", ["up"], 2, r"invalid table prefix", service="svc",
         migrations=svc(toml="table_prefix = 'Svc'\n")),
    Case("prefix-not-a-string", ["up"], 2, r"invalid table prefix", service="svc",
         migrations=svc(toml="table_prefix = 7\n")),
    Case("service-toml-nested-5000-deep", ["up"], 2, r"service\.toml: invalid TOML: arrays or tables nested too deeply",
         service="svc", migrations=svc(toml=NESTED_TOML)),
    Case("migration-symlink-out-of-the-directory", ["up"], 2,
         r"0002_host\.up\.sql: a symbolic link to \S+, outside the migrations directory", service="svc",
         migrations=symlink_out),
    Case("migration-file-of-3-gib", ["up"], 2, r"0002_huge\.up\.sql: migration file refused: 3221225472 bytes, "
         r"over the limit of 64 MiB", service="svc", migrations=sparse_huge),
    Case("prefix-of-a-folder-without-service-toml", ["status"], 2,
         r"services 'auth' and 'platform' have the same table prefix 'platform'", migrations=with_folder("platform")),
    Case("prefix-shared-in-one-directory", ["up"], 2,
         r"services 'cortex' and 'models' have the same table prefix 'cortex'", service="analytics",
         migrations=with_folder("models", 'table_prefix = "cortex"\n')),
    Case("prefix-owned-by-another-image-service", ["up"], 2,
         r"tracking table svc_migrations belongs to service 'svc', not 'intruder'", service="intruder",
         migrations=intruder),
    # -- commands and flags
    Case("force-unknown-version", ["force", "99", "--yes"], 2, r"ships no migration 99"),
    Case("force-negative-version", ["force", "-1", "--yes"], 2, r"-1"),
    Case("force-not-a-number", ["force", "four", "--yes"], 2, r"four"),
    Case("down-negative-steps", ["down", "--steps=-1", "--yes"], 2, r"--steps"),
    Case("down-zero-steps", ["down", "--steps", "0", "--yes"], 2, r"--steps"),
    Case("down-steps-not-a-number", ["down", "--steps", "two", "--yes"], 2, r"two"),
    Case("down-without-confirmation", ["down"], 1, r"refusing without confirmation"),
    Case("down-forward-only", ["down", "--yes"], 2, r"forward-only.*restore", service="svc",
         migrations=svc(toml="forward_only = true\n", drop=("0001_base.down.sql",))),
    Case("up-unknown-target", ["up", "--target", "99"], 2, r"no migration 99"),
    Case("unknown-service", ["up"], 2, r"unknown service 'billing'", service="billing"),
    Case("service-injection", ["up"], 2, r"unknown service", service='auth"; DROP TABLE users; --'),
    Case("service-required", ["up"], 2, r"--service is required", service=None),
    Case("unknown-command", ["upgrade"], 2, r"invalid choice: 'upgrade'"),
    Case("unknown-flag", ["up", "--dry-runn"], 2, r"--dry-runn"),
    Case("negative-lock-timeout", ["up", "--lock-timeout=-5"], 2, r"lock-timeout"),
    Case("bad-log-format", ["--log-format", "xml", "up"], 2, r"xml"),
    # -- migrations that fail, files that changed
    Case("syntax-error", ["up"], 1, r"migration 2 failed: 0002_broken\.up\.sql line 2", service="svc",
         migrations=svc({"0002_broken.up.sql": "CREATE TABLE bad_input_two (id bigint PRIMARY KEY);\n"
                                               "CREAT TABLE oops (id int);\n"}),
         allow_events=frozenset({"MIGRATION_FAILED"})),
    Case("applied-file-changed", ["up"], 6, r"checksum mismatch.*0001_base\.up\.sql", service="svc",
         migrations=svc({"0001_base.up.sql": "CREATE TABLE bad_input_base (id bigint PRIMARY KEY, note text); -- edited\n"})),
    # -- backfill declarations: `backfill list` exit 2 naming the file, before any connection
    bad_backfill("backfill-invalid-toml", "requires = \n", r"fill_notes\.toml: invalid backfill declaration: invalid TOML"),
    bad_backfill("backfill-missing-key", GOOD_BACKFILL.replace('table = "bad_input_base"\n', ""), r"fill_notes\.toml.*table"),
    bad_backfill("backfill-unknown-key", "batchsize = 5\n" + GOOD_BACKFILL, r"fill_notes\.toml.*unknown key"),
    bad_backfill("backfill-batch-size-zero", GOOD_BACKFILL.replace("batch_size = 100", "batch_size = 0"),
                 r"fill_notes\.toml.*batch_size"),
    bad_backfill("backfill-table-injection",
                 GOOD_BACKFILL.replace('table = "bad_input_base"', 'table = "bad_input_base; DROP TABLE users"'),
                 r"fill_notes\.toml.*table"),
    bad_backfill("backfill-key-injection", GOOD_BACKFILL.replace('key = "id"', "key = 'id\" OR 1=1 --'"),
                 r"fill_notes\.toml.*key"),
    bad_backfill("backfill-table-trailing-newline",
                 GOOD_BACKFILL.replace('table = "bad_input_base"', 'table = "bad_input_base\\n"'),
                 r"fill_notes\.toml.*table"),
    bad_backfill("backfill-requires-unshipped", GOOD_BACKFILL.replace("requires = 1", "requires = 99"),
                 r"fill_notes\.toml.*requires"),
    bad_backfill("backfill-not-utf8", GOOD_BACKFILL.encode() + b"description = '\xff'\n",
                 r"fill_notes\.toml.*UTF-8"),
    bad_backfill("backfill-no-sql-for-dialect", GOOD_BACKFILL.replace("postgres = ", "mysql = "),
                 r"fill_notes\.toml.*postgres"),
    bad_backfill("backfill-bad-file-name", GOOD_BACKFILL, r"bad name\.toml", name="bad name.toml"),
    bad_backfill("backfill-nested-5000-deep", GOOD_BACKFILL + NESTED_TOML,
                 r"fill_notes\.toml: invalid backfill declaration: invalid TOML: arrays or tables nested too deeply"),
]


def _params():
    out = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


def nobody_tree(kind: str) -> tuple[Path, callable]:
    """A world-readable svc tree under /tmp with one unreadable part; returns (root, cleanup)."""
    top = Path(tempfile.mkdtemp(prefix="migrator-reliability-nobody-", dir="/tmp"))
    top.chmod(0o755)
    root = top / "migrations"
    folder = root / "svc" / "postgres"
    folder.mkdir(parents=True)
    for name, text in SVC_BASE.items():
        (folder / name).write_text(text)
    for p in (root, root / "svc", folder):
        p.chmod(0o755)
    for p in folder.iterdir():
        p.chmod(0o644)
    if kind == "unreadable-file":
        secret = folder / "0002_secret.up.sql"
        secret.write_text("SELECT 1;\n")
        secret.chmod(0o000)
    elif kind == "unreadable-dialect-folder":
        folder.chmod(0o000)
    elif kind == "unreadable-root":
        root.chmod(0o000)

    def cleanup():
        for p in (root, root / "svc", folder):
            if p.exists():
                p.chmod(0o755)
        shutil.rmtree(top, ignore_errors=True)

    return root, cleanup


def run_case(case: Case, ctx: Ctx, nobody_python) -> support.Result:
    dsn = case.dsn
    if dsn == "target":
        dsn = ctx.target.dsn
    elif callable(dsn):
        dsn = dsn(ctx)
    cleanup = None
    migrations = case.migrations
    if case.nobody:
        migrations, cleanup = nobody_tree(migrations)
    elif migrations == "examples":
        migrations = MIGRATIONS
    elif callable(migrations):
        migrations = migrations(ctx)
    try:
        if case.nobody:
            prefix, _ = nobody_python
            cmd = prefix + ["--log-format", "json", "--database", dsn, "--migrations", str(migrations)]
            cmd += ["--service", case.service] if case.service else []
            p = subprocess.run(cmd + [str(a) for a in case.args], capture_output=True, text=True, timeout=120,
                               env=support.cli_env(case.env), stdin=subprocess.DEVNULL, cwd="/tmp")
            return support.Result(p.returncode, p.stdout, p.stderr)
        return run(*case.args, dsn=dsn, migrations=migrations, service=case.service, env=case.env, timeout=120)
    finally:
        if cleanup:
            cleanup()


@dataclass
class Outcome:
    result: support.Result
    before: tuple | None = None  # per-case states, only when attribution was needed
    after: tuple | None = None


@pytest.fixture(scope="module")
def corpus(target, tmp_path_factory, request):
    """Run every case once, four at a time (they are independent and must all leave the
    target alone): compare the target before and after the whole corpus; if anything
    changed beyond the MIGRATION_FAILED events the corpus allows, run each case again
    alone with its own before/after, so the test of that case fails and names it."""
    from concurrent.futures import ThreadPoolExecutor

    unavailable = {}

    def ctx_for(case):
        ctx = Ctx(target, tmp_path_factory.mktemp(case.id))
        nobody = None
        try:
            if case.scratch:
                ctx.scratch = request.getfixturevalue("scratch_pg")
            if case.nobody:
                nobody = request.getfixturevalue("nobody_python")
        except BaseException as exc:  # pytest's skip/fail outcomes: applied to that case only
            unavailable[case.id] = exc
        return ctx, nobody

    prepared = {case.id: ctx_for(case) for case in CASES}
    runnable = [case for case in CASES if case.id not in unavailable]
    before = db_state(target.test_db)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case.id: pool.submit(run_case, case, *prepared[case.id]) for case in runnable}
        outcomes = {cid: Outcome(f.result()) for cid, f in futures.items()}
    outcomes.update(unavailable)
    after = db_state(target.test_db)
    allowed = frozenset().union(*(c.allow_events for c in CASES))
    try:
        assert_unchanged(before, after, allowed)
    except AssertionError:
        for case in runnable:  # attribute the change: one case at a time
            b = db_state(target.test_db)
            outcomes[case.id] = Outcome(run_case(case, *prepared[case.id]), b, None)
            outcomes[case.id].after = db_state(target.test_db)
    support.report("bad input", f"{len(CASES)} CLI cases ran in {time.monotonic() - started:.1f}s")
    return outcomes


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: Case, corpus):
    outcome = corpus[case.id]
    if isinstance(outcome, BaseException):
        raise outcome
    r = outcome.result
    text = r.out + r.err
    assert "Traceback" not in text, f"traceback in the output: {describe(r)}"
    for secret in case.secrets:
        for form in {secret, quote(secret, safe="")}:
            assert form not in text, f"secret {form!r} printed: {describe(r)}"
    line = error_line(r)
    assert line, f"no stderr line starting with 'Error:': {describe(r)}"
    assert "internal error" not in line, f"{line}"
    codes = case.code if isinstance(case.code, tuple) else (case.code,)
    assert r.code in codes, f"exit {r.code}, expected {case.code}: {describe(r)}"
    if case.expect:
        assert re.search(case.expect, line), f"{line!r} does not match {case.expect!r}"
    if outcome.before is not None:
        assert_unchanged(outcome.before, outcome.after, case.allow_events)


# -- a syntax error on each dialect -----------------------------------------------------------

BROKEN = {
    "postgres": "CREATE TABLE reliability_two (id bigint PRIMARY KEY);\nCREAT TABLE oops (id int);\n",
    "sqlite": "CREATE TABLE reliability_two (id INTEGER PRIMARY KEY);\nCREAT TABLE oops (id int);\n",
    "mysql": "CREAT TABLE oops (id int);\n",
}
FIRST = {
    "postgres": "CREATE TABLE reliability_one (id bigint PRIMARY KEY);",
    "sqlite": "CREATE TABLE reliability_one (id INTEGER PRIMARY KEY);",
    "mysql": "CREATE TABLE reliability_one (id BIGINT PRIMARY KEY);",
}


def test_syntax_error_leaves_the_schema_as_it_was(db, write_migrations):
    """PostgreSQL and SQLite roll the whole migration back; MariaDB cannot roll DDL back, so
    the broken migration (its first statement fails: nothing ran) is left dirty and the
    operator's `force 1` makes it clean again."""
    d = db.dialect
    migrations = write_migrations({d: {"0001_one.up.sql": FIRST[d], "0002_broken.up.sql": BROKEN[d]}})
    assert run("up", "--target", "1", dsn=db.dsn, migrations=migrations).code == 0
    names = {"reliability_one", "reliability_two", "oops", "svc_migrations", "svc_migration_events"}
    before = inspect(db, names)
    r = run("up", dsn=db.dsn, migrations=migrations)
    line = error_line(r) or ""
    assert r.code == 1 and "Traceback" not in r.out + r.err, describe(r)
    assert re.search(r"migration 2 failed: 0002_broken\.up\.sql line \d+", line), line
    assert inspect(db, names) == before
    status = run("status", "--format", "json", dsn=db.dsn, migrations=migrations)
    states = {m["version"]: m["status"] for m in __import__("json").loads(status.out)["migrations"]}
    if d == "mysql":
        assert states == {1: "OK", 2: "DIRTY"}
        dirty = run("up", dsn=db.dsn, migrations=migrations)
        assert dirty.code == 3 and "Error: Database is in dirty state at version 2" in dirty.err.splitlines()
        assert run("force", "1", "--yes", dsn=db.dsn, migrations=migrations).code == 0
    else:
        assert states == {1: "OK", 2: "PENDING"}
    assert run("verify", dsn=db.dsn, migrations=migrations).code == 0


# -- legal input: gapped and timestamp versions --------------------------------------------

def test_gapped_and_timestamp_versions_are_applied(db, write_migrations):
    d = db.dialect
    files = {
        "0001_a.up.sql": "CREATE TABLE gap_a (id INT PRIMARY KEY);",
        "0005_b.up.sql": "CREATE TABLE gap_b (id INT PRIMARY KEY);",
        "0020_c.up.sql": "-- comment-only: a valid no-op\n",
        "20260101120000_d.up.sql": "CREATE TABLE gap_d (id INT PRIMARY KEY);",
    }
    migrations = write_migrations({d: files})
    r = run("up", dsn=db.dsn, migrations=migrations)
    assert r.code == 0, describe(r)
    status = __import__("json").loads(run("status", "--format", "json", dsn=db.dsn, migrations=migrations).out)
    assert [(m["version"], m["status"]) for m in status["migrations"]] == [
        (1, "OK"), (5, "OK"), (20, "OK"), (20260101120000, "OK")]
    assert {"table:gap_a", "table:gap_b", "table:gap_d"} <= inspect(db, {"gap_a", "gap_b", "gap_d"})
    assert run("verify", dsn=db.dsn, migrations=migrations).code == 0
    again = run("up", dsn=db.dsn, migrations=migrations)
    assert again.code == 0 and "No pending migrations" in again.out


# -- a huge migration --------------------------------------------------------------------------

HUGE_BYTES = 20 * 1024 * 1024
HUGE_LIMIT_SECONDS = 180


def write_huge(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0001_bulk_table.up.sql").write_text(
        "CREATE TABLE bulk_rows (id BIGINT PRIMARY KEY, label VARCHAR(100) NOT NULL, note VARCHAR(200));\n")
    rows, size = 0, 0
    with open(folder / "0002_bulk_rows.up.sql", "w") as f:
        f.write("-- 20 MB of INSERTs (500 rows each; string literals with semicolons and quotes)\n")
        while size < HUGE_BYTES:
            values = []
            for _ in range(500):
                rows += 1
                values.append(f"({rows}, 'label-{rows:08d}', 'a note; with a semicolon and a quote '' {rows}')")
            chunk = "INSERT INTO bulk_rows (id, label, note) VALUES\n" + ",\n".join(values) + ";\n"
            f.write(chunk)
            size += len(chunk)
    return rows


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "mysql"])
def test_twenty_megabyte_migration(dialect, soak, make_database, tmp_path):
    if not soak and dialect != "postgres":
        pytest.skip("CI mode runs the 20 MB migration on PostgreSQL only (MIGRATOR_SOAK=1: all three)")
    test_db = make_database(dialect)
    root = tmp_path / "huge"
    rows = write_huge(root / "bulk" / dialect)
    started = time.monotonic()
    r = run("up", dsn=test_db.dsn, migrations=root, timeout=HUGE_LIMIT_SECONDS + 60)
    elapsed = time.monotonic() - started
    assert "Traceback" not in r.out + r.err, describe(r)
    assert elapsed < HUGE_LIMIT_SECONDS, f"took {elapsed:.0f}s"
    if r.code == 0:
        count = test_db.query("SELECT count(*) FROM bulk_rows")[0][0]
        assert count == rows
        assert run("verify", dsn=test_db.dsn, migrations=root).code == 0
        outcome = f"applied {rows} rows"
    else:
        assert r.code == 1 and error_line(r), describe(r)
        outcome = f"failed clearly: {error_line(r)}"
    support.report("bad input", f"20 MB migration on {dialect}: {outcome} in {elapsed:.1f}s")


# -- chart values with typos or wrong types ---------------------------------------------------

HELM_SECRET = "Helm-Values-S3cret"
CHART_CASES = [
    ("typo-repairTracking", "auth.migration.repairTraking=true", r"repairTraking"),
    ("typo-database", "cortex.migration.databse.dsn=x", r"databse"),
    ("typo-in-backfill", "agentic.backfill.enabeld=true", r"enabeld"),
    ("typo-top-level", "lockTimout=5", r"lockTimout"),
    ("wrong-type-lockTimeout", "lockTimeout=soon", r"lockTimeout"),
    ("wrong-type-enabled", "analytics.migration.enabled=maybe", r"enabled"),
    ("wrong-type-deadline", "auth.migration.activeDeadlineSeconds=soon", r"activeDeadlineSeconds"),
    ("zero-deadline", "activeDeadlineSeconds=0", r"activeDeadlineSeconds"),
    ("negative-backoff", "auth.backfill.backoffLimit=-1", r"backoffLimit"),
    ("bad-pullPolicy", "image.pullPolicy=Sometimes", r"pullPolicy"),
    ("bad-digest", "image.digest=sha256:short", r"digest"),
    ("bad-hookDeletePolicy", "hookDeletePolicy=never", r"hookDeletePolicy"),
    ("bad-secretKey", "auth.migration.database.secretKey=bad key", r"secretKey"),
    ("service-without-block", "services={auth,billing}", r"billing"),
]


@pytest.mark.parametrize("case_id,setting,expect", CHART_CASES, ids=[c[0] for c in CHART_CASES])
def test_chart_rejects_bad_values(helm, case_id, setting, expect):
    from tests.chart.chart_helpers import CHART_DIR

    proc = helm.run("template", "platform", str(CHART_DIR), "--namespace", "migrations",
                    "--set", f"auth.migration.database.dsn=postgres://app:{HELM_SECRET}@db:5432/app",
                    "--set", setting)
    assert proc.returncode != 0, f"{helm.name} rendered {setting!r} without complaint"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert errors, proc.stderr
    assert re.search(expect, proc.stderr), f"{helm.name}: the error does not name {expect!r}:\n{proc.stderr}"
    assert HELM_SECRET not in proc.stdout + proc.stderr, f"{helm.name} printed the DSN password"
