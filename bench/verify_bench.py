"""Tracking verification on a large schema: how long `migrator verify` takes.

For each dialect, a throwaway database gets N tables (default 2,000) through the real
migrator: M generated migrations (default 20 of 100 tables each), each table with 5
columns, a primary key, a secondary index, and (every other table) a foreign key to the
table before it. Then it times:

  verify_cli   the whole `migrator verify` process (start, imports, connect, read the
               tracking rows, one catalog query, exit), median of --runs
  floor_cli    the whole `migrator version` process: start and imports, no database (context
               for verify_cli), median of --runs
  check        the in-process ``catalog.check`` alone, each run on a fresh connection (what one
               `verify` process does), median of --runs
  check_reused ``catalog.check`` run 12 times on ONE connection, median of the last 5 (what a
               long-lived caller sees once the server caches a generic plan for the query)
  rows         reading and decoding the tracking rows (``Tracker.rows``), median of --runs
  snapshot     the catalog query alone (``db.snapshot`` of the recorded relations)

    .venv/bin/python bench/verify_bench.py [--dialects postgres mysql sqlite] [--tables 2000]
                                            [--per-migration 100] [--runs 5] [--profile]

PostgreSQL at $MIGRATOR_TEST_PG (default postgres://postgres@127.0.0.1:5432/postgres),
MariaDB at $MIGRATOR_TEST_MYSQL (default mysql://root@127.0.0.1:3306/mysql); every
database is created for the run and dropped afterwards. Prints the figures and writes
bench/results/verify.json. Target: verify well under 1 s on PostgreSQL with 2,000 tables.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrator import catalog, objects  # noqa: E402
from migrator.config import parse_dsn  # noqa: E402
from migrator.dialects import open_database  # noqa: E402
from migrator.runner import Runner  # noqa: E402
from migrator.source import select_service  # noqa: E402

PG_ADMIN = os.environ.get("MIGRATOR_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN = os.environ.get("MIGRATOR_TEST_MYSQL", "mysql://root@127.0.0.1:3306/mysql")
RESULTS = ROOT / "bench" / "results" / "verify.json"
SERVICE = "bench_verify"

_TYPES = {
    "postgres": ("VARCHAR(100)", "NUMERIC(12,2)", "TIMESTAMPTZ NOT NULL DEFAULT now()"),
    "mysql": ("VARCHAR(100)", "DECIMAL(12,2)", "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
    "sqlite": ("VARCHAR(100)", "NUMERIC", "TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP"),
}


def table_sql(dialect: str, i: int) -> str:
    text, number, stamp = _TYPES[dialect]
    name = f"t{i:04d}"
    fk = (f", CONSTRAINT fk_{name}_parent FOREIGN KEY (parent_id) REFERENCES t{i - 1:04d} (id)"
          if i % 2 else "")
    return (f"CREATE TABLE {name} (id BIGINT NOT NULL PRIMARY KEY, parent_id BIGINT NULL, "
            f"name {text} NOT NULL, amount {number} NULL, created_at {stamp}{fk});\n"
            f"CREATE INDEX ix_{name}_name ON {name} (name);\n")


def write_migrations(root: Path, dialect: str, tables: int, per: int) -> Path:
    folder = root / SERVICE / dialect
    folder.mkdir(parents=True)
    for m in range(tables // per):
        body = "".join(table_sql(dialect, i) for i in range(m * per, (m + 1) * per))
        (folder / f"{m + 1:04d}_tables_{m * per:04d}_{(m + 1) * per - 1:04d}.up.sql").write_text(body)
    return root


# -- throwaway databases ----------------------------------------------------------------------

def create_database(dialect: str, tmp: Path) -> tuple[str, callable]:
    name = f"vb_{uuid.uuid4().hex[:10]}"
    if dialect == "sqlite":
        path = tmp / f"{name}.db"
        return f"sqlite://{path}", lambda: None
    admin = parse_dsn(PG_ADMIN if dialect == "postgres" else MYSQL_ADMIN)
    auth = admin.user + (f":{admin.password}" if admin.password else "")
    if dialect == "postgres":
        import psycopg

        def pg():
            return psycopg.connect(host=admin.host, port=admin.port, user=admin.user, password=admin.password,
                                   dbname=admin.database, autocommit=True)

        with pg() as c:
            c.execute(f'CREATE DATABASE "{name}"')

        def drop():
            with pg() as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return f"postgres://{auth}@{admin.host}:{admin.port}/{name}", drop
    import pymysql

    def my():
        return pymysql.connect(host=admin.host, port=admin.port, user=admin.user, password=admin.password or "",
                               autocommit=True)

    c = my()
    with c.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    c.close()

    def drop():
        c = my()
        with c.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        c.close()

    return f"mysql://{auth}@{admin.host}:{admin.port}/{name}", drop


# -- measuring --------------------------------------------------------------------------------

def migrator_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("migrator")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "migrator"]


def cli(dsn: str, migrations: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DSN", "DATABASE_URL", "MIGRATE_REPAIR_TRACKING")}
    return subprocess.run(migrator_cmd() + ["--log-format", "json", "--log-level", "warning",
                                            "--database", dsn, "--migrations", str(migrations), *args],
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def summary(samples: list[float]) -> dict:
    return {"median_s": round(statistics.median(samples), 4), "min_s": round(min(samples), 4),
            "max_s": round(max(samples), 4), "runs": [round(s, 4) for s in samples]}


def bench_dialect(dialect: str, tables: int, per: int, runs: int, profile: bool, tmp: Path) -> dict:
    migrations = write_migrations(tmp / f"migrations_{dialect}", dialect, tables, per)
    dsn, drop = create_database(dialect, tmp)
    try:
        started = time.perf_counter()
        applied = cli(dsn, migrations, "up")
        apply_s = time.perf_counter() - started
        if applied.returncode != 0:
            raise SystemExit(f"{dialect}: `migrator up` failed (exit {applied.returncode}):\n"
                             f"{applied.stderr[-3000:]}")
        print(f"  {dialect}: applied {tables // per} migrations / {tables} tables in {apply_s:.1f} s",
              flush=True)

        cli(dsn, migrations, "verify")  # warm the server's caches once
        floor_samples = timed(lambda: cli(dsn, migrations, "version"), runs)
        verify_samples = []
        for _ in range(runs):
            started = time.perf_counter()
            result = cli(dsn, migrations, "verify")
            verify_samples.append(time.perf_counter() - started)
            if result.returncode != 0:
                raise SystemExit(f"{dialect}: `migrator verify` exit {result.returncode}:\n{result.stderr[-3000:]}")

        service = select_service(migrations, SERVICE)
        check_samples = []
        for _ in range(runs):
            fresh = open_database(parse_dsn(dsn))
            try:
                fresh_rows = Runner(fresh, service).rows()
                started = time.perf_counter()
                assert catalog.check(fresh, fresh_rows.values()) is None, "fresh schema reported as desynced"
                check_samples.append(time.perf_counter() - started)
            finally:
                fresh.close()
        db = open_database(parse_dsn(dsn))
        try:
            runner = Runner(db, service)
            rows = runner.rows()
            recorded = sum(len(r.created) for r in rows.values())
            live = catalog.live_objects(rows.values())
            names = {objects.relation_of(o) for o in live}
            reused_samples = timed(lambda: catalog.check(db, rows.values()), 12)[-5:]
            rows_samples = timed(runner.rows, runs)
            snapshot_samples = timed(lambda: db.snapshot(names), runs)
            profile_text = None
            if profile:
                prof = cProfile.Profile()
                prof.enable()
                catalog.check(db, runner.rows().values())
                prof.disable()
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(15)
                profile_text = buf.getvalue()
        finally:
            db.close()
        return {
            "dialect": dialect, "tables": tables, "migrations": tables // per,
            "recorded_objects": recorded, "apply_s": round(apply_s, 2),
            "verify_cli": summary(verify_samples), "floor_cli": summary(floor_samples),
            "check": summary(check_samples), "check_reused": summary(reused_samples),
            "rows": summary(rows_samples), "snapshot": summary(snapshot_samples),
            **({"profile": profile_text} if profile_text else {}),
        }
    finally:
        drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialects", nargs="+", default=["postgres", "mysql", "sqlite"],
                        choices=["postgres", "mysql", "sqlite"])
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--per-migration", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process check")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp:
        for dialect in args.dialects:
            try:
                results.append(bench_dialect(dialect, args.tables, args.per_migration, args.runs,
                                             args.profile, Path(tmp)))
            except Exception as exc:  # a server that is not there: report it, go on
                print(f"  {dialect}: skipped: {type(exc).__name__}: {exc}", flush=True)
                results.append({"dialect": dialect, "error": f"{type(exc).__name__}: {exc}"})

    print()
    print(f"| dialect | tables | objects | verify (process, median of {args.runs}) | floor (`version`) | "
          "catalog.check | check, 12th run on one connection | rows | snapshot |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['dialect']} | - | - | {r['error']} | | | | | |")
            continue
        print(f"| {r['dialect']} | {r['tables']} | {r['recorded_objects']} | "
              f"{r['verify_cli']['median_s'] * 1000:.0f} ms | {r['floor_cli']['median_s'] * 1000:.0f} ms | "
              f"{r['check']['median_s'] * 1000:.0f} ms | {r['check_reused']['median_s'] * 1000:.0f} ms | "
              f"{r['rows']['median_s'] * 1000:.0f} ms | {r['snapshot']['median_s'] * 1000:.0f} ms |")
        if r.get("profile"):
            print(f"\n{r['dialect']} profile of one catalog.check:\n{r['profile']}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": "verify", "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "python": platform.python_version(), "machine": platform.machine(),
               "cpus": os.cpu_count(), "load_avg": list(os.getloadavg()),
               "target": "verify (process) well under 1 s on PostgreSQL with 2,000 tables",
               "results": results}
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    pg = next((r for r in results if r["dialect"] == "postgres" and "error" not in r), None)
    return 0 if pg is None or pg["verify_cli"]["median_s"] < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
