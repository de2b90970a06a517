"""No batch holds row locks for more than about a second: batches start small, grow
while fast, and shrink when slow (SPEC section 7); progress on a TTY."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time

import pytest

from migrator.backfill.job import (BATCH_TIMEOUT_SECONDS, FAST_SECONDS, SLOW_SECONDS, START_BATCH,
                                   next_batch_size)
from tests.backfill.conftest import ITEMS, NAME, declaration, seed
from tests.conftest import make_db, migrator_cmd


def test_next_batch_size():
    assert next_batch_size(100, 0.01, 50_000) == 400  # fast: grow, at most 4x
    assert next_batch_size(4000, 0.01, 5000) == 5000  # never above the declared size
    assert next_batch_size(1000, 0.1, 50_000) == 2500  # a bit fast: grow in proportion
    assert next_batch_size(1000, 0.3, 50_000) == 1000  # in the band: keep
    assert next_batch_size(1000, 0.2, 50_000) == 1000
    assert next_batch_size(1000, 1.0, 50_000) == 250  # slow: shrink in proportion
    assert next_batch_size(1, 30.0, 5000) == 1
    size, seconds_per_row = START_BATCH, 0.002  # a table where each row costs 2 ms
    for _ in range(10):
        size = next_batch_size(size, size * seconds_per_row, 100_000)
    assert FAST_SECONDS <= size * seconds_per_row <= SLOW_SECONDS


def test_slow_rows_shrink_the_batch_and_the_time_limit_cancels_a_long_one(tmp_path, cli, write_migrations):
    """Rows above id 1000 suddenly cost ~3 ms each (pg_sleep): the batch that grew over the
    cheap rows would hold its locks for seconds; the 2 s guard cancels it, it is retried
    smaller, and the size settles around 0.25 s. The declared 50,000 is never used."""
    db, drop = make_db("postgres", tmp_path)
    try:
        root = write_migrations({"postgres": {"0001_items.up.sql": ITEMS["postgres"]}})
        assert cli("up", dsn=db.dsn, migrations=root).code == 0
        seed(db, rows=2200)
        slow = ("UPDATE items SET total = amount * 2, touched = touched + 1 WHERE id >= :lo AND id < :hi "
                "AND total IS NULL AND pg_sleep(CASE WHEN id > 1000 THEN 0.003 ELSE 0 END) IS NOT NULL")
        (root / "svc" / "backfills").mkdir()
        (root / "svc" / "backfills" / f"{NAME}.toml").write_text(declaration({"postgres": slow}, batch_size=50_000))

        result = cli("backfill", "run", dsn=db.dsn, migrations=root)

        assert result.code == 0, result.text
        assert "batch cancelled after the batch time limit" in result.err
        (detail,), = db.query("SELECT detail FROM svc_migration_events WHERE event = :event",
                              {"event": "MIGRATION_BACKFILL_COMPLETED"})
        completed = json.loads(detail)
        assert completed["rows_done"] == 2200
        assert BATCH_TIMEOUT_SECONDS * 1000 <= completed["longest_batch_ms"] < BATCH_TIMEOUT_SECONDS * 1000 + 500
        assert 20 <= completed["final_batch_size"] <= 300
        ((once, more),) = db.query("SELECT SUM(CASE WHEN touched = 1 THEN 1 ELSE 0 END), "
                                   "SUM(CASE WHEN touched > 1 THEN 1 ELSE 0 END) FROM items")
        assert (once, more) == (2200, 0)
    finally:
        drop()


def test_progress_line_on_a_tty(tmp_path, write_migrations, cli):
    db, drop = make_db("sqlite", tmp_path)
    root = write_migrations({"sqlite": {"0001_items.up.sql": ITEMS["sqlite"]}})
    assert cli("up", dsn=db.dsn, migrations=root).code == 0
    seed(db, rows=30_000)
    (root / "svc" / "backfills").mkdir()
    (root / "svc" / "backfills" / f"{NAME}.toml").write_text(
        declaration({"sqlite": "UPDATE items SET total = amount WHERE id >= :lo AND id < :hi"},
                    batch_size=500, pause_ms=30))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(migrator_cmd() + ["--database", db.dsn, "--migrations", str(root), "--log-level",
                                              "warning", "backfill", "run"],
                            stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    out, _ = proc.communicate(timeout=30)
    drop()
    assert proc.returncode == 0, seen.decode(errors="replace")
    text = seen.decode(errors="replace")
    assert "\r\x1b[K" in text  # rewritten in place
    assert f"backfill {NAME}: " in text and "rows/s" in text and "ETA" in text and "/30,000 rows" in text
    assert b"completed" in out


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_pause_waits_for_the_batch_in_flight(dialect, tmp_path, cli, write_migrations):
    """pause takes the checkpoint row lock: it returns only once the batch in flight committed,
    and the runner starts no batch after it."""
    db, drop = make_db(dialect, tmp_path)
    try:
        root = write_migrations({dialect: {"0001_items.up.sql": ITEMS[dialect]}})
        assert cli("up", dsn=db.dsn, migrations=root).code == 0
        seed(db, rows=100_000)
        (root / "svc" / "backfills").mkdir()
        sql = ("UPDATE items SET total = amount * 2, touched = touched + 1 WHERE id >= :lo AND id < :hi "
               "AND total IS NULL")
        (root / "svc" / "backfills" / f"{NAME}.toml").write_text(
            declaration({dialect: sql}, batch_size=5000, pause_ms=30))
        runner = subprocess.Popen(migrator_cmd() + ["--database", db.dsn, "--migrations", str(root),
                                                    "backfill", "run"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                rows = db.query("SELECT rows_done FROM svc_backfills WHERE name = :name", {"name": NAME})
            except Exception:  # not created yet
                rows = []
            if rows and rows[0][0] >= 2000:
                break
            time.sleep(0.02)
        paused = cli("backfill", "pause", NAME, dsn=db.dsn, migrations=root)
        assert paused.code == 0, paused.text
        ((status, rows_done, last_key),) = db.query("SELECT status, rows_done, last_key FROM svc_backfills")
        out, err = runner.communicate(timeout=60)
        assert runner.returncode == 0, out + err
        after = db.query("SELECT status, rows_done, last_key FROM svc_backfills")[0]
        assert after == (status, rows_done, last_key) and status == "paused"  # no batch after the pause
        ((touched,),) = db.query("SELECT COUNT(*) FROM items WHERE touched = 1")
        assert touched == rows_done and rows_done < 100_000
    finally:
        drop()
