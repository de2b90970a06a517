"""Helpers of the engine suite (imported by its conftest and test modules)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import Result, in_process

ENGINE = Path(__file__).resolve().parent
TEST_MIGRATIONS = ENGINE / "migrations"
SERVICE = "app"  # the service name of the test migrations; its table prefix is "app"
PREFIX = "app"
VERSIONS = [1, 2, 3, 4, 5]
NAMES = {1: "create_users", 2: "create_orders", 3: "add_users_nickname", 4: "index_orders_total", 5: "noop"}
# A migration that sleeps, per dialect (SQLite has no sleep(): a recursive CTE that counts).
SLEEP_SQL = {
    "postgres": "SELECT pg_sleep({s})",
    "mysql": "SELECT SLEEP({s})",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) "
              "SELECT count(*) FROM c",
}
SQLITE_LOOPS_PER_SECOND = 2_000_000  # roughly, on a loaded CI core


def sleep_sql(dialect: str, seconds: float) -> str:
    return SLEEP_SQL[dialect].format(s=seconds, n=int(seconds * SQLITE_LOOPS_PER_SECOND))


def copy_test_migrations(root: Path, dialect: str, service: str = SERVICE) -> Path:
    shutil.copytree(TEST_MIGRATIONS / dialect, root / service / dialect)
    return root


def migrator_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("migrator")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "migrator"]


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DSN", "DATABASE_URL", "MIGRATE_REPAIR_TRACKING")}
    env.update(extra or {})
    return env


@dataclass
class Migrator:
    """The CLI bound to one database, migrations directory and service."""

    cli: object
    db: object
    migrations: Path
    service: str | None = SERVICE

    def __call__(self, *args, **kwargs):
        kwargs.setdefault("dsn", self.db.dsn)
        kwargs.setdefault("migrations", self.migrations)
        kwargs.setdefault("service", self.service)
        return self.cli(*args, **kwargs)

    def spawn(self, *args, dsn: str | None = None, log_format: str = "json") -> subprocess.Popen:
        """Start the CLI without waiting (concurrency tests)."""
        cmd = migrator_cmd() + ["--log-format", log_format, "--database", dsn or self.db.dsn,
                                "--migrations", str(self.migrations)]
        if self.service:
            cmd += ["--service", self.service]
        cmd += [str(a) for a in args]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, env=clean_env())

    @property
    def folder(self) -> Path:
        return self.migrations / (self.service or SERVICE) / self.db.dialect

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path


def ok(result, code: int = 0):
    """Assert the exit status, showing the output when it differs."""
    assert result.code == code, \
        f"exit {result.code}, expected {code}\n--- stdout\n{result.out}\n--- stderr\n{result.err}"
    return result


def communicate(proc: subprocess.Popen, timeout: float = 60):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


# -- reading the migrator's tables ------------------------------------------------
@dataclass
class Row:
    version: int
    name: str
    checksum: str
    dirty: bool
    forced: bool
    created: list[str]
    dropped: list[str]


def tracking_rows(db, prefix: str = PREFIX) -> list[Row]:
    if f"{prefix}_migrations" not in db.tables():
        return []
    out = []
    for r in db.query(f"SELECT version, name, checksum, dirty, forced, objects_created, objects_dropped "
                      f"FROM {prefix}_migrations ORDER BY version"):
        out.append(Row(int(r[0]), r[1], r[2], bool(r[3]), bool(r[4]), json.loads(r[5] or "[]"),
                       json.loads(r[6] or "[]")))
    return out


def versions(db, prefix: str = PREFIX) -> list[int]:
    return [r.version for r in tracking_rows(db, prefix)]


def events(db, prefix: str = PREFIX, event: str | None = None) -> list[tuple[str, int | None, dict]]:
    if f"{prefix}_migration_events" not in db.tables():
        return []
    rows = db.query(f"SELECT event, version, detail FROM {prefix}_migration_events ORDER BY id")
    out = [(r[0], None if r[1] is None else int(r[1]), json.loads(r[2])) for r in rows]
    return [e for e in out if event is None or e[0] == event]


def app_tables(db, prefix: str = PREFIX) -> set[str]:
    """The tables of the schema that are not the migrator's own."""
    own = {f"{prefix}_migrations", f"{prefix}_migration_events", f"{prefix}_backfills"}
    return db.tables() - own


