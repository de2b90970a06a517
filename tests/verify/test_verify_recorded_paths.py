"""Recording paths that one changed line would break with every other test still green:
objects named as created that already existed, other services' tracking tables, far-reaching
statements mixed with ordinary ones, data-only migrations that look far-reaching, tables
named like SQL keywords, and tracking rows written by earlier releases."""

from __future__ import annotations

import json

import pytest
from verify_support import applied_objects, json_logs

from migrator import catalog
from migrator.config import parse_dsn
from migrator.dialects import open_database
from migrator.runner import Runner
from migrator.source import select_service


def _desync(result) -> dict:
    assert result.code == 4, result.text[-3000:]
    (event,) = [e for e in json_logs(result) if e.get("event") == "MIGRATION_TRACKING_DESYNC"]
    return event


def _dropped(db, table: str = "svc_migrations") -> dict[int, list[str]]:
    return {int(v): json.loads(d or "[]") for v, d in db.query(f"SELECT version, objects_dropped FROM {table}")}


# -- CREATE ... IF NOT EXISTS that finds its object there ---------------------------------

IF_NOT_EXISTS = {
    "0001_items.up.sql": "CREATE TABLE items (id BIGINT NOT NULL PRIMARY KEY, a INT NULL);\n",
    "0002_labels.up.sql": "CREATE TABLE IF NOT EXISTS labels (\n"
                          "    id   BIGINT NOT NULL PRIMARY KEY,\n"
                          "    name VARCHAR(50) NOT NULL\n);\n"
                          "CREATE INDEX IF NOT EXISTS ix_items_a ON items (a);\n",
}
NAMED_IN_2 = {"table:labels", "column:labels.id", "column:labels.name", "index:items.ix_items_a"}
DROP_IX = {"postgres": "DROP INDEX ix_items_a", "sqlite": "DROP INDEX ix_items_a",
           "mysql": "DROP INDEX ix_items_a ON items"}


def test_a_rerun_create_if_not_exists_records_what_it_names(db, write_migrations, cli):
    """After `force 1`, `up` runs version 2 again: its objects are all there already, and
    are still version 2's: dropping the index afterwards is a desync of version 2."""
    migrations = write_migrations({db.dialect: IF_NOT_EXISTS}, service="svc")

    def run(*args):
        return cli(*args, dsn=db.dsn, migrations=migrations)

    assert run("up").code == 0
    assert NAMED_IN_2 <= set(applied_objects(db)[2])
    assert run("force", "1", "--yes").code == 0

    again = run("up")

    assert again.code == 0, again.text[-3000:]
    assert NAMED_IN_2 <= set(applied_objects(db)[2])
    assert run("verify").code == 0
    db.execute(DROP_IX[db.dialect])
    desync = _desync(run("verify"))
    assert desync["versions"] == [2] and desync["missing"]["2"] == ["index:items.ix_items_a"]


# -- another service's tracking tables ------------------------------------------------------

def test_no_service_records_the_tracking_tables_of_another(db, write_migrations, cli):
    """Services share one database: a migration that names service b's tracking tables
    (here: an IF NOT EXISTS that finds b_migrations, an index on b's events table) records
    its own objects only."""
    root = write_migrations({db.dialect: {"0001_b_things.up.sql": "CREATE TABLE b_things (id INT NOT NULL);\n"}},
                           service="b")
    write_migrations({db.dialect: {"0001_a_start.up.sql": "CREATE TABLE a_start (id INT NOT NULL);\n",
                                   "0002_reads_b.up.sql":
                                   "CREATE TABLE a_things (id INT NOT NULL);\n"
                                   "CREATE TABLE IF NOT EXISTS b_migrations (version BIGINT NOT NULL PRIMARY KEY);\n"
                                   "CREATE INDEX ix_b_events_version ON b_migration_events (version);\n"}},
                     service="a", root=root)
    assert cli("up", dsn=db.dsn, migrations=root, service="b").code == 0

    up = cli("up", dsn=db.dsn, migrations=root, service="a")

    assert up.code == 0, up.text[-3000:]
    assert applied_objects(db, "a_migrations")[2] == ["column:a_things.id", "table:a_things"]
    assert cli("verify", dsn=db.dsn, migrations=root, service="b").code == 0


def test_migrator_tables_are_known_by_name_and_columns():
    objects = {"table:x_migrations", "column:x_migrations.checksum", "column:x_migrations.objects_created",
               "table:y_migration_events", "column:y_migration_events.event", "column:y_migration_events.detail",
               "table:z_backfills", "column:z_backfills.rows_done", "column:z_backfills.last_key",
               "table:data_migrations", "column:data_migrations.checksum"}  # an application's own table
    assert catalog.migrator_tables(objects) == {"x_migrations", "y_migration_events", "z_backfills"}


