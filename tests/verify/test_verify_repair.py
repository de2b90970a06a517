"""Break-glass repair (SPEC section 6): repairable vs refused desyncs, on every dialect."""

from __future__ import annotations

import threading

import pytest
from verify_support import (
    FATAL,
    REFUSED,
    REPAIR_ENV,
    REPAIR_HINT,
    REPAIRED,
    applied_objects,
    assert_fatal_then,
    drop,
    events,
    json_logs,
    state,
    tracking_rows,
)


# -- repairable: the newest version(s) entirely gone ------------------------------------------

def test_newest_table_dropped_up_refuses_without_flag_and_changes_nothing(migrated):
    db, _, run = migrated
    drop(db, "newest_table")
    before = state(db)

    result = run("up")

    assert result.code == 4, result.text
    assert_fatal_then(result, REPAIR_HINT.format(version=4))
    assert "table:tasks" in result.err
    assert [line for line in result.err.splitlines() if line.startswith("Hint:")] == [
        "Hint: the schema is older than its tracking (e.g. a restored dump): to delete tracking rows 4 and "
        "apply them again, run `up` once with MIGRATE_REPAIR_TRACKING=1 (Helm: svc.migration.repairTracking: "
        "true), then set it back"]
    assert state(db) == before
    assert "table:tasks" not in db.snapshot()
    assert events(db, REPAIRED) == []


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_flag_set_to_false_does_not_repair(migrated, value):
    db, _, run = migrated
    drop(db, "newest_table")
    before = state(db)

    result = run("up", env={"MIGRATE_REPAIR_TRACKING": value})

    assert result.code == 4, result.text
    assert_fatal_then(result, REPAIR_HINT.format(version=4))
    assert state(db) == before


@pytest.mark.parametrize("value", ["1", "true"])
def test_newest_table_dropped_repaired_with_flag(migrated, value):
    db, _, run = migrated
    recorded = applied_objects(db)
    drop(db, "newest_table")

    result = run("up", env={"MIGRATE_REPAIR_TRACKING": value})

    assert result.code == 0, result.text
    assert "table:tasks" in db.snapshot()
    assert "Applied 4 tasks" in result.out
    assert [r[0] for r in tracking_rows(db)] == ["1", "2", "3", "4"]
    assert all(r[5] in ("False", "0") for r in tracking_rows(db)), "no row may stay dirty"
    # the re-applied version recorded its objects again, the same ones
    assert applied_objects(db) == recorded

    (version, detail), = events(db, REPAIRED)
    assert version == 4
    assert detail["versions"] == [4]
    assert "table:tasks" in detail["missing"]["4"]
    assert "index:tasks.ix_tasks_title" in detail["missing"]["4"]
    assert any(e.get("event") == REPAIRED for e in json_logs(result)), "repair must be logged too"

    verify = run("verify")
    assert verify.code == 0, verify.text
    again = run("up")
    assert again.code == 0 and "No pending migrations" in again.out, again.text
    assert len(events(db, REPAIRED)) == 1


def test_two_newest_versions_missing_rewind_from_the_older(migrated):
    db, _, run = migrated
    drop(db, "two_newest")
    before = state(db)

    refused = run("up")
    assert refused.code == 4, refused.text
    assert_fatal_then(refused, REPAIR_HINT.format(version=3))
    assert state(db) == before

    repaired = run("up", env=REPAIR_ENV)
    assert repaired.code == 0, repaired.text
    assert repaired.out.index("Applied 3 projects") < repaired.out.index("Applied 4 tasks")
    (version, detail), = events(db, REPAIRED)
    assert version == 3
    assert detail["versions"] == [3, 4]
    assert "table:projects" in detail["missing"]["3"] and "view:active_projects" in detail["missing"]["3"]
    assert "table:tasks" in detail["missing"]["4"]
    assert {"table:projects", "table:tasks", "view:active_projects"} <= db.snapshot()
    assert run("verify").code == 0


def test_dry_run_with_flag_plans_the_rewind_and_changes_nothing(migrated):
    db, _, run = migrated
    drop(db, "newest_table")
    before = state(db)

    result = run("up", "--dry-run", env=REPAIR_ENV)

    assert result.code == 0, result.text
    assert "CREATE TABLE tasks" in result.out
    assert "CREATE TABLE projects" not in result.out
    assert state(db) == before
    assert events(db, REPAIRED) == []