# -- output ------------------------------------------------------------------------
def json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def plain_lines(text: str) -> list[str]:
    """The stderr lines that are not JSON log lines (the operator's plain-text lines)."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("{")]


def logged_events(text: str) -> list[str]:
    return [d.get("event") for d in json_lines(text)]


# -- holding the runner lock from the test -------------------------------------
class HeldLock:
    """Take the migrator's runner lock for a service the way the dialect does, from the test."""

    def __init__(self, db, prefix: str = PREFIX):
        self.db = db
        self.prefix = prefix
        self.handle = None

    def __enter__(self):
        from migrator.config import parse_dsn

        d = parse_dsn(self.db.dsn)
        if self.db.dialect == "postgres":
            import psycopg

            from migrator.dialects.postgres import advisory_key

            self.handle = psycopg.connect(host=d.host, port=d.port, user=d.user, password=d.password,
                                          dbname=d.database, autocommit=True)
            self.handle.execute("SELECT pg_advisory_lock(%s)", (advisory_key(f"migrator:{self.prefix}"),))
        elif self.db.dialect == "mysql":
            import pymysql

            self.handle = pymysql.connect(host=d.host, port=d.port, user=d.user, password=d.password or "",
                                          database=d.database, autocommit=True)
            with self.handle.cursor() as cur:
                cur.execute("SELECT GET_LOCK(%s, 5)", (f"migrator:{d.database}:{self.prefix}",))
                assert cur.fetchone()[0] == 1
        else:
            self.handle = os.open(f"{d.database}.{self.prefix}.migrator-lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return self

    def __exit__(self, *exc):
        if self.db.dialect == "sqlite":
            os.close(self.handle)
        else:
            self.handle.close()


def lock_is_held(db, prefix: str = PREFIX) -> bool:
    """Whether some session holds the runner lock of ``prefix`` right now."""
    from migrator.config import parse_dsn

    d = parse_dsn(db.dsn)
    if db.dialect == "postgres":  # the throwaway database holds no other advisory lock
        rows = db.query("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                        "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()")
        return bool(rows[0][0])
    if db.dialect == "mysql":
        rows = db.query("SELECT IS_USED_LOCK(:name)", {"name": f"migrator:{d.database}:{prefix}"})
        return rows[0][0] is not None
    fd = os.open(f"{d.database}.{prefix}.migrator-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def wait_until(condition, timeout: float = 20.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def engine_bug(reason: str):
    """A test that fails because of a known engine bug: it flips to XPASS (a failure) once fixed."""
    import pytest

    return pytest.mark.xfail(strict=True, reason=f"engine bug: {reason}")


# -- the CLI in this process ----------------------------------------------------------
def run_here(*args) -> Result:
    """One `migrator` command line through the CLI's entry point in this Python process: what
    an operator sees (exit status, stdout, stderr), without a Python start-up per command."""
    return in_process([str(a) for a in args], dict(os.environ))


def write_migration(root: Path, name: str, sql: str, *, dialect: str, service: str = SERVICE) -> None:
    """One migration file of ``service`` under ``root``."""
    folder = root / service / dialect
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(sql)


def migrate_here(dsn: str, root: Path, *args, service: str = SERVICE):
    """``run_here`` of one service. A run that broke off in this process may leave its session
    (and the runner lock) open: the next one gives up after 5 s instead of the default 300."""
    return run_here("--log-format", "json", "--lock-timeout", "5", "--database", dsn, "--migrations", root,
                    "--service", service, *args)
