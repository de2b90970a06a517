"""Running one backfill: batches over key ranges, a checkpoint per batch, a lease per runner.

Design choices:

- **Batch bounds follow the rows.** ``lo`` is one past the checkpoint (``last_key``) or
  the smallest key; ``hi`` is one past the key of the ``size``-th row at or after ``lo``
  (a keyset ``ORDER BY key LIMIT 1 OFFSET size-1`` on the key index), or one past the
  largest key for the last batch. Sparse keys never produce empty batches, and
  ``last_key`` is always a real key: the highest one already processed. ``rows_done``
  counts the rows in the processed ranges (exact for a unique key, which the key
  column is expected to be); the statement's own row count is reported as "changed".
- **One runner per backfill: a lease with a heartbeat** in the checkpoint row (``runner``,
  ``heartbeat_at``, ``lease_until``). A runner claims the backfill when no other runner
  holds a live lease (``lease_until`` not yet passed), renews the lease with every batch
  and while it sleeps, and gives it up when it stops (completed, paused, failed, or a
  SIGTERM/SIGINT). A second runner waits for a live lease up to ``--lock-timeout``, then
  exits 5; a runner that died (SIGKILL, a lost node) stops renewing, its backfill shows
  as ``interrupted`` in ``backfill status`` once the lease has run out, and the next
  runner takes it over from the checkpoint. Unlike a database session lock, an expired
  lease cannot be held by a connection the server has not yet noticed is dead. The lease
  lasts ``$MIGRATOR_BACKFILL_LEASE_SECONDS`` (default 30 s), renewed every sixth of it.
- **Two runners never process the same batch**: every batch re-reads the row under its
  lock and runs only when this runner still holds the lease, so a runner whose lease was
  taken over stops before its next batch, whatever the clocks say.
- **Signals**: on SIGTERM or SIGINT the runner finishes the batch in flight (about a
  second at most), logs ``MIGRATION_BACKFILL_INTERRUPTED``, releases its lease with the
  checkpoint intact (status ``running``: the next run continues) and exits 143 or 130.
- **Status is re-read under a row lock before every batch**: each batch transaction
  first locks its checkpoint row (``SELECT ... FOR UPDATE``; SQLite's ``BEGIN
  IMMEDIATE``). ``pause``/``resume``/``restart`` update that row in their own
  transaction, so they wait for the batch in flight (at most about a second) and the
  runner sees the change before its next batch: ``paused`` stops it, ``pending`` (a
  restart or a resume) is adopted and continued from the row's checkpoint.
- **Adaptive batch size**: every batch transaction is timed. A run starts at
  ``min(batch_size, 100)`` rows; a batch that took under 0.12 s grows the next one (in
  proportion, at most 4x), one that took over 0.35 s shrinks it in proportion, both
  aiming at 0.25 s (room for the 2-3x I/O hiccups of a busy server); never above the
  declared ``batch_size``, which is the operator's cap. As a hard guard, PostgreSQL and
  CockroachDB (``statement_timeout``) and MariaDB (``max_statement_time``) cancel any
  backfill statement running past 2 s; the batch rolls back and is retried at 1/8 of
  its size (MySQL 8 has no such guard for UPDATE: adaptive sizing only). Other
  transient errors (lock timeout, deadlock, serialization failure, SQLite busy) halve
  it. After 4 failed attempts in a row the backfill is marked failed. The longest batch
  (cancelled attempts included) is recorded in the ``MIGRATION_BACKFILL_COMPLETED`` event.
- **SQLite** has one writer: the runner leaves at least 20 ms between batches so that
  ``pause`` from another process gets the write lock.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import DBAPIError

from migrator.backfill.declaration import Backfill, bind_sql
from migrator.backfill.store import Checkpoint, Checkpoints
from migrator.dialects import sql_family
from migrator.dialects.base import driver_error
from migrator.dialects.mysql import errno
from migrator.dialects.sqlite import is_busy
from migrator.errors import Interrupted, LockTimeout, MigratorError, UsageError
from migrator.execute import DATABASE_ERRORS
from migrator.locking import held
from migrator.tracking import utcnow

START_BATCH = 100  # first batch of every run; grows while batches are fast
AIM_SECONDS = 0.25  # the batch duration the size controller aims at
FAST_SECONDS = 0.12  # a batch faster than this grows (at most GROWTH times) ...
SLOW_SECONDS = 0.35  # ... one slower than this shrinks in proportion
GROWTH = 4
MAX_SECONDS = 1.0  # a batch longer than this is logged as a warning
BATCH_TIMEOUT_SECONDS = 2.0  # hard guard: the database cancels a statement running longer
TIMEOUT_SHRINK = 8  # a cancelled batch is retried at 1/8 of its size
PROGRESS_SECONDS = 2.0  # MIGRATION_BACKFILL_PROGRESS at most this often (and after the first batch)
DRAW_SECONDS = 0.2  # TTY progress line refresh
SQLITE_GAP_SECONDS = 0.02  # SQLite: let other writers (pause) take the file lock between batches
RETRIES = 4  # transient errors in a row before the backfill is marked failed
EXACT_COUNT_BELOW = 5_000_000  # trust the catalog's row estimate above this, count below it
LEASE_ENV = "MIGRATOR_BACKFILL_LEASE_SECONDS"  # how long a runner's lease lasts without renewal
DEFAULT_LEASE_SECONDS = 30.0
LEASE_POLL_SECONDS = 1.0  # a waiting runner looks at the lease this often


_ESTIMATES = {
    "postgres": "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)",
    "mysql": "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
             "AND TABLE_NAME = :name",
}
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock_not_available
_TRANSIENT_MYSQL = {1205, 1213}  # lock wait timeout, deadlock
_TIMEOUT_SQLSTATES = {"57014"}  # query_canceled: our statement_timeout
_TIMEOUT_MYSQL = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time
_STATEMENT_TIMEOUT = {  # (set, reset) for the batch guard; SQLite has none (one local writer)
    "postgres": ("SET statement_timeout = '{ms}ms'", "RESET statement_timeout"),
    "mysql": ("SET SESSION max_statement_time = {s}", "SET SESSION max_statement_time = DEFAULT"),
}


def is_timeout(exc: BaseException) -> bool:
    """The batch guard cancelled a statement that ran too long."""
    return getattr(driver_error(exc), "sqlstate", None) in _TIMEOUT_SQLSTATES or errno(exc) in _TIMEOUT_MYSQL


def is_transient(exc: BaseException) -> bool:
    """A lock or serialization conflict worth retrying with a smaller batch."""
    if getattr(driver_error(exc), "sqlstate", None) in _TRANSIENT_SQLSTATES or errno(exc) in _TRANSIENT_MYSQL:
        return True
    return is_timeout(exc) or is_busy(exc)


def next_batch_size(size: int, seconds: float, cap: int) -> int:
    """Aim the next batch at AIM_SECONDS: keep a size whose batch took between FAST and SLOW
    seconds, else scale it in proportion (growing at most GROWTH times); 1..``cap``."""
    if FAST_SECONDS <= seconds <= SLOW_SECONDS:
        return max(1, min(cap, size))
    wanted = int(size * AIM_SECONDS / max(seconds, 1e-6))
    if seconds > SLOW_SECONDS:
        wanted = min(wanted, size - 1)
    return max(1, min(cap, size * GROWTH, wanted))


class BatchFailed(Exception):
    """A batch could not run (e.g. a key that is not an integer)."""


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    batches: int = 0
    rows: int = 0  # rows covered by this run's batches
    affected: int = 0  # rows the statements reported as changed
    longest: float = 0.0
    retries: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0


class Progress:
    """A line rewritten in place on a TTY, and throttled PROGRESS events."""

    def __init__(self, job: BackfillJob):
        self.job = job
        self.tty = sys.stderr is not None and sys.stderr.isatty()
        self.last_event = 0.0
        self.last_draw = 0.0
        self.drawn = False

    def eta(self, rows_done: int, total: int | None, rate: float) -> float | None:
        if not total or rate <= 0 or rows_done >= total:
            return None
        return round((total - rows_done) / rate, 1)

    def line(self, cp: Checkpoint, stats: Stats) -> str:
        total = f"{cp.total_estimate:,}" if cp.total_estimate else "?"
        pct = f" ({cp.percent:.1f}%)" if cp.percent is not None else ""
        eta = self.eta(cp.rows_done, cp.total_estimate, stats.rate)
        eta_text = f", ETA {_duration(eta)}" if eta is not None else ""
        return (f"backfill {cp.name}: {cp.rows_done:,}/{total} rows{pct}, "
                f"{stats.rate:,.0f} rows/s{eta_text}, batch {self.job.size:,}")

    def update(self, cp: Checkpoint, stats: Stats) -> None:
        now = time.monotonic()
        if self.tty and now - self.last_draw >= DRAW_SECONDS:
            self.draw(self.line(cp, stats))
            self.last_draw = now
        if stats.batches == 1 or now - self.last_event >= PROGRESS_SECONDS:
            self.last_event = now
            self.clear()
            self.job.event("MIGRATION_BACKFILL_PROGRESS", rows_done=cp.rows_done,
                           total_estimate=cp.total_estimate, percent=cp.percent, last_key=cp.last_key,
                           rows_per_second=round(stats.rate, 1),
                           eta_seconds=self.eta(cp.rows_done, cp.total_estimate, stats.rate),
                           batch_size=self.job.size, batches=stats.batches)

    def draw(self, text: str) -> None:
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.drawn = False

    def finish(self, cp: Checkpoint, stats: Stats) -> None:
        if self.tty and self.drawn:
            self.draw(self.line(cp, stats))
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.drawn = False


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


# -- leases and signals -------------------------------------------------------------------
def lease_seconds() -> float:
    """How long a runner's lease lasts without renewal: ``$MIGRATOR_BACKFILL_LEASE_SECONDS``."""
    raw = os.environ.get(LEASE_ENV, "").strip()
    if not raw:
        return DEFAULT_LEASE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < 86400:
        raise UsageError(f"{LEASE_ENV}={raw!r}: expected a number of seconds between 0 and 86400")
    return value


