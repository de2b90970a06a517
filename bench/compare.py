"""Comparative benchmark: migrator against dbmate, alembic, yoyo and the floor.

Every figure is the whole-process wall time of one command (process start, imports,
connect, work, exit), measured from this process with ``time.perf_counter`` around
``subprocess``. Contenders run interleaved (the order rotates every round), each run
on a fresh throwaway database that this script creates and drops; figures are medians.

Scenarios:
  apply        apply N migrations to an empty database (N = 200, 500)
  noop         ``up`` on an up-to-date database holding 500 applied migrations
  concurrency  20 runners of ours started at once on one empty database, against one

    bench/.venv/bin/python bench/compare.py [--quick] [--runs N] [--dialects ...]

Prints markdown tables and writes bench/results/bench-<UTC time>.json and latest.json.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
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
VENV_BIN = BENCH / ".venv" / "bin"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
MY = {"host": "127.0.0.1", "port": 3306, "user": "root"}
DB_PREFIX = "mbench_"
TARGETS = {  # dbmate's figures from the issue (2-core machine, dbmate 2.36), seconds
    "apply_dbmate_200": {"postgres": 0.41, "mysql": 0.58, "sqlite": 0.20},
    "noop_max": 0.15,
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

    def create(self, dialect: str) -> "Target":
        name = f"{DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if dialect == "postgres":
            self.pg().execute(f'CREATE DATABASE "{name}"')
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


@dataclass
class Target:
    dialect: str
    name: str  # database name, or the file path for SQLite

    def url(self, flavour: str) -> str:
        d, n = self.dialect, self.name
        if d == "sqlite":
            return {"ours": f"sqlite://{n}", "dbmate": f"sqlite:{n}", "floor": n}.get(flavour, f"sqlite:///{n}")
        if d == "postgres":
            base = f"{PG['user']}@{PG['host']}:{PG['port']}/{n}"
            return {"ours": f"postgres://{base}", "dbmate": f"postgres://{base}?sslmode=disable",
                    "alembic": f"postgresql+psycopg://{base}", "yoyo": f"postgresql+psycopg://{base}",
                    "floor": f"{PG['host']}:{PG['port']}/{n}"}[flavour]
        base = f"{MY['user']}@{MY['host']}:{MY['port']}/{n}"
        return {"ours": f"mysql://{base}", "dbmate": f"mysql://{base}", "alembic": f"mysql+pymysql://{base}",
                "yoyo": f"mysql://{base}", "floor": f"{MY['host']}:{MY['port']}/{n}"}[flavour]


# -- contenders -------------------------------------------------------------------
def ours_executable() -> Path | None:
    for candidate in (os.environ.get("BENCH_MIGRATOR"), ROOT / ".venv/bin/migrator", VENV_BIN / "migrator"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass
class Contender:
    name: str
    label: str

    executable: Path | None = None  # ours: a variant (--ours-variant), else ours_executable()

    @property
    def is_ours(self) -> bool:
        return self.name == "ours" or self.name.startswith("ours:")

    def available(self) -> str | None:
        if self.is_ours:
            exe = self.executable or ours_executable()
            return None if exe and exe.is_file() else "no migrator console script (make venv)"
        exe = {"dbmate": "dbmate", "alembic": "alembic", "yoyo": "yoyo", "floor": "python"}[self.name]
        return None if (VENV_BIN / exe).is_file() else f"{VENV_BIN / exe} missing (bash bench/run.sh sets it up)"

    def command(self, target: Target, wl: Path) -> tuple[list[str], dict]:
        env = contender_env()
        if self.is_ours:
            return [str(self.executable or ours_executable()), "--database", target.url("ours"), "--migrations",
                    str(wl / "migrator"), "--service", workload.SERVICE, "up"], env
        if self.name == "dbmate":
            return [str(VENV_BIN / "dbmate"), "--url", target.url("dbmate"), "--migrations-dir",
                    str(wl / "dbmate"), "--no-dump-schema", "migrate"], env
        if self.name == "alembic":
            env["BENCH_ALEMBIC_URL"] = target.url("alembic")
            return [str(VENV_BIN / "alembic"), "-c", str(wl / "alembic" / "alembic.ini"), "upgrade", "head"], env
        if self.name == "yoyo":
            return [str(VENV_BIN / "yoyo"), "apply", "--no-config-file", "--batch", "--database",
                    target.url("yoyo"), str(wl / "yoyo")], env
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


LOGS = WORK / "logs"


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


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


# -- workloads --------------------------------------------------------------------
def workload_dir(dialect: str, count: int) -> tuple[Path, dict]:
    out = WORK / "workloads" / f"{dialect}-{count}"
    stamp = out / "expected.json"
    if not stamp.is_file() or (out / ".generator").read_text() != _generator_stamp():
        workload.write_all(workload.generate(dialect, count), out)
        (out / ".generator").write_text(_generator_stamp())
    return out, json.loads(stamp.read_text())


def _generator_stamp() -> str:
    import hashlib

    return hashlib.sha256((BENCH / "workload.py").read_bytes()).hexdigest()


# -- scenarios --------------------------------------------------------------------
def scenario_apply(servers: Servers, dialects, sizes, contenders, runs: int, verbose: bool) -> list[dict]:
    rows = []
    for dialect in dialects:
        for i, count in enumerate(sizes):
            warmup = i == 0  # the first size of a dialect warms caches (bytecode, pages, server)
            wl, expected = workload_dir(dialect, count)
            names = expected["tables"] + expected["indexes"]
            series = {c.name: Series() for c in contenders}
            for r in range(-1 if warmup else 0, runs):  # round -1: a warm-up, not counted
                order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
                for c in order:
                    s = series[c.name]
                    if s.error:
                        continue
                    target = servers.create(dialect)
                    try:
                        argv, env = c.command(target, wl)
                        sample = timed(argv, env, f"apply-{dialect}-{count}-{c.name}")
                        if r >= 0:
                            s.add(sample)
                        found = servers.count_objects(target, names)
                        if found != len(names):
                            raise RunFailed(f"{c.name}: {found} of {len(names)} workload objects exist afterwards")
                    except RunFailed as exc:
                        s.error = str(exc)
                        print(f"  ! {exc}", file=sys.stderr)
                    finally:
                        servers.drop(target)
                if verbose and r >= 0:
                    print(f"  apply {dialect} {count} round {r + 1}/{runs}: " + ", ".join(
                        f"{n}={s.samples[-1]:.3f}" for n, s in series.items() if s.samples and not s.error),
                        file=sys.stderr)
            row = {"dialect": dialect, "migrations": count,
                   "contenders": {n: s.as_json() for n, s in series.items()}}
            row["paired"] = {f"{o.name}/{ref}": paired(row, o.name, ref) for o in contenders if o.is_ours
                             for ref in ("dbmate", "floor") if ref in series}
            rows.append(row)
    return rows


def scenario_noop(servers: Servers, dialects, count: int, contenders, runs: int, verbose: bool) -> list[dict]:
    rows = []
    contenders = [c for c in contenders if c.name != "floor"]
    for dialect in dialects:
        wl, expected = workload_dir(dialect, count)
        targets: dict[str, Target] = {}
        series = {c.name: Series() for c in contenders}
        try:
            for c in contenders:
                targets[c.name] = servers.create(dialect)
                argv, env = c.command(targets[c.name], wl)
                try:
                    timed(argv, env, f"noop-setup-{dialect}-{c.name}")
                except RunFailed as exc:
                    series[c.name].error = f"setup: {exc}"
                    print(f"  ! {exc}", file=sys.stderr)
            for r in range(runs):
                order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
                for c in order:
                    s = series[c.name]
                    if s.error:
                        continue
                    argv, env = c.command(targets[c.name], wl)
                    try:
                        s.add(timed(argv, env, f"noop-{dialect}-{c.name}"))
                    except RunFailed as exc:
                        s.error = str(exc)
                        print(f"  ! {exc}", file=sys.stderr)
            if verbose:
                print(f"  noop {dialect}: " + ", ".join(
                    f"{n}={_fmt(s.median)}" for n, s in series.items()), file=sys.stderr)
        finally:
            for t in targets.values():
                servers.drop(t)
        rows.append({"dialect": dialect, "applied": count,
                     "contenders": {n: s.as_json() for n, s in series.items()}})
    return rows


def scenario_concurrency(servers: Servers, dialects, count: int, runners: int, runs: int, ours_list,
                         verbose: bool) -> list[dict]:
    """Per dialect and build of ours: one runner on an empty database, against ``runners``
    started at once on one empty database (one applies, the others wait for the lock,
    then find nothing to do). Interleaved, fresh database each time."""
    rows = []
    for dialect in dialects:
        wl, expected = workload_dir(dialect, count)
        names = expected["tables"] + expected["indexes"]
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
                        found = servers.count_objects(target, names)
                        if found != len(names):
                            raise RunFailed(f"{found} of {len(names)} workload objects exist afterwards")
                    except RunFailed as exc:
                        s.error = str(exc)
                        print(f"  ! concurrency {dialect} {o.name} {kind}: {exc}", file=sys.stderr)
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


def importtime(target_dialect: str, servers: Servers, count: int, ours: Contender) -> dict | None:
    """``python -X importtime`` of a no-op ``up`` of ours: the slowest top-level imports."""
    exe = ours.executable or ours_executable()
    python = exe.parent / "python"
    if exe is None or not python.is_file():
        return None
    wl, _ = workload_dir(target_dialect, count)
    target = servers.create(target_dialect)
    try:
        argv, env = ours.command(target, wl)
        timed(argv, env, "importtime-setup")
        proc = subprocess.run([str(python), "-X", "importtime", "-c",
                               "import sys; from migrator.cli import main; sys.exit(main())", *argv[1:]],
                              env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    finally:
        servers.drop(target)
    tops = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        raw = line[len("import time:"):].split("|")
        if len(raw) != 3 or not raw[1].strip().isdigit():
            continue
        name = raw[2][1:]  # one space, then two more per nesting level
        if not name.startswith(" "):  # top level only
            tops.append((int(raw[1]) / 1e6, name.strip()))
    tops.sort(reverse=True)
    return {"dialect": target_dialect, "contender": ours.name, "total_top_level_s": round(sum(t for t, _ in tops), 4),
            "slowest": [{"module": n, "cumulative_s": round(t, 4)} for t, n in tops[:12]]}


# -- report -----------------------------------------------------------------------
def paired(row: dict, a: str, b: str) -> float | None:
    """Median over rounds of a's time / b's time in the same round (robust to load drift)."""
    sa, sb = row["contenders"].get(a), row["contenders"].get(b)
    if not sa or not sb or sa["error"] or sb["error"] or len(sa["samples"]) != len(sb["samples"]) \
            or not sa["samples"]:
        return None
    return round(statistics.median(x / y for x, y in zip(sa["samples"], sb["samples"])), 3)


def _label(name: str) -> str:
    if name in CONTENDERS:
        return CONTENDERS[name].label
    return f"migrator ({name.split(':', 1)[1]})" if name.startswith("ours:") else name


def markdown(result: dict) -> str:
    out = []
    names = list(result["meta"]["contenders"])
    ours = [n for n in names if n == "ours" or n.startswith("ours:")]
    refs = [r for r in ("dbmate", "floor") if r in names]

    def short(n: str) -> str:
        return "ours" if n == "ours" else n.split(":", 1)[1]

    if result.get("apply"):
        out.append("### 1. Apply N migrations to an empty database (median wall time, s)\n")
        ratio_cols = [(o, r) for o in ours for r in refs]
        head = ["dialect", "N"] + [_label(n) for n in names] + \
            [f"{short(o)}/{r}" for o, r in ratio_cols] + [f"{short(o)} CPU" for o in ours]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for row in result["apply"]:
            med = {n: row["contenders"][n]["median"] for n in names}
            cells = [row["dialect"], str(row["migrations"])] + [
                _fmt(med[n]) if not row["contenders"][n]["error"] else "failed" for n in names]
            cells += [_ratio(med.get(o), med.get(r)) for o, r in ratio_cols]
            cells += [_fmt(row["contenders"][o].get("cpu_median")) for o in ours]
            out.append("| " + " | ".join(cells) + " |")
        out.append("\nRatios are of medians; the JSON also has `paired` ratios (median over rounds of the "
                   "same round's ratio). Targets: ours ≤ dbmate on PostgreSQL and MariaDB, ≤ 1.5× dbmate "
                   "on SQLite, ≤ 1.3× the floor. CPU = the migrator process's user+sys time. The issue's "
                   "reference on an idle 2-core machine: dbmate applies 200 in " + ", ".join(
                       f"{d} {v:.2f} s" for d, v in TARGETS["apply_dbmate_200"].items()) + ".\n")
    if result.get("noop"):
        out.append("### 2. No-op `up` on an up-to-date database, 500 applied (median wall time, s)\n")
        nn = [n for n in names if n != "floor"]
        head = ["dialect"] + [_label(n) for n in nn] + [f"{short(o)} CPU" for o in ours]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for row in result["noop"]:
            cells = [row["dialect"]] + [
                _fmt(row["contenders"][n]["median"]) if not row["contenders"][n]["error"] else "failed"
                for n in nn] + [_fmt(row["contenders"][o].get("cpu_median")) for o in ours]
            out.append("| " + " | ".join(cells) + " |")
        out.append(f"\nTarget: ours ≤ {TARGETS['noop_max']} s, ahead of every Python peer.\n")
    if result.get("importtime"):
        it = result["importtime"]
        out.append(f"`python -X importtime` of {it.get('contender', 'ours')}' no-op `up` ({it['dialect']}): "
                   f"top-level imports {it['total_top_level_s']:.3f} s; slowest: " + ", ".join(
                       f"{s['module']} {s['cumulative_s'] * 1000:.0f} ms" for s in it["slowest"][:6]) + "\n")
    if result.get("concurrency"):
        out.append("### 4. Concurrent runners on one empty database (median wall time, s)\n")
        k = result["concurrency"][0]["runners"]
        out.append(f"| dialect | build | N | 1 runner | {k} runners | {k} / 1 |")
        out.append("|---|---|---|---|---|---|")
        for row in result["concurrency"]:
            a, b = row["single"], row["concurrent"]
            out.append(f"| {row['dialect']} | {_label(row['contender'])} | {row['migrations']} | "
                       f"{_fmt(a['median']) if not a['error'] else 'failed'} | "
                       f"{_fmt(b['median']) if not b['error'] else 'failed'} | {_ratio(b['median'], a['median'])} |")
        out.append("")
    errors = [f"- {sc} {row['dialect']}: {n}: {s['error']}" for sc in ("apply", "noop")
              for row in result.get(sc) or [] for n, s in row["contenders"].items() if s["error"]]
    errors += [f"- concurrency {row['dialect']} {row['contender']}: {k}: {row[k]['error']}"
               for row in result.get("concurrency") or [] for k in ("single", "concurrent") if row[k]["error"]]
    if errors:
        out.append("Failures:\n" + "\n".join(errors) + "\n")
    meta = result["meta"]
    out.append(f"{meta['versions'].get('cpus')} CPUs; load average {meta.get('loadavg_start')} at the start, "
               f"{meta.get('loadavg_end')} at the end; {meta['runs']} runs per apply figure "
               f"({meta['noop_runs']} per no-op figure); commit {meta['versions'].get('commit')}.\n")
    if meta.get("skipped"):
        out.append("Skipped: " + "; ".join(meta["skipped"]) + "\n")
    return "\n".join(out)


def versions() -> dict:
    out = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    probes = {"dbmate": [str(VENV_BIN / "dbmate"), "--version"],
              "migrator": [str(ours_executable() or "migrator"), "version"]}
    for name, argv in probes.items():
        try:
            out[name] = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                                       cwd=tempfile.gettempdir()).stdout.strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            out[name] = None
    try:
        from importlib.metadata import version

        for dist in ("alembic", "yoyo-migrations", "SQLAlchemy", "psycopg", "PyMySQL"):
            try:
                out[dist] = version(dist)
            except Exception:  # noqa: BLE001
                out[dist] = None
    except ImportError:
        pass
    out["commit"] = head_commit()
    return out


def head_commit() -> str | None:
    """The checked-out commit, read from .git (the bench runs no git command)."""
    try:
        git = ROOT / ".git"
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()[:7]
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:7]
    except OSError:
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="migrator's comparative benchmarks")
    p.add_argument("--quick", action="store_true", help="3 runs, 200 migrations only")
    p.add_argument("--runs", type=int, help="runs per figure (default 5, --quick 3)")
    p.add_argument("--noop-runs", type=int, help="runs per no-op figure (default 10, --quick 5)")
    p.add_argument("--sizes", default=None, help="comma-separated migration counts (default 200,500)")
    p.add_argument("--dialects", default="postgres,mysql,sqlite")
    p.add_argument("--contenders", default="ours,dbmate,alembic,yoyo,floor")
    p.add_argument("--scenarios", default="apply,noop,concurrency")
    p.add_argument("--noop-count", type=int, default=500, help="applied migrations for the no-op figure")
    p.add_argument("--runners", type=int, default=20, help="concurrent runners (scenario 4)")
    p.add_argument("--concurrency-count", type=int, default=200)
    p.add_argument("--concurrency-runs", type=int, help="runs per concurrency figure (default: --runs)")
    p.add_argument("--out", type=Path, help="JSON file (default bench/results/bench-<time>.json)")
    p.add_argument("--ours-variant", action="append", default=[], metavar="NAME=EXECUTABLE",
                   help="also run another build of migrator as contender ours:NAME (e.g. a checkout "
                        "before a change); repeatable")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--render", type=Path, metavar="JSON", help="print the tables of an earlier results file")
    a = p.parse_args(argv)
    if a.render:
        print(markdown(json.loads(a.render.read_text())))
        return 0
    runs = a.runs or (3 if a.quick else 5)
    noop_runs = a.noop_runs or (5 if a.quick else 10)
    sizes = [int(s) for s in (a.sizes or ("200" if a.quick else "200,500")).split(",")]
    scenarios = set(a.scenarios.split(","))
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
    for spec in a.ours_variant:
        name, _, exe = spec.partition("=")
        if not name or not exe:
            p.error(f"--ours-variant expects NAME=EXECUTABLE, got {spec!r}")
        CONTENDERS[f"ours:{name}"] = Contender(f"ours:{name}", f"migrator ({name})", Path(exe).resolve())
        a.contenders += f",ours:{name}"
    contenders = []
    for name in a.contenders.split(","):
        c = CONTENDERS[name]
        why = c.available()
        if why:
            skipped.append(f"{name}: {why}")
        else:
            contenders.append(c)
    result = {"meta": {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       "runs": runs, "noop_runs": noop_runs, "sizes": sizes, "dialects": dialects,
                       "contenders": [c.name for c in contenders], "skipped": skipped,
                       "versions": versions(), "targets": TARGETS,
                       "method": "whole-process wall time (perf_counter around subprocess), medians, "
                                 "fresh database per run, contenders interleaved with a rotating order"}}
    result["meta"]["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    if "apply" in scenarios:
        result["apply"] = scenario_apply(servers, dialects, sizes, contenders, runs, verbose)
    if "noop" in scenarios:
        result["noop"] = scenario_noop(servers, dialects, a.noop_count, contenders, noop_runs, verbose)
        if any(c.is_ours for c in contenders) and dialects:
            try:
                result["importtime"] = importtime(dialects[0], servers, a.noop_count,
                                                  next(c for c in contenders if c.is_ours))
            except RunFailed as exc:
                print(f"  ! importtime: {exc}", file=sys.stderr)
    ours_list = [c for c in contenders if c.is_ours]
    if "concurrency" in scenarios and ours_list:
        result["concurrency"] = scenario_concurrency(servers, dialects, a.concurrency_count, a.runners,
                                                     a.concurrency_runs or runs, ours_list, verbose)
    result["meta"]["elapsed_s"] = round(time.perf_counter() - t0, 1)
    result["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = a.out or RESULTS / f"bench-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2))
    shutil.copyfile(out, RESULTS / "latest.json")
    text = markdown(result)
    (RESULTS / "latest.md").write_text(text + "\n")
    print(text)
    print(f"(written {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}; "
          f"{result['meta']['elapsed_s']} s)")
    failed = any(s["error"] for sc in ("apply", "noop") for row in result.get(sc) or []
                 for s in row["contenders"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