def test_up_target_below_the_rewind_reapplies_only_up_to_target(migrated):
    db, _, run = migrated
    drop(db, "two_newest")

    result = run("up", "--target", "3", env=REPAIR_ENV)

    assert result.code == 0, result.text
    assert [r[0] for r in tracking_rows(db)] == ["1", "2", "3"]
    assert "table:projects" in db.snapshot() and "table:tasks" not in db.snapshot()
    assert run("verify").code == 0
    assert run("up").code == 0
    assert "table:tasks" in db.snapshot()


def test_concurrent_repairs_repair_once(migrated):
    """Two hook Jobs with the flag at once: one repairs, the other waits and finds it done."""
    db, _, run = migrated
    drop(db, "newest_table")
    results = []

    def go():
        results.append(run("up", env=REPAIR_ENV))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [r.code for r in results] == [0, 0], [r.text for r in results]
    assert len(events(db, REPAIRED)) == 1
    assert run("verify").code == 0


# -- refused: partial or non-contiguous --------------------------------------------------------

@pytest.mark.parametrize("env", [None, REPAIR_ENV], ids=["no-flag", "flag"])
def test_index_of_newest_dropped_is_partial_and_refused(migrated, env):
    db, _, run = migrated
    drop(db, "newest_index")
    before = state(db)

    result = run("up", env=env)

    assert result.code == 4, result.text
    assert_fatal_then(result, REFUSED)
    assert "Re-run with MIGRATE_REPAIR_TRACKING=1" not in result.text
    assert result.err.splitlines()[-1] == (
        "Hint: the flag cannot fix this: make the schema match one version by hand (recreate what is "
        "missing, drop what came back or was left behind), record that version with `migrator force "
        "<version>`, then run `migrator up`")
    assert "index:tasks.ix_tasks_title" in result.err
    assert "version 4" in result.err
    assert state(db) == before
    assert events(db, REPAIRED) == []


@pytest.mark.parametrize("env", [None, REPAIR_ENV], ids=["no-flag", "flag"])
@pytest.mark.parametrize("scenario", ["older_column", "gap"])
def test_older_version_missing_with_newer_intact_is_non_contiguous_and_refused(migrated, env, scenario):
    db, _, run = migrated
    drop(db, scenario)
    before = state(db)

    result = run("up", env=env)

    assert result.code == 4, result.text
    assert_fatal_then(result, REFUSED)
    assert "column:accounts.nickname" in result.err
    assert "version 2" in result.err
    if scenario == "gap":
        assert "table:tasks" in result.err and "version 4" in result.err
    assert state(db) == before
    assert events(db, REPAIRED) == []


@pytest.mark.parametrize("env", [None, REPAIR_ENV], ids=["no-flag", "flag"])
def test_newest_gone_and_the_one_below_partly_gone_is_refused(migrated, env):
    """Version 4 entirely gone, version 3 lost only its view: partial, refused even with the flag."""
    db, _, run = migrated
    db.execute("DROP TABLE tasks", "DROP VIEW active_projects")
    db.execute("CREATE TABLE unrelated_keep (x INTEGER)")  # not the migrator's: ignored
    before = state(db)

    result = run("up", env=env)

    assert result.code == 4, result.text
    assert_fatal_then(result, REFUSED)
    assert "view:active_projects" in result.err and "table:tasks" in result.err
    assert "table:projects" in result.err, "the objects still present should be shown for a partial version"
    assert state(db) == before


# -- the flag on a healthy database ------------------------------------------------------------

def test_flag_on_healthy_database_changes_nothing_and_warns(migrated):
    db, _, run = migrated
    before = state(db)

    result = run("up", env=REPAIR_ENV)

    assert result.code == 0, result.text
    assert state(db) == before
    assert events(db, REPAIRED) == []
    warnings = [e for e in json_logs(result) if e.get("level") == "warning"]
    assert any("MIGRATE_REPAIR_TRACKING" in str(e.get("event")) for e in warnings), result.err
    assert FATAL not in result.err
