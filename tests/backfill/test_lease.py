"""Backfill runners in a cluster, on SQLite, PostgreSQL and MariaDB through the real CLI:
the lease with a heartbeat, a dead or frozen runner's backfill taken over, two runners
at once, and SIGTERM/SIGINT sent to a real runner process. The ``touched`` counter
proves that no row is processed twice. The lease lasts LEASE_SECONDS here (conftest)."""

from __future__ import annotations

import json
import signal
import time

import pytest
from sqlalchemy.exc import DBAPIError

from tests.backfill.conftest import LEASE_SECONDS, NAME, ROWS

EVERY_ROW_ONCE = {"rows": ROWS, "once": ROWS, "more": 0, "never": 0, "wrong": 0, "max_touched_id": ROWS}


def log_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def started_events(svc) -> list[dict]:
    return [d for e, d in svc.events() if e == "MIGRATION_BACKFILL_STARTED"]


def assert_checkpoint_matches_rows(svc) -> dict:
    state = svc.checkpoint()
    counts = svc.touched()
    assert counts["more"] == 0 and counts["wrong"] == 0, counts
    assert counts["once"] == state["rows_done"], (counts, state)
    assert counts["max_touched_id"] == state["last_key"], (counts, state)
    return state


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_after_the_batch_with_the_checkpoint_intact(seeded, sig, code):
    seeded.write_backfill(batch_size=1000, pause_ms=50)
    runner = seeded.spawn("backfill", "run", NAME)
    seeded.wait_for(lambda s: s["rows_done"] >= 5000, what="some progress")

    sent = time.monotonic()
    runner.send_signal(sig)
    out, err = runner.communicate(timeout=30)
    took = time.monotonic() - sent

    assert runner.returncode == code, out + err
    assert took < 5, f"{took:.1f}s from {sig.name} to exit"
    assert f"Error: backfill {NAME} interrupted by {sig.name}: stopped after its current batch" in err
    assert "Hint: the checkpoint is intact: the next `migrator backfill run` continues after key" in err
    interrupted = [e for e in log_events(err) if e["event"] == "MIGRATION_BACKFILL_INTERRUPTED"]
    assert len(interrupted) == 1 and interrupted[0]["signal"] == sig.name
    state = assert_checkpoint_matches_rows(seeded)
    assert state["status"] == "running" and not state["leased"]  # interrupted, lease released
    assert interrupted[0]["last_key"] == state["last_key"]
    shown = seeded.status()
    assert (shown["status"], shown["lease_live"], shown["last_key"]) == ("interrupted", False, state["last_key"])

    paused = seeded.run("backfill", "pause", NAME)  # nothing runs: pause must not promise a stop
    assert paused.code == 0, paused.text
    assert "stops after its current batch" not in paused.out
    assert f"paused (was interrupted, {state['rows_done']:,} rows done" in paused.out
    assert "No runner is active" in paused.out
    assert seeded.run("backfill", "resume", NAME).code == 0

    seeded.write_backfill(batch_size=5000, pause_ms=0)
    done = seeded.run("backfill", "run", NAME)
    assert done.code == 0, done.text
    assert seeded.touched() == EVERY_ROW_ONCE
    last = started_events(seeded)[-1]
    assert last["from_key"] == state["last_key"] and last["taken_over_from"] is None


def test_a_dead_runners_backfill_shows_interrupted_and_the_next_runner_takes_it_over(seeded):
    seeded.write_backfill(batch_size=1000, pause_ms=20)
    first = seeded.spawn("backfill", "run", NAME)
    seeded.wait_for(lambda s: s["rows_done"] >= 5000, what="some progress")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed = assert_checkpoint_matches_rows(seeded)
    assert killed["status"] == "running" and killed["leased"] and killed["runner"]

    time.sleep(LEASE_SECONDS + 0.5)  # no heartbeat: the lease runs out
    shown = seeded.status()
    assert (shown["status"], shown["lease_live"], shown["runner"]) == ("interrupted", False, killed["runner"])
    text = seeded.run("backfill", "status", NAME)
    assert "interrupted: no runner holds its lease" in text.out

    seeded.write_backfill(batch_size=5000, pause_ms=0)
    second = seeded.run("backfill", "run", NAME)

    assert second.code == 0, second.text
    assert seeded.touched() == EVERY_ROW_ONCE
    taking = [e for e in log_events(second.err) if e["event"] == "MIGRATION_BACKFILL_TAKEOVER"]
    assert taking and taking[0]["previous_runner"] == killed["runner"]
    last = started_events(seeded)[-1]
    assert last["taken_over_from"] == killed["runner"] and last["from_key"] == killed["last_key"]
    assert last["runner"] != killed["runner"]
    final = seeded.checkpoint()
    assert final["status"] == "completed" and not final["leased"]


def test_two_runners_at_once_never_process_the_same_batch(seeded):
    seeded.write_backfill(batch_size=1000, pause_ms=5)
    runners = [seeded.spawn("backfill", "run", NAME) for _ in range(2)]
    outputs = [r.communicate(timeout=300) for r in runners]

    assert [r.returncode for r in runners] == [0, 0], outputs
    assert seeded.touched() == EVERY_ROW_ONCE
    finished = sorted("already completed" in out for out, _ in outputs)
    assert finished == [False, True], outputs  # one did the work, the other waited for its lease
    assert [e for e, _ in seeded.events()].count("MIGRATION_BACKFILL_COMPLETED") == 1


