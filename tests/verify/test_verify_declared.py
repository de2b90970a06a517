"""The declared history behind the untracked-schema `force` hint: what each file creates and
drops, read from its text, and the one version a schema proves (no database needed)."""

from __future__ import annotations

from migrator.declared import proven_version, steps

FILES = [
    (1, "CREATE TABLE a (id INT PRIMARY KEY, old_name TEXT);\nCREATE INDEX ix_a_old ON a (old_name);\n"),
    (2, "ALTER TABLE a ADD COLUMN new_name TEXT, ADD CONSTRAINT ck_a CHECK (id > 0);\n"),
    (3, "-- comment only\n"),
    (4, "ALTER TABLE a DROP COLUMN old_name;\n"),
    (5, "ALTER TABLE a RENAME TO b;\n"),
]
HEAD = {"table:b", "column:b.id", "column:b.new_name", "constraint:b.ck_a"}


def test_replayed_history_follows_drops_and_renames():
    history = steps(FILES, "postgres")

    assert [s.version for s in history] == [1, 2, 4, 5]  # 3 declares nothing
    # a dropped column may take the table's indexes and constraints with it: those become unknown
    assert history[-1].objects == HEAD - {"constraint:b.ck_a"}
    assert {"column:a.old_name", "table:a", "column:a.id"} <= history[-1].dropped


def test_each_state_proves_its_own_version_and_nothing_else():
    history = steps(FILES, "postgres")
    at_1 = {"table:a", "column:a.id", "column:a.old_name", "index:a.ix_a_old"}
    at_2 = at_1 | {"column:a.new_name", "constraint:a.ck_a"}
    at_4 = at_2 - {"column:a.old_name", "index:a.ix_a_old"}

    assert proven_version(history, at_1) == 1
    assert proven_version(history, at_2) == 2
    assert proven_version(history, at_4) == 4
    assert proven_version(history, HEAD) == 5
    assert proven_version(history, at_1 | {"column:a.new_name"}) is None  # 2 half applied
    assert proven_version(history, at_4 | {"table:b"}) is None  # 5's table next to 4's


def test_a_table_rebuilt_in_one_file_existed_before_it():
    """SQLite's create new / copy / drop old / rename: the table is dropped before it is created
    again, so a later file's rebuild needs it present, not absent."""
    files = [(1, "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);\n"),
             (2, "CREATE TABLE t_new (id INTEGER PRIMARY KEY);\nINSERT INTO t_new SELECT id FROM t;\n"
                 "DROP TABLE t;\nALTER TABLE t_new RENAME TO t;\n")]
    history = steps(files, "sqlite")

    assert proven_version(history, {"table:t", "column:t.id", "column:t.x"}) == 1
    assert proven_version(history, {"table:t", "column:t.id"}) == 2


def test_mysql_change_column_and_index_forms():
    files = [(1, "CREATE TABLE u (id BIGINT PRIMARY KEY, nm VARCHAR(9));\n"),
             (2, "ALTER TABLE u CHANGE COLUMN nm name VARCHAR(9), ADD INDEX ix_u_name (name), ALGORITHM=INPLACE;\n"),
             (3, "DROP INDEX ix_u_name ON u;\n")]
    history = steps(files, "mysql")

    assert history[1].created == {"column:u.name", "index:u.ix_u_name"} and history[1].gone == {"column:u.nm"}
    assert proven_version(history, {"table:u", "column:u.id", "column:u.name", "index:u.ix_u_name"}) == 2
    assert proven_version(history, {"table:u", "column:u.id", "column:u.name"}) == 3
