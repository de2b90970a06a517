"""The example platform's real backfills run on SQLite after ``migrator up``."""

from __future__ import annotations

import json

from migrator.backfill import load_backfills
from migrator.source import all_services


def test_example_backfills_are_valid_for_every_dialect_they_declare(example_copy):
    found = 0
    for service in all_services(example_copy):
        for bf in load_backfills(service):
            for dialect in bf.sql:
                if service.dialect_folders(dialect):
                    load_backfills(service, dialect)
            found += 1
    assert found >= 1


def test_auth_memberships_backfill_on_sqlite(example_copy, cli, tmp_path):
    dsn = f"sqlite://{tmp_path / 'platform.db'}"
    assert cli("up", dsn=dsn, migrations=example_copy, service="auth").code == 0
    from tests.conftest import TestDB

    db = TestDB("sqlite", dsn, "platform", tmp_path / "platform.db")
    db.execute(
        "INSERT INTO organisations (id, slug, name) VALUES (1, 'acme', 'Acme'), (2, 'globex', 'Globex')",
        "INSERT INTO workspaces (id, organisation_id, slug, name) VALUES "
        "(10, 1, 'main', 'Main'), (11, 1, 'lab', 'Lab'), (20, 2, 'main', 'Main')",
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2500) "
        "INSERT INTO users (id, email) SELECT n, 'user' || n || '@example.com' FROM s",
        "INSERT INTO memberships (user_id, workspace_id) SELECT id, 10 + (id % 2) FROM users",
        "INSERT INTO memberships (user_id, workspace_id) SELECT id, 20 FROM users WHERE id % 3 = 0",
        "UPDATE memberships SET organisation_id = (SELECT w.organisation_id FROM workspaces w "
        "WHERE w.id = memberships.workspace_id) WHERE id % 100 = 0",  # rows the application already wrote
    )
    ((todo,),) = db.query("SELECT COUNT(*) FROM memberships WHERE organisation_id IS NULL")
    assert todo > 3000

    listed = cli("backfill", "list", "--format", "json", dsn=dsn, migrations=example_copy, service="auth")
    assert listed.code == 0, listed.text
    names = [b["name"] for b in json.loads(listed.out)["backfills"]]
    assert "memberships_organisation_id" in names

    result = cli("backfill", "run", dsn=dsn, migrations=example_copy, service="auth")

    assert result.code == 0, result.text
    ((missing,),) = db.query("SELECT COUNT(*) FROM memberships WHERE organisation_id IS NULL")
    ((wrong,),) = db.query("SELECT COUNT(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id "
                           "WHERE m.organisation_id <> w.organisation_id")
    assert (missing, wrong) == (0, 0)
    status = json.loads(cli("backfill", "status", "--format", "json", dsn=dsn, migrations=example_copy,
                            service="auth").out)
    assert {b["name"]: b["status"] for b in status["backfills"]} == {n: "completed" for n in names}
    assert status["table_prefix"] == "platform"
    ((events,),) = db.query("SELECT COUNT(*) FROM platform_migration_events WHERE event = :event",
                            {"event": "MIGRATION_BACKFILL_COMPLETED"})
    assert events == len(names)
