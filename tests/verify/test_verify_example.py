"""Verification and repair on the example platform's `auth` service (platform_migrations)."""

from __future__ import annotations

import json

import pytest
from verify_support import (
    REFUSED,
    REPAIR_ENV,
    REPAIR_HINT,
    REPAIRED,
    assert_fatal_then,
    events,
    state,
)

TRACKING = "platform_migrations"
EVENTS = "platform_migration_events"


@pytest.fixture
def auth(db, example_copy, cli):
    def run(*args, env=None):
        return cli(*args, dsn=db.dsn, migrations=example_copy, service="auth", env=env)

    return run


def _drop_secrets(db):
    db.execute("DROP TABLE secrets")


def test_auth_newest_table_dropped_is_repaired(db, auth):
    """auth at 0004 (secrets is its newest table): drop secrets, refuse, then repair and finish."""
    assert auth("up", "--target", "4").code == 0
    assert auth("verify").code == 0
    _drop_secrets(db)
    before = state(db, TRACKING)

    refused = auth("up")
    assert refused.code == 4, refused.text
    assert_fatal_then(refused, REPAIR_HINT.format(version=4))
    assert "table:secrets" in refused.err
    assert state(db, TRACKING) == before

    repaired = auth("up", env=REPAIR_ENV)
    assert repaired.code == 0, repaired.text
    assert "table:secrets" in db.snapshot()
    assert "Applied 8 drop_users_full_name" in repaired.out
    (version, detail), = events(db, REPAIRED, EVENTS)
    assert version == 4 and detail["versions"] == [4]
    assert "table:secrets" in detail["missing"]["4"]

    verify = auth("verify")
    assert verify.code == 0, verify.text
    assert auth("status", "--check").code == 0


def test_auth_fully_applied_secrets_dropped_is_refused(db, auth):
    """At 0008, versions 5-8 were applied after secrets' 0004: rewinding would re-run them, refuse."""
    assert auth("up").code == 0
    _drop_secrets(db)
    before = state(db, TRACKING)

    for env in (None, REPAIR_ENV):
        result = auth("up", env=env)
        assert result.code == 4, result.text
        assert_fatal_then(result, REFUSED)
        assert "table:secrets" in result.err and "version 4" in result.err
        assert state(db, TRACKING) == before


def test_auth_contracted_column_is_not_expected(db, auth):
    """users.full_name was created by 0002 and dropped by 0008: verify must not miss it."""
    assert auth("up").code == 0
    verify = auth("verify")
    assert verify.code == 0, verify.text
    assert "column:users.full_name" not in db.snapshot()


def test_auth_index_of_0006_dropped_is_refused(db, auth):
    """0006's index dropped while 0007/0008 (no objects) are applied after it: refused."""
    assert auth("up").code == 0
    db.execute("DROP INDEX ix_memberships_organisation_id ON memberships" if db.dialect == "mysql"
               else "DROP INDEX ix_memberships_organisation_id")
    before = state(db, TRACKING)

    result = auth("up", env=REPAIR_ENV)

    assert result.code == 4, result.text
    assert_fatal_then(result, REFUSED)
    assert "ix_memberships_organisation_id" in result.err
    assert state(db, TRACKING) == before


# -- the README's scenario: an older dump restored under the newest tracking -----------------

SERVICES = {"auth": "platform", "agentic": "agentic", "analytics": "analytics", "cortex": "cortex",
            "apiOntology": "ontology"}


def _recorded(db, prefix: str) -> dict[int, tuple[list[str], list[str]]]:
    rows = db.query(f"SELECT version, objects_created, objects_dropped FROM {prefix}_migrations")
    return {int(v): (json.loads(c or "[]"), json.loads(d or "[]")) for v, c, d in rows}


def _restore_version_4(db, recorded) -> None:
    """What restoring a dump taken at version 4 does to the objects tracking knows: what 5-7
    created is gone, and the column 8 dropped is back."""
    created = [o for v in (5, 6, 7) for o in recorded[v][0]]
    statements = []
    for obj in sorted(created, key=lambda o: ("constraint", "index", "column", "table").index(o.split(":")[0])):
        kind, _, name = obj.partition(":")
        table, _, part = name.partition(".")
        statements.append({
            "constraint": f"ALTER TABLE {table} DROP CONSTRAINT {part}",
            "index": f"DROP INDEX {part} ON {table}" if db.dialect == "mysql" else f"DROP INDEX {part}",
            "column": f"ALTER TABLE {table} DROP COLUMN {part}",
            "table": f"DROP TABLE {name}",
        }[kind])
    for obj in recorded[8][1]:
        table, _, column = obj.partition(":")[2].partition(".")
        statements.append(f"ALTER TABLE {table} ADD COLUMN {column} TEXT NULL")
    db.execute(*statements)


@pytest.mark.parametrize("service", list(SERVICES))
def test_older_dump_under_the_newest_tracking_is_repaired_at_head(db, example_copy, cli, service):
    """Every example service ends with a comment-only 7 (agentic's PostgreSQL 7 adds a constraint)
    and a drop-only 8: versions 5-8 are the rewind, 8 because its dropped column is back."""
    prefix = SERVICES[service]

    def run(*args, env=None):
        return cli(*args, dsn=db.dsn, migrations=example_copy, service=service, env=env)

    assert run("up").code == 0
    at_head = db.snapshot()
    recorded = _recorded(db, prefix)
    assert recorded[8][1] and not recorded[8][0], "version 8 should only drop a column"
    _restore_version_4(db, recorded)
    before = state(db, f"{prefix}_migrations")

    refused = run("up")
    assert refused.code == 4, refused.text
    assert_fatal_then(refused, REPAIR_HINT.format(version=5))
    lines = refused.err.splitlines()
    dropped = recorded[8][1][0]
    assert f"  version 8 (drop_{dropped.split(':')[1].replace('.', '_')}): resurrected {dropped} " \
           "(recorded as dropped, exists again)" in lines
    hint = lines[-1]
    assert hint.startswith("Hint: ") and "MIGRATE_REPAIR_TRACKING=1" in hint
    assert f"{service}.migration.repairTracking: true" in hint
    assert "rows 5, 6, 7, 8" in hint
    assert state(db, f"{prefix}_migrations") == before

    repaired = run("up", env=REPAIR_ENV)
    assert repaired.code == 0, repaired.text
    applied = [line.split()[1] for line in repaired.out.splitlines() if line.startswith("Applied ") and "ms)" in line]
    assert applied == ["5", "6", "7", "8"]
    (version, detail), = events(db, REPAIRED, f"{prefix}_migration_events")
    assert (version, detail["versions"]) == (5, [5, 6, 7, 8])
    assert detail["resurrected"] == {"8": [dropped]}
    assert db.snapshot() == at_head
    assert run("verify").code == 0
    assert run("status", "--check").code == 0
