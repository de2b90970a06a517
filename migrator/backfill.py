"""Resumable background backfills: batches over key ranges, a checkpoint per batch, a lease per runner.

A backfill is declared in ``migrations/<service>/backfills/<name>.toml`` and fills
derived data one key range ``[lo, hi)`` at a time, each range in its own short
transaction together with its checkpoint row in ``<prefix>_backfills``. A runner
killed at any moment (SIGKILL included) loses at most the batch in flight, and no
row is processed twice: the batch and the checkpoint commit or roll back together.

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
- ``:lo`` and ``:hi`` are real driver parameters: the declared SQL is scanned (string
  literals, quoted identifiers, comments and dollar quotes are skipped) and each
  ``:lo``/``:hi`` becomes the driver's placeholder; nothing is formatted into the SQL.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import null, select, update
from sqlalchemy.exc import DBAPIError

from migrator import log
from migrator.dialects.base import driver_error
from migrator.dialects.mysql import errno
from migrator.dialects.sqlite import is_busy
from migrator.errors import ExitStatus, Interrupted, LockTimeout, MigratorError, UsageError
from migrator.execute import DATABASE_ERRORS
from migrator.source import Service, read_toml, select_service
from migrator.tables import own_tables
from migrator.tracking import iso, utcnow

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
KEYS = {"requires", "table", "key", "batch_size", "pause_ms", "description", "sql"}
REQUIRED = ("requires", "table", "key", "batch_size", "sql")
SQL_DIALECTS = ("postgres", "mysql", "sqlite", "cockroach")
STATUSES = ("pending", "running", "paused", "completed", "failed")

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


# -- declarations ---------------------------------------------------------------------
_COMMON = r"""
  (?P<line>--[^\n]*)
| (?P<block>/\*.*?(?:\*/|\Z))
| (?P<param>(?<![:\w]):(?:lo|hi)(?!\w))
| (?P<semi>;)
| (?P<qmark>\?)
"""
_LITERALS = {
    "postgres": r"""