# -- far-reaching statements among ordinary ones, and data-only look-alikes ------------------

MIXED = {
    "postgres": {
        "0001_parts.up.sql": "CREATE TABLE parts (id BIGINT NOT NULL PRIMARY KEY, sku TEXT NOT NULL, source TEXT NULL, policy INT NULL);\n"
                             "CREATE VIEW parts_v AS SELECT id FROM parts;\n"
                             "CREATE VIEW parts_vv AS SELECT id FROM parts_v;\n",
        "0002_mixed.up.sql": "INSERT INTO parts (id, sku) VALUES (1, 'a');\n"
                             "CREATE TABLE bins (id BIGINT NOT NULL);\n"
                             "DROP VIEW parts_v CASCADE;\n"
                             "CREATE FUNCTION parts_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM parts $$;\n"
                             "ALTER TABLE parts ADD COLUMN bin_id BIGINT NULL;\n",
        "0004_seed.up.sql": "INSERT INTO parts (id, sku, source, policy) VALUES (1, 'a', 'import', 1) "
                            "ON CONFLICT DO NOTHING;\n"
                            "UPDATE parts SET source = 'function' WHERE policy IS NULL;\n",
        "0003_bins_label.up.sql": "ALTER TABLE bins ADD COLUMN label VARCHAR(20) NULL;\n",
        "0005_parts_note.up.sql": "ALTER TABLE parts ADD COLUMN note VARCHAR(20) NULL;\n",
    },
    "mysql": {
        "0001_parts.up.sql": "CREATE TABLE parts (id BIGINT NOT NULL PRIMARY KEY, sku VARCHAR(20) NOT NULL, "
                             "source VARCHAR(20) NULL, policy INT NULL);\n"
                             "CREATE VIEW parts_v AS SELECT id FROM parts;\n"
                             "CREATE VIEW parts_vv AS SELECT id FROM parts_v;\n",
        "0002_mixed.up.sql": "INSERT INTO parts (id, sku) VALUES (1, 'a');\n"
                             "CREATE TABLE bins (id BIGINT NOT NULL);\n"
                             "CREATE TRIGGER trg_parts_sku BEFORE INSERT ON parts FOR EACH ROW SET NEW.sku = LOWER(NEW.sku);\n"
                             "DROP VIEW parts_vv;\n"
                             "ALTER TABLE parts ADD COLUMN bin_id BIGINT NULL;\n",
        "0004_seed.up.sql": "INSERT INTO parts (id, sku, source, policy) VALUES (1, 'a', 'import', 1) "
                            "ON DUPLICATE KEY UPDATE source = 'procedure';\n"
                            "UPDATE parts SET source = 'function' WHERE policy IS NULL;\n",
        "0003_bins_label.up.sql": "ALTER TABLE bins ADD COLUMN label VARCHAR(20) NULL;\n",
        "0005_parts_note.up.sql": "ALTER TABLE parts ADD COLUMN note VARCHAR(20) NULL;\n",
    },
    "sqlite": {
        "0001_parts.up.sql": "CREATE TABLE parts (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, source TEXT NULL, policy INT NULL);\n"
                             "CREATE VIEW parts_v AS SELECT id FROM parts;\n"
                             "CREATE VIEW parts_vv AS SELECT id FROM parts_v;\n",
        "0002_mixed.up.sql": "INSERT INTO parts (id, sku) VALUES (1, 'a');\n"
                             "CREATE TABLE bins (id INTEGER NOT NULL);\n"
                             "CREATE TRIGGER trg_parts_sku AFTER INSERT ON parts BEGIN\n"
                             "    UPDATE parts SET sku = lower(sku) WHERE id = NEW.id;\n"
                             "END;\n"
                             "DROP VIEW parts_vv;\n"
                             "ALTER TABLE parts ADD COLUMN bin_id INTEGER NULL;\n",
        "0004_seed.up.sql": "INSERT INTO parts (id, sku, source, policy) VALUES (1, 'a', 'import', 1) "
                            "ON CONFLICT DO NOTHING;\n"
                            "UPDATE parts SET source = 'function' WHERE policy IS NULL;\n",
        "0003_bins_label.up.sql": "ALTER TABLE bins ADD COLUMN label VARCHAR(20) NULL;\n",
        "0005_parts_note.up.sql": "ALTER TABLE parts ADD COLUMN note VARCHAR(20) NULL;\n",
    },
}
MIXED_RECORDED = {  # version 2: (created, dropped)
    "postgres": ({"table:bins", "column:bins.id", "column:parts.bin_id"}, {"view:parts_v", "view:parts_vv"}),
    "mysql": ({"table:bins", "column:bins.id", "column:parts.bin_id"}, {"view:parts_vv"}),
    "sqlite": ({"table:bins", "column:bins.id", "column:parts.bin_id"}, {"view:parts_vv"}),
}


