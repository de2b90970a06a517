"""Tables written by the release before SQLAlchemy: the tracking, events and backfills
tables as it created them (its exact CREATE statements, per database, below) and rows as
it wrote them are read, appended to and verified by this one, unchanged, and the rows it
adds look like the old ones (SQLite: ISO-8601 text; MySQL: DATETIME(6) in UTC)."""

from __future__ import annotations

import hashlib
import json
import re

# The DDL of the previous release, per dialect: its type map filled into its CREATE strings.
OLD_DDL = {
    "sqlite": [
        'CREATE TABLE IF NOT EXISTS "svc_migrations" (version INTEGER NOT NULL PRIMARY KEY, '
        "name VARCHAR(255) NOT NULL, checksum CHAR(64) NOT NULL, applied_at TEXT NOT NULL, "
        "execution_ms INTEGER NOT NULL DEFAULT 0, dirty INTEGER NOT NULL DEFAULT FALSE, "
        "forced INTEGER NOT NULL DEFAULT FALSE, objects_created TEXT, objects_dropped TEXT)",
        'CREATE TABLE IF NOT EXISTS "svc_migration_events" (id INTEGER PRIMARY KEY AUTOINCREMENT, '
        "event VARCHAR(255) NOT NULL, version INTEGER, created_at TEXT NOT NULL, detail TEXT NOT NULL)",
        'CREATE TABLE IF NOT EXISTS "svc_backfills" (name VARCHAR(255) NOT NULL PRIMARY KEY, '
        "status VARCHAR(255) NOT NULL, last_key INTEGER NULL, rows_done INTEGER NOT NULL DEFAULT 0, "
        "total_estimate INTEGER NULL, started_at TEXT NULL, updated_at TEXT NOT NULL, completed_at TEXT NULL, "
        "error TEXT NULL, runner VARCHAR(255) NULL, heartbeat_at TEXT NULL, lease_until TEXT NULL)",
    ],
    "postgres": [
        'CREATE TABLE IF NOT EXISTS "svc_migrations" (version BIGINT NOT NULL PRIMARY KEY, '
        "name VARCHAR(255) NOT NULL, checksum CHAR(64) NOT NULL, applied_at TIMESTAMPTZ NOT NULL, "
        "execution_ms BIGINT NOT NULL DEFAULT 0, dirty BOOLEAN NOT NULL DEFAULT FALSE, "
        "forced BOOLEAN NOT NULL DEFAULT FALSE, objects_created TEXT, objects_dropped TEXT)",
        'CREATE TABLE IF NOT EXISTS "svc_migration_events" (id BIGSERIAL PRIMARY KEY, '
        "event VARCHAR(255) NOT NULL, version BIGINT, created_at TIMESTAMPTZ NOT NULL, detail TEXT NOT NULL)",
        'CREATE TABLE IF NOT EXISTS "svc_backfills" (name VARCHAR(255) NOT NULL PRIMARY KEY, '
        "status VARCHAR(255) NOT NULL, last_key BIGINT NULL, rows_done BIGINT NOT NULL DEFAULT 0, "
        "total_estimate BIGINT NULL, started_at TIMESTAMPTZ NULL, updated_at TIMESTAMPTZ NOT NULL, "
        "completed_at TIMESTAMPTZ NULL, error TEXT NULL, runner VARCHAR(255) NULL, heartbeat_at TIMESTAMPTZ NULL, "
        "lease_until TIMESTAMPTZ NULL)",
    ],
    "mysql": [
        "CREATE TABLE IF NOT EXISTS `svc_migrations` (version BIGINT NOT NULL PRIMARY KEY, "
        "name VARCHAR(255) NOT NULL, checksum CHAR(64) NOT NULL, applied_at DATETIME(6) NOT NULL, "
        "execution_ms BIGINT NOT NULL DEFAULT 0, dirty TINYINT(1) NOT NULL DEFAULT FALSE, "
        "forced TINYINT(1) NOT NULL DEFAULT FALSE, objects_created LONGTEXT, objects_dropped LONGTEXT)",
        "CREATE TABLE IF NOT EXISTS `svc_migration_events` (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
        "event VARCHAR(255) NOT NULL, version BIGINT, created_at DATETIME(6) NOT NULL, detail LONGTEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS `svc_backfills` (name VARCHAR(255) NOT NULL PRIMARY KEY, "
        "status VARCHAR(255) NOT NULL, last_key BIGINT NULL, rows_done BIGINT NOT NULL DEFAULT 0, "
        "total_estimate BIGINT NULL, started_at DATETIME(6) NULL, updated_at DATETIME(6) NOT NULL, "
        "completed_at DATETIME(6) NULL, error LONGTEXT NULL, runner VARCHAR(255) NULL, heartbeat_at DATETIME(6) NULL, "
        "lease_until DATETIME(6) NULL)",
    ],
}
# A moment as the previous release stored it: SQLite ISO-8601 text with its offset, MySQL a
# zone-less DATETIME holding UTC, PostgreSQL a TIMESTAMPTZ.
OLD_MOMENT = {"sqlite": "'2026-03-01T10:20:30.123456+00:00'", "mysql": "'2026-03-01 10:20:30.123456'",
              "postgres": "'2026-03-01 10:20:30.123456+00'"}
TRUE = {"sqlite": "1", "mysql": "1", "postgres": "TRUE"}
FALSE = {"sqlite": "0", "mysql": "0", "postgres": "FALSE"}
FILES = {1: ("widgets", "CREATE TABLE widgets (id INT PRIMARY KEY);\n"),
         2: ("gadgets", "CREATE TABLE gadgets (id INT PRIMARY KEY);\n")}
