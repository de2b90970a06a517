"""The contract every database backend fulfils (golang-migrate's driver in spirit).

A backend holds one SQLAlchemy connection in AUTOCOMMIT mode, from one engine per run;
transactions are explicit (``begin``/``commit``/``rollback`` send BEGIN, COMMIT and
ROLLBACK), so each migration decides whether it runs in one. Migration SQL is sent as
written (no parameters: a ``%`` is a ``%``); the migrator's own statements are Core
expressions or ``text()`` with ``:name`` parameters.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from sqlalchemy import Table, create_engine, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable

from migrator.config import DSN
from migrator.errors import DatabaseError, DatabaseUnreachable, LockTimeout
from migrator.objects import Scan

LOCK_POLL_SECONDS = 0.2
VERBATIM = {"no_parameters": True}  # migration SQL goes to the driver untouched


class Database:
    name = "base"
    files_dialect = "base"  # which migrations/<service>/<dialect> folder it reads
    transactional_ddl = True
    schema_wide_index_names = True  # DROP INDEX i can name no table (PostgreSQL, SQLite)

    blockers_while_waiting = False  # lock_blockers() answers only while the statement still waits

    def __init__(self, dsn: DSN, *, ddl_lock_timeout: float = 5.0, ddl_lock_retries: int = 5,
                 progress_interval: float = 30.0):
        self.dsn = dsn
        self.ddl_lock_timeout = ddl_lock_timeout
        self.ddl_lock_retries = ddl_lock_retries
        self.progress_interval = progress_interval
        self.engine: Engine | None = None
        self.conn: Connection | None = None
        self.driver = None  # the driver's own connection under ``conn`` (cancel, server facts)

    # -- connection ---------------------------------------------------------
    def url(self) -> URL:
        """Where to connect, as SQLAlchemy takes it (options checked here, before connecting)."""
        raise NotImplementedError

    def connect_args(self) -> dict:
        """The driver's connect() arguments that a URL cannot carry."""
        return {}

    def connect(self) -> None:
        self.engine = create_engine(self.url(), poolclass=NullPool, isolation_level="AUTOCOMMIT",
                                    connect_args=self.connect_args())
        try:
            self.conn = self.engine.connect()
        except DBAPIError as exc:
            self.close()
            raise self.connection_error(exc) from None
        self.driver = self.conn.connection.driver_connection
        try:
            self.prepare_session()
        except BaseException:
            self.close()
            raise

    def prepare_session(self) -> None:
        """Session settings, once connected."""
        for statement in self.ddl_lock_statements():
            self.run_script_statement(statement)

    def close(self) -> None:
        try:
            if self.conn is not None:
                self.conn.close()
        finally:
            self.conn = None
            self.driver = None
            if self.engine is not None:
                self.engine.dispose()
                self.engine = None

    quote_char = '"'

    def quote(self, identifier: str) -> str:
        q = self.quote_char
        return q + identifier.replace(q, q + q) + q

    def run(self, statement: Executable, params: dict | None = None):
        """Run one of the migrator's own statements (a Core expression or ``text()``)."""
        return self.conn.execute(statement, params)

    def query(self, sql: str | Executable, params: dict | None = None) -> list[tuple]:
        """The rows of one of the migrator's own queries (raw SQL with ``:name`` parameters)."""
        return [tuple(row) for row in self.run(text(sql) if isinstance(sql, str) else sql, params)]

    def execute(self, sql: str, params: dict | None = None) -> int:
        """One of the migrator's own raw statements (``:name`` parameters); the rows it changed."""
        return self.run(text(sql), params).rowcount

    def side_query(self, sql: str, params: dict | None = None) -> list[tuple]:
        """A query on a second, short-lived connection of the same engine (this one is busy)."""
        with self.engine.connect() as side:
            return [tuple(row) for row in side.execute(text(sql), params)]

    def run_script_statement(self, sql: str) -> None:
        """Run one statement of a migration file, exactly as written (no parameters)."""
        self.conn.exec_driver_sql(sql, execution_options=VERBATIM).close()

    begin_sql = "BEGIN"
    held = False  # inside one_transaction(): begin and commit are the outer transaction's

    def begin(self) -> None:
        if not self.held:
            self.run_script_statement(self.begin_sql)

    def commit(self) -> None:
        if not self.held:
            self.run_script_statement("COMMIT")

    def rollback(self) -> None:
        self.held = False  # a rollback ends the outer transaction too: all of it is undone
        self.run_script_statement("ROLLBACK")

    @contextmanager
    def one_transaction(self):
        """Make the units of work inside (each with its own begin and commit) one transaction:
        their begin and commit do nothing, a rollback in any of them undoes all of them."""
        self.begin()
        self.held = True
        try:
            yield
        except BaseException as exc:
            if self.held:
                self.held = False
                self.rollback_after(exc)
            raise
        if self.held:
            self.held = False
            self.commit()

    def rollback_after(self, exc: BaseException) -> None:
        """Roll back because of ``exc``; a failing ROLLBACK must not mask it."""
        try:
            self.rollback()
        except Exception as rollback_error:  # the connection is gone and the server rolled
            exc.add_note(f"rollback failed too: {self.describe_error(rollback_error)}")  # back: keep the real error

    @contextmanager
    def transaction(self):
        self.begin()
        try:
            yield
        except BaseException as exc:
            self.rollback_after(exc)
            raise
        self.commit()

    def insert_missing(self, table: Table, values: dict) -> Executable:
        """INSERT of a row, doing nothing when a row of the same primary key exists."""
        raise NotImplementedError

    def batch(self, statements: Sequence[tuple[Executable, dict]], *, begin: bool = False,
              commit: bool = False) -> None:
        """Run several of the migrator's own statements, each with its values, inside BEGIN
        and COMMIT if asked; backends that can send them in one round trip do."""
        if begin:
            self.begin()
        for statement, values in statements:
            self.run(statement, values)
        if commit:
            self.commit()

    # -- locking ------------------------------------------------------------
    def try_lock(self, key: str) -> bool:
        raise NotImplementedError

    def unlock(self, key: str) -> None:
        raise NotImplementedError

    def lock(self, key: str, timeout: float, on_wait=None) -> None:
        """Take the runner lock for ``key``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        waited = False
        while not self.try_lock(key):
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if time.monotonic() >= deadline:
                holder = self.lock_holder(key)
                raise LockTimeout(
                    f"lock not acquired within {timeout:g}s: another migrator holds the lock "
                    f"for this service on {self.dsn.redacted()}",
                    details=[f"  held by {holder}" if holder else
                             "  the database does not tell which session holds it"],
                    hint="wait for the other runner, or raise --lock-timeout",
                )
            time.sleep(LOCK_POLL_SECONDS)

    def lock_holder(self, key: str) -> str | None:
        """The session holding the runner lock of ``key``, as far as the database tells."""
        return None

    # -- a statement that runs long, waits for a lock, or must stop ----------
    def cancel(self) -> None:
        """Cancel the running statement (called from another thread)."""

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the DDL lock timeout (the statement gave up waiting for a lock)."""
        return False

    def lock_blockers(self) -> list[str] | None:
        """The sessions holding or queued ahead for the lock this connection waits for, one
        line each, from a second connection; None when the database cannot tell."""
        return None

    def error_details(self, exc: BaseException) -> list[str]:
        """The error's further lines (PostgreSQL's DETAIL and HINT)."""
        return []

    def invalid_index(self, name: str) -> bool:
        """Whether an index of that name exists and is INVALID (PostgreSQL)."""
        return False

    # -- catalog ------------------------------------------------------------
    def table_exists(self, name: str) -> bool:
        return f"table:{name.lower()}" in self.snapshot({name.lower()}, kinds=("table",))

    def snapshot(self, names: Iterable[str] | None, kinds: Sequence[str] | None = None, *,
                 via_indexes: bool = True) -> set[str]:
        """The schema objects on the named relations (``None``: all of them), as strings
        ``table:t``, ``view:v``, ``sequence:s``, ``column:t.c``, ``index:t.i``,
        ``constraint:t.c``; all lower-case. With ``via_indexes``, a name may also reach a
        relation (or just the index, as the backend can) through an index of that name."""
        raise NotImplementedError

    def invalid_indexes(self, names: Iterable[str]) -> set[str]:
        """The indexes on the named relations that exist but may not be used (``index:t.i``):
        only PostgreSQL has them (a failed ``CREATE INDEX CONCURRENTLY`` leaves one)."""
        return set()

    def missing_grants(self, tables: Sequence[str]) -> list[str]:
        """What this database user lacks to read the migrator's ``tables`` and to see every object
        of the schema in the catalog, each as the GRANT that fixes it; empty when nothing lacks."""
        return []

    def scan(self, names: Iterable[str], *, via_indexes: bool = True, cascade: bool = False,
             spelled: Iterable[str] = ()) -> Scan:
        """One catalog query for a migration's snapshot: the objects on the named relations and
        on the relations that go with them (``Scan.owned``); with ``cascade``, also on every
        relation that depends on them (what a ``DROP ... CASCADE`` can reach). ``spelled``: names
        as the catalog may spell them where not lower-case (a backend whose names are case-
        sensitive looks each name up exactly, as written or lower-case). Here, where no
        relation goes with another: the named ones."""
        return Scan(self.snapshot(names, via_indexes=via_indexes))

    def canonical_objects(self, objects: list[str]) -> list[str]:
        """Recorded object strings as this release names them (tracking rows outlive releases)."""
        return objects

    def ddl_lock_statements(self) -> list[str]:
        """Session settings that make DDL fail fast instead of queueing behind a lock."""
        return []

    def describe_error(self, exc: BaseException) -> str:
        """The first line of the driver's own message (SQLAlchemy's wrapper adds the SQL and a link)."""
        if isinstance(exc, PendingRollbackError):  # a statement after the one that lost the connection
            return "the connection to the database was lost"
        lines = str(driver_error(exc)).strip().splitlines()
        return lines[0] if lines else driver_error(exc).__class__.__name__

    def unreachable(self, exc: BaseException) -> bool:
        """Whether a failed connect means the server did not answer (worth retrying), as
        opposed to a server that answered no."""
        return False

    def connection_error(self, exc: BaseException) -> DatabaseError:
        cls = DatabaseUnreachable if self.unreachable(exc) else DatabaseError
        return cls(f"cannot connect to {self.name} at {self.dsn.address}: {self.describe_error(exc)}")


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception that SQLAlchemy wrapped (``exc`` itself when none)."""
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def accepts_connections(family: int, address, timeout: float = 5.0) -> bool:
    """Whether ``address`` resolves and something accepts a connection there."""
    try:
        if family == socket.AF_UNIX:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(timeout)
                probe.connect(address)
        else:
            socket.create_connection(address, timeout=timeout).close()
    except OSError:  # socket.gaierror (name not resolved), refused, timed out, no such socket
        return False
    return True


def filter_names(names: Iterable[str] | None) -> list[str] | None:
    return None if names is None else sorted({n.lower() for n in names})


def spelled_as(wanted: list[str], spelled: Iterable[str]) -> list[str]:
    """The lower-case ``wanted`` names and the spellings among ``spelled`` of each: what a scan
    by exact name looks up, where the catalog keeps a name's case."""
    return sorted(set(wanted).union(s for s in spelled if s.lower() in wanted))
