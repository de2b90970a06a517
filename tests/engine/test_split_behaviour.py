"""migrator.split: what an operator sees when a migration file is cut into statements.

Each case is a file a team could write: where it is cut decides what runs in which order,
and the line a statement starts on is the line an error message points at."""

from __future__ import annotations

import pytest

from migrator.split import split

MARIADB_NESTED = "BEGIN NOT ATOMIC BEGIN SELECT 1; END; SELECT 2; END"
MARIADB_NESTED_CASE = """BEGIN NOT ATOMIC
  BEGIN
    SELECT CASE WHEN 1 > 0 THEN 'yes;' ELSE 'no' END;
  END;
  SELECT 2;
END"""
MYSQL_CASE_STATEMENT_FIRST = """CREATE PROCEDURE grade(IN n INT)
BEGIN
  CASE n WHEN 1 THEN SELECT 'one;'; ELSE SELECT 'other'; END CASE;
END"""
SQLITE_LOWER_TRIGGER = """create trigger orders_ai after insert on orders
begin
  insert into audit (note) values ('order');
  update totals set n = n + 1;
end"""
MYSQL_LOWER_PROCEDURE = """create procedure bump()
begin
  update totals set n = n + 1;
  select n from totals;
end"""

MYSQL_INNER_BLOCK_THEN_IF = """CREATE PROCEDURE p()
BEGIN
  BEGIN SELECT 1; END;
  IF 1 THEN SELECT 2; END IF;
END"""
LONG_SELECT = "SELECT " + ", ".join(f"{i} AS c{i}" for i in range(60))

CASES = {
    # MariaDB: a block inside an anonymous block is one statement with it
    "nested MariaDB block": ("mysql", MARIADB_NESTED + ";\nSELECT 3;", [MARIADB_NESTED, "SELECT 3"]),
    "nested MariaDB block with a CASE expression": ("mysql", MARIADB_NESTED_CASE + ";\nSELECT 3;",
                                                   [MARIADB_NESTED_CASE, "SELECT 3"]),
    "CASE statement first in a procedure body": ("mysql", MYSQL_CASE_STATEMENT_FIRST + ";\nSELECT 1;",
                                                 [MYSQL_CASE_STATEMENT_FIRST, "SELECT 1"]),
    # keywords in lower case are keywords
    "lower-case SQLite trigger": ("sqlite", SQLITE_LOWER_TRIGGER + ";\nselect 1;", [SQLITE_LOWER_TRIGGER, "select 1"]),
    "lower-case MySQL procedure": ("mysql", MYSQL_LOWER_PROCEDURE + ";\nselect 1;",
                                   [MYSQL_LOWER_PROCEDURE, "select 1"]),
    # a block comment over several lines hides its semicolons
    "multi-line block comment with semicolons": ("postgres", "/* step one;\n   step two; */\nSELECT 1;\nSELECT 2;",
                                                 ["SELECT 1", "SELECT 2"]),
    "multi-line block comment, MySQL": ("mysql", "SELECT 1 /* a;\nb; */;\nSELECT 2;",
                                        ["SELECT 1 /* a;\nb; */", "SELECT 2"]),
    # PostgreSQL: a transaction BEGIN with options is not a BEGIN ATOMIC body
    "BEGIN ISOLATION LEVEL is a transaction": ("postgres", "BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;",
                                               ["BEGIN ISOLATION LEVEL SERIALIZABLE", "SELECT 1", "COMMIT"]),
    "BEGIN WORK is a transaction": ("cockroach", "BEGIN WORK;\nSELECT 1;\nCOMMIT;", ["BEGIN WORK", "SELECT 1", "COMMIT"]),
    # a dollar quote never closed runs to the end of the file (and the split ends)
    "unterminated dollar quote": ("postgres", "SELECT 1;\nSELECT $$never closed;\nSELECT 2;\n",
                                  ["SELECT 1", "SELECT $$never closed;\nSELECT 2;"]),
    # a block comment never closed is sent, for the database to report; one closed is a comment
    "unterminated block comment": ("postgres", "SELECT 1;\n/* never closed;\nSELECT 2;\n",
                                   ["SELECT 1", "/* never closed;\nSELECT 2;"]),
    "block comment closed at once": ("sqlite", "/*/ not yet */ SELECT 1;\n/**/ SELECT 2;", ["SELECT 1", "SELECT 2"]),
    "block comment of three characters is open": ("postgres", "SELECT 1;\n/*/", ["SELECT 1", "/*/"]),
    # an inner block's END; followed by an IF statement: END closes the block, the IF opens none
    "END of an inner block, then IF": ("mysql", MYSQL_INNER_BLOCK_THEN_IF + ";\nSELECT 3;",
                                       [MYSQL_INNER_BLOCK_THEN_IF, "SELECT 3"]),
    # MariaDB's anonymous block after a long statement (offsets past the small-int cache)
    "MariaDB block after a long statement": ("mysql", LONG_SELECT + ";\n" + MARIADB_NESTED + ";\nSELECT 3;",
                                             [LONG_SELECT, MARIADB_NESTED, "SELECT 3"]),
    "unterminated tagged dollar quote": ("postgres", "SELECT 1;\nDO $body$ BEGIN; END;\n",
                                         ["SELECT 1", "DO $body$ BEGIN; END;"]),
}


@pytest.mark.parametrize("case", CASES)
def test_statements(case):
    dialect, text, expected = CASES[case]
    assert [s.sql for s in split(text, dialect)] == expected


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_line_of_a_statement_opening_with_a_parenthesis(dialect):
    """A statement whose first line is a lone '(' starts on that line, not the next."""
    text = "SELECT 1;\n(\n  SELECT 2\n);\n(SELECT 3);\n"
    assert [(s.line, s.sql) for s in split(text, dialect)] == [
        (1, "SELECT 1"), (2, "(\n  SELECT 2\n)"), (5, "(SELECT 3)")]


def test_tabs_do_not_count_as_lines():
    text = "SELECT\t1;\n\tSELECT 2;\n\t\t\n\tSELECT\t3;\n"
    assert [s.line for s in split(text, "postgres")] == [1, 2, 4]


@pytest.mark.parametrize("dialect, family", [("postgres", "postgres"), ("cockroach", "postgres"),
                                             ("mysql", "mysql"), ("sqlite", "sqlite")])
def test_a_statement_knows_the_sql_it_is_written_in(dialect, family):
    assert [s.family for s in split("SELECT 1; SELECT 2", dialect)] == [family, family]


def test_a_comment_between_begin_and_atomic_is_no_atomic_body():
    """PostgreSQL: only BEGIN ATOMIC opens a body; BEGIN followed by anything else (here a
    comment) is a transaction's BEGIN, and the semicolons after it end statements."""
    text = "BEGIN /* ATOMIC */;\nSELECT 1;\nEND;"
    assert [s.sql for s in split(text, "postgres")] == ["BEGIN /* ATOMIC */", "SELECT 1", "END"]


def test_the_comments_before_the_first_statement_are_its_own():
    statements = split("-- first\nSELECT 1;\n/* second */ SELECT 2;", "postgres")
    assert [(s.comments, s.sql) for s in statements] == [("-- first", "SELECT 1"), ("/* second */", "SELECT 2")]


def test_a_dialect_name_read_from_a_dsn_is_the_same_dialect():
    """The dialect may be a string built at run time (parsed from a DSN), not a literal."""
    dialect = "".join(["post", "gres"])
    text = "CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN (SELECT begin FROM t);\nSELECT 2;"
    assert [s.sql for s in split(text, dialect)] == [text[:text.index(";")], "SELECT 2"]
