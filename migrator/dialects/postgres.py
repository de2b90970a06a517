"""PostgreSQL: transactional DDL, session advisory lock, ``lock_timeout`` for DDL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from migrator.dialects.base import Database, filter_names
from migrator.errors import UsageError

_REL_KIND = "CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' WHEN 'S' THEN 'sequence' ELSE 'table' END"
_SNAPSHOT = f"""
WITH rel AS (
  SELECT c.oid, lower(c.relname) AS relname, c.relkind, {_REL_KIND} AS kind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') {{filter}}
)
SELECT kind || ':' || relname FROM rel
UNION ALL
SELECT 'column:' || r.relname || '.' || lower(a.attname)
  FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
  WHERE r.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index:' || r.relname || '.' || lower(i.relname)
  FROM rel r JOIN pg_index x ON x.indrelid = r.oid JOIN pg_class i ON i.oid = x.indexrelid
UNION ALL
SELECT 'constraint:' || r.relname || '.' || lower(k.conname)
  FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid WHERE k.contype IN ('p', 'u', 'f', 'c', 'x')
"""
_FILTER = """AND (lower(c.relname) IN (SELECT unnest(%(names)s::text[])) OR c.oid IN (
    SELECT x.indrelid FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
    WHERE lower(ic.relname) IN (SELECT unnest(%(names)s::text[]))))"""


_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


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

        d = self.dsn
        kwargs = dict(d.params)
        password = kwargs.pop("password", None) or d.password
        kwargs.setdefault("application_name", "migrator")
        kwargs.setdefault("connect_timeout", "10")
        if kwargs.get("sslmode", "prefer") not in _SSLMODES:
            raise UsageError(f"invalid DSN option: sslmode={kwargs['sslmode']!r} "
                             f"(expected one of {', '.join(sorted(_SSLMODES))})")
        if d.socket:
            kwargs["host"] = d.socket
        else:
            kwargs.update(host=d.host, port=d.port)
        try:
            self.conn = psycopg.connect(
                dbname=d.database, user=d.user, password=password, autocommit=True,
                prepare_threshold=None, **kwargs
            )
        except psycopg.ProgrammingError as exc:
            raise UsageError(f"invalid DSN option: {self.describe_error(exc)}") from None
        except psycopg.Error as exc:
            raise self.connection_error(exc) from None
        for statement in self.ddl_lock_statements():
            self.run_script_statement(statement)

    def ddl_lock_statements(self) -> list[str]:
        statements = [f"SET lock_timeout = '{int(self.ddl_lock_timeout * 1000)}ms'"]
        if self.conn is not None and self.conn.info.server_version >= 140000:
            # a runner killed mid-statement: its backend notices within 1 s, aborts and frees the lock
            statements.append("SET client_connection_check_interval = '1s'")
        return statements

    def lock_name(self, key: str) -> int:
        return advisory_key(f"migrator:{key}")

    def try_lock(self, key: str) -> bool:
        return bool(self.query("SELECT pg_try_advisory_lock(?)", (self.lock_name(key),))[0][0])

    def unlock(self, key: str) -> None:
        self.query("SELECT pg_advisory_unlock(?)", (self.lock_name(key),))

    def snapshot(self, names: Iterable[str] | None, kinds: Sequence[str] | None = None) -> set[str]:
        wanted = filter_names(names)
        if wanted == []:
            return set()
        sql = _SNAPSHOT.format(filter="" if wanted is None else _FILTER)
        cur = self.conn.cursor()
        try:
            cur.execute(sql, {"names": wanted} if wanted is not None else None)
            found = {row[0] for row in cur.fetchall()}
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
