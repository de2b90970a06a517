"""`verify` and `status --check` (SPEC sections 5 and 6): what is detected, and exit codes."""

from __future__ import annotations

import pytest
from verify_support import (
    DETECTED,
    FATAL,
    REFUSED,
    REPAIR_ENV,
    REPAIR_HINT,
    assert_fatal_then,
    drop,
    state,
)


def test_healthy_database_verifies_and_checks_clean(migrated):
    _, _, run = migrated

    verify = run("verify")
    assert verify.code == 0, verify.text
    assert "in sync" in verify.out
    check = run("status", "--check")
    assert check.code == 0, check.text
    assert "Database is up to date." in check.out


def test_verify_and_status_check_exit_4_when_desynced(migrated):
    db, _, run = migrated
    drop(db, "newest_table")
    before = state(db)

    verify = run("verify")
    assert verify.code == 4, verify.text
    assert_fatal_then(verify, REPAIR_HINT.format(version=4))

    check = run("status", "--check")
    assert check.code == 4, check.text
    assert_fatal_then(check, REPAIR_HINT.format(version=4))
    assert check.out.splitlines()[-1] == "Database tracking is out of sync with the schema (run migrator verify)."

    plain = run("status")
    assert plain.code == 0, plain.text  # plain status reports, --check carries the exit codes
    assert plain.out.splitlines()[-1] == "Database tracking is out of sync with the schema (run migrator verify)."
    assert FATAL not in plain.err
    assert state(db) == before


def test_verify_never_repairs_even_with_the_flag(migrated):
    db, _, run = migrated
    drop(db, "newest_table")
    before = state(db)

    verify = run("verify", env=REPAIR_ENV)

    assert verify.code == 4, verify.text
    assert state(db) == before


def test_status_check_desync_wins_over_behind(db, small, cli):
    """Behind (pending 4) and desynced (3's view gone): desync is the worse state, exit 4."""
    migrations = small(db)
    assert cli("up", "--target", "3", dsn=db.dsn, migrations=migrations).code == 0
    db.execute("DROP VIEW active_projects")

    check = cli("status", "--check", dsn=db.dsn, migrations=migrations)

    assert check.code == 4, check.text
    assert check.out.splitlines()[-1] == "Database tracking is out of sync with the schema (run migrator verify)."
    assert check.out.splitlines()[-2].split() == ["4", "tasks", "-", "PENDING"]


def test_status_check_dirty_is_3(migrated):
    db, _, run = migrated
    db.execute("UPDATE svc_migrations SET dirty = TRUE WHERE version = 4"
               if db.dialect != "sqlite" else "UPDATE svc_migrations SET dirty = 1 WHERE version = 4")
    drop(db, "newest_table")

    assert run("status", "--check").code == 3
    assert run("verify").code == 3


@pytest.mark.parametrize("kind", ["view", "sequence", "unique", "foreign_key"])
def test_dropped_object_kind_is_detected(migrated, kind):
    db, _, run = migrated
    if db.dialect not in DETECTED[kind]:
        pytest.skip(f"{db.dialect} has no {kind} in the test set")
    expected = DETECTED[kind][db.dialect]
    assert expected in db.snapshot(), f"test set lacks {expected}"
    drop(db, kind)
    assert expected not in db.snapshot()
    before = state(db)

    verify = run("verify")
    assert verify.code == 4, verify.text
    assert_fatal_then(verify, REFUSED)  # the rest of the version is still there: partial
    assert expected in verify.err

    up = run("up", env=REPAIR_ENV)
    assert up.code == 4, up.text
    assert expected in up.err
    assert state(db) == before