NEW = (3, "gizmos", "CREATE TABLE gizmos (id INT PRIMARY KEY);\n")


def old_rows(dialect: str) -> list[str]:
    """Rows as the previous release wrote them: two applied migrations (one of them forced),
    the owner and applied events, and a completed backfill."""
    q = "`" if dialect == "mysql" else '"'
    at, t, f = OLD_MOMENT[dialect], TRUE[dialect], FALSE[dialect]
    rows = []
    for version, (name, sql) in FILES.items():
        created = json.dumps([f"column:{name}.id", f"table:{name}"])
        rows.append(f"INSERT INTO {q}svc_migrations{q} (version, name, checksum, applied_at, execution_ms, dirty, "
                    f"forced, objects_created, objects_dropped) VALUES ({version}, '{name}', "
                    f"'{hashlib.sha256(sql.encode()).hexdigest()}', {at}, 12, {f}, {t if version == 1 else f}, "
                    f"'{created}', '[]')")
    events = [("MIGRATION_TRACKING_OWNER", "NULL", {"service": "svc", "host": "old", "pid": 1}),
              ("MIGRATION_APPLIED", "1", {"name": "widgets", "host": "old", "pid": 1}),
              ("MIGRATION_APPLIED", "2", {"name": "gadgets", "host": "old", "pid": 1})]
    rows += [f"INSERT INTO {q}svc_migration_events{q} (event, version, created_at, detail) "
             f"VALUES ('{event}', {version}, {at}, '{json.dumps(detail, sort_keys=True)}')"
             for event, version, detail in events]
    rows.append(f"INSERT INTO {q}svc_backfills{q} (name, status, last_key, rows_done, total_estimate, started_at, "
                f"updated_at, completed_at, error, runner, heartbeat_at, lease_until) VALUES ('fill', 'completed', "
                f"41, 42, 42, {at}, {at}, {at}, NULL, 'old:1', {at}, NULL)")
    return rows


def write(root, version: int, name: str, sql: str) -> None:
    folder = root / "svc"
    for dialect in ("sqlite", "postgres", "mysql"):
        (folder / dialect).mkdir(parents=True, exist_ok=True)
        (folder / dialect / f"{version:04d}_{name}.up.sql").write_text(sql)
    (folder / "backfills").mkdir(exist_ok=True)
    (folder / "backfills" / "fill.toml").write_text(
        'requires = 1\ntable = "widgets"\nkey = "id"\nbatch_size = 10\n[sql]\n'
        + "".join(f'{d} = "UPDATE widgets SET id = id WHERE id >= :lo AND id < :hi"\n'
                  for d in ("sqlite", "postgres", "mysql")))


def test_tables_of_the_previous_release_are_read_appended_and_verified(cli, db, tmp_path):
    root = tmp_path / "migrations"
    for version, (name, sql) in FILES.items():
        write(root, version, name, sql)
    db.execute(*OLD_DDL[db.dialect], "CREATE TABLE widgets (id INT PRIMARY KEY)",
               "CREATE TABLE gadgets (id INT PRIMARY KEY)", *old_rows(db.dialect))

    status = cli("status", "--format", "json", dsn=db.dsn, migrations=root)
    assert status.code == 0, status.text
    data = json.loads(status.out)
    assert [(m["version"], m["status"], m["applied_at"]) for m in data["migrations"]] == [
        (1, "FORCED", "2026-03-01T10:20:30+00:00"), (2, "OK", "2026-03-01T10:20:30+00:00")]
    assert data["desync"] is None and not data["changed_files"]

    backfill = cli("backfill", "status", "--format", "json", dsn=db.dsn, migrations=root)
    assert backfill.code == 0, backfill.text
    assert '"completed"' in backfill.out and "42" in backfill.out, backfill.out

    write(root, *NEW)
    up = cli("up", dsn=db.dsn, migrations=root)
    assert up.code == 0, up.text
    verify = cli("verify", dsn=db.dsn, migrations=root)
    assert verify.code == 0, verify.text
    data = json.loads(cli("status", "--format", "json", dsn=db.dsn, migrations=root).out)
    assert [(m["version"], m["status"]) for m in data["migrations"]] == [(1, "FORCED"), (2, "OK"), (3, "OK")]
    assert data["migrations"][0]["applied_at"] == "2026-03-01T10:20:30+00:00"

    # the new rows look like the old ones
    (applied_at, dirty, forced, created), = db.query(
        "SELECT applied_at, dirty, forced, objects_created FROM svc_migrations WHERE version = 3")
    assert (bool(dirty), bool(forced)) == (False, False)
    assert {"table:gizmos", "column:gizmos.id"} <= set(json.loads(created))
    (created_at,), = db.query("SELECT created_at FROM svc_migration_events WHERE version = 3")
    if db.dialect == "sqlite":
        for moment in (applied_at, created_at):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", moment), moment
    else:
        assert applied_at.year >= 2026 and (applied_at.tzinfo is None) == (db.dialect == "mysql")
    events = [e for (e,) in db.query("SELECT event FROM svc_migration_events ORDER BY id")]
    assert events[:3] == ["MIGRATION_TRACKING_OWNER", "MIGRATION_APPLIED", "MIGRATION_APPLIED"]
    assert events[3:] == ["MIGRATION_APPLIED"], events
