"""`verify` and `status --check` (SPEC sections 5 and 6): what is detected, and exit codes."""

from __future__ import annotations

import json

import pytest
from verify_support import (
    DETECTED,
    FATAL,
    REFUSED,
    REPAIR_ENV,
    REPAIR_HINT,
    assert_fatal_then,
    drop,
    small_files,
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


# -- two-sided: objects recorded as dropped must stay gone --------------------------------------

def _with_contract(db, write_migrations, cli, extra: dict[str, str] | None = None):
    """The small set plus 5, which drops accounts.nickname (2 added it)."""
    files = small_files(db.dialect)[db.dialect]
    files["0005_drop_nickname.up.sql"] = "ALTER TABLE accounts DROP COLUMN nickname;\n"
    files.update(extra or {})
    migrations = write_migrations({db.dialect: files}, service="svc")

    def run(*args, env=None):
        return cli(*args, dsn=db.dsn, migrations=migrations, env=env)

    assert run("up").code == 0
    assert run("verify").code == 0
    return run


RESURRECTED_5 = ("  version 5 (drop_nickname): resurrected column:accounts.nickname "
                 "(recorded as dropped, exists again)")


def test_a_dropped_column_back_is_a_desync_repaired_by_running_the_drop_again(db, write_migrations, cli):
    run = _with_contract(db, write_migrations, cli)
    db.execute("ALTER TABLE accounts ADD COLUMN nickname VARCHAR(100) NULL")
    before = state(db)

    verify = run("verify")
    assert verify.code == 4, verify.text
    assert_fatal_then(verify, REPAIR_HINT.format(version=5))
    assert RESURRECTED_5 in verify.err.splitlines()
    assert run("status", "--check").code == 4
    assert state(db) == before

    repaired = run("up", env=REPAIR_ENV)
    assert repaired.code == 0, repaired.text
    assert "column:accounts.nickname" not in db.snapshot()
    assert run("verify").code == 0


@pytest.mark.parametrize("env", [None, REPAIR_ENV], ids=["no-flag", "flag"])
def test_a_dropped_column_back_below_an_intact_version_is_refused(db, write_migrations, cli, env):
    run = _with_contract(db, write_migrations, cli, {
        "0006_labels.up.sql": "CREATE TABLE labels (id BIGINT NOT NULL PRIMARY KEY);\n"})
    db.execute("ALTER TABLE accounts ADD COLUMN nickname VARCHAR(100) NULL")
    before = state(db)

    result = run("up", env=env)

    assert result.code == 4, result.text
    assert_fatal_then(result, REFUSED)
    assert RESURRECTED_5 in result.err.splitlines()
    assert result.err.splitlines()[-1].startswith("Hint: the flag cannot fix this")
    assert state(db) == before


def test_a_version_whose_drops_are_back_only_in_part_cannot_be_rewound(db, write_migrations, cli):
    """7 dropped two columns; one is back, the other is not: running 7 again would fail on the
    missing one, so the repair is refused and the line says which object is still dropped."""
    run = _with_contract(db, write_migrations, cli, {
        "0006_notes.up.sql": "ALTER TABLE accounts ADD COLUMN note VARCHAR(20) NULL;\n"
                             "ALTER TABLE accounts ADD COLUMN memo VARCHAR(20) NULL;\n",
        "0007_drop_notes.up.sql": "ALTER TABLE accounts DROP COLUMN note;\nALTER TABLE accounts DROP COLUMN memo;\n"})
    db.execute("ALTER TABLE accounts ADD COLUMN note VARCHAR(20) NULL")
    before = state(db)

    result = run("up", env=REPAIR_ENV)

    assert result.code == 4, result.text
    assert_fatal_then(result, REFUSED)
    lines = result.err.splitlines()
    assert ("  version 7 (drop_notes): resurrected column:accounts.note (recorded as dropped, exists again)"
            in lines)
    assert ("  version 7 (drop_notes): still dropped column:accounts.memo (running it again needs them back)"
            in lines)
    assert state(db) == before

    db.execute("ALTER TABLE accounts ADD COLUMN memo VARCHAR(20) NULL")  # both back: repairable
    assert run("up", env=REPAIR_ENV).code == 0
    assert not {"column:accounts.note", "column:accounts.memo"} & db.snapshot()
    assert run("verify").code == 0


def test_an_index_left_invalid_counts_as_missing_and_says_how_to_drop_it(migrated):
    db, _, run = migrated
    if db.dialect != "postgres":
        pytest.skip("invalid indexes are PostgreSQL's (a failed CREATE INDEX CONCURRENTLY)")
    db.execute("DROP INDEX ix_tasks_title",
               "INSERT INTO accounts (id, email, name) VALUES (1, 'a@example.com', 'A')",
               "INSERT INTO projects (id, account_id, title) VALUES (1, 1, 'p')",
               "INSERT INTO tasks (id, project_id, code, title) VALUES (1, 1, 'a', 'same'), (2, 1, 'b', 'same')")
    with pytest.raises(Exception, match="could not create unique index"):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_tasks_title ON tasks (title)")
    assert db.query("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_tasks_title'::regclass") == [(False,)]
    before = state(db)

    for result in (run("verify"), run("up", env=REPAIR_ENV)):
        assert result.code == 4, result.text
        assert_fatal_then(result, REFUSED)
        lines = result.err.splitlines()
        assert "  version 4 (tasks): missing index:tasks.ix_tasks_title" in lines
        assert ("  version 4 (tasks): invalid index:tasks.ix_tasks_title (a failed CREATE INDEX CONCURRENTLY "
                "left it; drop it with DROP INDEX CONCURRENTLY ix_tasks_title;)") in lines
        assert lines[-1] == ("Hint: drop the invalid index (ix_tasks_title) with DROP INDEX CONCURRENTLY, "
                             "then run `migrator verify` again")
    assert state(db) == before
    assert run("status", "--check").code == 4


def test_what_a_dirty_version_dropped_is_not_expected_either(db, write_migrations, cli):
    """5 dropped 2's column and is dirty now (e.g. a `down` of 5 that failed partway): whether the
    column exists is unknown, so version 2 is not reported missing it."""
    run = _with_contract(db, write_migrations, cli)
    db.execute(f"UPDATE svc_migrations SET dirty = {1 if db.dialect == 'sqlite' else 'TRUE'} WHERE version = 5")

    data = json.loads(run("status", "--format", "json").out)

    assert (data["dirty_version"], data["desync"]) == (5, None)
    assert run("verify").code == 3