def test_objects_dropped_by_a_later_migration_are_not_expected(db, write_migrations, cli):
    """Verification follows drops: a column dropped by version 3 is not missing."""
    files = {
        "0001_t.up.sql": "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, old_name VARCHAR(20) NULL);\n",
        "0002_t_new.up.sql": "ALTER TABLE t ADD COLUMN new_name VARCHAR(20) NULL;\n",
        "0003_t_contract.up.sql": "ALTER TABLE t DROP COLUMN old_name;\n",
        "0004_u.up.sql": "CREATE TABLE u (id BIGINT NOT NULL PRIMARY KEY);\n",
    }
    migrations = write_migrations({db.dialect: files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0

    verify = cli("verify", dsn=db.dsn, migrations=migrations)
    assert verify.code == 0, verify.text

    db.execute("DROP TABLE u")
    refused = cli("up", dsn=db.dsn, migrations=migrations)
    assert refused.code == 4
    assert_fatal_then(refused, REPAIR_HINT.format(version=4))
    assert "old_name" not in refused.err


def test_rename_moves_the_recorded_objects(db, write_migrations, cli):
    """A table renamed by a later version: the new name is expected, the old one is not."""
    files = {
        "0001_a.up.sql": "CREATE TABLE first_name (id BIGINT NOT NULL PRIMARY KEY);\n",
        "0002_rename.up.sql": "ALTER TABLE first_name RENAME TO second_name;\n",
        "0003_b.up.sql": "CREATE TABLE other (id BIGINT NOT NULL PRIMARY KEY);\n",
    }
    migrations = write_migrations({db.dialect: files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    assert cli("verify", dsn=db.dsn, migrations=migrations).code == 0

    db.execute("DROP TABLE second_name")
    verify = cli("verify", dsn=db.dsn, migrations=migrations)
    assert verify.code == 4, verify.text
    assert "table:second_name" in verify.err
    assert "table:first_name" not in verify.err


def test_desync_blocks_pending_migrations_too(db, small, cli):
    """Behind and desynced: `up` applies nothing, not even the pending version."""
    migrations = small(db)
    assert cli("up", "--target", "3", dsn=db.dsn, migrations=migrations).code == 0
    db.execute("DROP VIEW active_projects")
    before = state(db)

    result = cli("up", dsn=db.dsn, migrations=migrations)

    assert result.code == 4, result.text
    assert "view:active_projects" in result.err
    assert state(db) == before
    assert "table:tasks" not in db.snapshot()


def test_services_sharing_a_database_verify_only_their_own_objects(db, write_migrations, cli, tmp_path):
    """Two services in one database: one's desync is not the other's."""
    root = tmp_path / "shared"
    write_migrations({db.dialect: {"0001_a.up.sql": "CREATE TABLE alpha_items (id BIGINT NOT NULL PRIMARY KEY);\n",
                                   "0002_a.up.sql": "CREATE TABLE alpha_more (id BIGINT NOT NULL PRIMARY KEY);\n"}},
                     service="alpha", root=root)
    write_migrations({db.dialect: {"0001_b.up.sql": "CREATE TABLE beta_items (id BIGINT NOT NULL PRIMARY KEY);\n",
                                   "0002_b.up.sql": "CREATE TABLE beta_more (id BIGINT NOT NULL PRIMARY KEY);\n"}},
                     service="beta", root=root)
    for service in ("alpha", "beta"):
        assert cli("up", dsn=db.dsn, migrations=root, service=service).code == 0
    for table, service in (("alpha_migrations", "alpha"), ("beta_migrations", "beta")):
        for (_, recorded) in db.query(f"SELECT version, objects_created FROM {table}"):
            other = "beta" if service == "alpha" else "alpha"
            assert other not in recorded, f"{service} recorded {other}'s objects: {recorded}"

    db.execute("DROP TABLE beta_more")

    assert cli("verify", dsn=db.dsn, migrations=root, service="alpha").code == 0
    beta = cli("verify", dsn=db.dsn, migrations=root, service="beta")
    assert beta.code == 4, beta.text
    assert_fatal_then(beta, REPAIR_HINT.format(version=2))
    repaired = cli("up", dsn=db.dsn, migrations=root, service="beta", env=REPAIR_ENV)
    assert repaired.code == 0, repaired.text
    assert "table:beta_more" in db.snapshot()
    assert cli("verify", dsn=db.dsn, migrations=root, service="alpha").code == 0
