"""What the engine tells the operator and leaves in the database at its edges: versions applied
but no longer shipped, a database newer than the migrator, the hint after a failure (dirty or
rolled back, on `up` and on `down`), and the summary of `force`.

Each test reads exit codes, the exact operator lines, the JSON log events and the tracking and
events tables: what someone running the migrator sees, never how the engine gets there.
"""

from __future__ import annotations

import pytest
from engine_support import (
    VERSIONS,
    events,
    json_lines,
    ok,
    plain_lines,
    tracking_rows,
    versions,
)

ROLLED_BACK = "Hint: the migration was rolled back; nothing was recorded"


def dirty_hint(version: int) -> str:
    return (f"Hint: the database is now dirty at version {version}: inspect the schema, complete or "
            "revert it by hand, then run `migrator force <version>`")


def hints(result) -> list[str]:
    return [line for line in plain_lines(result.err) if line.startswith("Hint:")]


def logged(result, event: str) -> list[dict]:
    return [d for d in json_lines(result.err) if d.get("event") == event]


def unship(mig, *versions_: int) -> None:
    """Delete the files of ``versions_`` from the migrations folder (a migrator image that
    ships fewer migrations than the database has applied)."""
    for v in versions_:
        for path in mig.folder.glob(f"{v:04d}_*.sql"):
            path.unlink()


# -- applied versions the migrator does not ship -------------------------------------------

@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
@pytest.mark.parametrize("gone", [(2,), (2, 3)], ids=["one", "two"])
def test_an_applied_version_without_its_file_below_the_newest_stops_up(mig, db, gone):
    ok(mig("up"))
    rows, schema = tracking_rows(db), db.snapshot()
    unship(mig, *gone)

    for args in (("up",), ("up", "--dry-run")):
        r = ok(mig(*args), 2)
        listed = ", ".join(map(str, gone))
        assert plain_lines(r.err)[0] == (f"Error: applied migration {gone[0]} has no file in {mig.folder} "
                                         f"(applied but not shipped: {listed})"), r.err
        assert hints(r) == ["Hint: restore the missing files, or record the real state with `migrator force`"]
    assert (tracking_rows(db), db.snapshot()) == (rows, schema)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
@pytest.mark.parametrize("gone, shipped", [((5,), 4), ((4, 5), 3), ((3, 4, 5), 2)],
                         ids=["newest", "two-newest", "three-newest"])
def test_a_database_newer_than_the_migrator_is_a_warning_not_an_error(mig, db, gone, shipped):
    ok(mig("up"))
    rows = tracking_rows(db)
    unship(mig, *gone)

    r = ok(mig("up"))
    assert r.out.splitlines()[-1] == "No pending migrations: service app is at version 5."
    [warning] = logged(r, "MIGRATION_DATABASE_NEWER")
    assert (warning["level"], warning["message"], warning["newest_shipped"], warning["newest_applied"]) == (
        "warning", "database is newer than this migrator", shipped, 5)
    assert not [line for line in plain_lines(r.err) if line.startswith("Error")], r.err
    assert tracking_rows(db) == rows


def test_a_newer_database_with_a_gap_below_is_still_the_gap_s_error(mig, db):
    """Version 2 missing below the newest shipped one is an error even when the newest applied
    one is beyond the shipped set too: the error lists only the versions below."""
    ok(mig("up"))
    unship(mig, 2, 5)
    r = ok(mig("up"), 2)
    assert plain_lines(r.err)[0].endswith("(applied but not shipped: 2)"), r.err
    assert not logged(r, "MIGRATION_DATABASE_NEWER")


# -- the hint after a failure: dirty or rolled back ----------------------------------------

