"""up → status → down → up, --target, --steps, --dry-run, plan, status, wait (SPEC 5, 6)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from engine_support import (
    NAMES,
    VERSIONS,
    app_tables,
    communicate,
    events,
    json_lines,
    logged_events,
    ok,
    plain_lines,
    tracking_rows,
    versions,
)

from migrator.objects import relation_of

OWN = {"app_migrations", "app_migration_events", "app_backfills"}


def user_objects(db) -> set[str]:
    """The schema without the migrator's own tables (and the sequence behind the events id)."""
    return {o for o in db.snapshot() if relation_of(o) not in OWN and relation_of(o) != "app_migration_events_id_seq"}


def status_table(out: str) -> dict[int, tuple[str, str, str]]:
    """version -> (name, applied_at, status) from `status` text output."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].isdigit():
            rows[int(parts[0])] = (parts[1], parts[2], parts[3])
    return rows


def test_up_status_down_up(mig, db):
    fresh = user_objects(db)

    r = ok(mig("up"))
    assert versions(db) == VERSIONS
    rows = tracking_rows(db)
    assert [row.name for row in rows] == [NAMES[v] for v in VERSIONS]
    assert not any(row.dirty or row.forced for row in rows)
    for row in rows:
        up_file = next(mig.folder.glob(f"{row.version:04d}_*.up.sql"))
        assert row.checksum == hashlib.sha256(up_file.read_bytes()).hexdigest()
    assert {"users", "orders"} <= app_tables(db)
    assert db.query("SELECT email FROM users") == [("first;user@example.com",)]
    assert [e[1] for e in events(db, event="MIGRATION_APPLIED")] == VERSIONS
    assert r.out.strip().splitlines()[-1] == "Applied 5 migrations: service app is at version 5."
    # JSON log lines (the default when stderr is not a TTY) carry event, level and timestamp
    lines = json_lines(r.err)
    assert lines and all({"event", "level", "timestamp"} <= set(line) for line in lines)
    assert logged_events(r.err).count("MIGRATION_APPLIED") == 5

    r = ok(mig("status"))
    assert r.out.splitlines()[-1] == "Database is up to date."
    table = status_table(r.out)
    assert sorted(table) == VERSIONS
    assert all(state == "OK" and datetime.fromisoformat(at) for _, at, state in table.values())

    ok(mig("down", "--steps", "5", "--yes"))
    assert tracking_rows(db) == []
    assert app_tables(db) == set()
    assert user_objects(db) == fresh
    assert [e[1] for e in events(db, event="MIGRATION_ROLLED_BACK")] == [5, 4, 3, 2, 1]

    r = ok(mig("status"))
    assert r.out.splitlines()[-1] == "Database is 5 migrations behind."
    assert {state for _, _, state in status_table(r.out).values()} == {"PENDING"}

    ok(mig("up"))
    assert versions(db) == VERSIONS
    r = ok(mig("up", log_format="console"))  # nothing to do: exit 0
    assert "No pending migrations" in r.out
    assert not json_lines(r.err), "--log-format console must not print JSON lines"
    assert len(events(db, event="MIGRATION_APPLIED")) == 10


def test_status_json_shape(mig, db):
    ok(mig("up", "--target", "3"))
    r = ok(mig("status", "--format", "json"))
    data = json.loads(r.out)
    assert set(data) == {"service", "table_prefix", "current_version", "migrations", "pending", "dirty",
                         "dirty_version", "desync", "changed_files"}
    assert (data["service"], data["table_prefix"], data["current_version"], data["pending"], data["dirty"],
            data["dirty_version"], data["desync"], data["changed_files"]) == ("app", "app", 3, 2, False, None, None, [])
    assert [m["version"] for m in data["migrations"]] == VERSIONS
    for m in data["migrations"]:
        assert set(m) == {"version", "name", "applied_at", "status"}
        assert isinstance(m["version"], int) and m["name"] == NAMES[m["version"]]
        if m["version"] <= 3:
            assert m["status"] == "OK"
            assert datetime.fromisoformat(m["applied_at"]).utcoffset() is not None
        else:
            assert (m["status"], m["applied_at"]) == ("PENDING", None)
    if db.dialect != "sqlite":  # SQLite has one INTEGER type (64-bit)
        schema_of = "current_schema()" if db.dialect == "postgres" else "DATABASE()"
        rows = db.query("SELECT data_type FROM information_schema.columns WHERE table_schema = "
                        f"{schema_of} AND table_name = 'app_migrations' AND column_name = 'version'")
        assert [r[0].lower() for r in rows] == ["bigint"]


def test_target_and_steps(mig, db):
    ok(mig("up", "--target", "2"))
    assert versions(db) == [1, 2]
    assert "nickname" not in {o.split(".")[-1] for o in db.snapshot() if o.startswith("column:users.")}
    r = ok(mig("status"))
    assert r.out.splitlines()[-1] == "Database is 3 migrations behind."

    ok(mig("up", "--target", "4"))
    assert versions(db) == [1, 2, 3, 4]
    ok(mig("down", "--yes"))  # default: one step, the no-transaction index
    assert versions(db) == [1, 2, 3]
    assert "index:orders.orders_total_cents_idx" not in db.snapshot()

    ok(mig("down", "--steps", "2", "--yes"))
    assert versions(db) == [1]
    assert app_tables(db) == {"users"}
    assert "column:users.nickname" not in db.snapshot()

    r = ok(mig("up", "--target", "99"), 2)
    assert "99" in r.err
    r = ok(mig("down", "--steps", "0", "--yes"), 2)
    assert "--steps" in r.err
    assert versions(db) == [1]

    ok(mig("down", "--steps", "9", "--yes"))  # more steps than applied: rolls back what there is
    assert tracking_rows(db) == [] and app_tables(db) == set()


def test_dry_run_and_plan_execute_nothing(mig, db):
    before = db.snapshot()
    r = ok(mig("up", "--dry-run"))
    assert db.snapshot() == before, "up --dry-run changed the schema"
    assert "app_migrations" not in db.tables(), "up --dry-run created the tracking table"
    assert "CREATE TABLE users" in r.out and "ADD COLUMN nickname" in r.out
    assert "'first;user@example.com'" in r.out
    plan = ok(mig("plan"))
    assert plan.out == r.out, "--dry-run must print what plan prints"
    assert db.snapshot() == before

    ok(mig("up", "--target", "2"))
    before, rows = db.snapshot(), tracking_rows(db)
    r = ok(mig("up", "--dry-run"))
    assert "CREATE TABLE users" not in r.out and "CREATE TABLE orders" not in r.out
    assert "ADD COLUMN nickname" in r.out and "orders_total_cents_idx" in r.out
    plan = ok(mig("plan"))
    assert plan.out == r.out
    assert (db.snapshot(), tracking_rows(db)) == (before, rows)


def test_status_check_exit_codes(mig, db):
    r = ok(mig("status", "--check"), 1)  # fresh: behind
    assert r.out.splitlines()[-1] == "Database is 5 migrations behind."
    ok(mig("up", "--target", "3"))
    ok(mig("status", "--check"), 1)
    ok(mig("up"))
    ok(mig("status", "--check"), 0)
    ok(mig("verify"), 0)

    db.execute("DROP TABLE orders")  # an object that tracking says exists is gone
    r = ok(mig("verify"), 4)
    assert plain_lines(r.err)[0].startswith("FATAL: the migration tracking table is out of sync")
    ok(mig("status", "--check"), 4)


def test_wait(mig, db):
    r = ok(mig("wait", "--timeout", "0.5"), 1)
    assert "timed out" in r.err

    waiter = mig.spawn("wait", "--timeout", "60")
    seen = []
    for line in waiter.stderr:  # until it has seen the database behind at least once
        seen.append(line)
        if "waiting for migrations" in line:
            break
    assert "waiting for migrations" in seen[-1], "".join(seen)
    ok(mig("up"))  # meanwhile, another process migrates
    code, out, err = communicate(waiter)
    assert code == 0, "".join(seen) + err
    assert "schema ready" in out

    ok(mig("wait", "--timeout", "1"))


def test_empty_and_comment_only_files_are_noop_migrations(cli, db, write_migrations):
    root = write_migrations({db.dialect: {
        "0001_empty.up.sql": "",
        "0001_empty.down.sql": "",
        "0002_comments.up.sql": "-- nothing to do; really\n/* not even; this */\n\n",
        "0002_comments.down.sql": "\n\n   \n",
        "0003_table.up.sql": "CREATE TABLE t1 (id INTEGER PRIMARY KEY);\n",
        "0003_table.down.sql": "DROP TABLE t1;\n",
    }}, service="svc")
    ok(cli("up", dsn=db.dsn, migrations=root))
    rows = tracking_rows(db, "svc")
    assert [(r.version, r.dirty, r.created, r.dropped) for r in rows[:2]] == [(1, False, [], []), (2, False, [], [])]
    assert rows[2].version == 3 and "table:t1" in rows[2].created
    assert [e[1] for e in events(db, "svc", "MIGRATION_APPLIED")] == [1, 2, 3]
    data = json.loads(ok(cli("status", "--format", "json", dsn=db.dsn, migrations=root)).out)
    assert [m["status"] for m in data["migrations"]] == ["OK", "OK", "OK"]
    ok(cli("down", "--steps", "3", "--yes", dsn=db.dsn, migrations=root))
    assert tracking_rows(db, "svc") == []