| (?P<estr>(?<!\w)[Ee]'(?:[^'\\]|''|\\.)*(?:'|\Z))
| (?P<str>'(?:[^']|'')*(?:'|\Z))
| (?P<ident>"(?:[^"]|"")*(?:"|\Z))
| (?P<dollar>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)
""",
    "mysql": r"""
| (?P<hash>\#[^\n]*)
| (?P<str>'(?:[^'\\]|''|\\.)*(?:'|\Z))
| (?P<dq>"(?:[^"\\]|""|\\.)*(?:"|\Z))
| (?P<bt>`(?:[^`]|``)*(?:`|\Z))
""",
    "sqlite": r"""
| (?P<str>'(?:[^']|'')*(?:'|\Z))
| (?P<ident>"(?:[^"]|"")*(?:"|\Z))
| (?P<bt>`(?:[^`]|``)*(?:`|\Z))
| (?P<br>\[[^\]]*(?:\]|\Z))
""",
}
_TOKENS = {d: re.compile(_COMMON + _LITERALS[d], re.VERBOSE | re.DOTALL) for d in _LITERALS}


@dataclass(frozen=True)
class BoundSql:
    """A declared statement with ``:lo``/``:hi`` turned into driver placeholders."""

    text: str
    order: tuple[str, ...]  # "lo"/"hi" in placeholder order

    def params(self, lo: int, hi: int) -> tuple[int, ...]:
        return tuple(lo if name == "lo" else hi for name in self.order)


def bind_sql(sql: str, dialect: str, placeholder: str = "?") -> BoundSql:
    """Replace ``:lo``/``:hi`` outside literals and comments by ``placeholder``.

    With ``%s`` drivers (psycopg, PyMySQL) a literal ``%`` is doubled. Raises
    ValueError when the text is not exactly one statement or lacks ``:lo``/``:hi``.
    """
    key = "postgres" if dialect == "cockroach" else dialect
    escape = (lambda s: s.replace("%", "%%")) if placeholder == "%s" else (lambda s: s)
    out, order, pos, last, end_of_sql = [], [], 0, 0, len(sql)
    while (m := _TOKENS[key].search(sql, pos)) is not None:
        kind, pos = m.lastgroup, m.end()
        if kind == "dollar":
            close = sql.find(m.group(0), pos)
            pos = len(sql) if close < 0 else close + len(m.group(0))
        elif kind == "param":
            out += [escape(sql[last:m.start()]), placeholder]
            order.append(m.group(0)[1:])
            last = pos
        elif kind == "semi":
            if _code_after(sql, pos, key):
                raise ValueError("must be exactly one statement (found a ';' followed by more SQL)")
            end_of_sql = m.start()
            break
        elif kind == "qmark" and key == "sqlite":
            raise ValueError("'?' placeholders are not allowed: write :lo and :hi")
    out.append(escape(sql[last:end_of_sql]))
    missing = [f":{n}" for n in ("lo", "hi") if n not in order]
    if missing:
        raise ValueError(f"must use {' and '.join(missing)} "
                         "(the key range [lo, hi) is bound by the migrator)")
    return BoundSql("".join(out).strip(), tuple(order))


def _code_after(sql: str, pos: int, key: str) -> bool:
    rest = re.sub(r"--[^\n]*|/\*.*?(?:\*/|\Z)" + (r"|\#[^\n]*" if key == "mysql" else ""), "", sql[pos:],
                  flags=re.DOTALL)
    return bool(rest.strip(" \t\r\n;"))


@dataclass(frozen=True)
class Backfill:
    name: str
    path: Path
    requires: int
    table: str
    key: str
    batch_size: int
    pause_ms: int
    description: str
    sql: dict[str, str]

    def statement(self, dialect: str) -> str | None:
        if dialect == "cockroach":
            return self.sql.get("cockroach") or self.sql.get("postgres")
        return self.sql.get(dialect)


def _bad(path: Path, problem: str) -> UsageError:
    return UsageError(f"{path}: invalid backfill declaration: {problem}")


def _integer(path: Path, data: dict, key: str, minimum: int, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(path, f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def _identifier(path: Path, data: dict, key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise _bad(path, f"{key} must be a plain identifier matching [A-Za-z_][A-Za-z0-9_]{{0,62}}, "
                         f"got {value!r}")
    return value


def _sql_table(path: Path, value) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise _bad(path, "[sql] must be a table with at least one of " + ", ".join(SQL_DIALECTS))
    unknown = sorted(set(value) - set(SQL_DIALECTS))
    if unknown:
        raise _bad(path, f"unknown [sql] key(s) {', '.join(unknown)} (known: {', '.join(SQL_DIALECTS)})")
    for dialect, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise _bad(path, f"sql.{dialect} must be a non-empty string")
        try:
            bind_sql(text, dialect)
        except ValueError as exc:
            raise _bad(path, f"sql.{dialect} {exc}") from None
    return dict(value)


def _read_toml(path: Path) -> dict:
    try:
        return read_toml(path)
    except ValueError as exc:
        raise _bad(path, str(exc)) from None


def parse_declaration(path: Path) -> Backfill:
    """Read and strictly validate one declaration; a bad file is a UsageError naming it."""
    name = path.name.removesuffix(".toml")
    if not NAME.fullmatch(name):
        raise _bad(path, f"the file name {name!r} must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,99}}")
    data = _read_toml(path)
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise _bad(path, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise _bad(path, f"missing required key(s) {', '.join(missing)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _bad(path, f"description must be a string, got {description!r}")
    return Backfill(
        name=name, path=path, requires=_integer(path, data, "requires", 1),
        table=_identifier(path, data, "table"), key=_identifier(path, data, "key"),
        batch_size=_integer(path, data, "batch_size", 1), pause_ms=_integer(path, data, "pause_ms", 0, 0),
        description=description, sql=_sql_table(path, data["sql"]),
    )


def check_for_dialect(bf: Backfill, service: Service, dialect: str) -> None:
    """The checks that need the dialect in use: its SQL exists, its required version ships."""
    if bf.statement(dialect) is None:
        fallback = " (cockroach falls back to postgres)" if dialect == "cockroach" else ""
        raise _bad(bf.path, f"no [sql] {dialect} statement for the database in use{fallback}")
    versions = {m.version for m in service.migrations(dialect)}
    if bf.requires not in versions:
        raise _bad(bf.path, f"requires = {bf.requires}, but service {service.name!r} ships no migration "
                            f"{bf.requires} for {dialect}")


def load_backfills(service: Service, dialect: str | None = None) -> list[Backfill]:
    """Every declaration of the service, in name order, validated before any connection."""
    folder = service.root / "backfills"
    if not folder.is_dir():
        return []
    found = [parse_declaration(p) for p in sorted(folder.iterdir())
             if p.suffix == ".toml" and not p.name.startswith(".") and p.is_file()]
    if dialect is not None:
        for bf in found:
            check_for_dialect(bf, service, dialect)
    return found


# -- checkpoints ------------------------------------------------------------------------
COLUMNS = ("name", "status", "last_key", "rows_done", "total_estimate", "started_at", "updated_at",
           "completed_at", "error", "runner", "heartbeat_at", "lease_until")
LEASE_COLUMNS = ("runner", "heartbeat_at", "lease_until")  # added to the tables of releases before leases


@dataclass
class Checkpoint:
    name: str
    status: str = "pending"
    last_key: int | None = None
    rows_done: int = 0
    total_estimate: int | None = None
    started_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None
    error: str | None = None
    runner: str | None = None  # the runner holding (or last holding) the lease
    heartbeat_at: str | None = None
    lease_until: datetime | None = None

    @classmethod
    def from_row(cls, row: tuple) -> Checkpoint:
        name, status, last_key, rows_done, total, started, updated, completed, error, runner, beat, until = row
        return cls(name, status, None if last_key is None else int(last_key), int(rows_done or 0),
                   None if total is None else int(total), iso(started), iso(updated), iso(completed), error,
                   runner, iso(beat), None if until is None else datetime.fromisoformat(iso(until)))

    def lease_live(self, now: datetime | None = None) -> bool:
        """A runner holds this backfill and renewed its lease recently enough."""
        return self.runner is not None and self.lease_until is not None and (now or utcnow()) < self.lease_until

    @property
    def shown_status(self) -> str:
        """``interrupted``: stored as running, but no runner holds a live lease."""
        return "interrupted" if self.status == "running" and not self.lease_live() else self.status

    @property
    def percent(self) -> float | None:
        if self.status == "completed":
            return 100.0
        if not self.total_estimate:
            return None
        return round(min(99.9, 100.0 * self.rows_done / self.total_estimate), 1)


class Checkpoints:
    """The ``<prefix>_backfills`` table: one row per backfill that was ever touched."""

    def __init__(self, db, service: Service):
        self.db = db
        self.service = service
        self.table = own_tables(service.table_prefix).backfills
        self.present: set[str] | None = None  # the table's columns, once looked up

    def exists(self) -> bool:
        return self.db.table_exists(self.service.backfills_table)

    def ensure(self) -> None:
        try:
            self.table.metadata.create_all(self.db.conn, tables=[self.table], checkfirst=True)
        except DBAPIError:  # another runner created it between the check and the CREATE
            if not self.exists():
                raise
        self.add_lease_columns()

    def add_lease_columns(self) -> None:
        """A table made by a release without leases gets the lease columns it lacks."""
        for column in LEASE_COLUMNS:
            if column in self.columns():
                continue
            kind = self.table.c[column].type.compile(dialect=self.db.conn.dialect)
            try:
                self.db.execute(f"ALTER TABLE {self.db.quote(self.table.name)} ADD COLUMN {column} {kind} NULL")
            except DBAPIError:  # another runner added it at the same moment
                if column not in self.columns():
                    raise
        self.present = None

    def selected(self) -> list:
        """The table's columns, with NULL for lease columns that a table of an earlier release
        lacks (``status`` reads such a table as it is; ``run`` adds them)."""
        if self.present is None:
            self.present = self.columns()
        return [c if c.name in self.present or c.name not in LEASE_COLUMNS else null().label(c.name)
                for c in self.table.columns]

    def columns(self) -> set[str]:
        prefix = f"column:{self.service.backfills_table.lower()}."
        return {o.removeprefix(prefix) for o in self.db.snapshot({self.service.backfills_table}, kinds=("column",))
                if o.startswith(prefix)}

    def ensure_row(self, name: str) -> None:
        self.db.run(self.db.insert_missing(self.table, dict(name=name, status="pending", rows_done=0,
                                                            updated_at=utcnow())))

    def get(self, name: str, for_update: bool = False) -> Checkpoint | None:
        query = select(*self.selected()).where(self.table.c.name == name)
        row = self.db.run(query.with_for_update() if for_update else query).first()
        return Checkpoint.from_row(tuple(row)) if row else None

    def all(self) -> dict[str, Checkpoint]:
        if not self.exists():
            return {}
        rows = self.db.run(select(*self.selected()).order_by(self.table.c.name))
        return {r[0]: Checkpoint.from_row(tuple(r)) for r in rows}

    def update(self, name: str, **values) -> None:
        assert set(values) <= set(COLUMNS) - {"name", "updated_at"}, values
        self.db.run(update(self.table).where(self.table.c.name == name).values(**values, updated_at=utcnow()))

    def reset(self, name: str) -> None:
        self.update(name, status="pending", last_key=None, rows_done=0, total_estimate=None,
                    started_at=None, completed_at=None, error=None)

    def renew(self, name: str, runner: str, **lease) -> None:
        """The new lease times, if ``runner`` still holds the lease."""
        t = self.table
        self.db.run(update(t).where(t.c.name == name, t.c.runner == runner).values(**lease))

    def release(self, name: str, runner: str) -> None:
        """Give up the lease, if ``runner`` still holds it; the checkpoint stays."""
        t = self.table
        self.db.run(update(t).where(t.c.name == name, t.c.runner == runner)
                    .values(lease_until=None, updated_at=utcnow()))


# -- running ----------------------------------------------------------------------------
_ESTIMATES = {
    "postgres": "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)",
    "cockroach": "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)",
    "mysql": "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
             "AND TABLE_NAME = :name",
}
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock_not_available
_TRANSIENT_MYSQL = {1205, 1213}  # lock wait timeout, deadlock
_TIMEOUT_SQLSTATES = {"57014"}  # query_canceled: our statement_timeout
_TIMEOUT_MYSQL = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time
_STATEMENT_TIMEOUT = {  # (set, reset) for the batch guard; SQLite has none (one local writer)
    "postgres": ("SET statement_timeout = '{ms}ms'", "RESET statement_timeout"),
    "cockroach": ("SET statement_timeout = '{ms}ms'", "RESET statement_timeout"),
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


class BackfillJob:
    """One backfill on one open database, run while this runner holds its lease."""

    def __init__(self, runner, bf: Backfill, lock_timeout: float = 0.0, stop: StopSignal | None = None):
        self.db = runner.db
        self.bf = bf
        self.tracker = runner.tracker
        self.store = Checkpoints(runner.db, runner.service)
        dialect = runner.db.files_dialect
        qmark = runner.db.conn.dialect.paramstyle == "qmark"  # sqlite3; psycopg and PyMySQL take %s
        self.sql = bind_sql(bf.statement(dialect), dialect, "?" if qmark else "%s")
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
        claimed = self.claim()
        if claimed is not None:
            return claimed
        gap = max(self.bf.pause_ms / 1000, SQLITE_GAP_SECONDS if self.db.files_dialect == "sqlite" else 0.0)
        try:
            with self.batch_guard():
                while True:
                    self.check_signal()
                    outcome = self.step()
                    if outcome is not None:
                        return self.stop(outcome)
                    if gap:
                        self.wait(gap)
        finally:
            self.release()

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

    def release(self) -> None:
        try:
            self.store.release(self.bf.name, self.runner_id)
        except DATABASE_ERRORS as exc:  # the connection is gone: the lease runs out by itself
            self.log.warning("MIGRATION_BACKFILL_LEASE_RELEASE_FAILED",
                             message="could not release the backfill lease: it runs out by itself",
                             lease_seconds=self.lease, error=self.describe(exc))

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
        statements = _STATEMENT_TIMEOUT.get(self.db.files_dialect)
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

    def claim(self) -> str | None:
        """Take the lease and mark it running, waiting up to the lock timeout for a live
        lease of another runner; returns why not when it is paused or already completed."""
        cp = self.store.get(self.bf.name)
        if cp.status in ("paused", "completed"):  # checked again under the row lock below
            self.cp = cp
            return f"already-{cp.status}"
        total = self.estimate()
        cp = self.wait_for_lease(total)
        if cp.status in ("paused", "completed"):
            self.cp = cp
            return f"already-{cp.status}"
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
        return None

    def wait_for_lease(self, total: int | None) -> Checkpoint:
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
                self.log.info("MIGRATION_BACKFILL_LEASE_WAIT", message="another runner holds this backfill's "
                              "lease: waiting", holder=cp.runner, last_heartbeat=cp.heartbeat_at,
                              lock_timeout=self.lock_timeout)
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
        sql = _ESTIMATES.get(self.db.files_dialect)
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
        return self.db.conn.exec_driver_sql(self.sql.text, self.sql.params(lo, hi)).rowcount

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


# -- commands ---------------------------------------------------------------------------
def command(config, action: str, name: str | None = None, fmt: str = "text") -> int:
    """``migrator backfill list|run|pause|resume|restart|status [NAME]``."""
    service = select_service(config.migrations_dir, config.service)
    if action == "list" and not config.dsn_text:
        return _list(service, _choose(load_backfills(service), name, service), {}, fmt, None)
    dialect = config.dsn.dialect
    chosen = _choose(load_backfills(service, dialect), name, service)
    if action == "run":
        lease_seconds()  # a bad setting is exit 2 before any connection
    from migrator.commands import session

    with session(config) as runner:
        if action == "list":
            return _list(service, chosen, Checkpoints(runner.db, service).all(), fmt, runner)
        if action == "status":
            return _status(runner, chosen, fmt, show_undeclared=name is None)
        if action == "run":
            return _run(config, runner, chosen)
        return _transitions(runner, chosen, action)


def _choose(backfills: list[Backfill], name: str | None, service: Service) -> list[Backfill]:
    """The named backfill, or without NAME every declared one (in name order)."""
    if name is None:
        return backfills
    chosen = [b for b in backfills if b.name == name]
    if not chosen:
        declared = ", ".join(b.name for b in backfills) or "none"
        raise UsageError(f"unknown backfill {name!r} for service {service.name} (declared: {declared}; "
                         f"files in {service.root / 'backfills'})")
    return chosen


def _ensure_tables(runner) -> Checkpoints:
    store = Checkpoints(runner.db, runner.service)
    store.ensure()
    if not runner.db.table_exists(runner.service.events_table):
        runner.tracker.ensure()
    return store


def _require_applied(runner, backfills: list[Backfill]) -> None:
    rows = runner.rows()
    for bf in backfills:
        row = rows.get(bf.requires)
        if row is None or row.dirty:
            title = runner.by_version[bf.requires].name
            state = "is dirty" if row is not None else "is not applied"
            raise MigratorError(
                f"backfill {bf.name} requires migration {bf.requires} ({title}), which {state} on "
                f"{runner.db.dsn.redacted()}",
                hint=f"apply migration {bf.requires} first (`migrator up`), then run the backfill",
            )


def _run(config, runner, chosen: list[Backfill]) -> int:
    if not chosen:
        log.result(f"No backfills declared for service {runner.service.name}.")
        return ExitStatus.OK
    _require_applied(runner, chosen)
    store = _ensure_tables(runner)
    with StopSignal().installed() as stop:
        for bf in chosen:
            store.ensure_row(bf.name)
            job = BackfillJob(runner, bf, config.lock_timeout, stop)
            log.result(_outcome_line(job, job.run()))
    return ExitStatus.OK


def _outcome_line(job: BackfillJob, outcome: str) -> str:
    cp, s, name = job.cp, job.stats, job.bf.name
    if outcome == "completed":
        return (f"Backfill {name} completed: {cp.rows_done:,} rows done ({s.rows:,} by this run, "
                f"{s.affected:,} changed) in {s.elapsed:.1f}s, {s.rate:,.0f} rows/s, {s.batches} batches, "
                f"longest batch {s.longest * 1000:.0f} ms.")
    if outcome == "already-paused":
        return (f"Backfill {name} is paused: no work done ({cp.rows_done:,} rows done, last key "
                f"{cp.last_key}). Resume it with `migrator backfill resume {name}`.")
    if outcome == "already-completed":
        return (f"Backfill {name} is already completed ({cp.rows_done:,} rows): nothing to do. "
                f"`migrator backfill restart {name}` runs it again.")
    if outcome == "paused":
        return (f"Backfill {name} paused: stopped after its current batch with {cp.rows_done:,} rows done, "
                f"last key {cp.last_key}.")
    if outcome == "taken-over":
        return (f"Backfill {name} was taken over by runner {cp.runner} (this runner's lease had run out): "
                f"stopped after its current batch ({cp.rows_done:,} rows done).")
    return f"Backfill {name} is now {outcome} (changed by another process): stopped after its current batch."


def _transitions(runner, chosen: list[Backfill], action: str) -> int:
    """pause / resume / restart of the named backfill, or of every declared one."""
    if not chosen:
        log.result(f"No backfills declared for service {runner.service.name}.")
        return ExitStatus.OK
    store = _ensure_tables(runner)
    for bf in chosen:
        _transition(runner, store, bf, action)
    return ExitStatus.OK


def _transition(runner, store: Checkpoints, bf: Backfill, action: str) -> None:
    """One checkpoint update and its event, in one transaction; no batches."""
    store.ensure_row(bf.name)
    with runner.db.transaction():
        cp = store.get(bf.name, for_update=True)
        event, message = _TRANSITIONS[action](store, bf, cp)
        if event:
            runner.tracker.event(event, bf.requires, backfill=bf.name, by="command",
                                 previous_status=cp.status, rows_done=cp.rows_done, last_key=cp.last_key)
    if event:
        runner.log.info(event, backfill=bf.name, by="command", previous_status=cp.status,
                        rows_done=cp.rows_done, last_key=cp.last_key)
    log.result(message)


def _pause(store: Checkpoints, bf: Backfill, cp: Checkpoint) -> tuple[str | None, str]:
    if cp.status in ("paused", "completed"):
        return None, f"Backfill {bf.name} is already {cp.status}: nothing to pause."
    store.update(bf.name, status="paused")
    return "MIGRATION_BACKFILL_PAUSED", (f"Backfill {bf.name} paused (was {cp.shown_status}, {cp.rows_done:,} "
                                         f"rows done, last key {cp.last_key}).{_pause_tail(cp)}")


def _pause_tail(cp: Checkpoint) -> str:
    """What happens to a runner: only one that holds a live lease is stopped."""
    if cp.lease_live():
        return f" Its runner {cp.runner} stops after its current batch."
    if cp.status == "running" and cp.runner:
        return f" No runner is active, none is stopped (last runner {cp.runner}, last heartbeat {cp.heartbeat_at})."
    return ""


def _resume(store: Checkpoints, bf: Backfill, cp: Checkpoint) -> tuple[str | None, str]:
    if cp.status not in ("paused", "failed"):
        extra = f" `migrator backfill restart {bf.name}` runs it again." if cp.status == "completed" else ""
        return None, f"Backfill {bf.name} is {cp.status}, not paused: nothing to resume.{extra}"
    store.update(bf.name, status="pending", error=None)
    where = f"after key {cp.last_key}" if cp.last_key is not None else "from the start"
    return "MIGRATION_BACKFILL_RESUMED", (f"Backfill {bf.name} resumed: pending; the next "
                                          f"`migrator backfill run` continues {where}.")


def _restart(store: Checkpoints, bf: Backfill, cp: Checkpoint) -> tuple[str | None, str]:
    store.reset(bf.name)
    return "MIGRATION_BACKFILL_RESTARTED", (f"Backfill {bf.name} reset to pending (was {cp.status}, "
                                            f"{cp.rows_done:,} rows done): the next run starts over "
                                            "from the lowest key.")


_TRANSITIONS = {"pause": _pause, "resume": _resume, "restart": _restart}


def _status_item(bf: Backfill | None, cp: Checkpoint | None, name: str) -> dict:
    cp = cp or Checkpoint(name)
    item = {"name": name, "status": cp.shown_status, "rows_done": cp.rows_done, "last_key": cp.last_key,
            "total_estimate": cp.total_estimate, "percent": cp.percent, "started_at": cp.started_at,
            "updated_at": cp.updated_at, "completed_at": cp.completed_at, "error": cp.error,
            "runner": cp.runner, "heartbeat_at": cp.heartbeat_at, "lease_live": cp.lease_live(),
            "declared": bf is not None}
    if bf is not None:
        item.update(requires=bf.requires, table=bf.table)
    return item


def _status(runner, chosen: list[Backfill], fmt: str, show_undeclared: bool) -> int:
    rows = Checkpoints(runner.db, runner.service).all()
    items = [_status_item(bf, rows.get(bf.name), bf.name) for bf in chosen]
    if show_undeclared:
        declared = {bf.name for bf in chosen}
        items += [_status_item(None, cp, n) for n, cp in rows.items() if n not in declared]
    if fmt == "json":
        import json

        log.result(json.dumps({"service": runner.service.name, "table_prefix": runner.service.table_prefix,
                               "backfills": items}))
        return ExitStatus.OK
    log.result(f"Backfills of service {runner.service.name} (checkpoints in "
               f"{runner.service.backfills_table}) on {runner.db.dsn.redacted()}")
    log.result(f"{'NAME':<36} {'STATUS':<11} {'ROWS DONE':>12} {'TOTAL':>12} {'PCT':>6}  "
               f"{'LAST KEY':<20} UPDATED AT")
    for i in items:
        total = f"{i['total_estimate']:,}" if i["total_estimate"] is not None else "-"
        pct = f"{i['percent']:.1f}%" if i["percent"] is not None else "-"
        last = "-" if i["last_key"] is None else str(i["last_key"])
        note = "" if i["declared"] else "  (no declaration)"
        log.result(f"{i['name'][:36]:<36} {i['status']:<11} {i['rows_done']:>12,} {total:>12} {pct:>6}  "
                   f"{last:<20} {i['updated_at'] or '-'}{note}")
        if i["lease_live"]:
            log.result(f"  runner: {i['runner']}, last heartbeat {i['heartbeat_at']}")
        elif i["status"] == "interrupted":
            log.result(f"  interrupted: no runner holds its lease (last runner {i['runner'] or '-'}, last "
                       f"heartbeat {i['heartbeat_at'] or '-'}); the next `migrator backfill run` continues it")
        if i["error"]:
            log.result(f"  error: {i['error']}")
    if not items:
        log.result("(no backfills declared)")
    return ExitStatus.OK


def _list(service: Service, chosen: list[Backfill], rows: dict, fmt: str, runner) -> int:
    items = [dict(name=bf.name, requires=bf.requires, table=bf.table, key=bf.key, batch_size=bf.batch_size,
                  pause_ms=bf.pause_ms, description=bf.description, file=str(bf.path),
                  dialects=sorted(bf.sql), status=(rows.get(bf.name) or Checkpoint(bf.name)).status
                  if runner is not None else None) for bf in chosen]
    if fmt == "json":
        import json

        log.result(json.dumps({"service": service.name, "backfills": items}))
        return ExitStatus.OK
    log.result(f"{'NAME':<36} {'REQUIRES':>8}  {'TABLE':<24} {'KEY':<12} {'BATCH':>8}  "
               f"{'STATUS':<10} DESCRIPTION")
    for i in items:
        log.result(f"{i['name'][:36]:<36} {i['requires']:>8}  {i['table'][:24]:<24} {i['key'][:12]:<12} "
                   f"{i['batch_size']:>8,}  {i['status'] or '-':<10} {i['description']}")
    if not items:
        log.result(f"(no backfills declared in {service.root / 'backfills'})")
    return ExitStatus.OK


__all__ = ["Backfill", "BoundSql", "Checkpoint", "Checkpoints", "bind_sql", "command", "load_backfills",
           "next_batch_size", "parse_declaration"]