def test_a_far_reaching_statement_among_ordinary_ones(db, write_migrations):
    """Version 2 mixes rows, a table, a CASCADE or a trigger, a routine and an ALTER: each is
    recorded; version 3, after it, records exactly its column; version 4 is rows only (ON
    CONFLICT DO NOTHING, columns called source): it records nothing, reads no catalog and
    keeps the run's model, so that version 5 takes one catalog query, its after-snapshot
    (a column called policy, as a statement's word, would make one far-reaching)."""
    root = write_migrations({db.dialect: MIXED[db.dialect]}, service="svc")
    database = open_database(parse_dsn(db.dsn))
    try:
        runner = Runner(database, select_service(root, "svc"))
        runner.tracker.ensure()
        scans = []
        real_scan = database.scan
        database.scan = lambda *a, **k: scans.append(a) or real_scan(*a, **k)
        counted = {}
        with runner.locked(10):
            for m in runner.pending(runner.rows()):
                scans.clear()
                runner.apply(m)
                counted[m.version] = len(scans)
        rows = runner.rows()
    finally:
        database.close()

    created, dropped = MIXED_RECORDED[db.dialect]
    assert set(rows[2].created) == created
    assert set(rows[2].dropped) == dropped
    assert (rows[3].created, rows[3].dropped) == (["column:bins.label"], [])
    assert (rows[4].created, rows[4].dropped) == ([], [])
    assert (rows[5].created, rows[5].dropped) == (["column:parts.note"], [])
    assert (counted[4], counted[5]) == (0, 1)


def test_after_dynamic_sql_the_next_migration_reads_the_catalog_again(make_database, write_migrations):
    """A DO block alters a table through a name it builds: no snapshot sees that, but the
    next migration must not take the column as its own (the run's model starts again). The
    names in a block's code are read: the table it creates is recorded."""
    db = make_database("postgres")
    files = {"0001_bins.up.sql": "CREATE TABLE bins (id BIGINT NOT NULL);\n",
             "0002_dynamic.up.sql": "DO $$ BEGIN EXECUTE 'ALTER TABLE ' || 'bi' || 'ns ADD COLUMN z INT'; END $$;\n"
                                    "DO $$ BEGIN CREATE TABLE made_in_do (a INT); END $$;\n",
             "0003_w.up.sql": "ALTER TABLE bins ADD COLUMN w INT NULL;\n"}
    root = write_migrations({"postgres": files}, service="svc")
    database = open_database(parse_dsn(db.dsn))
    try:
        runner = Runner(database, select_service(root, "svc"))
        runner.tracker.ensure()
        with runner.locked(10):
            for m in runner.pending(runner.rows()):
                runner.apply(m)
        assert runner.rows()[2].created == ["column:made_in_do.a", "table:made_in_do"]
        assert runner.rows()[3].created == ["column:bins.w"]
    finally:
        database.close()


def test_a_cascade_records_only_this_services_objects(make_database, write_migrations, cli):
    """Service a's DROP TABLE ... CASCADE takes service b's view on that table with it: a
    records its own table as dropped, not b's view (b's verify reports it missing)."""
    db = make_database("postgres")
    root = write_migrations({"postgres": {"0001_shared.up.sql": "CREATE TABLE shared (id INT NOT NULL);\n",
                                          "0002_drop.up.sql": "DROP TABLE shared CASCADE;\n"}}, service="a")
    write_migrations({"postgres": {"0001_view.up.sql": "CREATE VIEW b_shared AS SELECT id FROM shared;\n"}},
                     service="b", root=root)
    assert cli("up", "--target", "1", dsn=db.dsn, migrations=root, service="a").code == 0
    assert cli("up", dsn=db.dsn, migrations=root, service="b").code == 0

    up = cli("up", dsn=db.dsn, migrations=root, service="a")

    assert up.code == 0, up.text[-3000:]
    assert _dropped(db, "a_migrations")[2] == ["column:shared.id", "table:shared"]
    assert _desync(cli("verify", dsn=db.dsn, migrations=root, service="b"))["missing"] == {"1": ["view:b_shared"]}


