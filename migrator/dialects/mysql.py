"""MySQL 8 and MariaDB 10.6+: DDL commits implicitly, so every migration uses the
dirty-flag protocol; ``GET_LOCK`` is the runner lock; ``lock_wait_timeout`` bounds DDL waits."""

from __future__ import annotations

import hashlib
import math
import re
import ssl
from collections.abc import Iterable, Sequence

from sqlalchemy import Table, bindparam, text
from sqlalchemy.dialects.mysql import insert
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from migrator.dialects.base import Database, driver_error, filter_names, spelled_as
from migrator.errors import UsageError
from migrator.objects import Scan, relation_of

_TABLES = ("SELECT CONCAT(CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence' "
           "ELSE 'table' END, ':', LOWER(TABLE_NAME)) FROM information_schema.TABLES "
           "WHERE TABLE_SCHEMA = DATABASE(){f}")
# Views' columns are dropped by snapshot() itself, from the view:... rows of the same
# query: a join with TABLES opened every table of every database on the server, and a
# NOT IN (information_schema.VIEWS) subquery still costs several times this query.
_COLUMNS = ("SELECT CONCAT('column:', LOWER(TABLE_NAME), '.', LOWER(COLUMN_NAME)) "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE(){f}")
_INDEXES = ("SELECT DISTINCT CONCAT('index:', LOWER(TABLE_NAME), '.', LOWER(INDEX_NAME)) "
            "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE(){f}")
_CONSTRAINTS = ("SELECT CONCAT('constraint:', LOWER(TABLE_NAME), '.', LOWER(CONSTRAINT_NAME)) "
                "FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE(){f}")
# A scan of at most this many names looks each one up; more, the schema in one pass.
EXACT_LOOKUPS = 4
# SHOW GRANTS lines that give a privilege on every table of a schema: ON *.* or ON `db`.*
_SCHEMA_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<schema>\*|`(?:[^`]|``)+`)\.\* TO ")
# The Go driver's (go-sql-driver/mysql) own DSN parameters. These the migrator honours:
DRIVER_OPTIONS = ("tls", "charset", "collation", "timeout", "readTimeout", "writeTimeout")
# These shape how a Go program reads results or authenticates; they are accepted, so a DSN
# written for the Go driver works as it is, and change nothing here:
GO_CLIENT_OPTIONS = ("allowAllFiles", "allowCleartextPasswords", "allowFallbackToPlaintext",
                     "allowNativePasswords", "allowOldPasswords", "checkConnLiveness", "clientFoundRows",
                     "columnsWithAlias", "compress", "connectionAttributes", "interpolateParams", "loc",
                     "maxAllowedPacket", "multiStatements", "parseTime", "rejectReadOnly", "serverPubKey",
                     "timeTruncate")
# ... and the credentials, in any case (a later value wins over the userinfo, as in libpq).
CREDENTIALS = ("user", "password")
# Every other parameter sets a session variable (SET SESSION name = value), as the Go driver
# does; never one of these, which touch the account, the server, replication or what the
# migrator itself manages (autocommit, lock_wait_timeout from --ddl-lock-timeout):
_NEVER_SET = re.compile(r".*password.*|authentication.*|autocommit|lock_wait_timeout|sql_log_bin|binlog_.*"
                        r"|skip_replication|server_id|gtid_.*|wsrep.*|pseudo_.*", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
TLS_MODES = ("true", "false", "skip-verify", "preferred")
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# the server's answers to a SET SESSION that is not the DSN's to make: unknown variable,
# GLOBAL-only, read-only, wrong value, wrong type, not allowed to this user
_REJECTED_VARIABLE = {1193, 1229, 1238, 1231, 1232, 1227}
# ... and to the collation (unknown, or not of the character set)
_REJECTED_COLLATION = {1273, 1253}


def _option_error(name: str, value: str, expected: str) -> UsageError:
    return UsageError(f"invalid DSN option: {name}={value!r} (expected {expected})")


def _seconds(name: str, value: str) -> float:
    """A Go duration (``10s``, ``1m30s``, ``500ms``) in seconds, more than zero."""
    if not _DURATION.fullmatch(value):
        raise _option_error(name, value, "a duration such as 10s or 500ms")
    seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", value))
    if not 0 < seconds <= 31536000:
        raise _option_error(name, value, "a duration from 1ms to 1 year")
    return seconds


def _session_value(text: str) -> str | int:
    """The Go form quotes string values (``sql_mode='ANSI'``): the quotes go, the value is
    bound (escaped by the driver), never spliced into the SQL. Digits are a number
    (``foreign_key_checks=0``)."""
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return int(text) if re.fullmatch(r"-?[0-9]{1,18}", text) else text
# PyMySQL's client errors for a server that did not answer: CR_CONN_HOST_ERROR (refused,
# unreachable, or a name that did not resolve) and CR_UNKNOWN_HOST
_UNREACHABLE = {2003, 2005}
LOCK_WAIT_MAX = 31536000  # lock_wait_timeout's largest value (one year), on MySQL and MariaDB


class MySQL(Database):
    name = "mysql"
    files_dialect = "mysql"
    transactional_ddl = False
    schema_wide_index_names = False  # per table: DROP INDEX i ON t, and PRIMARY on every table
    drivername = "mysql+pymysql"

    quote_char = "`"

    def tls_options(self) -> dict:
        """PyMySQL's TLS arguments for the DSN's ``tls``. Without it, none (the Go driver's
        default, said explicitly: PyMySQL would otherwise try unverified TLS whenever the server
        offers it, and building that context, loading the CA bundle, cost 50 ms of every start)."""
        value = self.dsn.param("tls")
        mode = "false" if value is None else value.lower()
        if mode not in TLS_MODES:
            raise _option_error("tls", value, "true, false, skip-verify or preferred")
        if mode == "false":
            return {"ssl_disabled": True}
        if mode == "preferred":  # PyMySQL's own mode: unverified TLS when offered, else plain text
            return {}
        context = ssl.create_default_context()  # tls=true: a certificate the system trusts, for this host
        if mode == "skip-verify":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return {"ssl": context}  # required: a server without TLS is a connection error

    def driver_options(self) -> dict:
        from pymysql.charset import charset_by_name

        d = self.dsn
        options = {"charset": "utf8mb4", "connect_timeout": 10}
        if d.param("charset"):
            charset = d.param("charset").split(",")[0]  # the Go driver tries a list in order
            if charset_by_name(charset) is None:
                raise _option_error("charset", charset, "a MySQL character set such as utf8mb4")
            options["charset"] = charset
        if d.param("collation"):
            options["collation"] = d.param("collation")
        for name, key in (("timeout", "connect_timeout"), ("readTimeout", "read_timeout"),
                          ("writeTimeout", "write_timeout")):
            if d.param(name) is not None:
                options[key] = _seconds(name, d.param(name))
        return options

    def session_variables(self) -> list[tuple[str, str | int]]:
        """The DSN's parameters that are not driver options: session variables, checked."""
        known = set(DRIVER_OPTIONS) | set(GO_CLIENT_OPTIONS)
        found = []
        for name, value in self.dsn.params:
            if name in known or name.lower() in CREDENTIALS:
                continue
            if not _IDENTIFIER.fullmatch(name):
                raise UsageError(f"invalid DSN option: {name!r} is neither a driver option nor a variable name")
            if _NEVER_SET.fullmatch(name):
                raise UsageError(f"invalid DSN option: {name!r}: the DSN sets only session variables that "
                                 "leave the account, the server and the migrator's own settings alone")
            found.append((name, _session_value(value)))
        return found

    def url(self) -> URL:
        d = self.dsn
        self.variables = self.session_variables()  # checked before connecting
        where = dict(query={"unix_socket": d.socket}) if d.socket else dict(host=d.host, port=d.port)
        return URL.create(self.drivername, username=d.param("user", any_case=True) or d.user or "",
                          password=d.param("password", any_case=True) or d.password or "",
                          database=d.database, **where)

    def connect_args(self) -> dict:
        # client_flag 0: PyMySQL's own default, where an UPDATE counts the rows it changed (a
        # backfill reports them), not SQLAlchemy's FOUND_ROWS (the rows it matched)
        return {"client_flag": 0, **self.driver_options(), **self.tls_options()}

    def connection_error(self, exc: BaseException):
        return self._rejected("collation", exc, _REJECTED_COLLATION) or super().connection_error(exc)

    def prepare_session(self) -> None:
        collation = self.dsn.param("collation")
        if collation:  # SQLAlchemy's SET NAMES <charset> once connected reset what PyMySQL had set
            try:
                self.execute("SET NAMES :charset COLLATE :collation",
                             {"charset": self.driver_options()["charset"], "collation": collation})
            except DBAPIError as exc:
                raise self._rejected("collation", exc, _REJECTED_COLLATION) or self.connection_error(exc) from None
        for name, value in self.variables:
            try:
                self.execute(f"SET SESSION {self.quote(name)} = :value", {"value": value})
            except DBAPIError as exc:
                raise self._rejected(name, exc, _REJECTED_VARIABLE) or self.connection_error(exc) from None
        super().prepare_session()

    def _rejected(self, name: str, exc: BaseException, codes: set[int]) -> UsageError | None:
        """The server's refusal of a DSN parameter, as a usage error."""
        if errno(exc) in codes:
            return UsageError(f"invalid DSN option: {name}: {self.describe_error(exc)}")
        return None

    def unreachable(self, exc: BaseException) -> bool:
        return errno(exc) in _UNREACHABLE

    def ddl_lock_statements(self) -> list[str]:
        """Whole seconds, at least 1; 0 is no limit, as on PostgreSQL: the variable's maximum."""
        wait = self.ddl_lock_timeout
        seconds = LOCK_WAIT_MAX if wait == 0 else min(LOCK_WAIT_MAX, max(1, math.ceil(wait)))
        return [f"SET SESSION lock_wait_timeout = {seconds}"]

    def lock_name(self, key: str) -> str:
        name = f"migrator:{self.dsn.database}:{key}"
        return name if len(name) <= 64 else "migrator:" + hashlib.sha256(name.encode()).hexdigest()[:40]

    def try_lock(self, key: str) -> bool:
        return self.query("SELECT GET_LOCK(:name, 0)", {"name": self.lock_name(key)})[0][0] == 1

    def unlock(self, key: str) -> None:
        self.query("SELECT RELEASE_LOCK(:name)", {"name": self.lock_name(key)})

    begin_sql = "START TRANSACTION"

    def insert_missing(self, table: Table, values: dict) -> Executable:
        key = table.primary_key.columns[0]
        return insert(table).values(**values).on_duplicate_key_update({key.name: key})  # sets it to itself

    def snapshot(self, names: Iterable[str] | None, kinds: Sequence[str] | None = None, *,
                 via_indexes: bool = True) -> set[str]:  # MySQL's DROP INDEX names its table
        wanted = filter_names(names)
        if wanted == []:
            return set()
        f = "" if wanted is None else " AND LOWER(TABLE_NAME) IN :names"
        parts = {"table": _TABLES.format(f=f), "view": None, "sequence": None,
                 "column": _COLUMNS.format(f=f), "index": _INDEXES.format(f=f),
                 "constraint": _CONSTRAINTS.format(f=f)}
        chosen = [sql for kind, sql in parts.items() if sql and (kinds is None or kind in kinds
                  or (kind == "table" and {"view", "sequence", "column"} & set(kinds)))]
        sql = text(" UNION ALL ".join(chosen))
        if wanted is not None:
            sql = sql.bindparams(bindparam("names", wanted, expanding=True))
        found = _without_view_columns({row[0] for row in self.query(sql)})
        return found if kinds is None else {o for o in found if o.split(":", 1)[0] in kinds}

    def scan(self, names: Iterable[str], *, via_indexes: bool = True, cascade: bool = False,
             spelled: Iterable[str] = ()) -> Scan:
        """A migration's few relations looked up by exact name, each as written and lower-case:
        given TABLE_NAME = '<name>', the server reads that table's definition alone, where
        LOWER(TABLE_NAME) or an IN list makes it read every table's of the schema (10 ms a
        query with 2,000 tables, and up runs one per migration). Many names: one pass."""
        wanted = filter_names(names)
        if not wanted:
            return Scan(set())
        exact = spelled_as(wanted, spelled)
        if len(exact) > EXACT_LOOKUPS:
            return Scan(self.snapshot(wanted))
        parts = [sql.format(f=f" AND TABLE_NAME = :name{i}") for i in range(len(exact))
                 for sql in (_TABLES, _COLUMNS, _INDEXES, _CONSTRAINTS)]
        rows = self.query(" UNION ALL ".join(parts), {f"name{i}": name for i, name in enumerate(exact)})
        return Scan(_without_view_columns({row[0] for row in rows}))

    def missing_grants(self, tables: Sequence[str]) -> list[str]:
        """information_schema shows a user only the tables it holds a privilege on, and MariaDB
        lists their constraints only to a user with a privilege beyond SELECT: verification needs
        SELECT and one more privilege (SHOW VIEW is the harmless one) on the whole schema, or what
        the user cannot see would count as missing."""
        database = self.query("SELECT DATABASE()")[0][0]
        privileges: set[str] = set()
        for (line,) in self.query("SHOW GRANTS"):
            m = _SCHEMA_GRANT.match(line)
            if m and (m["schema"] == "*" or _like(database, m["schema"][1:-1].replace("``", "`"))):
                privileges.update(p.strip().upper() for p in m["privileges"].split(","))
        if "ALL PRIVILEGES" in privileges or ("SELECT" in privileges and privileges - {"SELECT", "USAGE"}):
            return []
        user, _, host = self.query("SELECT CURRENT_USER()")[0][0].rpartition("@")
        return [f"GRANT SELECT, SHOW VIEW ON {self.quote(database)}.* TO '{user}'@'{host}'"]

    def describe_error(self, exc: BaseException) -> str:
        args = getattr(driver_error(exc), "args", ())
        if len(args) == 2 and isinstance(args[0], int):
            return f"{args[1]} (error {args[0]})"
        return super().describe_error(exc)

    # -- a statement that runs long, waits for a lock, or must stop ----------
    def cancel(self) -> None:
        self.side_query(f"KILL QUERY {int(self.driver.thread_id())}")

    def is_lock_timeout(self, exc: BaseException) -> bool:
        return errno(exc) == 1205  # ER_LOCK_WAIT_TIMEOUT: metadata and row locks alike

    def lock_blockers(self) -> list[str] | None:
        """The table metadata-lock holders when MariaDB's metadata_lock_info plugin is loaded,
        else the sessions with an open InnoDB transaction (a reader's open transaction holds
        its metadata lock, but without the plugin the server does not say on which table);
        then the sessions queued for a metadata lock too (other DDL waiting ahead of us)."""
        me = {"me": int(self.driver.thread_id())}
        try:
            try:
                rows = self.side_query(_MDL_HOLDERS, me)
                found = [f"connection {i} (user {u}@{h}, {c} for {t}s{', ' + st if st else ''}) holds "
                         f"{mode} on {table}: {q or '-'}" for i, u, h, c, t, st, mode, table, q in rows]
            except DBAPIError as exc:
                if errno(exc) not in (1109, 1146):  # other than: the plugin is not loaded
                    raise
                found = [f"connection {i} (user {u}@{h}, {c}, transaction open {age}s; metadata locks unknown: "
                         f"the metadata_lock_info plugin is not loaded): {q or '-'}"
                         for i, u, h, c, age, q in self.side_query(_OPEN_TRANSACTIONS, me)]
            found += [f"connection {i} (user {u}@{h}, queued: {st} for {t}s): {q or '-'}"
                      for i, u, h, t, st, q in self.side_query(_MDL_WAITERS, me)]
        except DBAPIError as exc:  # the diagnosis must not hide the failure it explains
            return [f"(could not read them: {self.describe_error(exc)})"]
        return found

    def lock_holder(self, key: str) -> str | None:
        rows = self.query(_LOCK_HOLDER, {"name": self.lock_name(key)})
        if not rows:
            return None
        i, user, host, command, seconds, state = rows[0]
        return f"connection {i} (user {user}@{host}, {command} for {seconds}s{', ' + state if state else ''})"


