"""The relations a migration is taken to touch: the scope of its before and after snapshots.

A name missing from the scope is a relation whose changes go unrecorded (verification then
misses them); a name too many only costs a catalog lookup. So the scope holds every name
where the grammar puts a relation, and keywords, columns and types stay out."""

from __future__ import annotations

import pytest

from migrator import catalog
from migrator.split import split

SCOPES = [
    # PostgreSQL
    ("postgres", "ALTER TABLE hot ADD COLUMN x int", {"hot"}),
    ("postgres", 'ALTER TABLE IF EXISTS ONLY "Public"."Hot" ALTER COLUMN a TYPE bigint USING a::bigint',
     {"public", "hot", "a"}),
    ("postgres", "CREATE TABLE a (id serial PRIMARY KEY, p_id int REFERENCES p (id) ON DELETE CASCADE "
                 "ON UPDATE SET NULL, note text DEFAULT 'FROM other')", {"a", "p"}),
    ("postgres", "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix ON ONLY s.t USING btree (lower(a))",
     {"ix", "s", "t"}),
    ("postgres", "CREATE INDEX ON text (a)", {"text"}),
    ("postgres", "DROP INDEX CONCURRENTLY IF EXISTS ix", {"ix"}),
    ("postgres", "ALTER INDEX ix RENAME TO iy", {"ix", "iy"}),
    ("postgres", "ALTER TABLE t RENAME TO u", {"t", "u"}),
    ("postgres", "ALTER TABLE t RENAME COLUMN a TO b", {"t", "b"}),
    ("postgres", 'DROP TABLE IF EXISTS a, "table", public.order CASCADE', {"a", "table", "public", "order"}),
    ("postgres", "TRUNCATE ONLY a, b RESTART IDENTITY", {"a", "b"}),
    ("postgres", "CREATE TABLE c PARTITION OF p FOR VALUES IN (1)", {"c", "p"}),
    ("postgres", "CREATE TABLE p (a int) PARTITION BY RANGE (a)", {"p"}),
    ("postgres", "ALTER TABLE p ATTACH PARTITION c FOR VALUES FROM (1) TO (2)", {"p", "c"}),
    ("postgres", "ALTER TABLE p DETACH PARTITION c", {"p", "c"}),
    ("postgres", "CREATE TABLE k (a int) INHERITS (p1, p2)", {"k", "p1", "p2"}),
    ("postgres", "ALTER TABLE k NO INHERIT p1", {"k", "p1"}),
    ("postgres", "CREATE TABLE t2 (LIKE t INCLUDING ALL)", {"t2", "t"}),
    ("postgres", "CREATE SEQUENCE s AS bigint; ALTER SEQUENCE s OWNED BY t.id", {"s", "t", "id"}),
    ("postgres", "CREATE MATERIALIZED VIEW mv AS SELECT a FROM t1 x, t2 AS y, t3 WHERE x.a = 1",
     {"mv", "t1", "t2", "t3"}),
    ("postgres", "INSERT INTO t (a) SELECT b FROM u JOIN LATERAL v ON u.id = v.id "
                 "ON CONFLICT (a) DO UPDATE SET a = 2", {"t", "u", "v", "id"}),
    ("postgres", "CREATE TRIGGER trg BEFORE UPDATE OF a ON t FOR EACH ROW EXECUTE FUNCTION f()", {"a", "t"}),
    ("postgres", "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING", {"t"}),
    ("postgres", "COMMENT ON TABLE t IS 'DROP TABLE x'", {"t"}),
    ("postgres", "VACUUM (VERBOSE, ANALYZE) t; CLUSTER VERBOSE u USING ix; REINDEX TABLE CONCURRENTLY w",
     {"t", "u", "ix", "w"}),
    ("postgres", "SELECT * INTO new_t FROM t FOR UPDATE", {"new_t", "t"}),
    ("postgres", "UPDATE ONLY t SET a = 1 FROM u WHERE u.id = t.id", {"t", "u"}),
    ("postgres", "DELETE FROM t USING u WHERE t.id = u.id", {"t", "u"}),
    ("postgres", "SELECT 1 -- FROM hidden\n", set()),
    # relations called like the words around them
    ("postgres", "CREATE TABLE view (a int); ALTER TABLE sequence ADD COLUMN b int", {"view", "sequence"}),
    ("postgres", "ALTER TABLE type ADD COLUMN kind int", {"type"}),
    ("postgres", "SELECT * FROM t JOIN key ON key.id = t.id", {"t", "key", "id"}),
    # MySQL / MariaDB
    ("mysql", "ALTER TABLE `db`.`hot` ADD COLUMN x int NOT NULL DEFAULT 0, ALGORITHM=INPLACE, LOCK=NONE",
     {"db", "hot"}),
    ("mysql", "ALTER TABLE t ADD INDEX ix (a), ADD CONSTRAINT fk FOREIGN KEY (b) REFERENCES p (id) "
              "ON DELETE CASCADE", {"t", "ix", "p"}),
    ("mysql", "RENAME TABLE a TO b, c TO d", {"a", "b", "c", "d"}),
    ("mysql", "ALTER TABLE t RENAME AS u", {"t", "u"}),
    ("mysql", "ALTER TABLE t RENAME u", {"t", "u"}),
    ("mysql", "ALTER TABLE t RENAME INDEX ix TO iy", {"t", "iy"}),
    ("mysql", "DROP INDEX ix ON t", {"ix", "t"}),
    ("mysql", "CREATE TABLE t2 LIKE t", {"t2", "t"}),
    ("mysql", 'CREATE TABLE "ansi" (a int)', {"ansi"}),
    ("mysql", "INSERT IGNORE INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)", {"t"}),
    ("mysql", "UPDATE LOW_PRIORITY a, b SET a.x = b.x", {"a", "b"}),
    ("mysql", "LOCK TABLES a WRITE, b READ", {"a", "b"}),
    ("mysql", "CREATE TRIGGER trg BEFORE INSERT ON orders FOR EACH ROW BEGIN INSERT INTO audit VALUES (1); END",
     {"orders", "audit"}),
    ("mysql", "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM sessions", {"sessions"}),
    ("mysql", "# DROP TABLE hidden\nOPTIMIZE TABLE t", {"t"}),
    # SQLite
    ("sqlite", "CREATE TABLE [t new] (a INTEGER REFERENCES p(id))", {"t new", "p"}),
    ("sqlite", "INSERT OR REPLACE INTO t SELECT * FROM u", {"t", "u"}),
    ("sqlite", "UPDATE OR IGNORE t SET a = 1", {"t"}),
    ("sqlite", "ALTER TABLE t_new RENAME TO t", {"t_new", "t"}),
    ("sqlite", "DROP INDEX IF EXISTS ix", {"ix"}),
    ("sqlite", "CREATE TRIGGER trg AFTER INSERT ON orders BEGIN UPDATE totals SET n = n + 1; END",
     {"orders", "totals"}),
    ("sqlite", 'CREATE VIEW "v" AS SELECT * FROM `t`', {"v", "t"}),
]


@pytest.mark.parametrize("dialect, sql, scope", SCOPES, ids=[f"{d}: {s[:60]}" for d, s, _ in SCOPES])
def test_scope(dialect, sql, scope):
    assert catalog.relation_names(split(sql, dialect)) == scope


def test_a_dollar_body_counts_only_when_asked():
    """A DO block is far-reaching: its migration's scope takes in what the block's code names
    (not what its strings or comments do)."""
    statements = split("DO $$ BEGIN CREATE TABLE inner_t (a int); -- DROP TABLE c\n"
                       "EXECUTE 'DROP TABLE d'; INSERT INTO audit VALUES (1); END $$", "postgres")
    assert catalog.relation_names(statements) == set()
    assert catalog.relation_names(statements, bodies=True) == {"inner_t", "audit"}


def test_names_in_takes_every_identifier_of_the_code():
    """What the force hint's dropped-objects check matches recorded objects against: every
    identifier, columns and index names included; not strings, comments or bodies."""
    statements = split("ALTER TABLE \"T\" DROP COLUMN c; -- x\nDROP INDEX `i`; SELECT 'lit', $$ b $$", "postgres")
    assert catalog.names_in(statements) == {"alter", "table", "t", "drop", "column", "c", "index", "i", "select"}
