"""The migration lock is given back when its block ends. When the database cannot take it
back (the connection is gone), that is a warning, the block's own outcome stands, and the
server has freed the lock with the connection: the next runner takes it at once."""

from __future__ import annotations

import io
import json

import pytest

from migrator import log
from migrator.errors import MigratorError
from migrator.runner import Runner
from migrator.source import load_service

DIALECTS = ("postgres", "mysql")  # SQLite's lock is a file lock: there is no connection to lose


@pytest.fixture
def logged():
    stream = io.StringIO()
    log.configure(fmt="json", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    log.configure()


def runner_on(test_db, write_migrations) -> Runner:
    root = write_migrations({test_db.dialect: {"0001_t.up.sql": "CREATE TABLE t (id INT PRIMARY KEY);\n"}})
    return Runner(test_db.connect(), load_service("svc", root / "svc"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_lost_connection_at_unlock_is_a_warning(dialect, make_database, write_migrations, logged):
    test_db = make_database(dialect)
    runner = runner_on(test_db, write_migrations)
    with pytest.raises(MigratorError, match="the block's own error"):
        with runner.locked(5):
            runner.db.conn.connection.dbapi_connection.close()  # the driver's connection is gone
            raise MigratorError("the block's own error")

    warnings = [e for e in logged() if e["event"] == "MIGRATION_UNLOCK_FAILED"]
    assert len(warnings) == 1 and warnings[0]["level"] == "warning", logged()
    assert warnings[0]["message"] == "could not release the migration lock" and warnings[0]["error"]

    other = runner_on(test_db, write_migrations)
    try:
        with other.locked(5):  # the server freed it with the connection (else: exit 5 after 5 s)
            pass
    finally:
        other.db.close()

