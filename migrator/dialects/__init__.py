"""One small class per database, behind one registry keyed by dialect name."""

from __future__ import annotations

import importlib
import time

from migrator import log
from migrator.config import DSN
from migrator.errors import DatabaseError, DatabaseUnreachable

FIRST_RETRY_DELAY = 0.5  # seconds; doubled after each refused attempt, up to MAX_RETRY_DELAY
MAX_RETRY_DELAY = 5.0


# dialect -> (module, class): a module (and its driver) is imported only when its dialect is used
_CLASSES = {
    "postgres": ("migrator.dialects.postgres", "Postgres"),
    "mysql": ("migrator.dialects.mysql", "MySQL"),
    "sqlite": ("migrator.dialects.sqlite", "SQLite"),
    "cockroach": ("migrator.dialects.cockroach", "Cockroach"),
}
DIALECTS = tuple(_CLASSES)  # also the migrations/<service>/<dialect> folder names
# a dialect that speaks another's SQL: it lints and splits as that one, and reads that one's
# migration folder beneath its own
_FALLBACK = {"cockroach": "postgres"}


def sql_family(dialect: str) -> str:
    """The dialect whose SQL ``dialect`` speaks (cockroach speaks postgres)."""
    return _FALLBACK.get(dialect, dialect)


def files_dialects(dialect: str) -> tuple[str, ...]:
    """The migration folders ``dialect`` reads, lowest priority first (cockroach: postgres, cockroach)."""
    return (_FALLBACK[dialect], dialect) if dialect in _FALLBACK else (dialect,)


def dialect_class(dialect: str):
    module, name = _CLASSES[dialect]
    return getattr(importlib.import_module(module), name)


def open_database(dsn: DSN, *, ddl_lock_timeout: float = 5.0, connect_timeout: float = 0.0,
                  ddl_lock_retries: int = 5, progress_interval: float = 30.0):
    """Connect and return the dialect object for ``dsn`` (drivers are imported lazily).

    A server that does not answer yet (refused, name not resolved) is tried again with
    backoff until ``connect_timeout`` seconds have passed, each attempt logged; a server
    that answers no (wrong password, unknown database) fails at once."""
    cls = dialect_class(dsn.dialect)
    deadline = time.monotonic() + connect_timeout
    attempt = 1
    while True:
        db = cls(dsn, ddl_lock_timeout=ddl_lock_timeout, ddl_lock_retries=ddl_lock_retries,
                 progress_interval=progress_interval)
        try:
            db.connect()
            return db
        except DatabaseUnreachable as exc:
            delay = min(FIRST_RETRY_DELAY * 2 ** (attempt - 1), MAX_RETRY_DELAY, deadline - time.monotonic())
            if connect_timeout <= 0:
                raise
            if delay <= 0:
                raise DatabaseError(f"database still unreachable after --connect-timeout {connect_timeout:g}s "
                                    f"({attempt} attempts): {exc.message}",
                                    hint="check that the database is up and reachable from here, "
                                         "or raise --connect-timeout") from None
            log.get().warning("MIGRATION_CONNECT_RETRY", attempt=attempt, delay=round(delay, 2),
                              error=exc.message, message="database not reachable yet: retrying")
            time.sleep(delay)
            attempt += 1