def runner_id() -> str:
    """Who holds a lease: the host (a pod's name in Kubernetes), the pid, and a nonce."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:6]}"


class StopSignal:
    """SIGTERM/SIGINT noted while backfills run; the runner acts on it between batches."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signum: int | None = None

    def note(self, signum, _frame) -> None:
        self.signum = signum

    @contextmanager
    def installed(self):
        try:
            previous = {s: signal.signal(s, self.note) for s in self.SIGNALS}
        except ValueError:  # not the main thread: signals stay with whoever handles them
            previous = {}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class Lease:
    """A runner's lease on one backfill, as ``held`` takes it: claimed under the checkpoint
    row's lock (waiting up to the lock timeout while another runner holds a live one), given
    back with the checkpoint intact. ``acquire`` returns the row as it was before the claim."""

    wait_event = "MIGRATION_BACKFILL_LEASE_WAIT"
    release_failed_event = "MIGRATION_BACKFILL_LEASE_RELEASE_FAILED"

    def __init__(self, job: BackfillJob, total: int | None):
        self.job, self.total = job, total

    def acquire(self, on_wait) -> Checkpoint:
        return self.job.wait_for_lease(self.total, on_wait)

    def release(self) -> None:
        self.job.store.release(self.job.bf.name, self.job.runner_id)

    def release_failed(self, exc: BaseException) -> dict:
        return dict(message="could not release the backfill lease: it runs out by itself",
                    lease_seconds=self.job.lease, error=self.job.describe(exc))