FAILING = "CREATE TABLE widgets (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table (id) VALUES (1);\n"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])  # MariaDB: see below
def test_a_failed_transactional_up_says_nothing_was_recorded(mig, db):
    ok(mig("up"))
    mig.write("0006_widgets.up.sql", FAILING)
    r = ok(mig("up"), 1)
    assert hints(r) == [ROLLED_BACK], r.err
    assert versions(db) == VERSIONS and "widgets" not in db.tables()
    [(version, detail)] = [(e[1], e[2]) for e in events(db, event="MIGRATION_FAILED")]
    assert (version, detail["action"], detail["dirty"], detail["name"]) == (6, "up", False, "widgets")


def test_a_failed_no_transaction_up_says_the_database_is_dirty(mig, db):
    ok(mig("up"))
    mig.write("0006_widgets.up.sql", "-- migrator:no-transaction\n" + FAILING)
    r = ok(mig("up"), 1)
    assert hints(r) == [dirty_hint(6)], r.err
    assert [(row.version, row.dirty) for row in tracking_rows(db)][-1] == (6, True)
    [(version, detail)] = [(e[1], e[2]) for e in events(db, event="MIGRATION_FAILED")]
    assert (version, detail["action"], detail["dirty"]) == (6, "up", True)
    ok(mig("up"), 3)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])  # MariaDB: see below
def test_a_failed_transactional_down_keeps_the_row_clean(mig, db):
    """Version 4's up file is a no-transaction one, its down file (here) is not: the failed
    down is rolled back, whatever the up file was."""
    ok(mig("up"))
    mig.write("0004_index_orders_total.down.sql", "DROP INDEX no_such_index;\n")
    r = ok(mig("down", "--steps", "2", "--yes"), 1)
    assert "Rolled back 5 noop" in r.out
    assert hints(r) == [ROLLED_BACK], r.err
    assert [(row.version, row.dirty) for row in tracking_rows(db)] == [(v, False) for v in VERSIONS[:4]]
    [(version, detail)] = [(e[1], e[2]) for e in events(db, event="MIGRATION_FAILED")]
    assert (version, detail["action"], detail["dirty"]) == (4, "down", False)
    assert [e[1] for e in events(db, event="MIGRATION_ROLLED_BACK")] == [5]
    ok(mig("status", "--check"), 1)  # behind by one, not dirty


def test_a_failed_no_transaction_down_leaves_the_dirty_marker(mig, db):
    """Version 5's up file runs in a transaction, its down file (here) is a no-transaction
    one: a failure there leaves 5 dirty."""
    ok(mig("up"))
    mig.write("0005_noop.down.sql", "-- migrator:no-transaction\nDELETE FROM no_such_table;\n")
    r = ok(mig("down", "--yes"), 1)
    assert hints(r) == [dirty_hint(5)], r.err
    assert [(row.version, row.dirty) for row in tracking_rows(db)] == [(v, v == 5) for v in VERSIONS]
    assert events(db, event="MIGRATION_ROLLED_BACK") == []
    [(version, detail)] = [(e[1], e[2]) for e in events(db, event="MIGRATION_FAILED")]
    assert (version, detail["action"], detail["dirty"]) == (5, "down", True)
    ok(mig("up"), 3)
    ok(mig("down", "--yes"), 3)


def test_a_failing_down_on_mariadb_leaves_the_dirty_marker(make_database, cli, tmp_path):
    """MariaDB commits DDL as it goes: a `down` that fails half-way is dirty, never rolled back."""
    from engine_support import SERVICE, Migrator, copy_test_migrations

    db = make_database("mysql")
    mig = Migrator(cli, db, copy_test_migrations(tmp_path / "migrations", "mysql"), SERVICE)
    ok(mig("up"))
    mig.write("0005_noop.down.sql", "CREATE TABLE half_done (id INT);\nDROP TABLE no_such_table;\n")
    r = ok(mig("down", "--yes"), 1)
    assert hints(r) == [dirty_hint(5)], r.err
    assert [(row.version, row.dirty) for row in tracking_rows(db)][-1] == (5, True)
    assert "half_done" in db.tables()
    [(version, detail)] = [(e[1], e[2]) for e in events(db, event="MIGRATION_FAILED")]
    assert (version, detail["action"], detail["dirty"]) == (5, "down", True)
    ok(mig("up"), 3)


