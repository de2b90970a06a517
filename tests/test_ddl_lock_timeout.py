"""A migration whose DDL cannot get its table lock fails fast (SPEC section 6)
instead of queueing every application query behind it."""

from __future__ import annotations

import time

import pytest

from tests.conftest import make_db

ALTER = {
    "postgres": "ALTER TABLE accounts ADD COLUMN note text NULL;",
    "mysql": "ALTER TABLE accounts ADD COLUMN note TEXT NULL;",
}
CREATE = {
    "postgres": "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);",
    "mysql": "CREATE TABLE accounts (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL) ENGINE=InnoDB;",
}


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_alter_fails_fast_behind_a_long_transaction(dialect, tmp_path, cli, write_migrations):
    test_db, drop = make_db(dialect, tmp_path)
    try:
        migrations = write_migrations({dialect: {
            "0001_accounts.up.sql": CREATE[dialect],
            "0002_note.up.sql": ALTER[dialect],
        }})
        assert cli("up", "--target", "1", dsn=test_db.dsn, migrations=migrations).code == 0
        holder = test_db.connect()
        holder.begin()
        holder.query("SELECT count(*) FROM accounts")  # a reader's lock held open
        try:
            started = time.monotonic()
            result = cli("--ddl-lock-timeout", "1", "--ddl-lock-retries", "0", "up", dsn=test_db.dsn,
                         migrations=migrations)
            elapsed = time.monotonic() - started
        finally:
            holder.rollback()
            holder.close()
        assert result.code == 1, result.text
        assert "0002_note.up.sql" in result.err
        assert "lock" in result.err.lower()
        assert elapsed < 15, f"the ALTER queued for {elapsed:.1f}s instead of failing fast"
        status = cli("status", "--format", "json", dsn=test_db.dsn, migrations=migrations)
        versions = {m["version"]: m["status"] for m in __import__("json").loads(status.out)["migrations"]}
        # PostgreSQL rolled the migration back; MariaDB leaves it dirty (DDL is not transactional)
        assert versions[2] == ("PENDING" if dialect == "postgres" else "DIRTY")
        if dialect == "mysql":
            assert cli("force", "1", "--yes", dsn=test_db.dsn, migrations=migrations).code == 0
        assert cli("up", dsn=test_db.dsn, migrations=migrations).code == 0
    finally:
        drop()
