"""One service on one open database, for a command that needs the database."""

from __future__ import annotations

from contextlib import contextmanager

from migrator import log
from migrator.dialects import open_database
from migrator.runner import Runner
from migrator.source import select_service


@contextmanager
def session(config):
    """Validate the migration set first, then connect: bad files never reach the database."""
    dsn = config.dsn
    for secret in dsn.secrets:
        log.add_secret(secret)
    service = select_service(config.migrations_dir, config.service)
    log.add_public(service.name, service.table_prefix)
    service.migrations(dsn.dialect)
    log.bind(service=service.name)
    db = open_database(dsn, ddl_lock_timeout=config.ddl_lock_timeout, connect_timeout=config.connect_timeout,
                       ddl_lock_retries=config.ddl_lock_retries, progress_interval=config.progress_interval)
    try:
        runner = Runner(db, service)
        runner.check_access()
        runner.tracker.check_owner()
        yield runner
    finally:
        db.close()
