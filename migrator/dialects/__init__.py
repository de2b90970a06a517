"""One small class per database, behind one registry keyed by dialect name."""

from __future__ import annotations

from migrator.config import DSN


def open_database(dsn: DSN, *, ddl_lock_timeout: float = 5.0):
    """Connect and return the dialect object for ``dsn`` (drivers are imported lazily)."""
    if dsn.dialect == "sqlite":
        from migrator.dialects.sqlite import SQLite as cls
    elif dsn.dialect == "mysql":
        from migrator.dialects.mysql import MySQL as cls
    elif dsn.dialect == "cockroach":
        from migrator.dialects.cockroach import Cockroach as cls
    else:
        from migrator.dialects.postgres import Postgres as cls
    db = cls(dsn, ddl_lock_timeout=ddl_lock_timeout)
    db.connect()
    return db
