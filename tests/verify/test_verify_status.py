"""`status`: the last line tells the truth, `--check` carries the exit code, `--format json`
holds the same facts; a dirty row's recorded objects; `FORCED` rows."""

from __future__ import annotations

import json

from verify_support import FATAL, TRACKING, drop, state

UP_TO_DATE = "Database is up to date."
DESYNCED = "Database tracking is out of sync with the schema (run migrator verify)."


def last_line(result) -> str:
    return result.out.splitlines()[-1]


def statuses(result) -> dict[int, str]:
    """VERSION -> STATUS column of the text table."""
    return {int(line.split()[0]): line.split()[-1] for line in result.out.splitlines()
            if line.split() and line.split()[0].isdigit()}


def as_json(run) -> dict:
    result = run("status", "--format", "json")
    assert result.code == 0, result.text
    return json.loads(result.out)


def set_dirty(db, version: int) -> None:
    db.execute(f"UPDATE {TRACKING} SET dirty = {1 if db.dialect == 'sqlite' else 'TRUE'} WHERE version = {version}")


def edit(migrations, db, version: int, text: str = "\n-- edited after it was applied\n") -> None:
    path = next((migrations / "svc" / db.dialect).glob(f"{version:04d}_*.up.sql"))
    path.write_text(path.read_text() + text)


def test_up_to_date(migrated):
    db, _, run = migrated

    plain = run("status")
    assert plain.code == 0, plain.text
    assert last_line(plain) == UP_TO_DATE
    assert statuses(plain) == {1: "OK", 2: "OK", 3: "OK", 4: "OK"}
    assert run("status", "--check").code == 0

    data = as_json(run)
    assert {k: data[k] for k in ("service", "table_prefix", "current_version", "pending", "dirty",
                                 "dirty_version", "desync", "changed_files")} == {
        "service": "svc", "table_prefix": "svc", "current_version": 4, "pending": 0, "dirty": False,
        "dirty_version": None, "desync": None, "changed_files": []}
    assert [(m["version"], m["name"], m["status"]) for m in data["migrations"]] == [
        (1, "accounts", "OK"), (2, "accounts_nickname", "OK"), (3, "projects", "OK"), (4, "tasks", "OK")]
    assert all(m["applied_at"].endswith("+00:00") for m in data["migrations"])


def test_behind_by_one_and_by_two(db, small, cli):
    migrations = small(db)
    fresh = cli("status", "--format", "json", dsn=db.dsn, migrations=migrations)
    assert json.loads(fresh.out)["current_version"] is None
    assert db.snapshot() == set(), "status must not create anything"

    assert cli("up", "--target", "2", dsn=db.dsn, migrations=migrations).code == 0
    two = cli("status", "--check", dsn=db.dsn, migrations=migrations)
    assert two.code == 1, two.text
    assert last_line(two) == "Database is 2 migrations behind."

    assert cli("up", "--target", "3", dsn=db.dsn, migrations=migrations).code == 0
    one = cli("status", "--check", dsn=db.dsn, migrations=migrations)
    assert one.code == 1, one.text
    assert last_line(one) == "Database is 1 migration behind."
    assert statuses(one) == {1: "OK", 2: "OK", 3: "OK", 4: "PENDING"}
    data = json.loads(cli("status", "--format", "json", dsn=db.dsn, migrations=migrations).out)
    assert (data["current_version"], data["pending"]) == (3, 1)
    assert data["migrations"][-1] == {"version": 4, "name": "tasks", "applied_at": None, "status": "PENDING"}


def test_changed_file_is_reported_and_check_is_6(migrated):
    db, migrations, run = migrated
    edit(migrations, db, 2)

    plain = run("status")
    assert plain.code == 0, plain.text
    assert last_line(plain) == "Applied migration 2 changed on disk."
    assert run("status", "--check").code == 6
    assert as_json(run)["changed_files"] == [2]


def test_dirty_is_reported_first_and_check_is_3(migrated):
    db, migrations, run = migrated
    set_dirty(db, 3)
    drop(db, "newest_table")  # desynced too
    edit(migrations, db, 2)  # and a file changed: dirty still comes first

    plain = run("status")
    assert plain.code == 0, plain.text
    assert last_line(plain) == "Database is in dirty state at version 3."
    assert statuses(plain)[3] == "DIRTY"
    check = run("status", "--check")
    assert check.code == 3, check.text
    data = as_json(run)
    assert (data["dirty"], data["dirty_version"]) == (True, 3)
    assert data["desync"]["versions"] == [4]


def test_desync_comes_before_a_changed_file(migrated):
    db, migrations, run = migrated
    drop(db, "newest_table")
    edit(migrations, db, 2)

    assert last_line(run("status")) == DESYNCED
    assert run("verify").code == 4, "verify and up name the states in the order status does"
    assert run("up").code == 4
    check = run("status", "--check")
    assert check.code == 4, check.text
    assert FATAL in check.err.splitlines()
    data = as_json(run)
    assert data["desync"]["versions"] == [4]
    assert data["desync"]["repairable"] is True
    assert "table:tasks" in data["desync"]["missing"]["4"]
    assert data["desync"]["resurrected"] == {}
    assert data["changed_files"] == [2]


def test_a_dirty_row_with_recorded_objects_dirty_wins_and_its_objects_are_not_judged(migrated):
    """Dirty wins: `verify` and `status --check` exit 3. What a dirty version did is unknown, so
    its recorded objects are neither expected nor expected gone, while the other versions are
    still verified (status --format json reports them)."""
    db, _, run = migrated
    set_dirty(db, 4)  # version 4 recorded tasks, its index and constraints
    drop(db, "newest_table")
    drop(db, "older_column")  # version 2's column: a real desync below the dirty row
    before = state(db)

    verify = run("verify")
    assert verify.code == 3, verify.text
    assert "Error: Database is in dirty state at version 4" in verify.err.splitlines()
    assert FATAL not in verify.err
    assert run("status", "--check").code == 3
    data = as_json(run)
    assert data["dirty_version"] == 4
    assert data["desync"] == {"versions": [2], "missing": {"2": ["column:accounts.nickname"]},
                              "resurrected": {}, "repairable": False}
    assert run("up").code == 3
    assert state(db) == before


def test_forced_rows_show_forced(migrated):
    db, _, run = migrated
    forced = run("force", "2", "--yes")
    assert forced.code == 0, forced.text
    again = run("force", "4", "--yes")
    assert again.code == 0, again.text

    plain = run("status")
    assert statuses(plain) == {1: "OK", 2: "OK", 3: "FORCED", 4: "FORCED"}
    assert [m["status"] for m in as_json(run)["migrations"]] == ["OK", "OK", "FORCED", "FORCED"]
