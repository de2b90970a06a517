"""Fresh databases, a dropped tracker, rows without recorded objects, data-only migrations."""

from __future__ import annotations

import pytest
from verify_support import (
    EVENTS,
    FATAL,
    FORCE_HINT,
    REPAIR_ENV,
    REPAIR_HINT,
    TRACKING,
    applied_objects,
    assert_fatal_then,
    assert_no_raw_error,
    drop,
    events,
    state,
    tracking_rows,
)


def test_fresh_database_gets_everything_and_again_is_a_noop(db, small, cli):
    migrations = small(db)

    first = cli("up", dsn=db.dsn, migrations=migrations)

    assert first.code == 0, first.text
    assert [r[0] for r in tracking_rows(db)] == ["1", "2", "3", "4"]
    objects = applied_objects(db)
    assert "table:accounts" in objects[1] and "index:accounts.ix_accounts_name" in objects[1]
    assert objects[2] == ["column:accounts.nickname"]
    assert "view:active_projects" in objects[3] and "table:projects" in objects[3]
    assert "table:tasks" in objects[4] and "index:tasks.ix_tasks_title" in objects[4]
    for recorded in objects.values():  # the migrator's own tables are never recorded
        assert not any(TRACKING in o or EVENTS in o for o in recorded), recorded
    after_first = state(db)

    again = cli("up", dsn=db.dsn, migrations=migrations)
    assert again.code == 0, again.text
    assert "No pending migrations" in again.out
    assert state(db) == after_first
    assert cli("verify", dsn=db.dsn, migrations=migrations).code == 0


def test_fresh_database_verify_is_clean(db, small, cli):
    migrations = small(db)
    verify = cli("verify", dsn=db.dsn, migrations=migrations)
    assert verify.code == 0, verify.text
    assert db.snapshot() == set(), "verify must not create anything"


# -- the tracking table dropped while the objects exist ------------------------------------

def _drop_tracker(db):
    db.execute(f"DROP TABLE {TRACKING}")


@pytest.mark.parametrize("env", [None, REPAIR_ENV], ids=["no-flag", "flag"])
def test_dropped_tracker_is_refused_with_a_pointer_at_force(migrated, env):
    db, _, run = migrated
    _drop_tracker(db)
    before = sorted(db.snapshot())

    result = run("up", env=env)

    assert result.code == 4, result.text
    assert_no_raw_error(result)
    assert TRACKING in result.err
    hint = FORCE_HINT.search(result.err)
    assert hint, f"no `migrator force N` hint:\n{result.err}"
    assert hint.group(1) == "4"
    assert sorted(db.snapshot()) == before, "nothing may be created or applied"

    verify = run("verify")
    assert verify.code == 4, verify.text
    assert_no_raw_error(verify)
    assert run("status", "--check").code == 4


def test_dropped_tracker_following_the_hint_recovers(migrated):
    db, _, run = migrated
    _drop_tracker(db)
    hint = FORCE_HINT.search(run("up").err)
    assert hint

    forced = run("force", hint.group(1), "--yes")
    assert forced.code == 0, forced.text
    assert [r[0] for r in tracking_rows(db)] == ["1", "2", "3", "4"]
    assert events(db, "MIGRATION_FORCED")

    up = run("up")
    assert up.code == 0, up.text
    assert "No pending migrations" in up.out
    verify = run("verify")
    assert verify.code == 0, verify.text


def test_dropped_tracker_on_a_partly_migrated_schema_points_at_the_real_version(migrated):
    db, _, run = migrated
    _drop_tracker(db)
    drop(db, "newest_table")

    result = run("up")
    assert result.code == 4, result.text
    hint = FORCE_HINT.search(result.err)
    assert hint and hint.group(1) == "3", result.err

    assert run("force", "3", "--yes").code == 0
    up = run("up")
    assert up.code == 0, up.text
    assert "Applied 4 tasks" in up.out
    assert "table:tasks" in db.snapshot()
    assert run("verify").code == 0


def test_dropped_tracker_and_events_table_is_refused_too(migrated):
    db, _, run = migrated
    db.execute(f"DROP TABLE {TRACKING}", f"DROP TABLE {EVENTS}")

    result = run("up")

    assert result.code == 4, result.text
    assert_no_raw_error(result)
    assert FORCE_HINT.search(result.err)


# -- rows recorded before object recording existed -------------------------------------------

@pytest.mark.parametrize("value", ["NULL", "'[]'"])
def test_rows_without_recorded_objects_verify_trivially(migrated, value):
    db, _, run = migrated
    db.execute(f"UPDATE {TRACKING} SET objects_created = {value}, objects_dropped = {value}")
    before = state(db)

    verify = run("verify")
    assert verify.code == 0, verify.text
    up = run("up")
    assert up.code == 0, up.text
    assert "No pending migrations" in up.out
    assert state(db) == before
    assert run("status", "--check").code == 0


@pytest.mark.parametrize("value", ["NULL", "'[]'"])
def test_legacy_rows_below_recorded_rows_still_guard_the_recorded_ones(migrated, value):
    """Versions 1-3 recorded nothing (older migrator); version 4's table is dropped: repairable."""
    db, _, run = migrated
    db.execute(f"UPDATE {TRACKING} SET objects_created = {value} WHERE version < 4")
    drop(db, "newest_table")

    refused = run("up")
    assert refused.code == 4, refused.text
    assert_fatal_then(refused, REPAIR_HINT.format(version=4))

    repaired = run("up", env=REPAIR_ENV)
    assert repaired.code == 0, repaired.text
    assert run("verify").code == 0


