"""Comparative benchmark: migrator (this tree, and a build from before a change) against
dbmate, alembic, yoyo and the floor (one plain DBAPI connection).

Every timed figure is the whole-process wall time of one command (process start, imports,
connect, work, exit), measured from this process with ``time.perf_counter`` around
``subprocess``. Contenders run interleaved (every round runs each once, in an order that
rotates from round to round); figures are medians. Every run that changes a schema gets a
fresh throwaway database that this script creates and drops.

Scenarios (``--scenarios``, all but concurrency by default):
  apply        apply 200 and 1,000 migrations to an empty database; the marginal cost per
               migration is (t1000 - t200) / 800, so process start-up drops out
  noop         ``up`` on an up-to-date database holding 500, then 1,000 applied migrations
               (alembic: ``upgrade head``), and ``status`` with 1,000 (alembic: ``current``)
  verify       ``verify`` on a schema of 2,000 tables (the builds of migrator only)
  lock         PostgreSQL: 100 migrations ``ALTER TABLE hot ADD COLUMN``, in a schema with 100
               and with 5,000 other tables; how long each migration's transaction holds the
               lock on ``hot`` past its last statement, seen by a probe session and in the
               server's statement log
  history      a generated history shaped like a long-lived service (several hundred
               migrations: rebuilds, renames, indexes, foreign keys, seed data)
  concurrency  20 runners of migrator started at once on one empty database, against one

    bench/.venv/bin/python bench/compare.py [--quick] [--scenarios ...] [--dialects ...]

Prints markdown tables and writes bench/results/bench-<UTC time>.json, latest.json and
latest.md.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import workload

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
LOGS = WORK / "logs"
VENV_BIN = BENCH / ".venv" / "bin"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
MY = {"host": "127.0.0.1", "port": 3306, "user": "root"}
DB_PREFIX = "mbench_"
DIALECT_NAMES = {"postgres": "PostgreSQL", "mysql": "MariaDB", "sqlite": "SQLite"}
# The issues' targets, printed under the tables (never asserted).
TARGETS = {
    "apply": "marginal cost per migration at or below dbmate's on PostgreSQL and MariaDB, at most "
             "1.5× dbmate's on SQLite, at most 1.2× the floor's on each",
    "noop": "no-op `up` (500 and 1,000 applied) and `status` (1,000 applied) no slower than alembic's",
    "verify": "`verify` at 2,000 tables under 1 s on each database",
    "lock": "what runs in a migration's transaction after its last statement adds at most 1 ms per "
            "migration over the floor on PostgreSQL, and does not grow with the size of the schema",
    "history": "reported against the floor (the issue's reference: on a real 332-migration history the "
               "floor is under 0.5 s)",
}


# -- throwaway databases ----------------------------------------------------------
class Servers:
    """Admin connections; every database it creates is dropped at exit."""

    def __init__(self):
        self._pg = self._my = None
        self.created: list[tuple[str, str]] = []
        atexit.register(self.drop_all)

    def pg(self):
        if self._pg is None:
            import psycopg

            self._pg = psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **PG)
        return self._pg

    def my(self):
        if self._my is None:
            import pymysql

            self._my = pymysql.connect(password="", autocommit=True, connect_timeout=5, **MY)
        return self._my

    def available(self, dialect: str) -> str | None:
        """None when the dialect's server answers, else why not."""
        try:
            if dialect == "postgres":
                self.pg().execute("SELECT 1")
            elif dialect == "mysql":
                self.my().cursor().execute("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - reported, the dialect is skipped
            return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        return None

    def create(self, dialect: str, template: str | None = None) -> "Target":
        name = f"{DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if dialect == "postgres":
            self.pg().execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        elif dialect == "mysql":
            self.my().cursor().execute(f"CREATE DATABASE `{name}`")
        else:
            folder = WORK / "sqlite"
            folder.mkdir(parents=True, exist_ok=True)
            name = str(folder / f"{name}.db")
        self.created.append((dialect, name))
        return Target(dialect, name)

    def drop(self, target: "Target") -> None:
        if (target.dialect, target.name) in self.created:
            self.created.remove((target.dialect, target.name))
        if target.dialect == "postgres":
            self.pg().execute(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')
        elif target.dialect == "mysql":
            self.my().cursor().execute(f"DROP DATABASE IF EXISTS `{target.name}`")
        else:
            for path in Path(target.name).parent.glob(Path(target.name).name + "*"):
                path.unlink(missing_ok=True)

    def drop_all(self) -> None:
        for dialect, name in list(self.created):
            try:
                self.drop(Target(dialect, name))
            except Exception as exc:  # noqa: BLE001 - best effort at exit
                print(f"warning: could not drop {dialect} database {name}: {exc}", file=sys.stderr)

    def count_objects(self, target: "Target", names: list[str]) -> int:
        """How many of ``names`` (tables and indexes) exist in the target database."""
        if target.dialect == "postgres":
            import psycopg

            with psycopg.connect(dbname=target.name, autocommit=True, **PG) as conn:
                return conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                    "WHERE n.nspname = 'public' AND c.relname = ANY(%s)", (names,)).fetchone()[0]
        if target.dialect == "mysql":
            marks = ", ".join(["%s"] * len(names))
            cur = self.my().cursor()
            cur.execute(f"SELECT (SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                        f"AND TABLE_NAME IN ({marks})) + (SELECT count(DISTINCT INDEX_NAME) FROM "
                        f"information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND INDEX_NAME IN ({marks}))",
                        [target.name, *names, target.name, *names])
            return int(cur.fetchone()[0])
        import sqlite3

        conn = sqlite3.connect(target.name)
        try:
            marks = ", ".join("?" * len(names))
            return conn.execute(f"SELECT count(*) FROM sqlite_master WHERE name IN ({marks})", names).fetchone()[0]
        finally:
            conn.close()

    def check(self, target: "Target", expected: dict, who: str) -> None:
        names = expected["tables"] + expected["indexes"]
        found = self.count_objects(target, names)
        if found != len(names):
            raise RunFailed(f"{who}: {found} of {len(names)} workload objects exist afterwards")


@dataclass
class Target:
    dialect: str
    name: str  # database name, or the file path for SQLite

    def url(self, flavour: str) -> str:
        d, n = self.dialect, self.name
        if d == "sqlite":
            return {"migrator": f"sqlite://{n}", "dbmate": f"sqlite:{n}", "floor": n}.get(flavour, f"sqlite:///{n}")
        if d == "postgres":
            base = f"{PG['user']}@{PG['host']}:{PG['port']}/{n}"
            return {"migrator": f"postgres://{base}", "dbmate": f"postgres://{base}?sslmode=disable",
                    "alembic": f"postgresql+psycopg://{base}", "yoyo": f"postgresql+psycopg://{base}",
                    "floor": f"{PG['host']}:{PG['port']}/{n}"}[flavour]
        base = f"{MY['user']}@{MY['host']}:{MY['port']}/{n}"
        return {"migrator": f"mysql://{base}", "dbmate": f"mysql://{base}", "alembic": f"mysql+pymysql://{base}",
                "yoyo": f"mysql://{base}", "floor": f"{MY['host']}:{MY['port']}/{n}"}[flavour]


# -- contenders -------------------------------------------------------------------
def ours_executable() -> Path | None:
    for candidate in (os.environ.get("BENCH_MIGRATOR"), ROOT / ".venv/bin/migrator", VENV_BIN / "migrator"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass
class Contender:
    name: str  # ours, before, ours:NAME (a variant), dbmate, alembic, yoyo, floor
    label: str
    executable: Path | None = None  # a build of migrator; ours: ours_executable() when None

    @property
    def is_migrator(self) -> bool:
        return self.name in ("ours", "before") or self.name.startswith("ours:")

    def available(self) -> str | None:
        if self.is_migrator:
            exe = self.executable or ours_executable()
            return None if exe and exe.is_file() else f"no migrator console script ({exe or 'make venv'})"
        exe = {"dbmate": "dbmate", "alembic": "alembic", "yoyo": "yoyo", "floor": "python"}[self.name]
        return None if (VENV_BIN / exe).is_file() else f"{VENV_BIN / exe} missing (bash bench/run.sh sets it up)"

    def command(self, target: Target, wl: Path, action: str = "up") -> tuple[list[str], dict]:
        """The command line of ``action``: up (apply what is pending), status, verify."""
        env = contender_env()
        if self.is_migrator:
            return [str(self.executable or ours_executable()), "--database", target.url("migrator"),
                    "--migrations", str(wl / "migrator"), "--service", workload.SERVICE, action], env
        if self.name == "dbmate":
            return [str(VENV_BIN / "dbmate"), "--url", target.url("dbmate"), "--migrations-dir",
                    str(wl / "dbmate"), "--no-dump-schema", {"up": "migrate", "status": "status"}[action]], env
        if self.name == "alembic":
            env["BENCH_ALEMBIC_URL"] = target.url("alembic")
            return [str(VENV_BIN / "alembic"), "-c", str(wl / "alembic" / "alembic.ini"),
                    *{"up": ["upgrade", "head"], "status": ["current"]}[action]], env
        if self.name == "yoyo":
            return [str(VENV_BIN / "yoyo"), {"up": "apply", "status": "list"}[action], "--no-config-file",
                    "--batch", "--database", target.url("yoyo"), str(wl / "yoyo")], env
        if action != "up":
            raise ValueError(f"the floor has no {action}")
        return [str(VENV_BIN / "python"), str(BENCH / "floor.py"), target.dialect, target.url("floor"),
                str(wl / "floor.json")], env


def contender_env() -> dict:
    """The environment every contender runs in. Bytecode caching is on, in a cache of our own
    (PYTHONPYCACHEPREFIX), so that no Python contender recompiles its modules on every run as
    PYTHONDONTWRITEBYTECODE=1 would make it: installed packages (the image) ship their .pyc."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "DSN", "PYTHONDONTWRITEBYTECODE", "MIGRATE_REPAIR_TRACKING",
                 "MIGRATOR_MIGRATIONS_DIR"):
        env.pop(name, None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


CONTENDERS = {c.name: c for c in (
    Contender("ours", "migrator"),
    Contender("dbmate", "dbmate"),
    Contender("alembic", "alembic"),
    Contender("yoyo", "yoyo"),
    Contender("floor", "floor"),
)}


class RunFailed(Exception):
    pass


def timed(argv: list[str], env: dict, label: str) -> tuple[float, float]:
    """Run one command; return its wall time and its CPU time (user + sys), seconds."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{label}.log"
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RunFailed(f"{label}: exit {rc}: " + " | ".join(tail))
    return elapsed, usage.ru_utime + usage.ru_stime


def rotated(items: list, r: int) -> list:
    k = r % len(items) if items else 0
    return items[k:] + items[:k]


# -- results ----------------------------------------------------------------------
@dataclass
class Series:
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the client process's user + sys time
    error: str | None = None

    def add(self, sample: tuple[float, float]) -> None:
        self.samples.append(sample[0])
        self.cpu.append(sample[1])

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples and not self.error else None

    def as_json(self) -> dict:
        return {"samples": [round(s, 4) for s in self.samples], "median": _r(self.median),
                "min": _r(min(self.samples)) if self.samples else None,
                "cpu_median": _r(statistics.median(self.cpu)) if self.cpu else None,
                "cpu": [round(c, 4) for c in self.cpu], "error": self.error}


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b <= 0 else f"{a / b:.2f}×"


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fail(series: Series, exc: Exception, where: str) -> None:
    series.error = f"{where}: {exc}"
    print(f"  ! {where}: {exc}", file=sys.stderr)


def apply_fresh(servers, dialect: str, contender, workload: Path, expected: dict, series: Series,
                label: str, counted: bool) -> None:
    """Apply ``workload`` with ``contender`` to a new throwaway database, check the result and,
    when ``counted`` (not a warm-up round), keep the time in ``series``; the database is dropped."""
    target = servers.create(dialect)
    try:
        argv, env = contender.command(target, workload)
        sample = timed(argv, env, label.replace(" ", "-"))
        servers.check(target, expected, contender.name)
        if counted:
            series.add(sample)
    except RunFailed as exc:
        fail(series, exc, label)
    finally:
        servers.drop(target)


# -- workloads --------------------------------------------------------------------
def workload_dir(kind: str, dialect: str, count: int) -> tuple[Path, dict]:
    """The workload ``kind`` (see workload.py) for a dialect, written in every contender's
    format; cached under bench/.work/workloads, rewritten when workload.py changes."""
    out = WORK / "workloads" / f"{kind}-{dialect}-{count}"
    stamp = out / "expected.json"
    generator = _generator_stamp()
    if not stamp.is_file() or not (out / ".generator").is_file() or (out / ".generator").read_text() != generator:
        workload.write_all(workload.GENERATORS[kind](dialect, count), out)
        (out / ".generator").write_text(generator)
    return out, json.loads(stamp.read_text())


def _generator_stamp() -> str:
    import hashlib

    return hashlib.sha256((BENCH / "workload.py").read_bytes()).hexdigest()


# -- 1. apply ---------------------------------------------------------------------
def scenario_apply(servers: Servers, dialects, sizes, contenders, runs: int, verbose: bool) -> list[dict]:
    """Per dialect, each round applies every size with every contender on fresh databases;
    the marginal cost per migration is taken per round ((t_big - t_small) / (big - small))."""
    rows = []
    small, big = min(sizes), max(sizes)
    for dialect in dialects:
        wls = {n: workload_dir("apply", dialect, n) for n in sizes}
        series = {(c.name, n): Series() for c in contenders for n in sizes}
        for r in range(-1, runs):  # round -1 warms caches (bytecode, pages, server) and is not counted
            for n in ([small] if r < 0 else (sizes if r % 2 == 0 else sizes[::-1])):
                wl, expected = wls[n]
                for c in rotated(contenders, r):
                    s = series[(c.name, n)]
                    if s.error:
                        continue
                    apply_fresh(servers, dialect, c, wl, expected, s, f"apply {dialect} {n} {c.name}", r >= 0)
            if verbose and r >= 0:
                print(f"  apply {dialect} round {r + 1}/{runs}: " + ", ".join(
                    f"{c.name}={'/'.join(f'{series[(c.name, n)].samples[-1]:.2f}' for n in sizes)}"
                    for c in contenders if all(series[(c.name, n)].samples and not series[(c.name, n)].error
                                               for n in sizes)), file=sys.stderr)
        row = {"dialect": dialect, "sizes": sizes,
               "contenders": {c.name: {str(n): series[(c.name, n)].as_json() for n in sizes} for c in contenders}}
        marginal = {}
        for c in contenders:
            a, b = series[(c.name, small)], series[(c.name, big)]
            if a.error or b.error or big == small:
                marginal[c.name] = None
                continue
            per_round = [(y - x) / (big - small) * 1000 for x, y in zip(a.samples, b.samples)]
            marginal[c.name] = {"ms_per_migration": _r(_median(per_round), 3),
                                "per_round": [round(v, 3) for v in per_round]}
        row["marginal"] = marginal
        rows.append(row)
    return rows


# -- 2. no-op up and status --------------------------------------------------------
def scenario_noop(servers: Servers, dialects, counts, contenders, runs: int, verbose: bool,
                  warmup: int = 1) -> list[dict]:
    """Per dialect, one database per contender: apply the first count's workload, time no-op
    ``up`` runs; apply the next (a longer workload of which the shorter is a prefix), time again;
    at the largest count also ``status``. Interleaved, rotating order."""
    rows = []
    counts = sorted(counts)
    for dialect in dialects:
        targets = {c.name: servers.create(dialect) for c in contenders}
        setup_s: dict[str, dict[int, float]] = {c.name: {} for c in contenders}
        row = {"dialect": dialect, "counts": counts, "up": {}, "status": {}, "setup_s": setup_s}
        broken: dict[str, str] = {}
        try:
            for n in counts:
                wl, expected = workload_dir("apply", dialect, n)
                for c in contenders:
                    if c.name in broken:
                        continue
                    try:
                        argv, env = c.command(targets[c.name], wl)
                        setup_s[c.name][n] = round(timed(argv, env, f"noop-setup-{dialect}-{n}-{c.name}")[0], 3)
                        servers.check(targets[c.name], expected, c.name)
                    except RunFailed as exc:
                        broken[c.name] = f"setup: {exc}"
                        print(f"  ! noop setup {dialect} {n} {c.name}: {exc}", file=sys.stderr)
                actions = ["up"] + (["status"] if n == counts[-1] else [])
                series = {(c.name, a): Series(error=broken.get(c.name)) for c in contenders for a in actions}
                for r in range(-warmup, runs):  # rounds below 0: warm-up, not counted
                    for action in (actions if r % 2 == 0 else actions[::-1]):
                        for c in rotated(contenders, r):
                            s = series[(c.name, action)]
                            if s.error:
                                continue
                            argv, env = c.command(targets[c.name], wl, action)
                            try:
                                sample = timed(argv, env, f"noop-{dialect}-{n}-{action}-{c.name}")
                                if r >= 0:
                                    s.add(sample)
                            except RunFailed as exc:
                                fail(s, exc, f"noop {dialect} {n} {action} {c.name}")
                for action in actions:
                    row[action][str(n)] = {c.name: series[(c.name, action)].as_json() for c in contenders}
                    if verbose:
                        print(f"  {action} {dialect} {n} applied: " + ", ".join(
                            f"{c.name}={_fmt(series[(c.name, action)].median)}" for c in contenders),
                            file=sys.stderr)
        finally:
            for t in targets.values():
                servers.drop(t)
        rows.append(row)
    return rows


# -- 3. verify ----------------------------------------------------------------------
def scenario_verify(servers: Servers, dialects, tables: int, contenders, runs: int, verbose: bool,
                    warmup: int = 1) -> list[dict]:
    """``verify`` on a schema of ``tables`` tables, interleaved between the builds; ``version``
    (start-up, no database) alongside for context. Applying 2,000 tables takes a while (a
    minute on MariaDB), so the first build applies them once and every build verifies that
    database; a build that cannot read it (exit status not 0) gets a database of its own."""
    rows = []
    for dialect in dialects:
        wl, expected = workload_dir("verify", dialect, tables)
        targets: dict[str, Target] = {}
        setup_s: dict[str, float] = {}
        series = {(c.name, a): Series() for c in contenders for a in ("verify", "version")}

        def setup(c: Contender) -> None:
            target = servers.create(dialect)
            targets[c.name] = target
            argv, env = c.command(target, wl)
            setup_s[c.name] = round(timed(argv, env, f"verify-setup-{dialect}-{c.name}")[0], 2)
            servers.check(target, expected, c.name)

        try:
            try:
                setup(contenders[0])
            except RunFailed as exc:
                for s in series.values():
                    fail(s, exc, f"verify setup {dialect} {contenders[0].name}")
            for c in contenders[1:]:
                targets.setdefault(c.name, targets.get(contenders[0].name))
            for r in range(-warmup, runs):  # rounds below 0: warm-up, not counted
                for c in rotated(contenders, r):
                    for action in ("verify", "version"):
                        s = series[(c.name, action)]
                        if s.error:
                            continue
                        try:
                            argv, env = c.command(targets[c.name], wl, action)
                            try:
                                sample = timed(argv, env, f"verify-{dialect}-{action}-{c.name}")
                            except RunFailed:
                                if c.name in setup_s:
                                    raise
                                setup(c)  # it cannot read the first build's tracking: its own
                                sample = timed(argv, env, f"verify-{dialect}-{action}-{c.name}")
                            if r >= 0:
                                s.add(sample)
                        except RunFailed as exc:
                            fail(s, exc, f"{action} {dialect} {c.name}")
        finally:
            for t in {t.name: t for t in targets.values() if t}.values():
                servers.drop(t)
        if verbose:
            print(f"  verify {dialect} {tables} tables: " + ", ".join(
                f"{c.name}={_fmt(series[(c.name, 'verify')].median)}" for c in contenders), file=sys.stderr)
        rows.append({"dialect": dialect, "tables": tables, "setup_s": setup_s,
                     "verify": {c.name: series[(c.name, "verify")].as_json() for c in contenders},
                     "version": {c.name: series[(c.name, "version")].as_json() for c in contenders}})
    return rows


# -- 4. lock hold on PostgreSQL ------------------------------------------------------
class Probe(threading.Thread):
    """A session that loops ``SELECT 1 FROM hot LIMIT 1``, alternating with the same query on
    ``cold`` (a table no migration touches), with a short pause between queries to leave the
    CPUs to the contender, and keeps each query's start and latency. While a migration's
    transaction holds the lock on ``hot`` the query on it waits; what the machine's load adds
    to a query shows on ``cold`` as much as on ``hot``, and is subtracted."""

    PAUSE = 0.0005

    def __init__(self, dbname: str):
        super().__init__(daemon=True)
        import psycopg

        self.conn = psycopg.connect(dbname=dbname, autocommit=True, **PG)
        self.conn.execute("SET log_min_duration_statement = -1")  # keep the probe out of the log
        self.stop = threading.Event()
        self.samples: dict[str, list[tuple[float, float]]] = {"hot": [], "cold": []}  # (start, latency)
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                for table in ("hot", "cold"):
                    t0 = time.perf_counter()
                    self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                    self.samples[table].append((t0, time.perf_counter() - t0))
                    time.sleep(self.PAUSE)
        except Exception as exc:  # noqa: BLE001 - reported by the scenario
            self.error = exc
        finally:
            self.conn.close()

    def waited(self, since: float) -> float:
        """Seconds the queries on ``hot`` spent over their unblocked latency after ``since``,
        less the same for the queries on ``cold`` (the load's share)."""
        total = 0.0
        for table, sign in (("hot", 1), ("cold", -1)):
            quiet = [lat for t0, lat in self.samples[table] if t0 < since]
            base = statistics.median(quiet) if quiet else 0.0
            total += sign * sum(max(0.0, lat - base) for t0, lat in self.samples[table] if t0 >= since)
        return total


_LOG_ENTRY = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \S+ \[(\d+)\] \S*@(\S+) (\w+):  (.*)$")
_DURATION = re.compile(r"duration: [0-9.]+ ms  (statement|execute [^:]*|parse [^:]*|bind [^:]*): (.*)$", re.S)


def statement_log(path: Path, offset: int, dbname: str) -> list[tuple[float, int, str, str]]:
    """(time, pid, kind, text) of every statement the server logged for ``dbname`` since
    ``offset``; time is the log line's (the statement's end), in seconds; kind is statement,
    execute, parse or bind. A statement's further lines follow its entry, indented by a tab."""
    out = []
    current: list | None = None

    def flush():
        if current and current[2] == dbname and current[3] == "LOG":
            m = _DURATION.match("\n".join(current[4]))
            if m:
                out.append((current[0], current[1], m[1].split()[0], m[2]))

    with open(path, errors="replace") as f:
        f.seek(offset)
        for line in f:
            line = line.rstrip("\n")
            m = _LOG_ENTRY.match(line)
            if m:
                flush()
                stamp = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
                current = [stamp, int(m[2]), m[3], m[4], [m[5]]]
            elif current is not None and line.startswith("\t"):
                current[4].append(line[1:])
        flush()
    return out


_HOT_ALTER = re.compile(r"ALTER\s+TABLE\s+hot\s+ADD\s+COLUMN", re.I)
_COMMIT = re.compile(r"\bCOMMIT\b", re.I)


def hold_from_log(entries) -> dict | None:
    """Per ``ALTER TABLE hot`` statement: the time from its end to the end of the COMMIT
    that followed on the same session, and the statements in between (COMMIT included;
    extended-protocol parse/bind steps not counted)."""
    holds, between = [], []
    by_pid: dict[int, list] = {}
    for e in entries:
        by_pid.setdefault(e[1], []).append(e)
    for seq in by_pid.values():
        for i, (stamp, _, kind, text) in enumerate(seq):
            if kind == "parse" or kind == "bind" or not _HOT_ALTER.search(text):
                continue
            if _COMMIT.search(text):  # sent together with its COMMIT
                holds.append(0.0)
                between.append(0)
                continue
            n = 0
            for later in seq[i + 1:]:
                if later[2] in ("parse", "bind"):
                    continue
                n += 1
                if _COMMIT.search(later[3]):
                    holds.append((later[0] - stamp) * 1000)
                    between.append(n)
                    break
    if not holds:
        return None
    return {"migrations": len(holds), "after_last_statement_ms_mean": round(statistics.fmean(holds), 3),
            "after_last_statement_ms_median": round(statistics.median(holds), 3),
            "statements_after_mean": round(statistics.fmean(between), 2)}


def pg_log_path(servers: Servers, given: Path | None) -> Path | None:
    if given:
        return given if given.is_file() else None
    conn = servers.pg()
    current = conn.execute("SELECT pg_current_logfile()").fetchone()[0]
    candidates = []
    if current:
        data = conn.execute("SHOW data_directory").fetchone()[0]
        candidates.append(Path(current) if current.startswith("/") else Path(data) / current)
    major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    candidates.append(Path(f"/var/log/postgresql/postgresql-{major}-main.log"))  # Debian's pg_ctlcluster
    for c in candidates:
        try:
            with open(c):
                return c
        except OSError:
            continue
    return None


def make_lock_template(servers: Servers, others: int) -> str:
    """A database holding ``hot`` and ``cold`` (100 rows each) and ``others`` other tables (a primary key, a
    varchar, a timestamp each), the template every run of the lock scenario is cloned from."""
    target = servers.create("postgres")
    import psycopg

    with psycopg.connect(dbname=target.name, autocommit=True, **PG) as conn:
        for table in ("hot", "cold"):
            conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)")
            conn.execute(f"INSERT INTO {table} SELECT g, 'row ' || g FROM generate_series(1, 100) g")
        for lo in range(1, others + 1, 500):  # batches: one transaction's lock table is finite
            hi = min(others, lo + 499)
            conn.execute(f"DO $$ BEGIN FOR i IN {lo}..{hi} LOOP EXECUTE format('CREATE TABLE other_%s "
                         f"(id BIGINT PRIMARY KEY, name VARCHAR(100), created_at TIMESTAMPTZ DEFAULT now())', i); "
                         f"END LOOP; END $$")
        conn.execute("VACUUM ANALYZE")
    return target.name


def scenario_lock(servers: Servers, schema_sizes, count: int, contenders, runs: int, log_path: Path | None,
                  verbose: bool, warmup: int = 1) -> list[dict]:
    rows = []
    wl, expected = workload_dir("lock", "postgres", count)
    for others in schema_sizes:
        template = make_lock_template(servers, others)
        series = {c.name: Series() for c in contenders}
        probe_ms: dict[str, list[float]] = {c.name: [] for c in contenders}
        log_stats: dict[str, list[dict]] = {c.name: [] for c in contenders}
        for r in range(-warmup, runs):
            for c in rotated(contenders, r):
                s = series[c.name]
                if s.error:
                    continue
                target = servers.create("postgres", template=template)
                try:
                    if log_path:
                        servers.pg().execute(f'ALTER DATABASE "{target.name}" SET log_min_duration_statement = 0')
                        offset = log_path.stat().st_size
                    probe = Probe(target.name)
                    probe.start()
                    time.sleep(0.3)  # the probe's unblocked latency, before the contender starts
                    started = time.perf_counter()
                    argv, env = c.command(target, wl)
                    sample = timed(argv, env, f"lock-{others}-{c.name}")
                    probe.stop.set()
                    probe.join()
                    if probe.error:
                        raise RunFailed(f"probe: {probe.error}")
                    servers.check(target, expected, c.name)
                    if r < 0:
                        continue
                    s.add(sample)
                    probe_ms[c.name].append(probe.waited(started) * 1000 / count)
                    if log_path:
                        time.sleep(0.2)  # the logger writes asynchronously
                        found = hold_from_log(statement_log(log_path, offset, target.name))
                        if found:
                            log_stats[c.name].append(found)
                except (RunFailed, OSError) as exc:
                    fail(s, exc, f"lock {others} {c.name}")
                finally:
                    servers.drop(target)
        servers.drop(Target("postgres", template))
        row = {"other_tables": others, "migrations": count, "contenders": {}}
        for c in contenders:
            logs = log_stats[c.name]
            row["contenders"][c.name] = {
                "run": series[c.name].as_json(),
                "probe_wait_ms_per_migration": _r(_median(probe_ms[c.name]), 3),
                "probe_samples": [round(v, 3) for v in probe_ms[c.name]],
                "log_after_last_statement_ms": _r(_median(x["after_last_statement_ms_mean"] for x in logs), 3),
                "log_statements_after": _r(_median(x["statements_after_mean"] for x in logs), 2),
                "log_runs": logs,
            }
        if verbose:
            print(f"  lock {others} other tables: " + ", ".join(
                f"{n}: probe {_fmt(v['probe_wait_ms_per_migration'], 2)} ms, log {_fmt(v['log_after_last_statement_ms'], 2)} ms"
                for n, v in row["contenders"].items()), file=sys.stderr)
        rows.append(row)
    return rows


# -- 5. a real-shaped history ---------------------------------------------------------
def scenario_history(servers: Servers, dialects, count: int, contenders, runs: int, verbose: bool,
                     warmup: int = 1) -> list[dict]:
    rows = []
    for dialect in dialects:
        wl, expected = workload_dir("history", dialect, count)
        series = {c.name: Series() for c in contenders}
        for r in range(-warmup, runs):
            for c in rotated(contenders, r):
                s = series[c.name]
                if s.error:
                    continue
                apply_fresh(servers, dialect, c, wl, expected, s, f"history {dialect} {c.name}", r >= 0)
        if verbose:
            print(f"  history {dialect}: " + ", ".join(f"{n}={_fmt(s.median)}" for n, s in series.items()),
                  file=sys.stderr)
        rows.append({"dialect": dialect, "migrations": expected["migrations"],
                     "statements": expected["statements"],
                     "contenders": {n: s.as_json() for n, s in series.items()}})
    return rows


# -- 6. concurrency (not run by default) --------------------------------------------------
def scenario_concurrency(servers: Servers, dialects, count: int, runners: int, runs: int, ours_list,
                         verbose: bool) -> list[dict]:
    """Per dialect and build of migrator: one runner on an empty database, against ``runners``
    started at once on one empty database (one applies, the others wait for the lock,
    then find nothing to do). Interleaved, fresh database each time."""
    rows = []
    for dialect in dialects:
        wl, expected = workload_dir("apply", dialect, count)
        series = {(o.name, k): Series() for o in ours_list for k in ("single", "many")}
        for r in range(runs):
            kinds = ("single", "many") if r % 2 == 0 else ("many", "single")
            for o in (ours_list if r % 2 == 0 else ours_list[::-1]):
                for kind in kinds:
                    s = series[(o.name, kind)]
                    if s.error:
                        continue
                    target = servers.create(dialect)
                    try:
                        argv, env = o.command(target, wl)
                        n = 1 if kind == "single" else runners
                        s.add(_run_many(argv, env, n, f"concurrency-{dialect}-{o.name}-{kind}"))
                        servers.check(target, expected, o.name)
                    except RunFailed as exc:
                        fail(s, exc, f"concurrency {dialect} {o.name} {kind}")
                    finally:
                        servers.drop(target)
        for o in ours_list:
            single, many = series[(o.name, "single")], series[(o.name, "many")]
            if verbose:
                print(f"  concurrency {dialect} {o.name}: single={_fmt(single.median)} "
                      f"{runners}x={_fmt(many.median)}", file=sys.stderr)
            rows.append({"dialect": dialect, "contender": o.name, "migrations": count, "runners": runners,
                         "single": single.as_json(), "concurrent": many.as_json(),
                         "exit_times": EXITS.get(f"concurrency-{dialect}-{o.name}-many", [])})
    return rows


EXITS: dict[str, list[list[float]]] = {}  # label -> per run, when each runner exited (s after the start)


def _run_many(argv: list[str], env: dict, n: int, label: str) -> tuple[float, float]:
    LOGS.mkdir(parents=True, exist_ok=True)
    files = [open(LOGS / f"{label}-{i}.log", "wb") for i in range(n)]
    try:
        started = time.perf_counter()
        procs = [subprocess.Popen(argv, env=env, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                 for f in files]
        by_pid = {proc.pid: proc for proc in procs}
        cpu, exits = 0.0, []
        while len(exits) < n:
            pid, status, usage = os.wait4(-1, 0)
            if pid not in by_pid:
                continue
            by_pid[pid].returncode = os.waitstatus_to_exitcode(status)
            exits.append(round(time.perf_counter() - started, 4))
            cpu += usage.ru_utime + usage.ru_stime
        codes = [proc.returncode for proc in procs]
        elapsed = time.perf_counter() - started
        EXITS.setdefault(label, []).append(exits)
    finally:
        for f in files:
            f.close()
    bad = [(i, c) for i, c in enumerate(codes) if c != 0]
    if bad:
        i, c = bad[0]
        tail = (LOGS / f"{label}-{i}.log").read_text(errors="replace").strip().splitlines()[-3:]
        raise RunFailed(f"{len(bad)} of {n} runners failed; runner {i} exit {c}: " + " | ".join(tail))
    return elapsed, cpu


# -- report -----------------------------------------------------------------------
def _label(name: str, meta: dict | None = None) -> str:
    if name == "before" and meta and meta.get("before_label"):
        return f"migrator before ({meta['before_label']})"
    if name in CONTENDERS:
        return CONTENDERS[name].label
    if name == "before":
        return "migrator before"
    return f"migrator ({name.split(':', 1)[1]})" if name.startswith("ours:") else name


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def _cell(series: dict | None, digits: int = 3) -> str:
    if not series:
        return "—"
    return "failed" if series["error"] else _fmt(series["median"], digits)


def markdown(result: dict) -> str:
    meta = result["meta"]
    out = []
    migrators = [n for n in meta["contenders"] if n in ("ours", "before") or n.startswith("ours:")]

    def label(n):
        return _label(n, meta)

    if result.get("apply"):
        first = result["apply"][0]
        small, big = min(first["sizes"]), max(first["sizes"])
        out.append(f"### 1. Apply {small} and {big} migrations to an empty database\n")
        out.append(f"Median wall time (s) of whole runs; ms per migration = the median over rounds of "
                   f"(t{big} − t{small}) / {big - small}, start-up excluded.\n")
        rows = []
        for row in result["apply"]:
            m = row["marginal"]

            def ms(n):
                return (m.get(n) or {}).get("ms_per_migration")
            for n, by_size in row["contenders"].items():
                cells = [DIALECT_NAMES[row["dialect"]], label(n), _cell(by_size[str(small)]), _cell(by_size[str(big)]),
                         _fmt(ms(n), 2)]
                cells += [_ratio(ms(n), ms("dbmate")) if n in migrators and "dbmate" in m else "",
                          _ratio(ms(n), ms("floor")) if n in migrators and "floor" in m else ""]
                rows.append(cells)
        out += _table(["database", "contender", f"{small}", f"{big}", "ms/migration", "÷ dbmate", "÷ floor"], rows)
        out.append(f"\nTarget: {TARGETS['apply']}. The issue's reference (2-core machine, ms per migration): "
                   "migrator 2.4 / 3.9 / 5.2, dbmate 1.3 / 2.9 / 3.9 on SQLite / PostgreSQL / MariaDB.\n")

    if result.get("noop"):
        first = result["noop"][0]
        out.append("### 2. No-op `up` and `status` on an up-to-date database\n")
        out.append("Median wall time (s), process start included. alembic: `upgrade head` and `current`; "
                   "dbmate: `migrate` and `status`.\n")
        names = list(first["up"][str(first["counts"][0])])
        head = ["database", "command", "applied"] + [label(n) for n in names]
        head += [f"{'ours' if o == 'ours' else o} ÷ alembic" for o in migrators if "alembic" in names]
        rows = []
        for row in result["noop"]:
            for action in ("up", "status"):
                for n_applied, by in row[action].items():
                    cells = [DIALECT_NAMES[row["dialect"]], action, n_applied] + [_cell(by.get(n)) for n in names]
                    if "alembic" in names:
                        cells += [_ratio((by.get(o) or {}).get("median"), by["alembic"]["median"]) for o in migrators]
                    rows.append(cells)
        out += _table(head, rows)
        out.append(f"\nTarget: {TARGETS['noop']}.\n")

    if result.get("verify"):
        out.append(f"### 3. `verify` on a schema of {result['verify'][0]['tables']:,} tables\n")
        names = list(result["verify"][0]["verify"])
        head = ["database"] + [f"{label(n)}: verify" for n in names] + [f"{label(n)}: `version`" for n in names] + \
            ["applying the tables (s, once)"]
        rows = [[DIALECT_NAMES[r["dialect"]]] + [_cell(r["verify"][n]) for n in names] +
                [_cell(r["version"][n]) for n in names] +
                [", ".join(f"{label(n)} {v:.1f}" for n, v in r["setup_s"].items())] for r in result["verify"]]
        out += _table(head, rows)
        out.append(f"\nMedian wall time (s). Every build verifies the database the first applied (a build "
                   f"that cannot read it gets its own). `version` (start-up, no database) is there for "
                   f"context. Target: {TARGETS['verify']}.\n")

    if result.get("lock"):
        first = result["lock"][0]
        out.append(f"### 4. Lock hold on PostgreSQL: {first['migrations']} migrations `ALTER TABLE hot ADD COLUMN`\n")
        out.append("ms per migration. probe: the time a session looping `SELECT 1 FROM hot LIMIT 1` spent "
                   "waiting, over its unblocked latency (includes the ALTER itself); log: from the end of the "
                   "ALTER to the end of its COMMIT, in the server's statement log (ms timestamps, mean over the "
                   "migrations); stmts: statements the session ran in between, COMMIT included.\n")
        rows = []
        for row in result["lock"]:
            floor = row["contenders"].get("floor", {})
            for n, v in row["contenders"].items():
                rows.append([f"{row['other_tables']:,}", label(n), _cell(v["run"]),
                             _fmt(v["probe_wait_ms_per_migration"], 2),
                             _delta(v["probe_wait_ms_per_migration"], floor.get("probe_wait_ms_per_migration")),
                             _fmt(v["log_after_last_statement_ms"], 2),
                             _delta(v["log_after_last_statement_ms"], floor.get("log_after_last_statement_ms")),
                             _fmt(v["log_statements_after"], 1)])
        out += _table(["other tables", "contender", "run (s)", "probe wait", "probe − floor", "log: after last "
                       "statement", "log − floor", "stmts"], rows)
        if not result["meta"].get("pg_log"):
            out.append("\n(The server's statement log was not readable here: probe figures only.)")
        out.append(f"\nTarget: {TARGETS['lock']}. The issue's measurement before the change: +1.1 ms with 100 "
                   "other tables, +7.5 ms with 5,000.\n")

    if result.get("history"):
        first = result["history"][0]
        out.append(f"### 5. A real-shaped history ({first['migrations']} migrations)\n")
        names = list(first["contenders"])
        head = ["database", "statements"] + [label(n) for n in names] + \
            [f"{'ours' if o == 'ours' else o} ÷ floor" for o in migrators if "floor" in names] + \
            [f"{'ours' if o == 'ours' else o} ÷ dbmate" for o in migrators if "dbmate" in names]
        rows = []
        for r in result["history"]:
            med = {n: r["contenders"][n]["median"] for n in names}
            cells = [DIALECT_NAMES[r["dialect"]], str(r["statements"])] + [_cell(r["contenders"][n]) for n in names]
            cells += [_ratio(med[o], med["floor"]) for o in migrators if "floor" in names]
            cells += [_ratio(med[o], med["dbmate"]) for o in migrators if "dbmate" in names]
            rows.append(cells)
        out += _table(head, rows)
        out.append(f"\nMedian wall time (s), process start included. Target: {TARGETS['history']}.\n")

    if result.get("concurrency"):
        out.append("### 6. Concurrent runners on one empty database (median wall time, s)\n")
        k = result["concurrency"][0]["runners"]
        rows = [[r["dialect"], label(r["contender"]), str(r["migrations"]), _cell(r["single"]),
                 _cell(r["concurrent"]), _ratio(r["concurrent"]["median"], r["single"]["median"])]
                for r in result["concurrency"]]
        out += _table(["database", "build", "N", "1 runner", f"{k} runners", f"{k} / 1"], rows)
        out.append("")

    if meta.get("errors"):
        out.append("Failures:\n" + "\n".join(f"- {e}" for e in meta["errors"]) + "\n")
    out.append(f"{meta['versions'].get('cpus')} CPUs; load average {meta.get('loadavg_start')} at the start, "
               f"{meta.get('loadavg_end')} at the end; rounds: {meta['runs']}; commit "
               f"{meta['versions'].get('commit')}; {meta.get('elapsed_s')} s.\n")
    if meta.get("skipped"):
        out.append("Skipped: " + "; ".join(meta["skipped"]) + "\n")
    return "\n".join(out)


def _delta(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a - b:+.2f}"


def collect_errors(result: dict) -> list[str]:
    errors = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("error") and "samples" in node:
                errors.append(node["error"])
            for k, v in node.items():
                walk(v, where)
        elif isinstance(node, list):
            for v in node:
                walk(v, where)
    for sc in ("apply", "noop", "verify", "lock", "history", "concurrency"):
        walk(result.get(sc), sc)
    return sorted(set(errors))


def versions(contenders) -> dict:
    out = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    probes = {"dbmate": [str(VENV_BIN / "dbmate"), "--version"]}
    for c in contenders:
        if c.is_migrator:
            probes[c.name] = [str(c.executable or ours_executable() or "migrator"), "--version"]
    for name, argv in probes.items():
        try:
            out[name] = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                                       cwd=tempfile.gettempdir()).stdout.strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            out[name] = None
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("alembic", "yoyo-migrations", "SQLAlchemy", "psycopg", "PyMySQL"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    out["commit"] = head_commit()
    return out


def head_commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


PLANS = {  # rounds per figure (full: about 12 minutes on an idle 2-core machine, quick: about 5)
    "full": {"runs": 4, "noop_runs": 5, "verify_runs": 5, "lock_runs": 3, "history_runs": 2},
    "quick": {"runs": 2, "noop_runs": 3, "verify_runs": 3, "lock_runs": 1, "history_runs": 1},
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="migrator's comparative benchmarks",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer rounds, and a warm-up round in the first "
                                                         "scenario only; every scenario (about 5 minutes)")
    p.add_argument("--runs", type=int, help="rounds per apply figure (4, --quick 2)")
    p.add_argument("--noop-runs", type=int, help="rounds per no-op / status figure (5, --quick 3)")
    p.add_argument("--verify-runs", type=int, help="rounds per verify figure (5, --quick 3)")
    p.add_argument("--lock-runs", type=int, help="rounds per lock figure (3, --quick 1)")
    p.add_argument("--history-runs", type=int, help="rounds per history figure (2, --quick 1)")
    p.add_argument("--sizes", default="200,1000", help="apply: migration counts (the marginal cost is "
                                                       "taken between the smallest and the largest)")
    p.add_argument("--noop-counts", default="500,1000", help="no-op: applied migrations (status at the largest)")
    p.add_argument("--verify-tables", type=int, default=2000)
    p.add_argument("--lock-schemas", default="100,5000", help="lock: other tables in the schema")
    p.add_argument("--lock-count", type=int, default=100, help="lock: migrations")
    p.add_argument("--pg-log", type=Path, help="lock: the PostgreSQL server's log file (default: found)")
    p.add_argument("--history-count", type=int, default=400)
    p.add_argument("--dialects", default="postgres,mysql,sqlite")
    p.add_argument("--contenders", default="ours,before,dbmate,alembic,floor",
                   help="also: yoyo. Each scenario takes those it compares: apply, lock and history the "
                        "builds of migrator, dbmate and the floor; noop all but the floor; verify the builds "
                        "of migrator")
    p.add_argument("--apply-peers", default="", help="apply and history: also these Python peers (alembic,yoyo)")
    p.add_argument("--scenarios", default="apply,noop,verify,lock,history", help="also: concurrency")
    p.add_argument("--before", type=Path, metavar="EXECUTABLE",
                   help="the migrator console script of a build from before a change (run.sh installs one)")
    p.add_argument("--before-label", default=None, help="what to call it (e.g. its commit)")
    p.add_argument("--ours-variant", action="append", default=[], metavar="NAME=EXECUTABLE",
                   help="also run another build of migrator as contender ours:NAME; repeatable")
    p.add_argument("--runners", type=int, default=20, help="concurrency: runners started at once")
    p.add_argument("--concurrency-count", type=int, default=200)
    p.add_argument("--out", type=Path, help="JSON file (default bench/results/bench-<time>.json)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--render", type=Path, metavar="JSON", help="print the tables of an earlier results file")
    a = p.parse_args(argv)
    if a.render:
        print(markdown(json.loads(a.render.read_text())))
        return 0
    plan = dict(PLANS["quick" if a.quick else "full"])
    for key in plan:
        if getattr(a, key) is not None:
            plan[key] = getattr(a, key)
    sizes = sorted(int(s) for s in a.sizes.split(","))
    noop_counts = [int(s) for s in a.noop_counts.split(",")]
    lock_schemas = [int(s) for s in a.lock_schemas.split(",")]
    scenarios = a.scenarios.split(",")
    verbose = not a.quiet

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that atexit drops our databases
    servers = Servers()
    skipped = []
    dialects = []
    for d in a.dialects.split(","):
        why = servers.available(d)
        if why:
            skipped.append(f"{d}: server not reachable ({why})")
        else:
            dialects.append(d)
    names = [n for n in a.contenders.split(",") if n]
    if a.before:
        CONTENDERS["before"] = Contender("before", "migrator before", a.before.resolve())
    elif "before" in names:
        names.remove("before")
    for spec in a.ours_variant:
        name, _, exe = spec.partition("=")
        if not name or not exe:
            p.error(f"--ours-variant expects NAME=EXECUTABLE, got {spec!r}")
        CONTENDERS[f"ours:{name}"] = Contender(f"ours:{name}", f"migrator ({name})", Path(exe).resolve())
        names.append(f"ours:{name}")
    contenders = []
    for name in names:
        if name not in CONTENDERS:
            p.error(f"unknown contender {name!r}")
        why = CONTENDERS[name].available()
        if why:
            skipped.append(f"{name}: {why}")
        else:
            contenders.append(CONTENDERS[name])
    peers = set(a.apply_peers.split(",")) - {""}
    migrators = [c for c in contenders if c.is_migrator]
    appliers = [c for c in contenders if c.is_migrator or c.name in ("dbmate", "floor") or c.name in peers]
    result = {"meta": {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "runs": plan,
                       "sizes": sizes, "noop_counts": noop_counts, "dialects": dialects,
                       "contenders": [c.name for c in contenders], "skipped": skipped,
                       "before_label": a.before_label, "versions": versions(contenders), "targets": TARGETS,
                       "method": "whole-process wall time (perf_counter around subprocess), medians, "
                                 "fresh database per run, contenders interleaved with a rotating order"}}
    result["meta"]["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    for i, scenario in enumerate(scenarios):
        warmup = 0 if a.quick and i > 0 else 1  # --quick: only the first scenario warms the caches
        began = time.perf_counter()
        if verbose:
            print(f"bench: {scenario}", file=sys.stderr)
        if scenario == "apply":
            result["apply"] = scenario_apply(servers, dialects, sizes, appliers, plan["runs"], verbose)
        elif scenario == "noop":
            result["noop"] = scenario_noop(servers, dialects, noop_counts,
                                           [c for c in contenders if c.name != "floor"], plan["noop_runs"], verbose,
                                           warmup)
        elif scenario == "verify" and migrators:
            result["verify"] = scenario_verify(servers, dialects, a.verify_tables, migrators, plan["verify_runs"],
                                               verbose, warmup)
        elif scenario == "lock":
            if "postgres" not in dialects:
                skipped.append("lock: PostgreSQL only, and it is not reachable or not selected")
                continue
            log_path = pg_log_path(servers, a.pg_log)
            result["meta"]["pg_log"] = str(log_path) if log_path else None
            result["lock"] = scenario_lock(servers, lock_schemas, a.lock_count,
                                           [c for c in appliers if c.name not in peers], plan["lock_runs"],
                                           log_path, verbose, warmup)
        elif scenario == "history":
            result["history"] = scenario_history(servers, dialects, a.history_count, appliers,
                                                 plan["history_runs"], verbose, warmup)
        elif scenario == "concurrency" and migrators:
            result["concurrency"] = scenario_concurrency(servers, dialects, a.concurrency_count, a.runners,
                                                         plan["runs"], migrators, verbose)
        elif scenario not in ("verify", "concurrency"):
            p.error(f"unknown scenario {scenario!r}")
        result["meta"].setdefault("scenario_s", {})[scenario] = round(time.perf_counter() - began, 1)
    result["meta"]["elapsed_s"] = round(time.perf_counter() - t0, 1)
    result["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["meta"]["errors"] = collect_errors(result)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = a.out or RESULTS / f"bench-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2))
    shutil.copyfile(out, RESULTS / "latest.json")
    text = markdown(result)
    (RESULTS / "latest.md").write_text(text + "\n")
    print(text)
    print(f"(written {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out})")
    return 1 if result["meta"]["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
