"""Running a migration's statements as a Job needs them run: a line while one runs long,
the statement cancelled on SIGTERM/SIGINT, a failure that names the statement (and the
sessions holding the lock it waited for), and lock timeouts retried with backoff.

The signal handlers are installed once, by the CLI. The database is told to cancel from a
thread woken through ``signal.set_wakeup_fd``: a Python signal handler runs in the main
thread only between bytecodes, which is after the statement returns on SQLite.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time

from sqlalchemy.exc import DBAPIError, PendingRollbackError

from migrator import log
from migrator.errors import Interrupted, LockContention, MigrationFailed

RETRY_FIRST_DELAY = 1.0  # seconds before the second try; doubled each try, up to RETRY_MAX_DELAY
RETRY_MAX_DELAY = 30.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
SNIPPET = 60  # characters of a statement shown in log lines and errors

# statements that wait for older transactions, not for a table lock: no DDL lock timeout
# (patterns as text: re caches them compiled on first use, not at every start of the CLI)
_CONCURRENTLY = r"\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX|REINDEX|DROP\s+INDEX)\b.*?\bCONCURRENTLY\b"
_CREATE_CONCURRENTLY = (r"\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                        r"(\"(?:[^\"]|\"\")+\"|[A-Za-z_][A-Za-z0-9_$]*)\s+ON\b")


# What the database or its driver raised (SQLAlchemy's DBAPIError; the driver's own error is
# its ``orig``), or the use of a connection that such an error left invalid (lost):
# failures of the database, not of the migrator
DATABASE_ERRORS = (DBAPIError, PendingRollbackError)


def snippet(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= SNIPPET else text[:SNIPPET - 1] + "…"


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


# -- signals ------------------------------------------------------------------
class _State:
    signum: int | None = None  # the first SIGTERM/SIGINT received
    raised = False  # Interrupted was raised for it
    running: Running | None = None  # the statement in progress, if one is


def install_signal_handlers() -> None:
    """SIGTERM and SIGINT cancel the running statement and end the command with
    Interrupted (exit 143 or 130); the CLI reports it like any error."""
    receiver, sender = os.pipe()
    os.set_blocking(sender, False)
    signal.set_wakeup_fd(sender, warn_on_full_buffer=False)
    threading.Thread(target=_cancel_on_signal, args=(receiver,), name="migrator-signals", daemon=True).start()
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)


def _on_signal(signum, _frame) -> None:
    if _State.signum is None:
        _State.signum = signum
    if _State.running is None and not _State.raised:  # no statement to cancel: stop right here
        _State.raised = True
        raise Interrupted(f"interrupted by {signal_name(signum)}", signum=signum)


def _cancel_on_signal(receiver: int) -> None:
    while True:
        data = os.read(receiver, 16)
        if not data:
            return
        stops = [b for b in data if b in STOP_SIGNALS]  # the fd also carries any other handled signal
        if not stops:
            continue
        if _State.signum is None:
            _State.signum = stops[0]
        running = _State.running
        if running is not None:
            running.cancel()


def check_interrupted(running: Running | None = None) -> None:
    """Raise Interrupted once a signal came (after a statement returned, or before one starts)."""
    if _State.signum is None or _State.raised:
        return
    _State.raised = True
    signum = _State.signum
    if running is None:
        raise Interrupted(f"interrupted by {signal_name(signum)}", signum=signum)
    raise Interrupted(f"interrupted by {signal_name(signum)}: migration {running.version} stopped in "
                      f"{running.path.name} line {running.statement.line} (statement {running.n} of "
                      f"{running.total}) after {running.elapsed():.1f}s",
                      signum=signum, fields=running.fields(elapsed_s=round(running.elapsed(), 3)),
                      details=already_run(running.statements, running.n, running.transactional))


def already_run(statements, n: int, transactional: bool) -> list[str]:
    """Where nothing is rolled back (no transaction): the statements before the n-th."""
    if transactional or n <= 1:
        return []
    lines = ", ".join(str(s.line) for s in statements[:n - 1])
    return [f"  already run, not rolled back: statements 1 to {n - 1} of {len(statements)} (lines {lines})"]


# -- one statement ------------------------------------------------------------
class Running:
    """The statement in progress: what progress lines, errors and the cancel name."""

    def __init__(self, db, m, path, statements, n: int, transactional: bool):
        self.db = db
        self.statements = statements
        self.transactional = transactional
        self.version = m.version
        self.path = path
        self.statement = statements[n - 1]
        self.n = n
        self.total = len(statements)
        self.started = time.monotonic()
        self.cancelled = False
        self.blockers: list[str] | None = None  # read while it waited for a lock

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def fields(self, **extra) -> dict:
        return dict(statement=f"{self.n} of {self.total}", line=self.statement.line,
                    sql=snippet(self.statement.sql), **extra)

    def cancel(self) -> None:
        self.cancelled = True
        try:
            self.db.cancel()
        except Exception as exc:  # the connection may be closing: the process is stopping anyway
            log.get().debug("MIGRATION_CANCEL_FAILED", version=self.version, error=self.db.describe_error(exc),
                            message="could not cancel the running statement: the interruption waits for it")


class Watch(threading.Thread):
    """One thread for the whole run, watching the statement in progress: a progress line
    every ``interval`` seconds and, where the database can tell only while we wait
    (PostgreSQL), who blocks us once ``probe_after`` seconds have passed."""

    def __init__(self, logger):
        super().__init__(name="migrator-progress", daemon=True)
        self.log = logger
        self.changed = threading.Condition()
        self.current: tuple[Running, float, float | None] | None = None

    def watch(self, running: Running, interval: float, probe_after: float | None) -> None:
        with self.changed:
            self.current = (running, interval, probe_after)
            self.changed.notify()

    def stop(self) -> None:
        """The statement ended. Nobody is woken: the thread finds out at its next tick, or when
        the next statement is watched (a thread woken twice per statement costs every migration)."""
        with self.changed:
            self.current = None

    def run(self) -> None:
        while True:
            with self.changed:
                while self.current is None:
                    self.changed.wait()
                watched = self.current
            self.follow(*watched)

    def follow(self, running: Running, interval: float, probe: float | None) -> None:
        next_tick = interval if interval > 0 else None
        while next_tick is not None or probe is not None:
            at = min(t for t in (next_tick, probe) if t is not None)
            with self.changed:
                self.changed.wait_for(lambda: self.current is None or self.current[0] is not running,
                                      timeout=max(0.0, at - running.elapsed()))
                if self.current is None or self.current[0] is not running:
                    return
            if at == probe:
                probe = None
                running.blockers = running.db.lock_blockers()
            else:
                self.progress(running)
                next_tick += interval
        with self.changed:  # nothing more to do for this one: wait for the next statement
            self.changed.wait_for(lambda: self.current is None or self.current[0] is not running)

    def progress(self, r: Running) -> None:
        elapsed = r.elapsed()
        self.log.info("MIGRATION_STATEMENT_RUNNING", version=r.version, elapsed_s=round(elapsed, 1),
                      **r.fields(message=f"migration {r.version}: {r.path.name} statement {r.n} of {r.total} "
                                         f"(line {r.statement.line}) still running after {elapsed:.1f}s: "
                                         f"{snippet(r.statement.sql)}"))


class Executor:
    """Runs one migration file's statements on ``db``; logs through ``logger``."""

    def __init__(self, db, logger):
        self.db = db
        self.log = logger
        self.try_number = 1  # of the migration, as with_lock_retries counts them
        self.watcher: Watch | None = None  # started with the first statement it has to watch

    # -- the whole migration ------------------------------------------------
    def with_lock_retries(self, m, attempt):
        """``attempt()`` again, after a backoff with jitter, while it fails on the DDL lock timeout
        with a rolled-back transaction, up to --ddl-lock-retries more times."""
        self.try_number = 1
        try:
            while True:
                try:
                    return attempt()
                except LockContention as exc:
                    if not exc.retrying:
                        raise
                    self.pause(m.version, exc)
                    self.try_number += 1
        finally:
            self.try_number = 1

    def pause(self, version: int, exc: LockContention) -> None:
        import random

        delay = min(RETRY_FIRST_DELAY * 2 ** (self.try_number - 1), RETRY_MAX_DELAY) * random.uniform(0.5, 1.0)
        self.log.warning("MIGRATION_LOCK_RETRY", version=version, attempt=self.try_number,
                         retries=self.db.ddl_lock_retries, delay_s=round(delay, 2), error=exc.message,
                         blockers=exc.fields.get("blockers"), message=f"migration {version}: lock not available "
                         f"(try {self.try_number} of {self.db.ddl_lock_retries + 1}); trying again in {delay:.1f}s")
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:  # short sleeps: a signal stops the wait at once
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            check_interrupted()

    def begin(self, m) -> None:
        """BEGIN the migration's transaction. On SQLite it takes the write lock (BEGIN
        IMMEDIATE), so a busy database is lock contention like any other, retried."""
        try:
            self.db.begin()
        except DBAPIError as exc:
            if not self.db.is_lock_timeout(exc):
                raise
            error = LockContention(
                f"migration {m.version} failed: its transaction could not start: {self.db.describe_error(exc)}",
                safe=True, details=[f"  another connection holds the database's write lock ({self.db.name} "
                                    "does not say which)"],
                fields={"blockers": []})
            error.retrying = self.try_number <= self.db.ddl_lock_retries
            raise error from None

    # -- the statements -----------------------------------------------------
    def run(self, m, statements, path, transactional: bool) -> None:
        for n in range(1, len(statements) + 1):
            while True:
                try:
                    self.statement(m, statements, path, n, transactional)
                    break
                except LockContention as exc:
                    # no transaction: the statement that gave up waiting left nothing; try it alone again
                    if transactional or not exc.retrying:
                        raise
                    self.pause(m.version, exc)
                    self.try_number += 1

    def statement(self, m, statements, path, n: int, transactional: bool) -> None:
        check_interrupted()
        running = Running(self.db, m, path, statements, n, transactional)
        sql = running.statement.sql
        concurrently = self.db.name == "postgres" and bool(
            re.match(_CONCURRENTLY, sql, re.IGNORECASE | re.DOTALL))
        if concurrently:
            self.drop_invalid_index(m, sql)
        wait = self.db.ddl_lock_timeout
        probe = wait * 0.5 if wait > 0 and self.db.blockers_while_waiting and not concurrently else None
        watch = self.watch(running, probe)
        _State.running = running
        try:
            if concurrently:  # it waits for older transactions, not a table lock: no DDL lock timeout
                self.db.run_script_statement("SET lock_timeout = 0")
            try:
                self.db.run_script_statement(sql)
            finally:
                if concurrently:
                    self.db.run_script_statement(self.db.ddl_lock_statements()[0])
        except DATABASE_ERRORS as exc:
            _State.running = None
            if watch:
                watch.stop()
            check_interrupted(running)
            raise self.failure(m, statements, path, n, transactional, exc, running.blockers) from None
        finally:
            _State.running = None
            if watch:
                watch.stop()
        check_interrupted(running)

    def watch(self, running: Running, probe: float | None) -> Watch | None:
        interval = self.db.progress_interval
        if interval <= 0 and probe is None:
            return None
        if self.watcher is None:
            self.watcher = Watch(self.log)
            self.watcher.start()
        self.watcher.watch(running, interval, probe)
        return self.watcher

    def failure(self, m, statements, path, n: int, transactional: bool, exc, blockers) -> MigrationFailed:
        statement = statements[n - 1]
        message = f"migration {m.version} failed: {path.name} line {statement.line}: {self.db.describe_error(exc)}"
        details = [f"  statement {n} of {len(statements)} (line {statement.line}): {snippet(statement.sql)}"]
        details += [f"  {line}" for line in self.db.error_details(exc)]
        details += already_run(statements, n, transactional)
        fields = dict(statement=f"{n} of {len(statements)}", line=statement.line)
        if not self.db.is_lock_timeout(exc):
            return MigrationFailed(message, details=details, fields=fields)
        if not blockers:  # not read while waiting (or not blocked then): what the database tells now
            blockers = self.db.lock_blockers()
        details += (["  sessions holding or queued ahead for the lock:"] + [f"    {b}" for b in blockers]
                    if blockers else ["  the database did not name the sessions holding the lock"])
        error = LockContention(message, safe=True, details=details, fields=dict(fields, blockers=blockers))
        error.retrying = self.try_number <= self.db.ddl_lock_retries
        return error

    def drop_invalid_index(self, m, sql: str) -> None:
        """An INVALID index of the name this CREATE INDEX CONCURRENTLY builds is what a failed
        run of it left: drop it, so the build starts again (IF NOT EXISTS would keep it)."""
        found = re.match(_CREATE_CONCURRENTLY, sql, re.IGNORECASE)
        if not found:
            return
        name = found.group(1)
        name = name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()
        if self.db.invalid_index(name):
            self.log.warning("MIGRATION_INVALID_INDEX_DROPPED", version=m.version, index=name,
                             message=f"dropping the INVALID index {name} that a failed run left, "
                                     "before building it again")
            self.db.run_script_statement(f"DROP INDEX CONCURRENTLY IF EXISTS {self.db.quote(name)}")
