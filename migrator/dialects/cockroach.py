"""CockroachDB: the PostgreSQL wire protocol and files, with a lease row as the lock.

CockroachDB has no advisory locks. The lease lives in ``<prefix>_migration_lock``; a
holder that dies stops renewing it, and the lease expires after ``LEASE_SECONDS``.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid

from sqlalchemy import text

from migrator.dialects.base import Database
from migrator.dialects.postgres import Postgres

LEASE_SECONDS = 30


class Cockroach(Postgres):
    name = "cockroach"
    files_dialect = "cockroach"
    drivername = "cockroachdb+psycopg"  # the sqlalchemy-cockroachdb dialect

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew_stop: threading.Event | None = None

    scan = Database.scan  # its pg_depend is not PostgreSQL's: the named relations alone

    def ddl_lock_statements(self) -> list[str]:
        return []  # lock_timeout is not a CockroachDB session variable in every version

    def lock_table(self, key: str) -> str:
        return f'"{key}_migration_lock"'

    def try_lock(self, key: str) -> bool:
        table = self.lock_table(key)
        self.execute(f"CREATE TABLE IF NOT EXISTS {table} (id INT PRIMARY KEY, holder STRING NOT NULL, "
                     "expires_at TIMESTAMPTZ NOT NULL)")
        rows = self.query(
            f"INSERT INTO {table} (id, holder, expires_at) VALUES (1, :holder, now() + :seconds * INTERVAL '1 second') "
            f"ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
            f"WHERE {table}.expires_at < now() OR {table}.holder = excluded.holder RETURNING holder",
            {"holder": self.holder, "seconds": LEASE_SECONDS},
        )
        if rows:
            self._start_renewal(key)
        return bool(rows)

    def _start_renewal(self, key: str) -> None:
        if self._renew_stop is not None:
            return
        stop = self._renew_stop = threading.Event()
        renewal = text(f"UPDATE {self.lock_table(key)} SET expires_at = now() + :seconds * INTERVAL '1 second' "
                       "WHERE id = 1 AND holder = :holder")

        def renew() -> None:  # on a connection of its own: the main one may be busy for minutes
            with self.engine.connect() as conn:
                while not stop.wait(LEASE_SECONDS / 3):
                    conn.execute(renewal, {"seconds": LEASE_SECONDS, "holder": self.holder})

        threading.Thread(target=renew, name="lease-renewal", daemon=True).start()

    def unlock(self, key: str) -> None:
        if self._renew_stop is not None:
            self._renew_stop.set()
            self._renew_stop = None
        self.execute(f"DELETE FROM {self.lock_table(key)} WHERE id = 1 AND holder = :holder", {"holder": self.holder})

    # the lease row names the other runner; CockroachDB has no pg_blocking_pids()
    blockers_while_waiting = False

    def lock_blockers(self) -> list[str] | None:
        return None

    def lock_holder(self, key: str) -> str | None:
        rows = self.query(f"SELECT holder, expires_at FROM {self.lock_table(key)} WHERE id = 1")
        if not rows:
            return None
        holder, expires = rows[0]
        host, pid, _ = (holder.rsplit(":", 2) + ["", ""])[:3]
        return f"process {pid} on {host} (lease until {expires:%Y-%m-%d %H:%M:%S %Z})"
