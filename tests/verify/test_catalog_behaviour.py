"""What the catalog reading decides that an operator sees: which statements count as reaching
beyond the relations they name (and so what a migration records), and what verification
reports about the objects a version created or dropped."""

from __future__ import annotations

import pytest
from verify_support import applied_objects

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

