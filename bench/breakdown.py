"""Where migrator's time goes per migration: ``up`` of N migrations (default 1,000, the apply
workload) on a fresh database of each dialect, measured three ways:

  cProfile   the process run under ``python -m cProfile``: the functions with the most own
             time, per migration, and the calls that talk to the database (execute, commit)
  py-spy     (when bench/.venv has it) a second run sampled from outside, idle time included,
             each sample's innermost frame sorted into: waiting for the server, the driver,
             migrator's modules, logging, the rest
  the log    PostgreSQL only: the server's statement log of the run, per migration by kind
             (the migration's own statements, BEGIN/COMMIT, catalog queries, tracking writes)

    bench/.venv/bin/python bench/breakdown.py [--dialects postgres,mysql,sqlite] [--count 1000]

migrator is BENCH_MIGRATOR (run.sh's bench/.venv-ours/bin/migrator) or ../.venv's. Prints
text; nothing is written but bench/.work/breakdown/.
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import pstats
import re
import subprocess
import sys
import time
from pathlib import Path

import compare

OUT = compare.WORK / "breakdown"


def _run(argv: list[str], env: dict) -> float:
    started = time.perf_counter()
    # cwd: not the checkout, whose migrator/ `python -m` would import instead of the installed one
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=OUT)
    if proc.returncode != 0:
        raise SystemExit(f"exit {proc.returncode}: {' '.join(argv[:6])}...\n{proc.stderr[-2000:]}")
    return time.perf_counter() - started


def cprofile(servers, contender, dialect: str, wl: Path, count: int) -> None:
    python = str(Path(contender.executable or compare.ours_executable()).parent / "python")
    target = servers.create(dialect)
    log_path = offset = None
    try:
        if dialect == "postgres":
            log_path = compare.pg_log_path(servers, None)
            if log_path:
                servers.pg().execute(f'ALTER DATABASE "{target.name}" SET log_min_duration_statement = 0')
                offset = log_path.stat().st_size
        argv, env = contender.command(target, wl)
        prof = OUT / f"{dialect}.prof"
        wall = _run([python, "-P", "-m", "cProfile", "-o", str(prof), "-m", "migrator", *argv[1:]], env)
        print(f"\n## {compare.DIALECT_NAMES[dialect]}: {count} migrations, {wall:.2f} s under cProfile "
              f"({wall / count * 1000:.2f} ms per migration)\n")
        stats = pstats.Stats(str(prof), stream=io.StringIO())
        rows = []
        for (path, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
            rows.append((tt, ct, nc, _where(path, line, func)))
        rows.sort(reverse=True)
        print("own time per migration (ms), calls per migration, function:")
        for tt, ct, nc, where in rows[:18]:
            print(f"  {tt / count * 1000:7.3f}  {nc / count:7.1f}  {where}")
        print("migrator's functions by time including callees, per migration (ms), calls per migration:")
        inner = [r for r in sorted(rows, key=lambda r: -r[1]) if r[3].startswith("migrator/")
                 and not re.search(r"(cli|commands)\.py|<module>|apply\b|with_lock_retries|<lambda>", r[3])]
        for tt, ct, nc, where in inner[:14]:
            print(f"  {ct / count * 1000:7.3f}  {nc / count:7.1f}  {where}")
        groups = collections.Counter()
        for tt, ct, nc, where in rows:
            groups[_group(where)] += tt
        print("own time per migration by group (ms): " + ", ".join(
            f"{g} {t / count * 1000:.2f}" for g, t in groups.most_common(10)))
        calls = collections.Counter()
        for tt, ct, nc, where in rows:
            if _group(where) in ("driver", "sqlite3") and re.search(r"\b(execute|executemany|commit|rollback)\b",
                                                                   where.split("/")[-1]):
                calls[where] += nc
        print("driver calls per migration: " + ", ".join(f"{k} {v / count:.1f}" for k, v in calls.most_common(8)))
        if log_path:
            time.sleep(0.3)
            log_summary(compare.statement_log(log_path, offset, target.name), count)
    finally:
        servers.drop(target)


def _where(path: str, line: int, func: str) -> str:
    if path == "~":
        return func
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line} {func}"


def _group(where: str) -> str:
    if where.startswith("migrator/"):
        return where.split(":", 1)[0]
    if where.startswith(("psycopg", "pymysql")):
        return "driver"
    if "sqlite3" in where:
        return "sqlite3"
    if where.startswith(("structlog", "logging")):
        return "logging"
    if "socket" in where or "select" in where or "poll" in where or "wait" in where:
        return "waiting (socket)"
    if where.startswith(("sqlalchemy", "alembic")):
        return "sqlalchemy"
    return "other"


_KINDS = (
    ("tracking", re.compile(r"bench_(migrations|migration_events|backfills)", re.I)),
    ("catalog", re.compile(r"pg_catalog|information_schema|pg_class|pg_namespace|pg_attribute|pg_index", re.I)),
    ("BEGIN", re.compile(r"^\s*(BEGIN|START TRANSACTION)\b", re.I)),
    ("COMMIT", re.compile(r"^\s*COMMIT\b", re.I)),
    ("lock", re.compile(r"pg_(try_)?advisory|lock_timeout|LOCK TABLE", re.I)),
    ("migration", re.compile(r"^\s*(--[^\n]*\n\s*)*(CREATE|ALTER|INSERT|UPDATE|DELETE|DROP)\b", re.I)),
)


def log_summary(entries, count: int) -> None:
    kinds = collections.Counter()
    trips = 0
    for _, _, kind, text in entries:
        if kind in ("parse", "bind"):
            continue
        trips += 1
        for name, pattern in _KINDS:
            if pattern.search(text):
                kinds[name] += 1
                break
        else:
            kinds["other"] += 1
    print(f"server statement log: {trips / count:.2f} round trips per migration (statements and executes; a "
          "multi-statement string counts once); by kind per migration: " + ", ".join(
              f"{k} {v / count:.2f}" for k, v in kinds.most_common()))


def pyspy(servers, contender, dialect: str, wl: Path, count: int, spy: Path) -> None:
    target = servers.create(dialect)
    try:
        argv, env = contender.command(target, wl)
        raw = OUT / f"{dialect}.pyspy.txt"
        wall = _run([str(spy), "record", "--idle", "-r", "1000", "-f", "raw", "-o", str(raw), "--", *argv], env)
        leaves = collections.Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():
                continue
            frames = stack.split(";")
            if "_bootstrap (threading.py" in frames[0]:
                continue  # another thread (the signal watcher waits there all along): the main thread only
            total += int(n)
            leaves[_spy_group(frames)] += int(n)
        print(f"py-spy ({wall:.2f} s sampled, idle included; share of samples → ms per migration): " + ", ".join(
            f"{g} {n / total * 100:.0f}% {n / total * wall / count * 1000:.2f}" for g, n in leaves.most_common(8)))
    finally:
        servers.drop(target)


def _spy_group(frames: list[str]) -> str:
    leaf = frames[-1]
    in_driver = any(re.search(r"psycopg/|pymysql/", f) for f in frames)
    if re.search(r"wait|recv|readinto|select|poll|_read_bytes|read_packet", leaf) and (in_driver or "socket" in leaf):
        return "waiting for the server"
    if in_driver:
        return "driver"
    if "_bootstrap" in leaf or "<module>" in leaf and "importlib" in leaf:
        return "imports"
    for f in reversed(frames):
        m = re.search(r"^(\S+) \((?:.*/)?(migrator/[\w/]+\.py)", f)
        if m:  # C code (sqlite3 itself, json, re) counts to the innermost Python frame that called it
            return f"{m[2]} {m[1]}"
    if re.search(r"structlog|logging", leaf):
        return "logging"
    return "other (start-up, interpreter)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dialects", default="postgres,mysql,sqlite")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--no-py-spy", action="store_true")
    a = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    servers = compare.Servers()
    ours = compare.CONTENDERS["ours"]
    spy = compare.VENV_BIN / "py-spy"
    for dialect in a.dialects.split(","):
        why = servers.available(dialect)
        if why:
            print(f"{dialect}: skipped ({why})")
            continue
        wl, _ = compare.workload_dir("apply", dialect, a.count)
        cprofile(servers, ours, dialect, wl, a.count)
        if spy.is_file() and not a.no_py_spy:
            pyspy(servers, ours, dialect, wl, a.count, spy)
    return 0


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    raise SystemExit(main())
