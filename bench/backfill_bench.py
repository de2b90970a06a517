"""Backfill throughput versus one plain UPDATE, on PostgreSQL.

Creates a throwaway database (dropped at the end) on the server at $MIGRATOR_BENCH_PG
(default postgres://postgres@127.0.0.1:5432/postgres), seeds N rows (default 1,000,000)
into a fresh table, and times

  1. one plain ``UPDATE items SET total = amount * 2, touched = touched + 1 WHERE total IS NULL``
  2. ``migrator backfill run`` of the same statement over ``[lo, hi)`` key ranges

each on a freshly seeded, vacuumed table, ``--repeat`` times (median reported). It prints
rows/s for both, the ratio, and the longest batch, checks that every row was processed
exactly once, and writes bench/results/backfill.json. Target: the backfill reaches at
least 60% of the plain UPDATE's throughput with no batch over one second.

    .venv/bin/python bench/backfill_bench.py [--rows N] [--batch-size N] [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from migrator import cli  # noqa: E402
from migrator.config import parse_dsn  # noqa: E402

TABLE = ("CREATE TABLE {name} (id bigint PRIMARY KEY, amount int NOT NULL, total int NULL, "
         "touched int NOT NULL DEFAULT 0)")
PLAIN = "UPDATE {name} SET total = amount * 2, touched = touched + 1 WHERE total IS NULL"
BACKFILL = ("UPDATE items SET total = amount * 2, touched = touched + 1 "
            "WHERE id >= :lo AND id < :hi AND total IS NULL")
DECLARATION = """# the benchmark's backfill: the same statement as the plain UPDATE, one key range at a time
requires = 1
table = "items"
key = "id"
batch_size = {batch_size}
pause_ms = 0
[sql]
postgres = "{sql}"
"""


def connect(dsn, dbname=None):
    import psycopg

    return psycopg.connect(host=dsn.host, port=dsn.port, user=dsn.user, password=dsn.password,
                           dbname=dbname or dsn.database, autocommit=True)


def url(dsn, dbname: str) -> str:
    auth = (dsn.user or "") + (f":{dsn.password}" if dsn.password else "")
    return f"postgres://{auth}@{dsn.host}:{dsn.port}/{dbname}"


def migrator(*args: str) -> tuple[int, str]:
    """Run the CLI in this process (no interpreter start-up in the timing); returns (code, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["--log-level", "warning", *args])
    return code, out.getvalue()


def seed(conn, name: str, rows: int) -> None:
    conn.execute(f"INSERT INTO {name} (id, amount) SELECT g, g % 1000 FROM generate_series(1, {rows}) g")
    conn.execute(f"VACUUM ANALYZE {name}")
    conn.execute("CHECKPOINT")  # each timed run starts with the same WAL / dirty-buffer state


def plain_update(conn, rows: int) -> float:
    conn.execute("DROP TABLE IF EXISTS items_plain")
    conn.execute(TABLE.format(name="items_plain"))
    seed(conn, "items_plain", rows)
    started = time.perf_counter()
    updated = conn.execute(PLAIN.format(name="items_plain")).rowcount
    seconds = time.perf_counter() - started
    assert updated == rows, updated
    conn.execute("DROP TABLE items_plain")
    return seconds


def backfill(conn, rows: int, common: list[str]) -> tuple[float, dict]:
    conn.execute("TRUNCATE items")  # a fresh relation, like the plain run's new table
    seed(conn, "items", rows)
    code, _ = migrator(*common, "backfill", "restart", "items_total")
    assert code == 0
    started = time.perf_counter()
    code, out = migrator(*common, "backfill", "run", "items_total")
    seconds = time.perf_counter() - started
    assert code == 0, out
    detail = conn.execute("SELECT detail FROM svc_migration_events WHERE event = 'MIGRATION_BACKFILL_COMPLETED' "
                          "ORDER BY id DESC LIMIT 1").fetchone()[0]
    once, total = conn.execute("SELECT count(*) FILTER (WHERE touched = 1 AND total = amount * 2), count(*) "
                               "FROM items").fetchone()
    assert once == total == rows, (once, total)
    return seconds, json.loads(detail)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--batch-size", type=int, default=50_000, help="the declaration's batch_size (the cap)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--output", type=Path, default=HERE / "results" / "backfill.json")
    args = p.parse_args(argv)

    admin_dsn = parse_dsn(os.environ.get("MIGRATOR_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres"))
    dbname = f"mb_backfill_{uuid.uuid4().hex[:8]}"
    admin = connect(admin_dsn)
    admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "migrations"
            (root / "svc" / "postgres").mkdir(parents=True)
            (root / "svc" / "backfills").mkdir()
            (root / "svc" / "postgres" / "0001_items.up.sql").write_text(TABLE.format(name="items") + ";\n")
            (root / "svc" / "backfills" / "items_total.toml").write_text(
                DECLARATION.format(batch_size=args.batch_size, sql=BACKFILL))
            common = ["--database", url(admin_dsn, dbname), "--migrations", str(root)]
            assert migrator(*common, "up")[0] == 0
            conn = connect(admin_dsn, dbname)
            plain_runs, backfill_runs, details = [], [], []
            for i in range(args.repeat):
                plain_runs.append(plain_update(conn, args.rows))
                seconds, detail = backfill(conn, args.rows, common)
                backfill_runs.append(seconds)
                details.append(detail)
                print(f"run {i + 1}: plain UPDATE {plain_runs[-1]:.2f}s, backfill {seconds:.2f}s "
                      f"({detail['batches']} batches, longest {detail['longest_batch_ms']:.0f} ms)", flush=True)
            conn.close()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.close()

    plain_s, backfill_s = statistics.median(plain_runs), statistics.median(backfill_runs)
    longest = max(d["longest_batch_ms"] for d in details)
    result = {
        "rows": args.rows, "batch_size": args.batch_size, "repeat": args.repeat,
        "plain_update": {"seconds": round(plain_s, 3), "rows_per_second": round(args.rows / plain_s),
                         "runs": [round(s, 3) for s in plain_runs]},
        "backfill": {"seconds": round(backfill_s, 3), "rows_per_second": round(args.rows / backfill_s),
                     "runs": [round(s, 3) for s in backfill_runs],
                     "batches": [d["batches"] for d in details],
                     "longest_batch_ms": [d["longest_batch_ms"] for d in details],
                     "final_batch_size": [d["final_batch_size"] for d in details]},
        "ratio": round(plain_s / backfill_s, 3),
        "longest_batch_ms": longest,
        "target": {"ratio_at_least": 0.6, "longest_batch_ms_below": 1000},
        "postgres": admin_server_version(admin_dsn),
        "python": platform.python_version(),
    }
    result["meets_target"] = result["ratio"] >= 0.6 and longest < 1000
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"plain UPDATE: {result['plain_update']['rows_per_second']:,} rows/s ({plain_s:.2f}s)")
    print(f"backfill:     {result['backfill']['rows_per_second']:,} rows/s ({backfill_s:.2f}s, batch_size cap "
          f"{args.batch_size:,})")
    print(f"ratio:        {result['ratio']:.0%} of the plain UPDATE (target >= 60%)")
    print(f"longest batch: {longest:.0f} ms (target < 1000 ms)")
    print(f"wrote {args.output}")
    return 0 if result["meets_target"] else 1


def admin_server_version(dsn) -> str:
    with connect(dsn) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