# -- what `up` and `down` say as they go ---------------------------------------------------

def test_each_migration_announces_its_statements_and_mode(mig, db):
    """The line before each migration: how many statements, and in which mode (a transaction;
    a no-transaction file; MariaDB's DDL that commits as it goes, guarded by the dirty flag)."""
    tx = "no transaction (DDL commits implicitly): dirty flag" if db.dialect == "mysql" else "transaction"
    mig.write("0006_one.up.sql", "CREATE TABLE one_statement (id INTEGER PRIMARY KEY);\n")
    mig.write("0006_one.down.sql", "DROP TABLE one_statement;\n")
    r = ok(mig("up"))
    started = {d["version"]: d for d in logged(r, "MIGRATION_STARTED")}
    assert started[1]["message"] == f"applying 1 create_users: 3 statements, {tx}"
    assert started[4]["message"] == "applying 4 index_orders_total: 1 statement, no-transaction"
    assert started[5]["message"] == f"applying 5 noop: 0 statements, {tx}"
    assert started[6]["message"] == f"applying 6 one: 1 statement, {tx}"
    assert {d["action"] for d in started.values()} == {"up"}
    # the counts logged when each is applied are those its tracking row records
    applied = {d["version"]: (d["created"], d["dropped"]) for d in logged(r, "MIGRATION_APPLIED")}
    assert applied == {row.version: (len(row.created), len(row.dropped)) for row in tracking_rows(db)}
    assert applied[1][0] > 0 and applied[5] == (0, 0)

    r = ok(mig("down", "--steps", "3", "--yes"))
    started = [(d["version"], d["action"], d["message"]) for d in logged(r, "MIGRATION_STARTED")]
    assert started == [(6, "down", f"rolling back 6 one: 1 statement, {tx}"),
                       (5, "down", f"rolling back 5 noop: 0 statements, {tx}"),
                       (4, "down", "rolling back 4 index_orders_total: 1 statement, no-transaction")]


# -- force's summary -----------------------------------------------------------------------

def test_force_reports_the_rows_it_removed_cleaned_and_recorded(mig, db):
    ok(mig("up"))
    r = ok(mig("force", "2", "--yes"))
    assert r.out.splitlines()[-1] == ("Forced service app to version 2: removed rows [3, 4, 5], marked clean "
                                      "none, recorded as forced none.")
    assert versions(db) == [1, 2]
    detail = events(db, event="MIGRATION_FORCED")[-1][2]
    assert (detail["removed"], detail["cleaned"], detail["recorded"]) == ([3, 4, 5], [], [])

    db.execute("UPDATE app_migrations SET dirty = TRUE WHERE version = 2")
    r = ok(mig("force", "4", "--yes"))
    assert r.out.splitlines()[-1] == ("Forced service app to version 4: removed rows none, marked clean [2], "
                                      "recorded as forced [3, 4].")
    assert [(row.version, row.dirty, row.forced) for row in tracking_rows(db)] == [
        (1, False, False), (2, False, False), (3, False, True), (4, False, True)]
    [warning] = logged(r, "MIGRATION_FORCED")
    assert (warning["version"], warning["removed"], warning["cleaned"], warning["recorded"]) == (4, [], [2], [3, 4])

    r = ok(mig("force", "4", "--yes"))  # nothing to do: every list is empty
    assert r.out.splitlines()[-1] == ("Forced service app to version 4: removed rows none, marked clean none, "
                                      "recorded as forced none.")


# -- how long each took ----------------------------------------------------------------------

