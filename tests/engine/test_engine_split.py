"""migrator.split: statement splitting (SPEC 3), pure unit tests."""

from __future__ import annotations

import pytest

from migrator.split import split

PG_FUNCTION = """CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();  -- a comment; with a semicolon
    RAISE NOTICE 'touched; %', NEW.id;
    RETURN NEW;
END;
$$"""
PG_TAGGED = """CREATE FUNCTION quoted() RETURNS text LANGUAGE sql AS $fn$
    SELECT $$nested; dollar$$ || ';'
$fn$"""
PG_DO = """DO $do$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader') THEN
        CREATE ROLE reader;
    END IF;
END
$do$"""
PG_ATOMIC = """CREATE FUNCTION total(a int, b int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
    SELECT a + b;
END"""
MYSQL_TRIGGER = """CREATE TRIGGER orders_bi BEFORE INSERT ON orders FOR EACH ROW
BEGIN
    IF NEW.total_cents IS NULL THEN
        SET NEW.total_cents = 0;
    END IF;
    SET NEW.note = CONCAT('created; ', 'it\\'s fine');
END"""
MYSQL_PROCEDURE = """CREATE DEFINER=`root`@`localhost` PROCEDURE archive(IN days INT)
BEGIN
    DECLARE done INT DEFAULT 0;
    label1: LOOP
        SET done = done + 1;
        IF done > days THEN LEAVE label1; END IF;
    END LOOP label1;
    WHILE done > 0 DO SET done = done - 1; END WHILE;
    REPEAT SET done = done + 1; UNTIL done > 3 END REPEAT;
    CASE done WHEN 4 THEN SELECT 'four;'; ELSE BEGIN SELECT 'other'; END; END CASE;
    SELECT CASE WHEN done > 1 THEN 'many' ELSE 'few' END AS how;
END"""
MYSQL_FUNCTION = """CREATE FUNCTION label_of(n INT) RETURNS VARCHAR(10) DETERMINISTIC
BEGIN
    RETURN CASE WHEN n > 0 THEN 'positive;' ELSE 'other' END;
END"""
MYSQL_EVENT = """CREATE EVENT purge_sessions ON SCHEDULE EVERY 1 DAY DO
BEGIN
    DELETE FROM sessions WHERE expires_at < NOW();
    DELETE FROM tokens WHERE expires_at < NOW();
END"""
MARIADB_ANON = """BEGIN NOT ATOMIC
    DECLARE n INT DEFAULT 1;
    SELECT n;
END"""
SQLITE_TRIGGER = """CREATE TRIGGER orders_ai AFTER INSERT ON orders
WHEN NEW.total_cents > 0
BEGIN
    UPDATE users SET order_count = order_count + 1 WHERE id = NEW.user_id;
    INSERT INTO audit (note) VALUES ('order; ' || NEW.id);
    SELECT CASE WHEN NEW.total_cents > 100 THEN 'big' ELSE 'small' END;
END"""
SQLITE_TEMP_TRIGGER = """CREATE TEMP TRIGGER IF NOT EXISTS t_bd BEFORE DELETE ON users
BEGIN
    SELECT RAISE(ABORT, 'no; deleting');
END"""

