"""PostgreSQL: transactional DDL, session advisory lock, ``lock_timeout`` for DDL."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterable, Sequence

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import URL, Compiled
from sqlalchemy.sql import Executable

from migrator import log
from migrator.dialects.base import VERBATIM, Database, accepts_connections, driver_error, filter_names, spelled_as
from migrator.errors import UsageError
from migrator.objects import Scan

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
_BY_NAME = "AND lower(c.relname) = ANY(CAST(:names AS text[]))"
# ... or holding an index of one of the names (DROP INDEX names no table)
_BY_NAME_OR_INDEX = """AND (lower(c.relname) = ANY(CAST(:names AS text[])) OR c.oid IN (
    SELECT x.indrelid FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
    WHERE lower(ic.relname) = ANY(CAST(:names AS text[]))))"""

# ... the same by exact name (scan(): a migration's names, as PostgreSQL spells them), which the
# index on pg_class.relname answers: lower(relname) reads the whole catalog, and a migration's
# snapshot would take longer the more relations the schema holds
_BY_SPELLING = "AND c.relname = ANY(CAST(:spelled AS text[]))"
_BY_SPELLING_OR_INDEX = """AND (c.relname = ANY(CAST(:spelled AS text[])) OR c.oid = ANY(ARRAY(
    SELECT x.indrelid FROM pg_class ic JOIN pg_index x ON x.indexrelid = ic.oid
    WHERE ic.relname = ANY(CAST(:spelled AS text[])) AND ic.relnamespace = current_schema()::regnamespace)))"""

# Indexes a failed CREATE INDEX CONCURRENTLY left: they exist, but are never used
_INVALID_INDEXES = """
SELECT 'index:' || lower(c.relname) || '.' || lower(i.relname)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
WHERE NOT x.indisvalid AND c.relnamespace = current_schema()::regnamespace
  AND lower(c.relname) = ANY(CAST(:names AS text[]))
"""
# The catalogs show every relation to every user; what a user needs is USAGE on the schema
# (without it the schema drops out of current_schema()) and SELECT on the tracking table.
_ACCESS = """
SELECT current_user, current_schema(), current_setting('search_path'),
       ARRAY(SELECT c.relname FROM pg_class c
             WHERE c.relname = ANY(CAST(:tables AS text[])) AND c.relnamespace = current_schema()::regnamespace
               AND NOT has_table_privilege(c.oid, 'SELECT') ORDER BY c.relname)
"""
# scan(): the named relations (a filter above) and the relations that go with them: what
# depends on one automatically or internally (pg_depend 'a', 'i'): the sequences of SERIAL and
# IDENTITY columns, partitions. One more element per such pair: ['owned:', owner, relation].
_NAMED = """WITH RECURSIVE named AS (
    SELECT c.oid FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') {filter}
)"""
_OWNED = """, reach(oid, owner) AS (
    SELECT oid, NULL::oid FROM {start}
    UNION
    SELECT d.objid, r.oid FROM reach r, LATERAL (
        SELECT d.objid FROM pg_depend d
        WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = r.oid AND d.classid = 'pg_class'::regclass
          AND d.deptype IN ('a', 'i') AND d.objid <> r.oid) d
    WHERE (SELECT k.relkind FROM pg_class k WHERE k.oid = d.objid) IN ('r', 'p', 'S', 'f')
)"""
# ... or, with cascade, everything that depends on them, as DROP ... CASCADE walks pg_depend
# (also from the routines, types and extensions of those names): the dependents, and the owner
# of each internal part reached (a view's rewrite rule -> the view, and on to its dependents);
# of what is reached, the relations whose recorded objects can go: a relation itself, the view
# of a rewrite rule, the table of a constraint (not a trigger's or a default's table)
_CASCADE = """, seed(classid, objid) AS (
    SELECT 'pg_class'::regclass::oid, oid FROM named
    UNION ALL SELECT 'pg_proc'::regclass::oid, p.oid FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace AND lower(p.proname) = ANY(CAST(:names AS text[]))
    UNION ALL SELECT 'pg_type'::regclass::oid, t.oid FROM pg_type t
        WHERE t.typnamespace = current_schema()::regnamespace AND lower(t.typname) = ANY(CAST(:names AS text[]))
    UNION ALL SELECT 'pg_extension'::regclass::oid, e.oid FROM pg_extension e
        WHERE lower(e.extname) = ANY(CAST(:names AS text[]))
), walk(classid, objid) AS (
    SELECT classid, objid FROM seed
    UNION
    SELECT x.classid, x.objid FROM walk w, LATERAL (
        SELECT d.classid, d.objid FROM pg_depend d WHERE d.refclassid = w.classid AND d.refobjid = w.objid
        UNION ALL
        SELECT d.refclassid, d.refobjid FROM pg_depend d
        WHERE d.classid = w.classid AND d.objid = w.objid AND d.deptype = 'i') x
), cascaded(oid) AS (
    SELECT objid FROM walk WHERE classid = 'pg_class'::regclass
    UNION SELECT r.ev_class FROM walk w JOIN pg_rewrite r ON w.classid = 'pg_rewrite'::regclass AND r.oid = w.objid
    UNION SELECT k.conrelid FROM walk w JOIN pg_constraint k ON w.classid = 'pg_constraint'::regclass AND k.oid = w.objid
)"""
_REACHED = "AND c.oid = ANY(ARRAY(SELECT oid FROM reach))"  # by the oid index
_OWNED_PAIRS = """
UNION ALL
SELECT ARRAY['owned:', (SELECT lower(o.relname) FROM pg_class o WHERE o.oid = r.owner),
             (SELECT lower(k.relname) FROM pg_class k WHERE k.oid = r.oid)]