@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])  # a transaction; MariaDB's dirty flag
def test_the_time_each_migration_took_is_recorded_as_printed(mig, db):
    import re
    import time

    started = time.monotonic()
    r = ok(mig("up"))
    wall_ms = (time.monotonic() - started) * 1000
    printed = {int(v): int(ms) for v, ms in re.findall(r"^Applied (\d+) \w+ \((\d+) ms\)$", r.out, re.MULTILINE)}
    recorded = {int(v): int(ms) for v, ms in db.query("SELECT version, execution_ms FROM app_migrations")}
    assert printed == recorded and sorted(printed) == VERSIONS, (r.out, recorded)
    assert all(0 <= ms <= wall_ms for ms in printed.values()), (printed, wall_ms)
    detail = {e[1]: e[2]["execution_ms"] for e in events(db, event="MIGRATION_APPLIED")}
    assert detail == recorded
    # ... and rolling one back prints how long that took, no longer than the command ran
    started = time.monotonic()
    r = ok(mig("down", "--yes"))
    wall_ms = (time.monotonic() - started) * 1000
    [ms] = [int(ms) for ms in re.findall(r"^Rolled back \d+ \w+ \((\d+) ms\)$", r.out, re.MULTILINE)]
    assert 0 <= ms <= wall_ms, (r.out, wall_ms)


# -- what force records as dropped ---------------------------------------------------------

def test_force_records_as_dropped_only_what_earlier_versions_created(make_database, write_migrations, cli):
    """Version 2 arrives after 3 was applied (a late branch) and drops a table of version 1 and
    one of version 3; the operator ran it by hand and forces 3. Version 2's row records the drop
    of version 1's table: what version 3 created is not version 2's to have dropped."""
    db = make_database("sqlite")  # the recording is the engine's, the same on every database
    files = {"0001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
             "0003_late.up.sql": "CREATE TABLE late (id INTEGER PRIMARY KEY);\n"}
    migrations = write_migrations({"sqlite": files}, service="svc")
    ok(cli("up", dsn=db.dsn, migrations=migrations, service="svc"))
    (migrations / "svc" / "sqlite" / "0002_gap.up.sql").write_text("DROP TABLE a;\nDROP TABLE late;\n")
    db.execute("DROP TABLE a", "DROP TABLE late")

    r = ok(cli("force", "3", "--yes", dsn=db.dsn, migrations=migrations, service="svc"))
    assert r.out.splitlines()[-1] == ("Forced service svc to version 3: removed rows none, marked clean none, "
                                      "recorded as forced [2].")
    rows = {row.version: row for row in tracking_rows(db, "svc")}
    assert (rows[2].forced, rows[2].created, rows[2].dropped) == (True, [], ["column:a.id", "table:a"])
    assert rows[3].created == ["column:late.id", "table:late"]



def test_force_records_as_dropped_only_what_the_version_names(make_database, write_migrations, cli):
    """Version 1 made tables t and u; version 2 drops t, and the operator did that by hand and
    forces 2. u is gone too (dropped by someone else): version 2 does not name it, so it is not
    recorded as 2's drop, and verification still reports version 1's u as missing."""
    db = make_database("sqlite")
    files = {"0001_tu.up.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);\nCREATE TABLE u (id INTEGER PRIMARY KEY);\n"}
    migrations = write_migrations({"sqlite": files}, service="svc")
    ok(cli("up", dsn=db.dsn, migrations=migrations, service="svc"))
    (migrations / "svc" / "sqlite" / "0002_drop_t.up.sql").write_text("DROP TABLE t;\n")
    db.execute("DROP TABLE t", "DROP TABLE u")

    ok(cli("force", "2", "--yes", dsn=db.dsn, migrations=migrations, service="svc"))
    rows = {row.version: row for row in tracking_rows(db, "svc")}
    assert rows[2].dropped == ["column:t.id", "table:t"]
    r = cli("verify", dsn=db.dsn, migrations=migrations, service="svc")
    assert r.code == 4, r.text
    assert "  version 1 (tu): missing column:u.id, table:u" in plain_lines(r.err), r.err

# -- the break-glass repair, as the operator reads it ----------------------------------------