class BackfillJob:
    """One backfill on one open database, run while this runner holds its lease."""

    def __init__(self, runner, bf: Backfill, lock_timeout: float = 0.0, stop: StopSignal | None = None):
        self.db = runner.db
        self.bf = bf
        self.tracker = runner.tracker
        self.store = Checkpoints(runner.db, runner.service)
        dialect = runner.db.files_dialect
        self.sql = bind_sql(bf.statement(dialect), dialect)
        self.t, self.k = runner.db.quote(bf.table), runner.db.quote(bf.key)
        self.log = runner.log.bind(backfill=bf.name)
        self.size = min(bf.batch_size, START_BATCH)
        self.stats = Stats()
        self.progress = Progress(self)
        self.current: tuple[int | None, int | None] = (None, None)
        self.cp: Checkpoint | None = None
        self.lock_timeout = lock_timeout
        self.stop_signal = stop or StopSignal()
        self.runner_id = runner_id()
        self.lease = lease_seconds()
        self.renewed = time.monotonic()

    # -- events ------------------------------------------------------------------
    def event(self, name: str, **detail) -> None:
        detail = {"backfill": self.bf.name, **detail}
        self.tracker.event(name, self.bf.requires, **detail)
        (self.log.error if name.endswith("FAILED") else self.log.info)(name, **detail)

    # -- the run -------------------------------------------------------------------
    def run(self) -> str:
        """Claim the backfill and run batches until completed, paused or signalled."""
        cp = self.store.get(self.bf.name)
        if cp.status in ("paused", "completed"):  # checked again under the row lock when claiming
            self.cp = cp
            return f"already-{cp.status}"
        total = self.estimate()
        with held(Lease(self, total), self.log) as cp:
            if cp.status in ("paused", "completed"):
                self.cp = cp
                return f"already-{cp.status}"
            self.start(cp, total)
            gap = max(self.bf.pause_ms / 1000, SQLITE_GAP_SECONDS if self.db.files_dialect == "sqlite" else 0.0)
            with self.batch_guard():
                while True:
                    self.check_signal()
                    outcome = self.step()
                    if outcome is not None:
                        return self.stop(outcome)
                    if gap:
                        self.wait(gap)

    # -- the lease -----------------------------------------------------------------
    def lease_values(self) -> dict:
        now = utcnow()
        self.renewed = time.monotonic()
        return dict(runner=self.runner_id, heartbeat_at=now, lease_until=now + timedelta(seconds=self.lease))

    def renew(self) -> None:
        """The heartbeat between batches (while sleeping), if the lease is still ours. A
        failed renewal is only logged: the next batch finds out whether the lease is lost."""
        values = self.lease_values()
        try:
            self.store.renew(self.bf.name, self.runner_id, heartbeat_at=values["heartbeat_at"],
                             lease_until=values["lease_until"])
        except DATABASE_ERRORS as exc:
            self.log.warning("MIGRATION_BACKFILL_LEASE_RENEWAL_FAILED", message="could not renew the backfill lease",
                             error=self.describe(exc))

    def wait(self, seconds: float) -> None:
        """Sleep, renewing the lease when due; a signal cuts it short."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and self.stop_signal.signum is None:
            if self.cp is not None and time.monotonic() - self.renewed >= self.lease / 6:
                self.renew()
            time.sleep(min(left, 0.1))

    def check_signal(self, claimed: bool = True) -> None:
        if self.stop_signal.signum is None:
            return
        self.progress.clear()
        sig = self.stop_signal.name
        if not claimed:
            raise Interrupted(f"backfill {self.bf.name}: {sig} while waiting for another runner's lease; "
                              "no work done", signum=self.stop_signal.signum,
                              hint="`migrator backfill status` shows who runs it")
        cp = self.cp
        self.event("MIGRATION_BACKFILL_INTERRUPTED", signal=sig, rows_done=cp.rows_done, last_key=cp.last_key,
                   rows_this_run=self.stats.rows, batches=self.stats.batches)
        where = f"after key {cp.last_key}" if cp.last_key is not None else "from the start"
        raise Interrupted(f"backfill {self.bf.name} interrupted by {sig}: stopped after its current batch with "
                          f"{cp.rows_done:,} rows done, last key {cp.last_key}; lease released",
                          signum=self.stop_signal.signum,
                          hint=f"the checkpoint is intact: the next `migrator backfill run` continues {where}")

    @contextmanager
    def batch_guard(self):
        """Have the database cancel any statement running past BATCH_TIMEOUT_SECONDS."""
        statements = _STATEMENT_TIMEOUT.get(sql_family(self.db.files_dialect))
        armed = statements is not None and self.session_setting(statements[0].format(
            ms=int(BATCH_TIMEOUT_SECONDS * 1000), s=BATCH_TIMEOUT_SECONDS))
        try:
            yield
        finally:
            if armed:
                self.session_setting(statements[1])

    def session_setting(self, sql: str) -> bool:
        try:
            self.db.run_script_statement(sql)
            return True
        except DBAPIError as exc:  # e.g. MySQL 8 has no max_statement_time: adaptive sizing only
            self.log.debug("MIGRATION_BACKFILL_BATCH_LIMIT_UNAVAILABLE", statement=sql, error=self.describe(exc),
                           message="batch time limit not available: adaptive sizing only")
            return False

    def start(self, cp: Checkpoint, total: int | None) -> None:
        """The lease is taken (``cp``: the row as it was before): say from where this run starts."""
        self.cp = self.store.get(self.bf.name)
        taken_over = cp.runner if cp.runner not in (None, self.runner_id) and cp.lease_until is not None else None
        if taken_over:
            self.log.warning("MIGRATION_BACKFILL_TAKEOVER", message="taking over from a runner that stopped "
                             "renewing its lease", previous_runner=taken_over, last_heartbeat=cp.heartbeat_at)
        if cp.status == "failed":
            self.log.warning("MIGRATION_BACKFILL_RETRY", previous_error=cp.error,
                             message="retrying a failed backfill from its checkpoint")
        self.event("MIGRATION_BACKFILL_STARTED", table=self.bf.table, previous_status=cp.status,
                   from_key=cp.last_key, rows_done=cp.rows_done, total_estimate=total,
                   batch_size=self.bf.batch_size, pause_ms=self.bf.pause_ms, runner=self.runner_id,
                   taken_over_from=taken_over)

    def wait_for_lease(self, total: int | None, on_wait) -> Checkpoint:
        """Claim the lease, waiting up to the lock timeout while another runner holds a
        live one; returns the row as it was before the claim."""
        deadline = time.monotonic() + self.lock_timeout
        logged = False
        while True:
            cp = self.try_claim(total)
            if cp.status in ("paused", "completed") or not self.held_by_other(cp):
                return cp
            if time.monotonic() >= deadline:
                raise self.lease_timeout(cp)
            if not logged:
                on_wait(message="another runner holds this backfill's lease: waiting", holder=cp.runner,
                        last_heartbeat=cp.heartbeat_at, lock_timeout=self.lock_timeout)
                logged = True
            self.wait(LEASE_POLL_SECONDS)
            self.check_signal(claimed=False)

    def held_by_other(self, cp: Checkpoint) -> bool:
        return cp.lease_live() and cp.runner != self.runner_id

    def try_claim(self, total: int | None) -> Checkpoint:
        """One look under the row lock: take the lease unless another runner holds a live
        one (or it is paused or completed). Returns the row as it was."""
        with self.db.transaction():
            cp = self.store.get(self.bf.name, for_update=True)
            if cp.status in ("paused", "completed") or self.held_by_other(cp):
                return cp
            values = dict(status="running", error=None, total_estimate=total, **self.lease_values())
            if cp.started_at is None:
                values["started_at"] = utcnow()
            self.store.update(self.bf.name, **values)
        return cp

    def lease_timeout(self, cp: Checkpoint) -> LockTimeout:
        return LockTimeout(f"backfill {self.bf.name}: another runner holds its lease ({cp.runner}, last "
                           f"heartbeat {cp.heartbeat_at}); not released within {self.lock_timeout:g}s",
                           hint="wait for the other runner (see `migrator backfill status`), or raise "
                                "--lock-timeout; a runner that died loses its lease after "
                                f"{self.lease:g}s without a heartbeat")

    def estimate(self) -> int | None:
        """Rows in the table: the catalog's estimate for big tables, else an exact count."""
        estimate = None
        sql = _ESTIMATES.get(sql_family(self.db.files_dialect))
        if sql is not None:
            name = self.t if self.db.files_dialect != "mysql" else self.bf.table
            try:
                rows = self.db.query(sql, {"name": name})
                estimate = int(rows[0][0]) if rows and rows[0][0] is not None else None
            except DBAPIError:
                pass
        if estimate is not None and estimate >= EXACT_COUNT_BELOW:
            return estimate
        try:
            return int(self.db.query(f"SELECT COUNT(*) FROM {self.t}")[0][0])
        except DBAPIError:
            return None  # the first batch reports the real error

    def step(self) -> str | None:
        """One batch with retries; returns a reason to stop, or None to go on."""
        started = time.monotonic()
        try:
            outcome = self.batch()
        except (*DATABASE_ERRORS, BatchFailed) as exc:
            self.stats.longest = max(self.stats.longest, time.monotonic() - started)
            if is_transient(exc) and self.stats.retries < RETRIES:
                return self.retry(exc)
            self.fail(exc)
        self.stats.retries = 0
        return outcome

    def retry(self, exc: BaseException) -> None:
        self.stats.retries += 1
        timeout = is_timeout(exc)
        self.size = max(1, self.size // (TIMEOUT_SHRINK if timeout else 2))
        self.log.warning("MIGRATION_BACKFILL_BATCH_CANCELLED" if timeout else "MIGRATION_BACKFILL_BATCH_RETRY",
                         message="batch cancelled after the batch time limit: retrying it smaller" if timeout
                         else "transient batch error: retrying with a smaller batch",
                         error=self.describe(exc), attempt=self.stats.retries, batch_size=self.size)
        self.wait(0.25 * 2 ** self.stats.retries)
        return None

    def batch(self) -> str | None:
        """Lock the checkpoint row, process [lo, hi), advance the checkpoint: one transaction."""
        started = time.monotonic()
        self.current = (None, None)
        with self.db.transaction():
            cp = self.store.get(self.bf.name, for_update=True)
            if cp.runner != self.runner_id:  # another runner took over: not one more batch here
                self.cp = cp
                return "taken-over"
            if cp.status not in ("running", "pending"):
                self.cp = cp
                return cp.status
            lo = cp.last_key + 1 if cp.last_key is not None else self.smallest_key()
            hi, rows, last = self.bounds(lo)
            self.current = (lo, hi)
            if rows:
                self.stats.affected += max(0, self.execute(lo, hi))
            done = rows == 0 or last
            values = dict(status="completed" if done else "running", rows_done=cp.rows_done + rows,
                          last_key=hi - 1 if rows else cp.last_key, **self.lease_values())
            if done:
                values.update(completed_at=utcnow(), total_estimate=cp.rows_done + rows)
            self.store.update(self.bf.name, **values)
        self.account(cp, rows, values, time.monotonic() - started)
        return "completed" if done else None

    def account(self, before: Checkpoint, rows: int, values: dict, seconds: float) -> None:
        self.cp = Checkpoint(self.bf.name, values["status"], values["last_key"], values["rows_done"],
                             values.get("total_estimate", before.total_estimate), before.started_at,
                             runner=self.runner_id)
        self.stats.batches += 1
        self.stats.rows += rows
        self.stats.longest = max(self.stats.longest, seconds)
        if seconds > MAX_SECONDS:
            self.log.warning("MIGRATION_BACKFILL_BATCH_SHRUNK", message="slow backfill batch: shrinking it",
                             seconds=round(seconds, 3), rows=rows, batch_size=self.size)
        if rows >= self.size:  # the last, partial batch says nothing about the size
            self.size = next_batch_size(self.size, seconds, self.bf.batch_size)
        self.progress.update(self.cp, self.stats)

    def smallest_key(self) -> int | None:
        return self.integer_key(self.db.query(f"SELECT MIN({self.k}) FROM {self.t}")[0][0])

    def bounds(self, lo: int | None) -> tuple[int, int, bool]:
        """(hi, rows in [lo, hi), whether this is the last batch)."""
        if lo is None:
            return 0, 0, True
        rows = self.db.query(f"SELECT {self.k} FROM {self.t} WHERE {self.k} >= :lo ORDER BY {self.k} "
                             f"LIMIT 1 OFFSET :offset", {"lo": lo, "offset": self.size - 1})
        if rows:
            return self.integer_key(rows[0][0]) + 1, self.size, False
        count, top = self.db.query(f"SELECT COUNT(*), MAX({self.k}) FROM {self.t} WHERE {self.k} >= :lo",
                                   {"lo": lo})[0]
        return (self.integer_key(top) + 1 if count else lo), int(count), True

    def integer_key(self, value) -> int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise BatchFailed(f"key column {self.bf.table}.{self.bf.key} holds a non-integer value {value!r}: "
                          "backfills need an integer key")

    def execute(self, lo: int, hi: int) -> int:
        return self.db.run(self.sql, {"lo": lo, "hi": hi}).rowcount

    # -- endings -------------------------------------------------------------------
    def describe(self, exc: BaseException) -> str:
        return str(exc) if isinstance(exc, BatchFailed) else self.db.describe_error(exc)

    def fail(self, exc: BaseException):
        lo, hi = self.current
        where = f"batch [{lo}, {hi})" if lo is not None else "preparing a batch"
        error = f"{where}: {self.describe(exc)}"
        self.progress.clear()
        try:
            self.store.update(self.bf.name, status="failed", error=error[:4000])
            self.event("MIGRATION_BACKFILL_FAILED", error=error, lo=lo, hi=hi,
                       rows_done=self.cp.rows_done if self.cp else None,
                       last_key=self.cp.last_key if self.cp else None)
        except DATABASE_ERRORS:
            self.log.error("MIGRATION_BACKFILL_FAILED", error=error, recorded=False)
        last = self.cp.last_key if self.cp else None
        where = f"after key {last}" if last is not None else "from the start"
        raise MigratorError(f"backfill {self.bf.name} failed: {error}",
                            hint=f"the failed batch was rolled back; fix the cause (or {self.bf.path.name}) "
                                 f"and run it again: it continues {where}") from None

    def stop(self, outcome: str) -> str:
        self.progress.finish(self.cp, self.stats)
        if outcome == "completed":
            self.event("MIGRATION_BACKFILL_COMPLETED", rows_done=self.cp.rows_done, last_key=self.cp.last_key,
                       rows_this_run=self.stats.rows, rows_changed=self.stats.affected,
                       batches=self.stats.batches, elapsed_seconds=round(self.stats.elapsed, 3),
                       rows_per_second=round(self.stats.rate, 1),
                       longest_batch_ms=round(self.stats.longest * 1000, 1), final_batch_size=self.size)
        elif outcome == "paused":
            self.event("MIGRATION_BACKFILL_PAUSED", by="runner", rows_done=self.cp.rows_done,
                       last_key=self.cp.last_key, rows_this_run=self.stats.rows,
                       longest_batch_ms=round(self.stats.longest * 1000, 1))
        elif outcome == "taken-over":
            self.log.warning("MIGRATION_BACKFILL_LEASE_LOST", message="another runner took this backfill over "
                             "(this runner's lease had run out): stopping", new_runner=self.cp.runner,
                             rows_done=self.cp.rows_done, last_key=self.cp.last_key)
        return outcome
