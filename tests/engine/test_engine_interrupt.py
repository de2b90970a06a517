"""SIGTERM and SIGINT during a long statement of a real `migrator up`: the statement is
cancelled, what can be rolled back is, the dirty flag is as the protocol says, the lock is
free, and the process exits 143 or 130 within seconds."""

from __future__ import annotations

import signal
import time

import pytest
from engine_support import communicate, events, json_lines, lock_is_held, ok, sleep_sql, tracking_rows, wait_until

LONG = 30  # seconds the statement would run if nothing stopped it
CREATE = {"postgres": "CREATE TABLE before_sleep (id int)", "mysql": "CREATE TABLE before_sleep (id INT)",
          "sqlite": "CREATE TABLE before_sleep (id INTEGER)"}


def _long_migration(mig, dialect: str) -> None:
    mig.write("0006_long.up.sql",
              f"{CREATE[dialect]};\n\n{sleep_sql(dialect, LONG)};\nCREATE TABLE after_sleep (id int);\n")
    mig.write("0006_long.down.sql", "DROP TABLE after_sleep;\nDROP TABLE before_sleep;\n")


def _interrupt(mig, signum: int) -> tuple[int, str, str, float]:
    """Start `up`, wait until migration 6 runs its long statement, send ``signum``; returns
    (exit status, stdout, stderr, seconds from the signal to the exit)."""
    proc = mig.spawn("--progress-interval", "0.5", "up")
    lines: list[str] = []
    assert wait_until(lambda: _read_until(proc, lines, '"MIGRATION_STATEMENT_RUNNING"'), timeout=60), "migration 6 never got to its sleep"
    sent = time.monotonic()
    proc.send_signal(signum)
    code, out, err = communicate(proc, timeout=LONG)
    return code, out, "".join(lines) + err, time.monotonic() - sent


def _read_until(proc, lines: list[str], wanted: str) -> bool:
    line = proc.stderr.readline()
    lines.append(line)
    return wanted in line or proc.poll() is not None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_cancels_the_statement_and_exits_at_once(mig, db, dialect, signum):
    ok(mig("up", "--target", "5"))
    _long_migration(mig, dialect)
    code, out, err, seconds = _interrupt(mig, signum)
    print(f"{dialect} {signal.Signals(signum).name}: exit {code} {seconds:.2f}s after the signal")
    assert code == 128 + signum, err
    assert seconds < 5, f"exit took {seconds:.1f}s after the signal"
    name = signal.Signals(signum).name
    assert f"Error: interrupted by {name}: migration 6 stopped in 0006_long.up.sql line 3 (statement 2 of 3)" in err
    interrupted = [e for e in json_lines(err) if e.get("event") == "MIGRATION_INTERRUPTED"]
    assert len(interrupted) == 1 and interrupted[0]["version"] == 6 and interrupted[0]["line"] == 3
    assert 0 < interrupted[0]["elapsed_s"] < LONG
    rows = {r.version: r for r in tracking_rows(db)}
    tables = db.tables()
    assert "after_sleep" not in tables
    if dialect == "mysql":  # DDL committed as it ran: the row stays dirty, statement 1 named as run
        assert rows[6].dirty
        assert "before_sleep" in tables
        assert "already run, not rolled back: statements 1 to 1 of 3 (lines 1)" in err
        assert "the database is now dirty at version 6" in err
    else:  # one transaction: rolled back, no row
        assert 6 not in rows
        assert "before_sleep" not in tables
        assert "Hint: the migration was rolled back; nothing was recorded" in err
    assert [e[1] for e in events(db, event="MIGRATION_INTERRUPTED")] == [6]
    assert not lock_is_held(db)
    # the lock is free: a second runner proceeds at once (and meets the dirty row on MySQL)
    started = time.monotonic()
    second = mig("--lock-timeout", "0", "status")
    ok(second)
    assert time.monotonic() - started < 10


def test_a_signal_while_waiting_for_the_runner_lock_exits_without_changes(mig, db, dialect):
    from engine_support import HeldLock

    ok(mig("up", "--target", "4"))
    with HeldLock(db):
        proc = mig.spawn("up")
        lines: list[str] = []
        assert wait_until(lambda: _read_until(proc, lines, '"MIGRATION_LOCK_WAIT"'), timeout=30), lines
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code, _out, err = communicate(proc, timeout=30)
    assert code == 143, err
    assert time.monotonic() - sent < 5
    assert "Error: interrupted by SIGTERM" in err
    assert [r.version for r in tracking_rows(db)] == [1, 2, 3, 4]


@pytest.mark.parametrize("dialect", ["postgres"])
def test_sigterm_in_a_no_transaction_migration_leaves_it_dirty(mig, db, dialect):
    ok(mig("up"))
    mig.write("0006_long.up.sql", f"-- migrator:no-transaction\n{CREATE[dialect]};\n{sleep_sql(dialect, LONG)};\n")
    code, _out, err, seconds = _interrupt(mig, signal.SIGTERM)
    print(f"postgres no-transaction SIGTERM: exit {code} {seconds:.2f}s after the signal")
    assert code == 143 and seconds < 5, err
    assert tracking_rows(db)[-1].version == 6 and tracking_rows(db)[-1].dirty
    assert "before_sleep" in db.tables()
    assert "already run, not rolled back: statements 1 to 1 of 2 (lines 2)" in err
    assert not lock_is_held(db)
    again = mig("up")  # the lock is free: the next runner gets at once to the dirty row
    assert again.code == 3 and "Error: Database is in dirty state at version 6" in again.err


def test_sigterm_stops_wait_at_once(mig, db, dialect):
    """An init container's `wait` (it swallows errors to poll again) still stops on SIGTERM."""
    ok(mig("up", "--target", "1"))
    proc = mig.spawn("wait", "--timeout", "60")
    lines: list[str] = []
    assert wait_until(lambda: _read_until(proc, lines, '"MIGRATION_WAITING"'), timeout=30), lines
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code, _out, err = communicate(proc, timeout=30)
    assert code == 143, err
    assert time.monotonic() - sent < 5
    assert "Error: interrupted by SIGTERM" in err
