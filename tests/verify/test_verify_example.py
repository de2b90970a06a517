"""Verification and repair on the example platform's `auth` service (platform_migrations)."""

from __future__ import annotations

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
