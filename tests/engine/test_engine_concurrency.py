"""Concurrent runners, the runner lock, killed runners, and services sharing one
database at the same moment (SPEC 6)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from engine_support import (
    VERSIONS,
    HeldLock,
    communicate,
    events,
    lock_is_held,
    ok,
    plain_lines,
    sleep_sql,
    tracking_rows,
    versions,
    wait_until,
)

RUNNERS = 8


def test_concurrent_runners_apply_each_migration_once(mig, db):
    mig.write("0006_pause.up.sql", sleep_sql(db.dialect, 1.0) + ";\n")
    procs = [mig.spawn("--lock-timeout", "90", "up") for _ in range(RUNNERS)]
    results = [communicate(p, timeout=120) for p in procs]
    assert [code for code, _, _ in results] == [0] * RUNNERS, "\n".join(err for _, _, err in results)
    assert versions(db) == VERSIONS + [6]
    assert not any(r.dirty for r in tracking_rows(db))
    applied = events(db, event="MIGRATION_APPLIED")
    assert sorted(e[1] for e in applied) == VERSIONS + [6], "a migration was applied more than once"
    assert len({e[2]["pid"] for e in applied}) == 1, "two runners applied migrations"
    waited = [err for _, _, err in results if "waiting for the migration lock" in err]
    assert waited, "the runners did not overlap: the test proves nothing"
    assert sum("No pending migrations" in out for _, out, _ in results) == RUNNERS - 1


def test_lock_timeout_exits_5(mig, db):
    before = db.snapshot()
    with HeldLock(db):
        started = time.monotonic()
        r = ok(mig("--lock-timeout", "1", "up"), 5)
        assert 1 <= time.monotonic() - started < 30
        assert "lock" in plain_lines(r.err)[0]
        ok(mig("--lock-timeout", "0.2", "force", "2", "--yes"), 5)
        assert db.snapshot() == before, "a runner without the lock changed the database"
    ok(mig("--lock-timeout", "5", "up"))
    assert versions(db) == VERSIONS
    with HeldLock(db):
        ok(mig("--lock-timeout", "0.2", "down", "--yes"), 5)
    assert versions(db) == VERSIONS


@pytest.mark.parametrize("dialect", [
    "sqlite",
    "postgres",
    "mysql",
])
def test_killed_runner_leaves_no_lock(mig, db):
    """SIGKILL a runner in the middle of a long migration: the next runner gets the lock."""
    slow = mig.write("0006_slow.up.sql", sleep_sql(db.dialect, 30) + ";\n")
    runner = mig.spawn("up")
    try:
        assert wait_until(lambda: versions(db)[:5] == VERSIONS and lock_is_held(db), timeout=30), \
            "the runner never reached the slow migration"
        time.sleep(0.3)
    finally:
        os.kill(runner.pid, signal.SIGKILL)
        runner.communicate()
    slow.write_text("SELECT 1;\n")  # the operator fixes the slow migration
    started = time.monotonic()
    r = mig("--lock-timeout", "5", "up")
    assert r.code != 5, f"the killed runner left its lock behind\n{r.err}"
    if db.dialect == "mysql":  # DDL is not transactional: the killed migration is dirty, by design
        assert r.code == 3 and plain_lines(r.err)[0] == "Error: Database is in dirty state at version 6"
        ok(mig("force", "5", "--yes"))
        ok(mig("up"))
    else:
        ok(r)
    assert time.monotonic() - started < 15
    assert versions(db) == VERSIONS + [6] and not any(row.dirty for row in tracking_rows(db))


SHARED = {  # two services that each create their own tables, pausing between them
    "alpha": ["CREATE TABLE alpha_items (id BIGINT PRIMARY KEY, label VARCHAR(50));\n{pause};\n",
              "CREATE INDEX alpha_items_label_idx ON alpha_items (label);\n{pause};\n",
              "CREATE TABLE alpha_tags (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL,\n"
              "  CONSTRAINT alpha_tags_item_fk FOREIGN KEY (item_id) REFERENCES alpha_items (id));\n{pause};\n"],
    "beta": ["{pause};\nCREATE TABLE beta_items (id BIGINT PRIMARY KEY, label VARCHAR(50));\n",
             "{pause};\nALTER TABLE beta_items ADD COLUMN note VARCHAR(50) NULL;\n",
             "{pause};\nCREATE TABLE beta_tags (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL,\n"
             "  CONSTRAINT beta_tags_item_fk FOREIGN KEY (item_id) REFERENCES beta_items (id));\n"],
}


def shared_migrations(write_migrations, dialect: str, sets: dict, pause: float):
    root = None
    for service, texts in sets.items():
        files = {f"{i:04d}_step{i}.up.sql": t.format(pause=sleep_sql(dialect, pause)) for i, t in enumerate(texts, 1)}
        root = write_migrations({dialect: files}, service=service, root=root)
    return root


def own_objects_only(db, service: str) -> None:
    for row in tracking_rows(db, service):
        foreign = [o for o in row.created + row.dropped if not o.split(":", 1)[1].startswith(f"{service}_")]
        assert not foreign, f"{service} version {row.version} recorded another service's objects: {foreign}"


def run_together(migrator_for, db, root, services):
    procs = [migrator_for(db, root, s).spawn("--lock-timeout", "60", "up") for s in services]
    results = [communicate(p, timeout=120) for p in procs]
    assert [code for code, _, _ in results] == [0] * len(services), "\n".join(err for _, _, err in results)


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_services_sharing_a_database_at_the_same_moment(migrator_for, db, write_migrations):
    root = shared_migrations(write_migrations, db.dialect, SHARED, 0.4)
    run_together(migrator_for, db, root, ["alpha", "beta"])
    for service in ("alpha", "beta"):
        assert versions(db, service) == [1, 2, 3]
        own_objects_only(db, service)
    assert "table:alpha_tags" in tracking_rows(db, "alpha")[2].created
    assert "column:beta_items.note" in tracking_rows(db, "beta")[1].created
    for service in ("alpha", "beta"):
        ok(migrator_for(db, root, service)("verify"))


# Each service's migration merely names the other's table in a string literal, while that
# table appears: alpha waits until beta's tracking table exists, then creates alpha_items;
# beta, inside its migration, waits until alpha_items exists.
WAIT_FOR = {
    "postgres": "DO $$ BEGIN\n  FOR i IN 1..200 LOOP\n"
                "    EXIT WHEN EXISTS (SELECT 1 FROM pg_class WHERE relname = '{table}');\n"
                "    PERFORM pg_sleep(0.05);\n  END LOOP;\n  PERFORM pg_sleep({after});\nEND $$;\n",
    "mysql": "BEGIN NOT ATOMIC\n  DECLARE i INT DEFAULT 0;\n"
             "  WHILE i < 200 AND (SELECT COUNT(*) FROM information_schema.TABLES\n"
             "      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}') = 0 DO\n"
             "    DO SLEEP(0.05);\n    SET i = i + 1;\n  END WHILE;\n  DO SLEEP({after});\nEND;\n",
}


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_a_mention_of_another_services_table_does_not_record_it(migrator_for, db, write_migrations):
    wait_for = WAIT_FOR[db.dialect]
    root = write_migrations({db.dialect: {"0001_items.up.sql": wait_for.format(table="beta_migrations", after=0.3)
                                          + "CREATE TABLE alpha_items (id BIGINT PRIMARY KEY);\n"}}, service="alpha")
    write_migrations({db.dialect: {"0001_log.up.sql": "CREATE TABLE beta_log (id BIGINT PRIMARY KEY);\n"
                                   + wait_for.format(table="alpha_items", after=0)}}, service="beta", root=root)
    run_together(migrator_for, db, root, ["alpha", "beta"])
    assert "table:alpha_items" in tracking_rows(db, "alpha")[0].created
    assert "table:beta_log" in tracking_rows(db, "beta")[0].created
    own_objects_only(db, "beta")
    own_objects_only(db, "alpha")


def test_a_far_reaching_migration_does_not_record_what_another_service_adds_meanwhile(
        migrator_for, make_database, write_migrations):
    """alpha's far-reaching migration (a routine) names alpha_shared, so it reads every
    relation depending on it, beta's beta_child among them (its foreign key). While it waits,
    beta adds a column to beta_child: that is beta's, not alpha's."""
    db = make_database("postgres")
    root = write_migrations({"postgres": {
        "0001_shared.up.sql": "CREATE TABLE alpha_shared (id INT PRIMARY KEY);\n",
        "0002_routine.up.sql": "ALTER TABLE alpha_shared ADD COLUMN note TEXT NULL;\n"
                               "CREATE FUNCTION alpha_one() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
                               "DO $$ BEGIN\n  FOR i IN 1..200 LOOP\n"
                               "    EXIT WHEN EXISTS (SELECT 1 FROM pg_attribute WHERE attname = 'late');\n"
                               "    PERFORM pg_sleep(0.05);\n  END LOOP;\nEND $$;\n"}}, service="alpha")
    write_migrations({"postgres": {
        "0001_child.up.sql": "CREATE TABLE beta_child (id INT PRIMARY KEY, "
                             "shared_id INT REFERENCES alpha_shared (id));\n",
        "0002_late.up.sql": "SELECT pg_sleep(0.5);\nALTER TABLE beta_child ADD COLUMN late INT NULL;\n"}},
        service="beta", root=root)
    ok(migrator_for(db, root, "alpha")("up", "--target", "1"))
    ok(migrator_for(db, root, "beta")("up", "--target", "1"))

    run_together(migrator_for, db, root, ["alpha", "beta"])

    assert tracking_rows(db, "alpha")[1].created == ["column:alpha_shared.note"]
    assert tracking_rows(db, "beta")[1].created == ["column:beta_child.late"]
