"""What the catalog reading decides that an operator sees: which statements count as reaching
beyond the relations they name (and so what a migration records), and what verification
reports about the objects a version created or dropped."""

from __future__ import annotations

import json

import pytest
from verify_support import REFUSED, REPAIR_ENV, applied_objects, assert_fatal_then, drop, err_lines, state

from migrator import catalog
from migrator.split import split

# Every word that lets a statement change relations it does not name, each in a statement that
# names no relation it changes that way; and the same words where they are data or a name.
FAR = [
    ("postgres", "DROP TABLE parts CASCADE;"),
    ("postgres", "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';"),
    ("postgres", "CREATE PROCEDURE p() LANGUAGE sql AS 'SELECT 1';"),
    ("postgres", "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();"),
    ("postgres", "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING;"),
    ("postgres", "CREATE EXTENSION IF NOT EXISTS pgcrypto;"),
    ("postgres", "DROP SCHEMA reports;"),
    ("mysql", "CREATE DATABASE other;"),
    ("postgres", "CREATE TABLE child () INHERITS (parent);"),
    ("postgres", "ALTER TABLE measurements ATTACH PARTITION m2024 FOR VALUES IN (2024);"),
    ("postgres", "CREATE POLICY own ON t USING (owner = current_user);"),
    ("postgres", "CREATE PUBLICATION pub FOR ALL TABLES;"),
    ("postgres", "DO $$ BEGIN PERFORM 1; END $$;"),
    ("postgres", "CALL refresh_all();"),
    ("mysql", "EXECUTE stmt;"),
    ("postgres", "PREPARE q AS SELECT 1;"),
    ("postgres", "IMPORT FOREIGN SCHEMA s FROM SERVER srv INTO local;"),
    ("mysql", "SOURCE more.sql;"),
    ("postgres", "  call  refresh_all();"),
]
NOT_FAR = [
    ("postgres", "ALTER TABLE t RENAME TO u;"),
    ("postgres", "CREATE TABLE c (id INT, p INT REFERENCES p (id) ON DELETE CASCADE);"),
    ("postgres", "CREATE TABLE c (id INT, p INT REFERENCES p (id) ON UPDATE CASCADE);"),
    ("postgres", "UPDATE t SET note = 'DROP SCHEMA x CASCADE';"),
    ("postgres", "DELETE FROM t WHERE kind = 'function';"),
    ("postgres", "INSERT INTO t (source, policy) VALUES (1, 2);"),
    ("postgres", "-- CALL refresh_all();\nCREATE TABLE t (a INT);"),
    ("postgres", "CREATE TABLE t (note TEXT DEFAULT 'TRIGGER');"),
    ("postgres", "CREATE TABLE exec_log (a INT);"),
]


@pytest.mark.parametrize("family, sql", FAR, ids=[s[:40] for _, s in FAR])
def test_a_statement_reaching_beyond_what_it_names_is_far_reaching(family, sql):
    assert catalog.far_reaching(split(sql, family)) is True
    # ... in any position of a migration, after statements that are not
    assert catalog.far_reaching(split("CREATE TABLE a (id INT);\n" + sql, family)) is True


@pytest.mark.parametrize("family, sql", NOT_FAR, ids=[s[:40] for _, s in NOT_FAR])
def test_a_statement_that_changes_only_what_it_names_is_not(family, sql):
    assert catalog.far_reaching(split(sql, family)) is False