def test_force_after_a_table_dropped_by_hand_takes_its_identity_sequence_too(make_database, write_migrations,
                                                                             cli):
    """Version 3 drops t; the operator finished it by hand and forces it: t's IDENTITY
    sequence, recorded by version 1 though no statement named it, went with t, and is
    recorded as dropped with it (u's sequence, still there, is not)."""
    db = make_database("postgres")
    files = {"0001_t.up.sql": "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int NULL);\n"
                              "CREATE TABLE u (id serial PRIMARY KEY);\n",
             "0002_v.up.sql": "CREATE TABLE v (id bigserial PRIMARY KEY);\n",
             "0003_drop_t.up.sql": "DROP TABLE t;\n"}
    migrations = write_migrations({"postgres": files}, service="svc")
    assert cli("up", "--target", "2", dsn=db.dsn, migrations=migrations).code == 0
    assert {"sequence:t_id_seq", "sequence:u_id_seq"} <= set(applied_objects(db)[1])
    db.execute("DROP TABLE t")

    assert cli("force", "3", "--yes", dsn=db.dsn, migrations=migrations).code == 0

    assert _dropped(db)[3] == ["column:t.a", "column:t.id", "constraint:t.t_pkey", "index:t.t_pkey",
                               "sequence:t_id_seq", "table:t"]
    verified = cli("verify", dsn=db.dsn, migrations=migrations)
    assert verified.code == 0, verified.text[-3000:]


@pytest.mark.parametrize("sql, far", [
    ("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING;", False),
    ("INSERT INTO t (source, schema) VALUES ('x', 'y');", False),
    ("CREATE TABLE c (id INT, p INT REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);", False),
    ("ALTER TABLE t DROP CONSTRAINT fk CASCADE;", True),
    ("do $$ begin perform 1; end $$;", True),
    ("CREATE TABLE t (a INT);\nCREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING;", True),
])
def test_far_reaching_is_read_from_what_the_statements_do(sql, far):
    from migrator.split import split

    assert catalog.far_reaching(split(sql, "postgres")) is far


# -- names: keywords out, relations called like keywords in -----------------------------------

def test_keywords_are_not_scope_names_but_keyword_named_relations_are():
    from migrator.split import split

    def names(sql):
        return catalog.relation_names(split(sql, "postgres"))

    assert names("ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;") == {"t"}
    assert names("CREATE TABLE IF NOT EXISTS t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);") == {"t"}
    assert names("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING;") == {"t"}
    assert names("ALTER TABLE type ADD COLUMN kind int;") == {"type"}
    assert names('DROP TABLE IF EXISTS a, "table", public.order CASCADE;') == {"a", "table", "public", "order"}
    assert names("CREATE INDEX ON text (a);\nSELECT * FROM t JOIN key ON key.id = t.id;") >= {"text", "key"}


def test_a_table_named_like_a_keyword_is_recorded(db, write_migrations, cli):
    files = {"0001_type.up.sql": "CREATE TABLE type (id INT NOT NULL PRIMARY KEY);\n",
             "0002_kind.up.sql": "ALTER TABLE type ADD COLUMN kind INT NULL;\n"}
    migrations = write_migrations({db.dialect: files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    assert applied_objects(db)[2] == ["column:type.kind"]


# -- a tracking row an earlier release wrote --------------------------------------------------

def test_a_sqlite_foreign_key_recorded_by_its_target_is_still_verified(make_database, write_migrations, cli):
    """Earlier releases recorded ``constraint:child.fk(col)->parent``: such rows verify as
    before (no desync after the upgrade), and the foreign key they name is still checked."""
    db = make_database("sqlite")
    files = {"0001_pc.up.sql": "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n"
                               "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));\n"}
    migrations = write_migrations({"sqlite": files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    created = applied_objects(db)[1]
    legacy = [o + "->parent" if o == "constraint:child.fk(parent_id)" else o for o in created]
    assert legacy != created
    db.execute(f"UPDATE svc_migrations SET objects_created = '{json.dumps(legacy)}' WHERE version = 1")

    assert cli("verify", dsn=db.dsn, migrations=migrations).code == 0
    db.execute("CREATE TABLE child_new (id INTEGER PRIMARY KEY, parent_id INTEGER)",
               "DROP TABLE child", "ALTER TABLE child_new RENAME TO child")
    desync = _desync(cli("verify", dsn=db.dsn, migrations=migrations))
    assert desync["missing"]["1"] == ["constraint:child.fk(parent_id)"]
