"""Least privilege: the read-only commands and a no-op `up` work with the grants the README
lists and nothing more; a user that cannot see the whole schema gets exit 2 naming the grant,
never a desync made of objects it merely cannot see."""

from __future__ import annotations

import uuid

import pytest
from verify_support import FATAL, state

from migrator.config import parse_dsn

PASSWORD = "ro-pass-1"

pytestmark = pytest.mark.parametrize("dialect", ["postgres", "mysql"])  # SQLite has no users


def _dsn(db, user: str) -> str:
    d = parse_dsn(db.dsn)
    scheme = "postgres" if db.dialect == "postgres" else "mysql"
    return f"{scheme}://{user}:{PASSWORD}@{d.host}:{d.port}/{db.name}"


@pytest.fixture
def user(db):
    """A fresh login on the test database's server (dropped afterwards); its grants are the test's."""
    name = f"mt_ro_{uuid.uuid4().hex[:8]}"
    if db.dialect == "postgres":
        db.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'",
                   "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    else:
        db.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{PASSWORD}'")
    yield name
    if db.dialect == "postgres":
        db.execute(f"DROP OWNED BY {name}", f"DROP ROLE {name}")
    else:
        db.execute(f"DROP USER '{name}'@'%'")


def grant_readonly(db, name: str) -> None:
    """The README's grants for status, verify, wait and an `up` with nothing to do."""
    if db.dialect == "postgres":
        db.execute(f"GRANT USAGE ON SCHEMA public TO {name}",
                   f"GRANT SELECT ON svc_migrations, svc_migration_events TO {name}")
    else:
        db.execute(f"GRANT SELECT, SHOW VIEW ON `{db.name}`.* TO '{name}'@'%'")


def test_readonly_grants_are_enough_for_status_verify_wait_and_a_noop_up(migrated, user, cli):
    db, migrations, _ = migrated
    grant_readonly(db, user)
    before = state(db)

    def run(*args):
        return cli(*args, dsn=_dsn(db, user), migrations=migrations)

    status = run("status", "--check")
    assert status.code == 0, status.text
    assert status.out.splitlines()[-1] == "Database is up to date."
    verify = run("verify")
    assert verify.code == 0, verify.text
    wait = run("wait", "--timeout", "5")
    assert wait.code == 0, wait.text
    up = run("up")
    assert up.code == 0, up.text
    assert "No pending migrations: service svc is at version 4." in up.out
    assert PASSWORD not in status.text + verify.text + wait.text + up.text
    assert state(db) == before


def test_a_user_that_cannot_see_the_schema_is_refused_with_the_grant_it_lacks(migrated, user, cli):
    """On MariaDB information_schema lists only what the user holds a privilege on: with SELECT on
    the tracking table alone every other table would look missing (and repairable)."""
    db, migrations, _ = migrated
    if db.dialect == "postgres":
        db.execute("REVOKE USAGE ON SCHEMA public FROM PUBLIC", f"GRANT SELECT ON svc_migrations TO {user}")
        lacking = f'GRANT USAGE ON SCHEMA "public" TO "{user}"'
    else:
        db.execute(f"GRANT SELECT ON `{db.name}`.svc_migrations TO '{user}'@'%'")
        lacking = f"GRANT SELECT, SHOW VIEW ON `{db.name}`.* TO '{user}'@'%'"
    before = state(db)

    for command in (("verify",), ("status", "--check"), ("up",), ("status",)):
        result = cli(*command, dsn=_dsn(db, user), migrations=migrations, env={"MIGRATE_REPAIR_TRACKING": "1"})
        assert result.code == 2, result.text
        lines = result.err.splitlines()
        assert (f"Error: the database user lacks privileges the migrator needs to read tracking and see the whole "
                f"schema of service svc: {lacking}") in lines
        assert lines[lines.index(next(line for line in lines if line.startswith("Error:"))) + 1].startswith("Hint: ")
        assert FATAL not in result.err and "missing table" not in result.err
    assert state(db) == before


def test_a_postgres_user_without_select_on_the_tracking_table_is_named_the_grant(migrated, user, cli):
    db, migrations, _ = migrated
    if db.dialect != "postgres":
        pytest.skip("on MariaDB the schema-wide SELECT covers the tracking table")
    db.execute(f"GRANT USAGE ON SCHEMA public TO {user}")

    result = cli("verify", dsn=_dsn(db, user), migrations=migrations)

    assert result.code == 2, result.text
    assert f'GRANT SELECT ON "public"."svc_migrations" TO "{user}"' in result.err
    assert "permission denied" not in result.err


def test_mariadb_select_alone_does_not_show_constraints_so_it_is_not_enough(migrated, user, cli):
    """MariaDB lists a table's constraints only to a user with a privilege beyond SELECT on it: with
    SELECT alone every primary key, unique and foreign key would look missing."""
    db, migrations, _ = migrated
    if db.dialect != "mysql":
        pytest.skip("MariaDB's information_schema rule")
    db.execute(f"GRANT SELECT ON `{db.name}`.* TO '{user}'@'%'")

    result = cli("verify", dsn=_dsn(db, user), migrations=migrations)

    assert result.code == 2, result.text
    assert f"GRANT SELECT, SHOW VIEW ON `{db.name}`.* TO '{user}'@'%'" in result.err
    assert FATAL not in result.err


def test_force_needs_only_the_tracking_writes_the_readme_lists(migrated, user, cli):
    db, migrations, _ = migrated
    grant_readonly(db, user)
    if db.dialect == "postgres":
        db.execute(f"GRANT INSERT, UPDATE, DELETE ON svc_migrations TO {user}",
                   f"GRANT INSERT ON svc_migration_events TO {user}",
                   f"GRANT USAGE ON SEQUENCE svc_migration_events_id_seq TO {user}")
    else:
        db.execute(f"GRANT INSERT, UPDATE, DELETE ON `{db.name}`.* TO '{user}'@'%'")

    forced = cli("force", "2", "--yes", dsn=_dsn(db, user), migrations=migrations)

    assert forced.code == 0, forced.text
    assert [int(v) for (v,) in db.query("SELECT version FROM svc_migrations ORDER BY version")] == [1, 2]