def _without_view_columns(found: set[str]) -> set[str]:
    """``found`` without the columns of the views in it (a view's columns are the view)."""
    views = {o[len("view:"):] for o in found if o.startswith("view:")}
    return {o for o in found if not (o.startswith("column:") and relation_of(o) in views)} if views else found


def errno(exc: BaseException) -> int | None:
    """The MySQL error number of a driver error (PyMySQL's first argument)."""
    args = getattr(driver_error(exc), "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _like(value: str, pattern: str) -> bool:
    """``value LIKE pattern`` as GRANT reads a schema name (``%``, ``_``, ``\\`` escapes)."""
    regex = "".join(".*" if part == "%" else "." if part == "_" else re.escape(part[-1])
                    for part in re.findall(r"\\.|.", pattern, re.DOTALL))
    return re.fullmatch(regex, value, re.DOTALL) is not None


_MDL_HOLDERS = """
SELECT m.THREAD_ID, p.USER, p.HOST, p.COMMAND, p.TIME, p.STATE, m.LOCK_MODE,
       CONCAT(m.TABLE_SCHEMA, '.', m.TABLE_NAME), LEFT(p.INFO, 60)
FROM information_schema.METADATA_LOCK_INFO m JOIN information_schema.PROCESSLIST p ON p.ID = m.THREAD_ID
WHERE m.THREAD_ID <> :me AND m.LOCK_TYPE = 'Table metadata lock' AND m.TABLE_SCHEMA = DATABASE()
ORDER BY p.TIME DESC
"""
_MDL_WAITERS = """
SELECT p.ID, p.USER, p.HOST, p.TIME, p.STATE, LEFT(p.INFO, 60) FROM information_schema.PROCESSLIST p
WHERE p.ID <> :me AND p.STATE LIKE 'Waiting for%metadata lock' ORDER BY p.TIME DESC
"""
_OPEN_TRANSACTIONS = """
SELECT t.trx_mysql_thread_id, p.USER, p.HOST, p.COMMAND, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()),
       LEFT(COALESCE(t.trx_query, p.INFO), 60)
FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
WHERE t.trx_mysql_thread_id <> :me ORDER BY t.trx_started
"""
_LOCK_HOLDER = """
SELECT p.ID, p.USER, p.HOST, p.COMMAND, p.TIME, p.STATE
FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(:name)
"""