def test_a_repair_says_which_rows_it_removed_and_records_what_was_missing(mig, db):
    """The index of version 4 dropped behind the tracker's back: the repair rewinds 4 and the
    version above it (5 records nothing), says so in one line, and applies both again."""
    ok(mig("up"))
    db.execute("DROP INDEX orders_total_cents_idx" + (" ON orders" if db.dialect == "mysql" else ""))
    r = ok(mig("up", env={"MIGRATE_REPAIR_TRACKING": "1"}))
    assert "Tracking rewound from version 4: removed rows 4, 5; re-applying them now." in plain_lines(r.err)
    assert [line.split(" (")[0] for line in r.out.splitlines()] == [
        "Applied 4 index_orders_total", "Applied 5 noop", "Applied 2 migrations: service app is at version 5."]
    [(version, detail)] = [(e[1], e[2]) for e in events(db, event="MIGRATION_TRACKING_REPAIRED")]
    assert (version, detail["versions"], detail["missing"], detail["resurrected"]) == (
        4, [4, 5], {"4": ["index:orders.orders_total_cents_idx"]}, {})
    [logged_repair] = logged(r, "MIGRATION_TRACKING_REPAIRED")
    assert logged_repair["versions"] == [4, 5]
    assert versions(db) == VERSIONS
    ok(mig("verify"))


def test_the_flag_on_a_database_in_sync_warns_that_it_is_not_needed(mig, db):
    ok(mig("up"))
    rows = tracking_rows(db)
    r = ok(mig("up", env={"MIGRATE_REPAIR_TRACKING": "1"}))
    [warning] = logged(r, "MIGRATE_REPAIR_TRACKING_NOT_NEEDED")
    assert warning["level"] == "warning" and "nothing to repair" in warning["message"]
    assert tracking_rows(db) == rows and events(db, event="MIGRATION_TRACKING_REPAIRED") == []
    r = ok(mig("up"))
    assert not logged(r, "MIGRATE_REPAIR_TRACKING_NOT_NEEDED")


# -- changed files ---------------------------------------------------------------------------

def test_a_checksum_mismatch_lists_every_changed_file_with_both_checksums(mig, db):
    import hashlib

    ok(mig("up"))
    recorded = {row.version: row.checksum for row in tracking_rows(db)}
    changed = {}
    for v in (2, 3):
        path = next(mig.folder.glob(f"{v:04d}_*.up.sql"))
        path.write_bytes(path.read_bytes() + b"-- edited after it was applied\n")
        changed[v] = (path, hashlib.sha256(path.read_bytes()).hexdigest())
    r = ok(mig("up"), 6)
    lines = plain_lines(r.err)
    assert lines[0] == f"Error: checksum mismatch: applied migration 2 changed on disk: {changed[2][0]}"
    assert lines[1:3] == [f"  {path}: recorded sha256 {recorded[v][:12]}…, file sha256 {digest[:12]}…"
                          for v, (path, digest) in changed.items()]
    assert hints(r) == ["Hint: restore the file as it was applied; put new changes in a new migration"]


@pytest.mark.parametrize("dialect", ["sqlite"])  # the timing is the engine's; SQLite's sleep is a counting query
@pytest.mark.parametrize("marker", ["", "-- migrator:no-transaction\n"], ids=["transaction", "no-transaction"])
def test_a_slow_migration_records_the_time_it_took(mig, db, marker):
    """A migration that runs for a second or two records about that long: no more than the time
    between its start and applied log lines, and not much less."""
    from datetime import datetime

    from engine_support import sleep_sql

    mig.write("0006_slow.up.sql", f"{marker}{sleep_sql('sqlite', 2.0)};\n")
    r = ok(mig("up"))

    def moment(event: str) -> datetime:
        [line] = [d for d in logged(r, event) if d["version"] == 6]
        return datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))

    span_ms = (moment("MIGRATION_APPLIED") - moment("MIGRATION_STARTED")).total_seconds() * 1000
    [(ms,)] = db.query("SELECT execution_ms FROM app_migrations WHERE version = 6")
    assert span_ms - 500 <= int(ms) <= span_ms + 5, (ms, span_ms)

    # rolling it back takes as long, and says so
    mig.write("0006_slow.down.sql", f"{marker}{sleep_sql('sqlite', 2.0)};\n")
    r = ok(mig("down", "--yes"))
    span_ms = (moment("MIGRATION_ROLLED_BACK") - moment("MIGRATION_STARTED")).total_seconds() * 1000
    [ms] = [int(line.split("(")[1].split(" ms)")[0]) for line in r.out.splitlines() if line.startswith("Rolled back 6 ")]
    assert span_ms - 500 <= ms <= span_ms + 5, (ms, span_ms)


