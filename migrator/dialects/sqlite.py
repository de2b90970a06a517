"""SQLite: transactional DDL once we issue BEGIN ourselves (AUTOCOMMIT leaves the sqlite3
module's own transaction handling out of it), and an ``flock`` on a lock file next to the
database as the runner lock: other processes honour it, and the kernel releases it when a
runner dies."""

from __future__ import annotations

import fcntl
import os
import re
import socket
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import Table, bindparam, text
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from migrator.dialects.base import Database, driver_error, filter_names
from migrator.errors import DatabaseError

# One query per snapshot, a row per part: (kind, relation, group, position, name). Constraints
# are unnamed: a foreign key ('fk') or UNIQUE ('unique') is its group's columns, in order.
_OBJECTS = ("SELECT type, lower(tbl_name), NULL, 0, lower(name) FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND type IN ('table', 'view', 'index'){f}")
_COLUMNS = ("SELECT 'column', lower(m.name), NULL, p.cid, lower(p.name) FROM sqlite_master m, "
            "pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'{f}")
_FOREIGN = ("SELECT 'fk', lower(m.name), f.id, f.seq, lower(f.\"from\") "
            "FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'{f}")
_UNIQUE = ("SELECT 'unique', lower(m.name), il.name, ii.seqno, lower(ii.name) FROM sqlite_master m, "
           "pragma_index_list(m.name) il, pragma_index_info(il.name) ii WHERE m.type = 'table' AND il.origin = 'u'{f}")
_FK_TARGET = re.compile(r"(?<=\))->.*\Z", re.DOTALL)

BUSY_TIMEOUT_MAX = (2**31 - 1) // 1000  # seconds: sqlite3_busy_timeout takes an int of milliseconds


class SQLite(Database):
    name = "sqlite"
    files_dialect = "sqlite"
    transactional_ddl = True
    drivername = "sqlite+pysqlite"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock_fds: dict[str, int] = {}

    @property
    def busy_timeout(self) -> float:
        """--ddl-lock-timeout as SQLite's busy timeout (whole milliseconds in a C int); 0 is
        no limit, as on PostgreSQL: the largest value."""
        wait = self.ddl_lock_timeout
        return BUSY_TIMEOUT_MAX if wait == 0 else min(wait, BUSY_TIMEOUT_MAX)

    @property
    def path(self) -> str:
        return self.dsn.database

    def url(self) -> URL:
        return URL.create(self.drivername, database=self.path)

    def connect_args(self) -> dict:
        return {"timeout": self.busy_timeout}

    def connect(self) -> None:
        if self.path != ":memory:" and not Path(self.path).parent.is_dir():
            raise DatabaseError(f"cannot open SQLite database {self.path}: "
                                f"directory {Path(self.path).parent} does not exist")
        super().connect()

    def connection_error(self, exc: BaseException) -> DatabaseError:
        return DatabaseError(f"cannot open SQLite database {self.path}: {driver_error(exc)}")

    def prepare_session(self) -> None:
        try:
            self.run_script_statement("PRAGMA foreign_keys = ON")
        except DBAPIError as exc:
            raise self.connection_error(exc) from None

    begin_sql = "BEGIN IMMEDIATE"

    def insert_missing(self, table: Table, values: dict) -> Executable:
        return insert(table).values(**values).on_conflict_do_nothing(index_elements=table.primary_key.columns)

    def try_lock(self, key: str) -> bool:
        if self.path == ":memory:":
            return True
        if key not in self._lock_fds:
            fd = os.open(f"{self.path}.{key}.migrator-lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._lock_fds[key] = fd
            os.ftruncate(fd, 0)  # who holds it, for a runner that times out waiting (lock_holder)
            os.write(fd, f"process {os.getpid()} on {socket.gethostname()} since "
                         f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}".encode())
        return True

    def lock_holder(self, key: str) -> str | None:
        try:
            with open(f"{self.path}.{key}.migrator-lock", encoding="utf-8", errors="replace") as f:
                return f.read(200).strip() or None
        except OSError:
            return None

    def unlock(self, key: str) -> None:
        fd = self._lock_fds.pop(key, None)
        if fd is not None:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def close(self) -> None:
        for key in list(self._lock_fds):
            self.unlock(key)
        super().close()

    def cancel(self) -> None:
        self.driver.interrupt()

    def is_lock_timeout(self, exc: BaseException) -> bool:
        return is_busy(exc)

    def snapshot(self, names: Iterable[str] | None, kinds: Sequence[str] | None = None, *,
                 via_indexes: bool = True) -> set[str]:
        wanted = filter_names(names)
        if wanted == []:
            return set()
        f = ("" if wanted is None else " AND (lower(tbl_name) IN :names OR lower(name) IN :names)"
             if via_indexes else " AND lower(tbl_name) IN :names")
        fm = "" if wanted is None else " AND lower(m.name) IN :names"
        parts = [_OBJECTS.format(f=f)]
        if kinds is None or "column" in kinds:
            parts.append(_COLUMNS.format(f=fm))
        if kinds is None or "constraint" in kinds:
            parts += [_FOREIGN.format(f=fm), _UNIQUE.format(f=fm)]
        found: set[str] = set()
        groups: dict[tuple, list[str]] = {}
        for kind, table, group, _, name in self.query(self._named(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 3, 4",
                                                                   wanted)):
            if kind in ("fk", "unique"):
                groups.setdefault((kind, table, group), []).append(name)
            else:
                found.add(f"{kind}:{table}.{name}" if kind in ("index", "column") else f"{kind}:{name}")
        # named by the columns of their own table, never by the table a foreign key references,
        # which ``ALTER TABLE ... RENAME`` of that other table rewrites (a change that no
        # migration naming this table would record)
        found.update(f"constraint:{table}.{kind}({','.join(cols)})" for (kind, table, _), cols in groups.items())
        return found if kinds is None else {o for o in found if o.split(":", 1)[0] in kinds}

    @staticmethod
    def _named(sql: str, names: list[str] | None):
        """``sql`` with its ``IN :names`` lists bound to ``names``."""
        return text(sql) if names is None else text(sql).bindparams(bindparam("names", names, expanding=True))

    def canonical_objects(self, objects: list[str]) -> list[str]:
        """Tracking rows written by earlier releases name a foreign key by its target too:
        ``constraint:child.fk(a)->parent`` is ``constraint:child.fk(a)``."""
        return [_FK_TARGET.sub("", o) if o.startswith("constraint:") else o for o in objects]


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY (5) or SQLITE_LOCKED (6): another connection holds the lock, past the busy timeout."""
    return (getattr(driver_error(exc), "sqlite_errorcode", 0) & 0xFF) in (5, 6)
