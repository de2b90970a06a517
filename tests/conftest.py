"""Shared fixtures: throwaway databases on the real servers, and a CLI runner.

PostgreSQL and MariaDB are reached at MIGRATOR_TEST_PG (default
postgres://postgres@127.0.0.1:5432/postgres) and MIGRATOR_TEST_MYSQL (default
mysql://root@127.0.0.1:3306/mysql). Every test database is created for the test and
dropped afterwards; nothing assumes an empty server. With CI=true a database that
cannot be reached fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN = os.environ.get("MIGRATOR_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN = os.environ.get("MIGRATOR_TEST_MYSQL", "mysql://root@127.0.0.1:3306/mysql")
DIALECTS = ("sqlite", "postgres", "mysql")


def unavailable(reason: str):
    if CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def _pg_admin():
    import psycopg

    from migrator.config import parse_dsn

    d = parse_dsn(PG_ADMIN)
    return psycopg.connect(host=d.host, port=d.port, user=d.user, password=d.password,
                           dbname=d.database, autocommit=True, connect_timeout=5), d


def _mysql_admin():
    import pymysql

    from migrator.config import parse_dsn

    d = parse_dsn(MYSQL_ADMIN)
    return pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "",
                           autocommit=True, connect_timeout=5), d


@dataclass
class TestDB:
    """A throwaway database: its DSN, dialect, and a raw connection helper."""

    dialect: str
    dsn: str
    name: str
    path: Path | None = None

    def connect(self):
        from migrator.config import parse_dsn
        from migrator.dialects import open_database

        return open_database(parse_dsn(self.dsn))

    def query(self, sql: str, params: dict | None = None):
        """Rows of ``sql`` (``:name`` parameters, as SQLAlchemy's text() takes them)."""
        db = self.connect()
        try:
            return db.query(sql, params)
        finally:
            db.close()

    def execute(self, *statements: str):
        db = self.connect()
        try:
            for s in statements:
                db.run_script_statement(s)
        finally:
            db.close()

    def snapshot(self) -> set[str]:
        db = self.connect()
        try:
            return db.snapshot(None)
        finally:
            db.close()

    def tables(self) -> set[str]:
        return {o.split(":", 1)[1] for o in self.snapshot() if o.startswith("table:")}


def make_db(dialect: str, tmp_path: Path):
    """Create a throwaway database; returns (TestDB, drop callback)."""
    name = f"mt_{uuid.uuid4().hex[:12]}"
    if dialect == "sqlite":
        path = tmp_path / f"{name}.db"
        return TestDB("sqlite", f"sqlite://{path}", name, path), lambda: None
    if dialect == "postgres":
        try:
            conn, d = _pg_admin()
        except Exception as exc:
            unavailable(f"PostgreSQL at {d_text(PG_ADMIN)} is not reachable: {exc}")
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        auth = d.user + (f":{d.password}" if d.password else "")

        def drop():
            c, _ = _pg_admin()
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.close()

        return TestDB("postgres", f"postgres://{auth}@{d.host}:{d.port}/{name}", name), drop
    try:
        conn, d = _mysql_admin()
    except Exception as exc:
        unavailable(f"MariaDB/MySQL at {d_text(MYSQL_ADMIN)} is not reachable: {exc}")
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.close()
    auth = d.user + (f":{d.password}" if d.password else "")

    def drop():
        c, _ = _mysql_admin()
        with c.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        c.close()

    return TestDB("mysql", f"mysql://{auth}@{d.host}:{d.port}/{name}", name), drop


def d_text(dsn: str) -> str:
    from migrator.config import parse_dsn

    return parse_dsn(dsn).redacted()


@pytest.fixture(params=DIALECTS)
def dialect(request) -> str:
    return request.param


@pytest.fixture
def db(dialect, tmp_path):
    """A throwaway database on each of SQLite, PostgreSQL and MariaDB."""
    test_db, drop = make_db(dialect, tmp_path)
    yield test_db
    drop()


@pytest.fixture
def make_database(tmp_path):
    """Factory for extra throwaway databases: make_database('postgres')."""
    drops = []

    def factory(dialect: str) -> TestDB:
        test_db, drop = make_db(dialect, tmp_path)
        drops.append(drop)
        return test_db

    yield factory
    for drop in drops:
        drop()


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def migrator_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("migrator")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "migrator"]


# MIGRATOR_TEST_IN_PROCESS=1 (set by `make mutate`): the `cli` fixture runs the CLI's main()
# in the test's own process instead of a subprocess, unless the call feeds stdin. Same code,
# same arguments, environment and exit status; it saves the interpreter start and the imports
# of every call (a mutant is judged in seconds instead of minutes).
IN_PROCESS = os.environ.get("MIGRATOR_TEST_IN_PROCESS", "") == "1"


def in_process(args: list[str], env: dict) -> Result:
    """One command line through the CLI's main() in this process, as a fresh process of it would
    run it (environment ``env``, no log state of an earlier call)."""
    import contextlib
    import io

    import structlog

    from migrator import cli as cli_module
    from migrator import log

    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    # what one process of the CLI would start from: no secrets, no bound context of an earlier call
    log._SECRETS.clear()
    log._PUBLIC.clear()
    log._context.clear()
    log._pattern = None
    structlog.contextvars.clear_contextvars()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli_module.main(args)
            except SystemExit as exc:  # argparse, and the usage checks that exit directly
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    """Run the real migrator CLI in a subprocess: cli('up', dsn=..., migrations=...)."""

    def run(*args, dsn=None, migrations=None, service=None, env=None, input=None, timeout=120,
            log_format="json") -> Result:
        cmd = migrator_cmd() + ["--log-format", log_format]
        if dsn:
            cmd += ["--database", dsn]
        if migrations:
            cmd += ["--migrations", str(migrations)]
        if service:
            cmd += ["--service", service]
        cmd += [str(a) for a in args]
        full_env = {k: v for k, v in os.environ.items() if k not in ("DSN", "DATABASE_URL", "MIGRATE_REPAIR_TRACKING")}
        full_env.update(env or {})
        if IN_PROCESS and input is None:
            return in_process(cmd[len(migrator_cmd()):], full_env)
        p = subprocess.run(cmd, capture_output=True, text=True, env=full_env, input=input,
                           timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
        return Result(p.returncode, p.stdout, p.stderr)

    return run


@pytest.fixture
def write_migrations(tmp_path):
    """Write a migration set: write_migrations({'postgres': {'0001_a.up.sql': '...'}}, service='svc')."""

    def write(files_by_dialect: dict, service: str = "svc", service_toml: str | None = None,
              root: Path | None = None) -> Path:
        root = root or (tmp_path / f"migrations_{uuid.uuid4().hex[:6]}")
        base = root / service
        for dialect, files in files_by_dialect.items():
            folder = base / dialect
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in files.items():
                data = text if isinstance(text, bytes) else text.encode()
                (folder / name).write_bytes(data)
        if service_toml is not None:
            (base / "service.toml").write_text(service_toml)
        return root

    return write


@pytest.fixture
def example_copy(tmp_path) -> Path:
    """A private copy of the project's example migrations (tests may add files)."""
    dest = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, dest)
    return dest
