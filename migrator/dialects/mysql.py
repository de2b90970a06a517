"""MySQL 8 and MariaDB 10.6+: DDL commits implicitly, so every migration uses the
dirty-flag protocol; ``GET_LOCK`` is the runner lock; ``lock_wait_timeout`` bounds DDL waits."""

from __future__ import annotations

import hashlib
import math
import re
import ssl
from collections.abc import Iterable, Sequence

from migrator.catalog import relation_of
from migrator.dialects.base import Database, filter_names

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
# SHOW GRANTS lines that give a privilege on every table of a schema: ON *.* or ON `db`.*
_SCHEMA_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<schema>\*|`(?:[^`]|``)+`)\.\* TO ")
_TLS_ON = {"true", "1", "skip-verify", "preferred", "required", "verify_ca", "verify_identity"}


class MySQL(Database):
    name = "mysql"
    files_dialect = "mysql"
    transactional_ddl = False
    schema_wide_index_names = False  # per table: DROP INDEX i ON t, and PRIMARY on every table
    placeholder = "%s"
    types = dict(Database.types, timestamp="DATETIME(6)", bool="TINYINT(1)", text="LONGTEXT",
                 serial_pk="BIGINT AUTO_INCREMENT PRIMARY KEY")

    quote_char = "`"

    def db_time(self, moment):
        return moment.replace(tzinfo=None)  # DATETIME has no zone: stored as UTC

    def _ssl(self) -> dict | None:
        params = {k.lower(): v.lower() for k, v in self.dsn.params}
        mode = params.get("tls") or params.get("ssl-mode") or params.get("sslmode")
        if mode not in _TLS_ON:
            return None
        context = ssl.create_default_context()
        if mode in ("skip-verify", "preferred", "required"):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return {"ssl": context}

    def connect(self) -> None:
        import pymysql

        d = self.dsn
        from pymysql.constants import CLIENT

        kwargs = dict(user=d.user or "", password=d.password or "", database=d.database,
                      autocommit=True, connect_timeout=10, charset="utf8mb4",
                      client_flag=CLIENT.MULTI_STATEMENTS)
        kwargs.update(unix_socket=d.socket) if d.socket else kwargs.update(host=d.host, port=d.port)
        # No TLS unless the DSN asks (the Go driver's tls=false default). Said explicitly:
        # PyMySQL 1.2 otherwise tries TLS whenever the server offers it, unverified, and
        # building that context (loading the CA bundle) cost 50 ms of every start.
        try:
            self.conn = pymysql.connect(**kwargs, **(self._ssl() or {"ssl_disabled": True}))
        except pymysql.Error as exc:
            raise self.connection_error(exc) from None
        for statement in self.ddl_lock_statements():
            self.run_script_statement(statement)

    def ddl_lock_statements(self) -> list[str]:
        return [f"SET SESSION lock_wait_timeout = {max(1, math.ceil(self.ddl_lock_timeout))}"]

    def lock_name(self, key: str) -> str:
        name = f"migrator:{self.dsn.database}:{key}"
        return name if len(name) <= 64 else "migrator:" + hashlib.sha256(name.encode()).hexdigest()[:40]

    def try_lock(self, key: str) -> bool:
        return self.query("SELECT GET_LOCK(?, 0)", (self.lock_name(key),))[0][0] == 1

    def unlock(self, key: str) -> None:
        self.query("SELECT RELEASE_LOCK(?)", (self.lock_name(key),))

    begin_sql = "START TRANSACTION"

    def run_script_statement(self, sql: str) -> None:
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            while cur.nextset():  # a text the server reads as several statements (the connection
                pass              # allows that, for batch()): each runs to its end or raises here
        finally:
            cur.close()

    def batch(self, statements: Sequence[tuple[str, Sequence]], *, begin: bool = False,
              commit: bool = False) -> None:
        """One round trip (CLIENT.MULTI_STATEMENTS): PyMySQL binds the values client-side, and
        every result is read, so an error in any of them raises here."""
        parts = ([self.begin_sql] if begin and not self.held else []) + [
            self._sql(sql) for sql, _ in statements] + (["COMMIT"] if commit and not self.held else [])
        cur = self.conn.cursor()
        try:
            cur.execute("; ".join(parts), [p for _, params in statements for p in params])
            while cur.nextset():
                pass
        finally:
            cur.close()

    def snapshot(self, names: Iterable[str] | None, kinds: Sequence[str] | None = None, *,
                 via_indexes: bool = True) -> set[str]:  # MySQL's DROP INDEX names its table
        wanted = filter_names(names)
        if wanted == []:
            return set()
        marks = ", ".join(["%s"] * len(wanted or []))
        f = "" if wanted is None else f" AND LOWER(TABLE_NAME) IN ({marks})"
        parts = {"table": _TABLES.format(f=f), "view": None, "sequence": None,
                 "column": _COLUMNS.format(f=f), "index": _INDEXES.format(f=f),
                 "constraint": _CONSTRAINTS.format(f=f)}
        chosen = [sql for kind, sql in parts.items() if sql and (kinds is None or kind in kinds
                  or (kind == "table" and {"view", "sequence", "column"} & set(kinds)))]
        params = []
        for _ in chosen:
            params.extend(wanted or [])
        cur = self.conn.cursor()
        try:
            cur.execute(" UNION ALL ".join(chosen), params or None)
            found = {row[0] for row in cur.fetchall()}
        finally:
            cur.close()
        views = {o[len("view:"):] for o in found if o.startswith("view:")}
        if views:
            found = {o for o in found if not (o.startswith("column:") and relation_of(o) in views)}
        return found if kinds is None else {o for o in found if o.split(":", 1)[0] in kinds}

    def missing_grants(self, tracking_table: str) -> list[str]:
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
        args = getattr(exc, "args", ())
        if len(args) == 2 and isinstance(args[0], int):
            return f"{args[1]} (error {args[0]})"
        return super().describe_error(exc)


def _like(value: str, pattern: str) -> bool:
    """``value LIKE pattern`` as GRANT reads a schema name (``%``, ``_``, ``\\`` escapes)."""
    regex = "".join(".*" if part == "%" else "." if part == "_" else re.escape(part[-1])
                    for part in re.findall(r"\\.|.", pattern, re.DOTALL))
    return re.fullmatch(regex, value, re.DOTALL) is not None
