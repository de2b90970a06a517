"""The objects a migration created and dropped, as recorded in its tracking row (SPEC 6)."""

from __future__ import annotations

from engine_support import ok, tracking_rows

from migrator.objects import relation_of

UNIQUE_EMAIL = {"sqlite": "constraint:users.unique(email)"}
USER_FK = {"sqlite": "constraint:orders.fk(user_id)"}
RENAME = {"mysql": "RENAME TABLE orders TO purchases;\n"}
OWN = {"app_migrations", "app_migration_events", "app_backfills", "app_migration_events_id_seq"}


def test_recorded_objects(mig, db):
    ok(mig("up"))
    mig.write("0006_drop_users_nickname.up.sql", "ALTER TABLE users DROP COLUMN nickname;\n")
    mig.write("0007_create_view.up.sql", "CREATE VIEW user_emails AS SELECT id, email FROM users;\n")
    mig.write("0008_rename_orders.up.sql", RENAME.get(db.dialect, "ALTER TABLE orders RENAME TO purchases;\n"))
    mig.write("0009_drop_purchases.up.sql",
              "-- reads the tracking table, which must still never be recorded\n"
              "DELETE FROM purchases WHERE id IN (SELECT version FROM app_migrations);\n"
              "DROP TABLE purchases;\n")
    ok(mig("up"))
    rows = {r.version: r for r in tracking_rows(db)}
    d = db.dialect

    # CREATE TABLE with a primary key, a unique constraint and an index
    assert {"table:users", "column:users.id", "column:users.email", "column:users.created_at",
            "index:users.users_created_at_idx", UNIQUE_EMAIL.get(d, "constraint:users.users_email_key")
            } <= set(rows[1].created)
    # ... with a foreign key
    assert {"table:orders", "column:orders.user_id", "index:orders.orders_user_id_idx",
            USER_FK.get(d, "constraint:orders.orders_user_id_fkey")} <= set(rows[2].created)
    assert all(r.dropped == [] for v, r in rows.items() if v <= 5)
    assert rows[3].created == ["column:users.nickname"]  # ADD COLUMN
    assert rows[4].created == ["index:orders.orders_total_cents_idx"]  # no-transaction index
    assert rows[5].created == []  # the comment-only migration
    assert (rows[6].created, rows[6].dropped) == ([], ["column:users.nickname"])  # DROP COLUMN
    assert (rows[7].created, rows[7].dropped) == (["view:user_emails"], [])
    assert "table:purchases" in rows[8].created and "table:orders" in rows[8].dropped
    assert {"column:purchases.user_id", "column:orders.user_id"} <= set(rows[8].created) | set(rows[8].dropped)
    assert rows[9].created == [] and {"table:purchases", "column:purchases.id"} <= set(rows[9].dropped)

    for row in rows.values():
        own = [o for o in row.created + row.dropped
               if relation_of(o) in OWN or o.split(".")[-1] in OWN]
        assert not own, f"version {row.version} recorded the migrator's own objects: {own}"

    ok(mig("verify"))  # after renames and drops, what tracking says exists does exist


def test_first_migration_does_not_record_the_tracking_tables(cli, db, write_migrations):
    """The tracking and events tables are created in the same run as the first migration."""
    root = write_migrations({db.dialect: {
        "0001_audit.up.sql": "CREATE TABLE svc_audit (id INTEGER PRIMARY KEY, note VARCHAR(50));\n"
                             "INSERT INTO svc_audit (id, note)\n"
                             "  SELECT 1, 'svc_migrations' FROM svc_audit WHERE 1 = 0;\n",
    }}, service="svc")
    ok(cli("up", dsn=db.dsn, migrations=root))
    created = tracking_rows(db, "svc")[0].created
    assert "table:svc_audit" in created
    assert not [o for o in created if "svc_migration" in o], created