def test_a_view_and_a_sequence_are_recorded_as_what_they_are(make_database, write_migrations, cli):
    """CREATE VIEW and CREATE SEQUENCE record the view and the sequence, nothing of a table."""
    db = make_database("postgres")
    files = {"0001_t.up.sql": "CREATE TABLE t (id INT NOT NULL, a INT NULL);\n"
                              "CREATE VIEW tv (x, y) AS SELECT id, a FROM t;\n"
                              "CREATE SEQUENCE numbers AS integer START 1;\n"}
    migrations = write_migrations({"postgres": files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    assert applied_objects(db)[1] == ["column:t.a", "column:t.id", "sequence:numbers", "table:t", "view:tv"]



@pytest.mark.parametrize("table", ["lock", "owned", "analyze"])
def test_an_index_on_a_table_named_like_a_keyword_is_recorded(make_database, write_migrations, cli, table):
    """The index a later migration creates on a table called lock (or owned, analyze) is that
    version's: its name stands where a relation does, whatever word it is."""
    db = make_database("sqlite")
    files = {"0001_t.up.sql": f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, a INTEGER);\n',
             "0002_ix.up.sql": f"CREATE UNIQUE INDEX ix_a ON {table} (a);\n"}
    migrations = write_migrations({"sqlite": files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    assert applied_objects(db)[2] == [f"index:{table}.ix_a"]


def test_a_cascade_records_the_dependent_view_it_took_along(make_database, write_migrations, cli):
    """DROP TABLE ... CASCADE also drops this service's view on the table: the version records
    both, and verification finds the schema in sync."""
    db = make_database("postgres")
    files = {"0001_t.up.sql": "CREATE TABLE t (id INT NOT NULL);\nCREATE VIEW tv AS SELECT id FROM t;\n",
             "0002_drop.up.sql": "DROP TABLE t CASCADE;\n"}
    migrations = write_migrations({"postgres": files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    dropped = {int(v): json.loads(d) for v, d in db.query("SELECT version, objects_dropped FROM svc_migrations")}
    assert dropped[2] == ["column:t.id", "table:t", "view:tv"]
    verified = cli("verify", dsn=db.dsn, migrations=migrations)
    assert verified.code == 0, verified.text


def test_every_affected_version_says_what_of_it_is_still_there(migrated):
    """Versions 3 and 4 each lost one object and kept the others: a rewind would run both over
    what they left, so the repair is refused, and each of them lists what is still present."""
    db, _, run = migrated
    drop(db, "view")
    drop(db, "newest_index")
    before = state(db)
    for flag in (None, REPAIR_ENV):
        r = run("up", env=flag)
        assert r.code == 4, r.text
        assert_fatal_then(r, REFUSED)
        lines = err_lines(r)
        for version, name, gone in ((3, "projects", "view:active_projects"), (4, "tasks", "index:tasks.ix_tasks_title")):
            assert f"  version {version} ({name}): missing {gone}" in lines, r.err
            [present] = [line for line in lines if line.startswith(f"  version {version} ({name}): still present ")]
            assert f"table:{name}" in present.split("still present ")[1].split(", "), present
            assert gone not in present
    assert state(db) == before


def test_a_serial_column_s_sequence_goes_with_its_table(make_database, write_migrations, cli):
    """A SERIAL column's sequence, which no statement names, is recorded with its table when the
    table is created and when it is dropped; verification stays in sync."""
    db = make_database("postgres")
    files = {"0001_t.up.sql": "CREATE TABLE t (id serial PRIMARY KEY, a int NULL);\n",
             "0002_note.up.sql": "ALTER TABLE t ADD COLUMN note text NULL;\n",
             "0003_drop.up.sql": "DROP TABLE t;\n"}
    migrations = write_migrations({"postgres": files}, service="svc")
    assert cli("up", "--target", "2", dsn=db.dsn, migrations=migrations).code == 0
    assert "sequence:t_id_seq" in applied_objects(db)[1]
    assert applied_objects(db)[2] == ["column:t.note"]
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    dropped = {int(v): json.loads(d) for v, d in db.query("SELECT version, objects_dropped FROM svc_migrations")}
    assert "sequence:t_id_seq" in dropped[3] and "table:t" in dropped[3]
    verified = cli("verify", dsn=db.dsn, migrations=migrations)
    assert verified.code == 0, verified.text


@pytest.mark.parametrize("dialect", ["postgres", "mysql"], ids=["pg", "mariadb"])  # kept by -k "not mysql"
def test_a_rerun_add_if_not_exists_records_what_it_names(make_database, write_migrations, cli, dialect):
    """ALTER TABLE ... ADD ... IF NOT EXISTS that finds the column (and on MariaDB the index)
    already there records them as this version's, as a re-run CREATE ... IF NOT EXISTS does."""
    db = make_database(dialect)
    index = ", ADD INDEX IF NOT EXISTS ix_c (c)" if dialect == "mysql" else ""
    files = {"0001_t.up.sql": "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, c INT NULL);\n"
                              + ("CREATE INDEX ix_c ON t (c);\n" if dialect == "mysql" else ""),
             "0002_again.up.sql": f"ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT NULL{index};\n"}
    migrations = write_migrations({dialect: files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    assert applied_objects(db)[2] == (["column:t.c", "index:t.ix_c"] if dialect == "mysql" else ["column:t.c"])


@pytest.mark.parametrize("sql, names", [
    ("VACUUM (VERBOSE, ANALYZE) parts;", {"parts"}),
    ("ANALYZE (SKIP_LOCKED) parts, bins;", {"parts", "bins"}),
    ("REINDEX (VERBOSE) TABLE parts;", {"parts"}),
    ("CLUSTER parts USING parts_pkey;", {"parts", "parts_pkey"}),
])
def test_options_in_parentheses_are_no_relations(sql, names):
    assert catalog.relation_names(split(sql, "postgres")) == names


def test_a_table_a_later_version_dropped_that_is_back_stands_in_the_way(make_database, write_migrations, cli):
    """Version 1's a1 and version 2's y are gone, and x, which 2 created and 3 dropped, is back:
    running 2 again would fail on x, so the repair is refused and version 2 says x is still there."""
    from verify_support import FATAL

    db = make_database("sqlite")
    files = {"0001_one.up.sql": "CREATE TABLE a1 (id INTEGER PRIMARY KEY);\n",
             "0002_two.up.sql": "CREATE TABLE x (id INTEGER PRIMARY KEY);\nCREATE TABLE y (id INTEGER PRIMARY KEY);\n",
             "0003_three.up.sql": "DROP TABLE x;\n"}
    migrations = write_migrations({"sqlite": files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    db.execute("DROP TABLE a1", "DROP TABLE y", "CREATE TABLE x (id INTEGER PRIMARY KEY)")
    before = state(db)
    for flag in (None, REPAIR_ENV):
        r = cli("up", dsn=db.dsn, migrations=migrations, env=flag)
        assert r.code == 4, r.text
        assert_fatal_then(r, REFUSED)
        assert "  version 2 (two): still present column:x.id, table:x" in err_lines(r), r.err
        assert FATAL in err_lines(r)
    assert state(db) == before


def test_a_double_quoted_name_is_a_relation_on_mysql_too():
    """With ANSI_QUOTES a double-quoted word is MySQL's identifier: it names the relation; a
    single-quoted one is data."""
    assert catalog.relation_names(split('ALTER TABLE "orders" ADD COLUMN n INT;', "mysql")) == {"orders"}
    assert catalog.relation_names(split("INSERT INTO t (a) VALUES ('orders');", "mysql")) == {"t"}


def test_a_name_is_looked_up_as_written_where_the_database_keeps_its_case():
    """The spellings a scan looks relations up by: MySQL keeps the case of every name, PostgreSQL
    and SQLite that of a quoted one (bare names fold); a string literal is data."""
    def spelled(sql, family):
        return catalog.spelled_names(split(sql, family))

    assert spelled("create table Orders (id int, `Total` int, note text default 'Open');", "mysql") == {"Orders", "Total"}
    assert spelled('create table Orders (id int, "Total" int, note text default \'Open\');', "postgres") == {"Total"}
    assert spelled('create table Orders (id int, "Total" int, "note" text);', "sqlite") == {"Total"}


def test_a_rerun_create_table_records_its_named_constraint(make_database, write_migrations, cli):
    """A CREATE TABLE IF NOT EXISTS that finds its table there records the constraint its list
    names, as the version's own: dropping it is then that version's desync."""
    db = make_database("postgres")
    table = "CREATE TABLE IF NOT EXISTS t (id INT NOT NULL, CONSTRAINT uq_t_id UNIQUE (id));\n"
    migrations = write_migrations({"postgres": {"0001_t.up.sql": table.replace("IF NOT EXISTS ", ""),
                                                "0002_t_again.up.sql": table}}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    assert {"constraint:t.uq_t_id", "index:t.uq_t_id"} <= set(applied_objects(db)[2])


def test_a_join_condition_in_parentheses_names_no_relation():
    assert catalog.relation_names(split("CREATE VIEW v AS SELECT a.x FROM a JOIN b USING (x);", "postgres")) == {
        "v", "a", "b"}
    assert catalog.relation_names(split("CREATE VIEW w AS SELECT a.x FROM a JOIN b ON (a.x = b.y);", "postgres")) \
        >= {"w", "a", "b"}


def test_a_version_that_lost_one_object_and_got_one_back_reports_both(make_database, write_migrations, cli):
    """Version 2 created x and dropped y; by hand x went and y came back: verification names
    version 2 once for each, what is missing and what is resurrected."""
    db = make_database("sqlite")
    files = {"0001_y.up.sql": "CREATE TABLE y (id INTEGER PRIMARY KEY);\n",
             "0002_swap.up.sql": "CREATE TABLE x (id INTEGER PRIMARY KEY);\nDROP TABLE y;\n"}
    migrations = write_migrations({"sqlite": files}, service="svc")
    assert cli("up", dsn=db.dsn, migrations=migrations).code == 0
    db.execute("DROP TABLE x", "CREATE TABLE y (id INTEGER PRIMARY KEY)")
    r = cli("verify", dsn=db.dsn, migrations=migrations)
    assert r.code == 4, r.text
    lines = err_lines(r)
    assert "  version 2 (swap): missing column:x.id, table:x" in lines, r.err
    assert "  version 2 (swap): resurrected column:y.id, table:y (recorded as dropped, exists again)" in lines, r.err


def test_a_table_a_do_block_creates_is_one_the_history_creates():
    """What the migrations create (an untracked schema holding it is refused) includes what the
    code of a dollar-quoted body creates."""
    body = "DO $$ BEGIN CREATE TABLE made_in_block (id int); END $$;"
    assert catalog.created_relations(split(body, "postgres")) == {"table:made_in_block"}
    assert catalog.created_relations(split("SELECT 'CREATE TABLE not_made (id int)';", "postgres")) == set()