# -- a no-transaction migration that breaks its own bookkeeping -------------------------------

def test_a_failed_tracking_write_after_a_no_transaction_migration_releases_the_lock(make_database, cli, tmp_path):
    """The migration drops the tracking table itself: marking it clean fails with the database's
    error (exit 1), and the failed write is rolled back, so the lock is given back cleanly."""
    from engine_support import SERVICE, Migrator, copy_test_migrations, lock_is_held

    db = make_database("postgres")
    mig = Migrator(cli, db, copy_test_migrations(tmp_path / "migrations", "postgres"), SERVICE)
    ok(mig("up"))
    mig.write("0006_oops.up.sql", "-- migrator:no-transaction\nDROP TABLE app_migrations;\n")
    r = ok(mig("up"), 1)
    assert plain_lines(r.err)[0].startswith("Error: database error: "), r.err
    assert "app_migrations" in plain_lines(r.err)[0]
    assert not logged(r, "MIGRATION_UNLOCK_FAILED"), r.err
    assert not lock_is_held(db)


def test_a_repair_over_a_no_transaction_migration_is_not_one_transaction(make_database, write_migrations, cli):
    """Version 2 (no-transaction) lost its table, version 3 only adds a row: the repair rewinds
    both. It cannot be one transaction, so when re-applying 3 fails (its row is still there),
    version 2 stays re-applied and recorded, and the hint is the failed migration's own."""
    db = make_database("sqlite")
    files = {"0001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
             "0002_b.up.sql": "-- migrator:no-transaction\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n",
             "0003_seed.up.sql": "INSERT INTO a (id) VALUES (1);\n"}
    migrations = write_migrations({"sqlite": files}, service="svc")
    ok(cli("up", dsn=db.dsn, migrations=migrations, service="svc"))
    db.execute("DROP TABLE b")

    r = ok(cli("up", dsn=db.dsn, migrations=migrations, service="svc", env={"MIGRATE_REPAIR_TRACKING": "1"}), 1)
    assert "Tracking rewound from version 2: removed rows 2, 3; re-applying them now." in plain_lines(r.err)
    assert hints(r) == [ROLLED_BACK], r.err
    assert [(row.version, row.dirty) for row in tracking_rows(db, "svc")] == [(1, False), (2, False)]
    assert "b" in db.tables()


# -- an untracked schema ---------------------------------------------------------------------

@pytest.mark.parametrize("columns, listed, more", [(12, 8, True), (1, 2, False)], ids=["thirteen", "two"])
def test_an_untracked_schema_is_refused_naming_at_most_eight_of_its_objects(make_database, write_migrations, cli,
                                                                             columns, listed, more):
    db = make_database("sqlite")
    ddl = "CREATE TABLE wide ({})".format(", ".join(f"c{i} INTEGER" for i in range(1, columns + 1)))
    migrations = write_migrations({"sqlite": {"0001_wide.up.sql": ddl + ";\n"}}, service="svc")
    db.execute(ddl)
    r = ok(cli("up", dsn=db.dsn, migrations=migrations, service="svc"), 4)
    error = plain_lines(r.err)[0]
    assert error.startswith("Error: the database has no tracking rows in svc_migrations but already holds objects "
                            "the migrations create (table:wide, column:wide.c1"), error
    assert error.endswith("): refusing to migrate over an untracked schema"), error
    named = error.split(" create (", 1)[1].rsplit("): refusing", 1)[0].split(", ")
    assert (len([n for n in named if n != "..."]), named[-1] == "...") == (listed, more), named