def checkpoint_row_free(svc) -> bool:
    """Can another session lock the checkpoint row right now (no batch in flight)?"""
    db = svc.db.connect()
    try:
        if svc.db.dialect == "postgres":
            db.execute("SET lock_timeout = '500ms'")
        elif svc.db.dialect == "mysql":
            db.execute("SET SESSION innodb_lock_wait_timeout = 1")
        lock = "" if svc.db.dialect == "sqlite" else " FOR UPDATE"
        with db.transaction():
            db.query(f"SELECT name FROM {svc.prefix}_backfills WHERE name = :name{lock}", {"name": NAME})
        return True
    except DBAPIError:
        return False
    finally:
        db.close()


def freeze_between_batches(svc, proc) -> None:
    """SIGSTOP the runner at a moment when it holds no row lock (it sleeps between batches)."""
    for _ in range(50):
        proc.send_signal(signal.SIGSTOP)
        if checkpoint_row_free(svc):
            return
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.03)
    raise AssertionError("the runner never stopped between two batches")


def test_a_frozen_runner_loses_its_lease_and_stops_before_its_next_batch(seeded):
    """A runner frozen past its lease (a paused VM, a partitioned node) must not run one
    more batch once it wakes up: the runner that took over owns the backfill."""
    seeded.write_backfill(batch_size=500, pause_ms=200)
    frozen = seeded.spawn("backfill", "run", NAME)
    seeded.wait_for(lambda s: s["rows_done"] >= 2000, what="some progress")
    freeze_between_batches(seeded, frozen)
    owner = seeded.checkpoint()["runner"]

    seeded.write_backfill(batch_size=5000, pause_ms=0)  # the new runner reads the faster declaration
    taker = seeded.run("backfill", "run", NAME)
    assert taker.code == 0, taker.text
    assert seeded.touched() == EVERY_ROW_ONCE
    assert started_events(seeded)[-1]["taken_over_from"] == owner

    frozen.send_signal(signal.SIGCONT)
    out, err = frozen.communicate(timeout=60)
    assert frozen.returncode == 0, out + err
    assert f"Backfill {NAME} was taken over by runner " in out
    assert "MIGRATION_BACKFILL_LEASE_LOST" in [e["event"] for e in log_events(err)]
    assert seeded.touched() == EVERY_ROW_ONCE  # not one more batch after it woke up
    assert seeded.checkpoint()["status"] == "completed"


PREVIOUS_TABLE = {  # <prefix>_backfills as the release before leases created it
    "postgres": ("TIMESTAMPTZ", "TEXT", "BIGINT"),
    "mysql": ("DATETIME(6)", "LONGTEXT", "BIGINT"),
    "sqlite": ("TEXT", "TEXT", "INTEGER"),
}


def test_a_checkpoint_table_of_the_previous_release_gets_the_lease_columns(seeded):
    timestamp, text, bigint = PREVIOUS_TABLE[seeded.db.dialect]
    seeded.db.execute(
        f"CREATE TABLE {seeded.prefix}_backfills (name VARCHAR(255) NOT NULL PRIMARY KEY, "
        f"status VARCHAR(255) NOT NULL, last_key {bigint} NULL, rows_done {bigint} NOT NULL DEFAULT 0, "
        f"total_estimate {bigint} NULL, started_at {timestamp} NULL, updated_at {timestamp} NOT NULL, "
        f"completed_at {timestamp} NULL, error {text} NULL)",
        f"INSERT INTO {seeded.prefix}_backfills (name, status, last_key, rows_done, updated_at) "
        f"VALUES ('{NAME}', 'running', 1000, 1000, '2026-01-01 00:00:00')",
        "UPDATE items SET total = amount * 2, touched = 1 WHERE id <= 1000")

    shown = seeded.status()  # reading works before any runner added the columns
    assert (shown["status"], shown["rows_done"], shown["runner"]) == ("interrupted", 1000, None)
    done = seeded.run("backfill", "run", NAME)

    assert done.code == 0, done.text
    assert seeded.touched() == EVERY_ROW_ONCE
    assert started_events(seeded)[-1]["from_key"] == 1000
    final = seeded.checkpoint()
    assert final["status"] == "completed" and final["runner"] and not final["leased"]


def test_a_runner_waiting_for_the_lease_stops_at_once_on_sigterm(seeded):
    seeded.write_backfill(batch_size=1000, pause_ms=50)
    working = seeded.spawn("backfill", "run", NAME)
    seeded.wait_for(lambda s: s["rows_done"] >= 2000, what="the first runner")
    waiting = seeded.spawn("backfill", "run", NAME)
    for line in iter_stderr_lines(waiting, time.monotonic() + 30):
        if "MIGRATION_BACKFILL_LEASE_WAIT" in line:
            break

    waiting.send_signal(signal.SIGTERM)
    out, err = waiting.communicate(timeout=10)

    assert waiting.returncode == 143, out + err
    assert f"Error: backfill {NAME}: SIGTERM while waiting for another runner's lease; no work done" in err
    state = seeded.checkpoint()
    assert state["status"] == "running" and state["leased"]  # the first runner goes on
    working.send_signal(signal.SIGTERM)
    working.communicate(timeout=30)
    assert_checkpoint_matches_rows(seeded)


def iter_stderr_lines(proc, deadline: float):
    """Lines of a runner's stderr as they come, until the deadline."""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError("the runner ended before it waited")
        yield line
    raise AssertionError("the runner never said it was waiting")


def test_a_bad_lease_setting_is_a_usage_error(seeded):
    result = seeded.run("backfill", "run", NAME, env={"MIGRATOR_BACKFILL_LEASE_SECONDS": "soon"})
    assert result.code == 2, result.text
    assert "MIGRATOR_BACKFILL_LEASE_SECONDS='soon': expected a number of seconds" in result.err
    assert f"{seeded.prefix}_backfills" not in seeded.db.tables()  # nothing touched