# -- data-only migrations ----------------------------------------------------------------------

def test_data_only_migration_records_nothing_and_verifies(db, small, cli):
    migrations = small(db, data_only=True)

    up = cli("up", dsn=db.dsn, migrations=migrations)

    assert up.code == 0, up.text
    objects = applied_objects(db)
    assert objects[5] == []
    assert db.query("SELECT count(*) FROM accounts")[0][0] == 1
    verify = cli("verify", dsn=db.dsn, migrations=migrations)
    assert verify.code == 0, verify.text
    assert cli("status", "--check", dsn=db.dsn, migrations=migrations).code == 0


def test_data_only_newest_does_not_hide_a_desync_and_a_failed_repair_leaves_tracking_as_it_was(db, small, cli):
    """Version 4's table dropped below a data-only version 5: detected, and repairable (5 recorded
    no objects, so it is rewound with 4). Re-applying 5 fails (its row is still there); on SQLite
    and PostgreSQL the rewind and the re-application are one transaction: nothing changed. On
    MariaDB DDL commits as it goes: 4 is back, 5 is dirty."""
    migrations = small(db, data_only=True)
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    drop(db, "newest_table")
    before = state(db)

    verify = cli("verify", dsn=db.dsn, migrations=migrations)
    assert verify.code == 4, verify.text
    assert_fatal_then(verify, REPAIR_HINT.format(version=4))
    assert "table:tasks" in verify.err

    up = cli("up", dsn=db.dsn, migrations=migrations, env=REPAIR_ENV)

    assert up.code == 1, up.text
    assert "Error: migration 5 failed: 0005_seed.up.sql line 1:" in up.err
    if db.dialect == "mysql":
        assert any(line.startswith("Hint: the database is now dirty at version 5") for line in up.err.splitlines())
        assert [(r[0], r[5]) for r in tracking_rows(db)] == [("1", "0"), ("2", "0"), ("3", "0"), ("4", "0"),
                                                             ("5", "1")]
        assert "table:tasks" in db.snapshot()
        assert len(events(db, "MIGRATION_TRACKING_REPAIRED")) == 1
    else:
        assert "Hint: the repair was rolled back: tracking rows 4, 5 are as they were; fix the cause, then run " \
               "up with MIGRATE_REPAIR_TRACKING=1 again" in up.err.splitlines()
        assert state(db) == before
        assert events(db, "MIGRATION_TRACKING_REPAIRED") == []
        assert [v for v, _ in events(db, "MIGRATION_FAILED")] == [5]


# -- the force hint on the example platform: proven by every object kind ----------------------

@pytest.mark.parametrize("at", [8, 5])
def test_dropped_tracker_hint_is_proven_by_columns_and_indexes_too(db, example_copy, cli, at):
    """auth at 8 (or 5) with platform_migrations dropped: versions 5-8 add columns, an index and
    drop a column, so counting tables alone said 4, and following that failed on 'column already
    exists'. The hint names the version the whole schema proves, and following it works."""
    def run(*args):
        return cli(*args, dsn=db.dsn, migrations=example_copy, service="auth")

    assert run("up", "--target", str(at)).code == 0
    db.execute("DROP TABLE platform_migrations")

    refused = run("up")
    assert refused.code == 4, refused.text
    assert_no_raw_error(refused)
    assert refused.err.splitlines()[-1] == (
        f"Hint: the schema shows every table, column, index and constraint up to version {at} and nothing "
        f"of a later one: record it with `migrator force {at}` and run up again")

    assert run("force", str(at), "--yes").code == 0
    up = run("up")
    assert up.code == 0, up.text
    assert "already exists" not in up.text
    assert [line.split()[1] for line in up.out.splitlines() if line.startswith("Applied ") and "ms)" in line] == [
        str(v) for v in range(at + 1, 9)]
    assert "column:users.full_name" not in db.snapshot() and "column:users.display_name" in db.snapshot()
    assert run("verify").code == 0


def test_dropped_tracker_on_a_half_applied_version_proves_no_version(db, example_copy, cli):
    """auth at 4 plus one of the two columns 5 adds: neither 4 nor 5 is the schema's version."""
    def run(*args):
        return cli(*args, dsn=db.dsn, migrations=example_copy, service="auth")

    assert run("up", "--target", "4").code == 0
    db.execute("DROP TABLE platform_migrations", "ALTER TABLE users ADD COLUMN display_name TEXT NULL")
    before = sorted(db.snapshot())

    for command in ("up", "verify"):
        result = run(command)
        assert result.code == 4, result.text
        assert_no_raw_error(result)
        assert not FORCE_HINT.search(result.err), result.err
        assert result.err.splitlines()[-1].startswith(
            "Hint: no version can be proven: the schema matches no single version")
    assert sorted(db.snapshot()) == before
    status = run("status")
    assert status.code == 0
    assert status.out.splitlines()[-1] == "Database tracking is out of sync with the schema (run migrator verify)."
