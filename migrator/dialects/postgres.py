"""PostgreSQL: transactional DDL, session advisory lock, ``lock_timeout`` for DDL."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterable, Sequence

from migrator import log
from migrator.dialects.base import Database, accepts_connections, filter_names
from migrator.errors import UsageError

# One row per relation: its own object, then its columns, indexes and constraints, as a
# text[] (correlated subqueries on the catalogs' oid indexes: about half the cost of a
# UNION over a CTE, which mattered because up takes one snapshot per migration).
_SNAPSHOT = """
SELECT ARRAY[CASE c.relkind WHEN 'v' THEN 'view:' WHEN 'm' THEN 'view:' WHEN 'S' THEN 'sequence:'
             ELSE 'table:' END || lower(c.relname)]
  || ARRAY(SELECT 'column:' || lower(c.relname) || '.' || lower(a.attname) FROM pg_attribute a
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f'))
  || ARRAY(SELECT 'index:' || lower(c.relname) || '.' || lower(i.relname)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid)
  || ARRAY(SELECT 'constraint:' || lower(c.relname) || '.' || lower(k.conname) FROM pg_constraint k
           WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u', 'f', 'c', 'x'))
FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') {filter}
"""
_BY_NAME = "AND lower(c.relname) = ANY(%(names)s::text[])"
# ... or holding an index of one of the names (DROP INDEX names no table)
_BY_NAME_OR_INDEX = """AND (lower(c.relname) = ANY(%(names)s::text[]) OR c.oid IN (
    SELECT x.indrelid FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
    WHERE lower(ic.relname) = ANY(%(names)s::text[])))"""


_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def _is_loopback(host: str, hostaddr: str) -> bool:
    """A unix socket, ``localhost`` or a loopback address (the one connected to, when known)."""
    import ipaddress

    if host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostaddr or host).is_loopback
    except ValueError:
        return False


def advisory_key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


class Postgres(Database):
    name = "postgres"
    files_dialect = "postgres"
    transactional_ddl = True
    placeholder = "%s"
    types = dict(Database.types, timestamp="TIMESTAMPTZ", serial_pk="BIGSERIAL PRIMARY KEY")

    def connect(self) -> None:
        import psycopg

        try:
            self.conn = psycopg.connect(self.conninfo(), autocommit=True, prepare_threshold=None)
        except psycopg.ProgrammingError as exc:
            raise UsageError(f"invalid DSN option: {self.describe_error(exc)}") from None
        except psycopg.Error as exc:
            raise self.connection_error(exc) from None
        self.warn_if_unencrypted()
        for statement in self.ddl_lock_statements():
            self.run_script_statement(statement)

    def conninfo(self) -> str:
        """The libpq connection string: the DSN's parts, then its query parameters as libpq
        takes them from a URI (``user``, ``password`` included: a later value wins)."""
        from psycopg.conninfo import make_conninfo
        from psycopg.pq import Conninfo

        d = self.dsn
        keywords = {o.keyword.decode() for o in Conninfo.get_defaults()}
        unknown = sorted({k for k, _ in d.params} - keywords)
        if unknown:
            raise UsageError(f"invalid DSN option: {unknown[0]!r} is not a libpq connection parameter")
        options = {"host": d.socket or d.host, "port": d.port, "dbname": d.database, "user": d.user,
                   "password": d.password, "application_name": "migrator", "connect_timeout": "10"}
        options.update(d.params)
        if options.get("sslmode", "prefer") not in _SSLMODES:
            raise UsageError(f"invalid DSN option: sslmode={options['sslmode']!r} "
                             f"(expected one of {', '.join(sorted(_SSLMODES))})")
        return make_conninfo("", **options)

    def warn_if_unencrypted(self) -> None:
        """libpq's default sslmode (prefer) falls back to plain text without a word: say it
        when the server is not on this machine."""
        info = self.conn.info
        if self.conn.pgconn.ssl_in_use or _is_loopback(info.host, info.hostaddr):
            return
        log.get().warning("MIGRATION_CONNECTION_UNENCRYPTED", host=info.host, port=info.port,
                          message=f"the connection to {info.host}:{info.port} is not encrypted: "
                                  "add sslmode=verify-full (or require) to the DSN")

    def unreachable(self, exc: BaseException) -> bool:
        """libpq reports every failed connect without a SQLSTATE, the server's own refusals
        (28P01 wrong password, 3D000 unknown database) included (psycopg issue #1188): a
        failure is the server not answering when its address does not accept connections."""
        import psycopg

        if not isinstance(exc, psycopg.OperationalError) or exc.sqlstate is not None:
            return False
        d = self.dsn
        if d.socket:
            return not accepts_connections(socket.AF_UNIX, f"{d.socket}/.s.PGSQL.{d.port or 5432}")
        return not accepts_connections(socket.AF_INET, (d.host, d.port))

    def ddl_lock_statements(self) -> list[str]:
        # 0 is PostgreSQL's own "no limit"; the setting's largest value is INT_MAX ms
        statements = [f"SET lock_timeout = '{min(int(self.ddl_lock_timeout * 1000), 2**31 - 1)}ms'"]
        if self.conn is not None and self.conn.info.server_version >= 140000:
            # a runner killed mid-statement: its backend notices within 1 s, aborts and frees the lock
            statements.append("SET client_connection_check_interval = '1s'")
        return statements

    def batch(self, statements: Sequence[tuple[str, Sequence]], *, begin: bool = False,
              commit: bool = False) -> None:
        """One round trip: the values are bound client-side (psycopg's ClientCursor quotes
        them), which lets several statements and the COMMIT travel as one simple query."""
        from psycopg import ClientCursor

        parts = (["BEGIN"] if begin else []) + [self._sql(sql) for sql, _ in statements] + (
            ["COMMIT"] if commit else [])
        cur = ClientCursor(self.conn)
        try:
            cur.execute("; ".join(parts), [p for _, params in statements for p in params])
        finally:
            cur.close()

    def lock_name(self, key: str) -> int:
        return advisory_key(f"migrator:{key}")

    def try_lock(self, key: str) -> bool:
        return bool(self.query("SELECT pg_try_advisory_lock(?)", (self.lock_name(key),))[0][0])

    def unlock(self, key: str) -> None:
        self.query("SELECT pg_advisory_unlock(?)", (self.lock_name(key),))

    def snapshot(self, names: Iterable[str] | None, kinds: Sequence[str] | None = None, *,
                 via_indexes: bool = True) -> set[str]:
        wanted = filter_names(names)
        if wanted == []:
            return set()
        sql = _SNAPSHOT.format(filter="" if wanted is None else _BY_NAME_OR_INDEX if via_indexes else _BY_NAME)
        cur = self.conn.cursor()
        try:
            cur.execute(sql, {"names": wanted} if wanted is not None else None)
            found = {o for row in cur.fetchall() for o in row[0]}
        finally:
            cur.close()
        return found if kinds is None else {o for o in found if o.split(":", 1)[0] in kinds}

    def describe_error(self, exc: BaseException) -> str:
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        sqlstate = getattr(exc, "sqlstate", None)
        if primary:
            return f"{primary} (SQLSTATE {sqlstate})" if sqlstate else primary
        return super().describe_error(exc)

    # -- a statement that runs long, waits for a lock, or must stop ----------
    blockers_while_waiting = True  # pg_blocking_pids() names them only while we wait

    def cancel(self) -> None:
        self.conn.cancel_safe(timeout=5)

    def is_lock_timeout(self, exc: BaseException) -> bool:
        return getattr(exc, "sqlstate", None) == "55P03"  # lock_not_available

    def error_details(self, exc: BaseException) -> list[str]:
        diag = getattr(exc, "diag", None)
        if diag is None:
            return []
        return [f"{label}: {text}" for label, text in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint))
                if text]

    def _side_query(self, sql: str, params) -> list[tuple]:
        """A query on a second, short-lived connection (this one is busy waiting)."""
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True, connect_timeout=5) as side:
            return side.execute(sql, params).fetchall()

    def lock_blockers(self) -> list[str] | None:
        try:
            rows = self._side_query(_BLOCKERS, (self.conn.info.backend_pid,))
        except Exception as exc:  # the diagnosis must not hide the failure it explains
            return [f"(could not read them: {self.describe_error(exc)})"]
        return [describe_session(*row) for row in rows]

    def lock_holder(self, key: str) -> str | None:
        k = self.lock_name(key)
        rows = self.query(_ADVISORY_HOLDER, ((k >> 32) & 0xFFFFFFFF, k & 0xFFFFFFFF))
        if not rows:
            return None
        pid, app, client, started, state = rows[0]
        if started is None:  # another user's session: its details are for pg_read_all_stats
            return f"pid {pid} ({HIDDEN})"
        return (f"pid {pid} (application {app or '-'}, client {client or 'local socket'}, "
                f"connected since {started:%Y-%m-%d %H:%M:%S %Z}, {state})")

    def invalid_index(self, name: str) -> bool:
        return bool(self.query(_INVALID_INDEX, (name,)))


HIDDEN = "details hidden: the migrator's database user needs pg_read_all_stats to see other users' sessions"


def describe_session(pid, app, user, state, age, query) -> str:
    if state is None:
        return f"pid {pid} (user {user or '-'}; {HIDDEN})"
    open_for = f", transaction open {age}s" if age is not None else ""
    what = "last query" if (state or "").startswith("idle") else "query"
    return f"pid {pid} (application {app or '-'}, user {user}, {state}{open_for}), {what}: {query}"


_BLOCKERS = """
SELECT a.pid, a.application_name, a.usename, a.state,
       extract(epoch FROM now() - a.xact_start)::int,
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 60)
FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(%s)) ORDER BY a.xact_start
"""
_ADVISORY_HOLDER = """
SELECT a.pid, a.application_name, host(a.client_addr), a.backend_start, a.state
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid
  AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_INVALID_INDEX = """
SELECT 1 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace AND NOT x.indisvalid
"""