CASES = {
    "plain statements": ("postgres", "SELECT 1;\nSELECT 2;\n", ["SELECT 1", "SELECT 2"]),
    "no final semicolon": ("postgres", "SELECT 1;\nSELECT 2", ["SELECT 1", "SELECT 2"]),
    "empty file": ("postgres", "", []),
    "whitespace only": ("mysql", "\n  \n\t\n", []),
    "comments only": ("postgres", "-- one; two\n/* three; four */\n", []),
    "lone semicolons": ("sqlite", ";;\n;", []),
    "semicolon in string": ("postgres", "INSERT INTO t VALUES ('a;b', 'it''s; ok');\nSELECT 1;",
                            ["INSERT INTO t VALUES ('a;b', 'it''s; ok')", "SELECT 1"]),
    "E-string with escaped quote": ("postgres", "SELECT E'it\\'s; here';\nSELECT 2;",
                                    ["SELECT E'it\\'s; here'", "SELECT 2"]),
    "quoted identifier": ("postgres", 'CREATE TABLE "we;ird" (id int);\nSELECT 1;',
                          ['CREATE TABLE "we;ird" (id int)', "SELECT 1"]),
    "line comment with semicolon": ("postgres", "SELECT 1; -- first; really\nSELECT 2;", ["SELECT 1", "SELECT 2"]),
    "block comment with semicolon": ("postgres", "/* a; b */ SELECT 1;\nSELECT /* c; */ 2;",
                                     ["SELECT 1", "SELECT /* c; */ 2"]),
    "dollar-quoted function": ("postgres", PG_FUNCTION + ";\nSELECT 1;", [PG_FUNCTION, "SELECT 1"]),
    "tagged dollar quote with nested $$": ("postgres", PG_TAGGED + ";\nSELECT 1;", [PG_TAGGED, "SELECT 1"]),
    "DO block": ("postgres", PG_DO + ";\nSELECT 1;", [PG_DO, "SELECT 1"]),
    "BEGIN ATOMIC body": ("postgres", PG_ATOMIC + ";\nSELECT 1;", [PG_ATOMIC, "SELECT 1"]),
    "positional parameter is not a dollar quote": ("postgres", "PREPARE p AS SELECT $1;\nEXECUTE p(1);",
                                                   ["PREPARE p AS SELECT $1", "EXECUTE p(1)"]),
    "transaction BEGIN is not a block (postgres)": ("postgres", "BEGIN;\nSELECT 1;\nCOMMIT;",
                                                    ["BEGIN", "SELECT 1", "COMMIT"]),
    "cockroach splits like postgres": ("cockroach", PG_FUNCTION + ";\nSELECT 1;", [PG_FUNCTION, "SELECT 1"]),
    "mysql trigger": ("mysql", MYSQL_TRIGGER + ";\nSELECT 1;", [MYSQL_TRIGGER, "SELECT 1"]),
    "mysql procedure with loops and CASE": ("mysql", MYSQL_PROCEDURE + ";\nSELECT 1;", [MYSQL_PROCEDURE, "SELECT 1"]),
    "mysql function with CASE expression": ("mysql", MYSQL_FUNCTION + ";\nSELECT 1;", [MYSQL_FUNCTION, "SELECT 1"]),
    "mysql event": ("mysql", MYSQL_EVENT + ";\nSELECT 1;", [MYSQL_EVENT, "SELECT 1"]),
    "mariadb BEGIN NOT ATOMIC": ("mysql", MARIADB_ANON + ";\nSELECT 1;", [MARIADB_ANON, "SELECT 1"]),
    "mysql trigger without a body block": ("mysql", "CREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;\n"
                                           "SELECT 1;",
                                           ["CREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
                                            "SELECT 1"]),
    "mysql backslash escape and hash comment": ("mysql", "SELECT 'a\\';b'; # c; d\nSELECT `x;y` FROM t;",
                                                ["SELECT 'a\\';b'", "SELECT `x;y` FROM t"]),
    "mysql transaction": ("mysql", "BEGIN;\nUPDATE t SET a = 1;\nCOMMIT;", ["BEGIN", "UPDATE t SET a = 1", "COMMIT"]),
    "mysql CASE expression outside a body": ("mysql", "SELECT CASE WHEN a THEN 1 END FROM t;\nSELECT 2;",
                                             ["SELECT CASE WHEN a THEN 1 END FROM t", "SELECT 2"]),
    "columns named like keywords": ("mysql", "CREATE TABLE t (begin_at INT, ended INT, end_at INT);\nSELECT 1;",
                                    ["CREATE TABLE t (begin_at INT, ended INT, end_at INT)", "SELECT 1"]),
    "sqlite trigger": ("sqlite", SQLITE_TRIGGER + ";\nSELECT 1;", [SQLITE_TRIGGER, "SELECT 1"]),
    "sqlite temp trigger": ("sqlite", SQLITE_TEMP_TRIGGER + ";\nSELECT 1;", [SQLITE_TEMP_TRIGGER, "SELECT 1"]),
    "sqlite transaction": ("sqlite", "BEGIN TRANSACTION;\nSELECT 1;\nEND;", ["BEGIN TRANSACTION", "SELECT 1", "END"]),
    "sqlite bracket identifier": ("sqlite", "CREATE TABLE [a;b] (x);\nSELECT 1;",
                                  ["CREATE TABLE [a;b] (x)", "SELECT 1"]),
}


@pytest.mark.parametrize("case", CASES)
def test_split(case):
    dialect, text, expected = CASES[case]
    assert [s.sql for s in split(text, dialect)] == expected


def test_line_numbers_and_comments():
    text = ("-- header\n-- migrator:no-transaction\n\nCREATE TABLE a (id int);\n\n"
            "/* b */\nCREATE TABLE b (\n  id int\n);\n")
    statements = split(text, "postgres")
    assert [(s.line, s.sql.split("(")[0].strip()) for s in statements] == [(4, "CREATE TABLE a"), (7, "CREATE TABLE b")]
    assert "migrator:no-transaction" in statements[0].comments and statements[1].comments == "/* b */"


def test_line_numbers_after_multiline_strings_and_bodies():
    text = PG_FUNCTION + ";\n\nSELECT 'x\ny';\nSELECT 3;\n"
    lines = [s.line for s in split(text, "postgres")]
    assert lines == [1, 9, 11]


def test_unterminated_string_does_not_hang_or_lose_text():
    statements = split("SELECT 1;\nSELECT 'oops;\nSELECT 2;\n", "postgres")
    assert statements[0].sql == "SELECT 1" and "oops" in statements[1].sql


def test_identifier_with_dollar_signs_is_not_a_dollar_quote():
    # PostgreSQL: "a dollar-quoted string that follows an identifier must be separated from it by whitespace"
    statements = split("CREATE TABLE price$usd$2024 (id int);\nSELECT 1;\n", "postgres")
    assert [s.sql for s in statements] == ["CREATE TABLE price$usd$2024 (id int)", "SELECT 1"]