FROM reach r WHERE r.owner IS NOT NULL
UNION ALL
SELECT ARRAY['spelled:', c.relname] FROM pg_class c
WHERE c.oid = ANY(ARRAY(SELECT oid FROM reach)) AND c.relname <> lower(c.relname)
"""


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
    drivername = "postgresql+psycopg"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._compiled_statements: dict[tuple[Executable, tuple[str, ...]], Compiled] = {}
        self._prepared: set[str] = set()

    def url(self) -> URL:
        """The DSN's parts, then its query parameters as libpq takes them from a URI (``user``,
        ``password`` included: a later value wins). Unknown options and a wrong sslmode are
        usage errors here, before connecting."""
        from psycopg.pq import Conninfo

        d = self.dsn
        keywords = {o.keyword.decode() for o in Conninfo.get_defaults()}
        unknown = sorted({k for k, _ in d.params} - keywords)
        if unknown:
            raise UsageError(f"invalid DSN option: {unknown[0]!r} is not a libpq connection parameter")
        options = {"application_name": "migrator", "connect_timeout": "10"}
        if d.socket:
            options.update(host=d.socket, **({"port": str(d.port)} if d.port else {}))
        options.update(d.params)
        if options.get("sslmode", "prefer") not in _SSLMODES:
            raise UsageError(f"invalid DSN option: sslmode={options['sslmode']!r} "
                             f"(expected one of {', '.join(sorted(_SSLMODES))})")
        return URL.create(self.drivername, username=d.user, password=d.password,
                          host=None if d.socket else d.host, port=None if d.socket else d.port,
                          database=d.database, query=options)

    def connect_args(self) -> dict:
        # ClientCursor binds values client-side, so several statements and their COMMIT can
        # travel as one simple query (batch()); nothing is prepared server-side
        from psycopg import ClientCursor

        return {"cursor_factory": ClientCursor, "prepare_threshold": None}

    def connect(self) -> None:
        super().connect()
        self.warn_if_unencrypted()

    def connection_error(self, exc: BaseException):
        import psycopg

        if isinstance(driver_error(exc), psycopg.ProgrammingError):  # libpq refused an option's value
            return UsageError(f"invalid DSN option: {self.describe_error(exc)}")
        return super().connection_error(exc)

    def warn_if_unencrypted(self) -> None:
        """libpq's default sslmode (prefer) falls back to plain text without a word: say it
        when the server is not on this machine."""
        info = self.driver.info
        if self.driver.pgconn.ssl_in_use or _is_loopback(info.host, info.hostaddr):
            return
        log.get().warning("MIGRATION_CONNECTION_UNENCRYPTED", host=info.host, port=info.port,
                          message=f"the connection to {info.host}:{info.port} is not encrypted: "
                                  "add sslmode=verify-full (or require) to the DSN")

    def unreachable(self, exc: BaseException) -> bool:
        """libpq reports every failed connect without a SQLSTATE, the server's own refusals
        (28P01 wrong password, 3D000 unknown database) included (psycopg issue #1188): a
        failure is the server not answering when its address does not accept connections."""
        import psycopg

        exc = driver_error(exc)
        if not isinstance(exc, psycopg.OperationalError) or exc.sqlstate is not None:
            return False
        d = self.dsn
        if d.socket:
            return not accepts_connections(socket.AF_UNIX, f"{d.socket}/.s.PGSQL.{d.port or 5432}")
        return not accepts_connections(socket.AF_INET, (d.host, d.port))

    def ddl_lock_statements(self) -> list[str]:
        # 0 is PostgreSQL's own "no limit"; the setting's largest value is INT_MAX ms
        statements = [f"SET lock_timeout = '{min(int(self.ddl_lock_timeout * 1000), 2**31 - 1)}ms'"]
        if self.driver is not None and self.driver.info.server_version >= 140000:
            # a runner killed mid-statement: its backend notices within 1 s, aborts and frees the lock
            statements.append("SET client_connection_check_interval = '1s'")
        return statements

    def batch(self, statements: Sequence[tuple[Executable, dict]], *, begin: bool = False,
              commit: bool = False) -> None:
        """One round trip: each statement compiled for this dialect (once per run), its values
        bound by psycopg's ClientCursor, and the lot sent with BEGIN and COMMIT as one simple query."""
        with self.driver.cursor() as cursor:
            parts = []
            for statement, values in statements:
                compiled = self._compiled(statement, tuple(values))
                parts.append(cursor.mogrify(compiled.string, compiled.construct_params(values)))
        parts = (["BEGIN"] if begin and not self.held else []) + parts + (
            ["COMMIT"] if commit and not self.held else [])
        self.conn.exec_driver_sql("; ".join(parts), execution_options=VERBATIM).close()

    def _compiled(self, statement: Executable, keys: tuple[str, ...]) -> Compiled:
        """``statement`` compiled for the values ``keys`` (the tracking statements are built once
        per service; compiling one takes longer than sending it)."""
        found = self._compiled_statements.get((statement, keys))
        if found is None:
            found = self._compiled_statements[statement, keys] = statement.compile(
                dialect=self.conn.dialect, column_keys=list(keys))
        return found

    def insert_missing(self, table: Table, values: dict) -> Executable:
        return insert(table).values(**values).on_conflict_do_nothing(index_elements=table.primary_key.columns)

    def lock_name(self, key: str) -> int:
        return advisory_key(f"migrator:{key}")

    def try_lock(self, key: str) -> bool:
        return bool(self.query("SELECT pg_try_advisory_lock(:key)", {"key": self.lock_name(key)})[0][0])

    def unlock(self, key: str) -> None:
        self.query("SELECT pg_advisory_unlock(:key)", {"key": self.lock_name(key)})

    def snapshot(self, names: Iterable[str] | None, kinds: Sequence[str] | None = None, *,
                 via_indexes: bool = True) -> set[str]:
        wanted = filter_names(names)
        if wanted == []:
            return set()
        sql = _SNAPSHOT.format(filter="" if wanted is None else _BY_NAME_OR_INDEX if via_indexes else _BY_NAME)
        found = {o for (row,) in self.query(sql, None if wanted is None else {"names": wanted}) for o in row}
        return found if kinds is None else {o for o in found if o.split(":", 1)[0] in kinds}

    def invalid_indexes(self, names: Iterable[str]) -> set[str]:
        wanted = filter_names(names)
        if not wanted:
            return set()
        return {row[0] for row in self.query(_INVALID_INDEXES, {"names": wanted})}

    def missing_grants(self, tables: Sequence[str]) -> list[str]:
        user, schema, search_path, unreadable = self.query(_ACCESS, {"tables": list(tables)})[0]
        if schema is None:
            return [f"GRANT USAGE ON SCHEMA {self.quote(s)} TO {self.quote(user)}"
                    for s in self._search_path_schemas(search_path, user)[:1]] or [
                f"a schema of search_path ({search_path}) to exist, with USAGE for {self.quote(user)}"]
        return [f"GRANT SELECT ON {self.quote(schema)}.{self.quote(t)} TO {self.quote(user)}" for t in unreadable]

    def _search_path_schemas(self, search_path: str, user: str) -> list[str]:
        """The existing schemas search_path names, in its order."""
        names = [user if n.strip() == '"$user"' or n.strip() == "$user" else n.strip().strip('"')
                 for n in search_path.split(",")]
        existing = {r[0] for r in self.query(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(CAST(:names AS text[]))", {"names": names})}
        return [n for n in names if n in existing]

    def scan(self, names: Iterable[str], *, via_indexes: bool = True, cascade: bool = False,
             spelled: Iterable[str] = ()) -> Scan:
        wanted = filter_names(names)
        if not wanted:
            return Scan(set())
        exact = spelled_as(wanted, spelled)
        named = _NAMED.format(filter=_BY_SPELLING_OR_INDEX if via_indexes else _BY_SPELLING)
        reach = _CASCADE + _OWNED.format(start="cascaded") if cascade else _OWNED.format(start="named")
        sql = named + reach + _SNAPSHOT.format(filter=_REACHED) + _OWNED_PAIRS
        name = f"migrator_scan_{'index' if via_indexes else 'name'}{'_cascade' if cascade else ''}"
        objects: set[str] = set()
        owned: dict[str, set[str]] = {}
        spellings: set[str] = set()
        for (row,) in self.prepared(name, sql, wanted, exact):
            if row[0] == "owned:":
                owned.setdefault(row[1], set()).add(row[2])
            elif row[0] == "spelled:":
                spellings.add(row[1])
            else:
                objects.update(row)
        return Scan(objects, owned, spellings)

    def prepared(self, name: str, sql: str, names: list[str], spelled: list[str]) -> list[tuple]:
        """The rows of ``sql`` (parameters ``:names`` and ``:spelled``, both text[]) run as a
        statement prepared once per session: planning the scan takes longer than running it,
        and ``up`` runs one per migration, inside its transaction."""
        if name not in self._prepared:
            self.run_script_statement(f"PREPARE {name} (text[], text[]) AS "
                                      + sql.replace(":names", "$1").replace(":spelled", "$2"))
            self._prepared.add(name)
        return self.query(f"EXECUTE {name}(CAST(:names AS text[]), CAST(:spelled AS text[]))",
                          {"names": names, "spelled": spelled})

    def describe_error(self, exc: BaseException) -> str:
        error = driver_error(exc)
        diag = getattr(error, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        sqlstate = getattr(error, "sqlstate", None)
        if primary:
            return f"{primary} (SQLSTATE {sqlstate})" if sqlstate else primary
        return super().describe_error(exc)

    # -- a statement that runs long, waits for a lock, or must stop ----------
    blockers_while_waiting = True  # pg_blocking_pids() names them only while we wait

    def cancel(self) -> None:
        self.driver.cancel_safe(timeout=5)

    def is_lock_timeout(self, exc: BaseException) -> bool:
        return getattr(driver_error(exc), "sqlstate", None) == "55P03"  # lock_not_available

    def error_details(self, exc: BaseException) -> list[str]:
        diag = getattr(driver_error(exc), "diag", None)
        if diag is None:
            return []
        return [f"{label}: {text}" for label, text in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint))
                if text]

    def lock_blockers(self) -> list[str] | None:
        try:
            rows = self.side_query(_BLOCKERS, {"pid": self.driver.info.backend_pid})
        except Exception as exc:  # the diagnosis must not hide the failure it explains
            return [f"(could not read them: {self.describe_error(exc)})"]
        return [describe_session(*row) for row in rows]

    def lock_holder(self, key: str) -> str | None:
        k = self.lock_name(key)
        rows = self.query(_ADVISORY_HOLDER, {"classid": (k >> 32) & 0xFFFFFFFF, "objid": k & 0xFFFFFFFF})
        if not rows:
            return None
        pid, app, client, started, state = rows[0]
        if started is None:  # another user's session: its details are for pg_read_all_stats
            return f"pid {pid} ({HIDDEN})"
        return (f"pid {pid} (application {app or '-'}, client {client or 'local socket'}, "
                f"connected since {started:%Y-%m-%d %H:%M:%S %Z}, {state})")

    def invalid_index(self, name: str) -> bool:
        return bool(self.query(_INVALID_INDEX, {"name": name}))


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
FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids(:pid)) ORDER BY a.xact_start
"""
_ADVISORY_HOLDER = """
SELECT a.pid, a.application_name, host(a.client_addr), a.backend_start, a.state
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = CAST(CAST(:classid AS bigint) AS oid)
  AND l.objid = CAST(CAST(:objid AS bigint) AS oid)
  AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_INVALID_INDEX = """
SELECT 1 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
WHERE c.relname = :name AND c.relnamespace = current_schema()::regnamespace AND NOT x.indisvalid
"""
