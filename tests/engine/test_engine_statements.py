"""Real statements through the real databases: semicolons in strings, PostgreSQL
dollar-quoted bodies, MySQL routines with BEGIN…END, SQLite triggers (SPEC 3)."""

from __future__ import annotations

from engine_support import ok, tracking_rows

UP = {
    "postgres": r"""
CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL, audit TEXT, updated_at TIMESTAMPTZ);
CREATE FUNCTION notes_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now(); -- keep; going
    NEW.audit := 'touched; ' || NEW.id;
    RETURN NEW;
END;
$$;
CREATE TRIGGER notes_touch BEFORE INSERT OR UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION notes_touch();
CREATE FUNCTION semi() RETURNS text LANGUAGE sql AS $fn$ SELECT $$a;b$$ || ';' $fn$;
/* a block comment; with a semicolon */
INSERT INTO notes (id, body) VALUES (1, 'it''s; a note /* not a comment */ -- nor this');
DO $$ BEGIN INSERT INTO notes (id, body) VALUES (2, E'two\'s; body'); END $$;
""",
    "mysql": r"""
CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL, audit VARCHAR(100) NULL) ENGINE=InnoDB;
CREATE TRIGGER notes_bi BEFORE INSERT ON notes FOR EACH ROW
BEGIN
    IF NEW.audit IS NULL THEN
        SET NEW.audit = CONCAT('touched; ', NEW.id);
    END IF;
END;
CREATE PROCEDURE add_note(IN n BIGINT)
BEGIN
    DECLARE i INT DEFAULT 0;
    WHILE i < 1 DO
        INSERT INTO notes (id, body) VALUES (n, 'two\'s; body');
        SET i = i + 1;
    END WHILE;
END;
# a hash comment; with a semicolon
INSERT INTO notes (id, body) VALUES (1, 'it''s; a note /* not a comment */ -- nor this');
CALL add_note(2);
""",
    "sqlite": r"""
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, audit TEXT);
CREATE TRIGGER notes_ai AFTER INSERT ON notes
WHEN NEW.audit IS NULL
BEGIN
    UPDATE notes SET audit = 'touched; ' || NEW.id WHERE id = NEW.id;
    SELECT CASE WHEN NEW.id < 0 THEN RAISE(ABORT, 'negative; id') END;
END;
/* a block comment; with a semicolon */
INSERT INTO notes (id, body) VALUES (1, 'it''s; a note /* not a comment */ -- nor this');
INSERT INTO notes (id, body) VALUES (2, 'two''s; body');
""",
}
DOWN = {
    "postgres": "DROP TABLE notes;\nDROP FUNCTION notes_touch();\nDROP FUNCTION semi();\n",
    "mysql": "DROP PROCEDURE add_note;\nDROP TABLE notes;\n",
    "sqlite": "DROP TABLE notes;\n",
}


def test_compound_statements_run_as_written(cli, db, write_migrations):
    root = write_migrations({db.dialect: {"0001_notes.up.sql": UP[db.dialect],
                                          "0001_notes.down.sql": DOWN[db.dialect]}}, service="svc")
    ok(cli("up", dsn=db.dsn, migrations=root))
    assert db.query("SELECT id, body, audit FROM notes ORDER BY id") == [
        (1, "it's; a note /* not a comment */ -- nor this", "touched; 1"),
        (2, "two's; body", "touched; 2"),
    ]
    if db.dialect == "postgres":
        assert db.query("SELECT semi()") == [("a;b;",)]
    assert "table:notes" in tracking_rows(db, "svc")[0].created

    ok(cli("down", "--yes", dsn=db.dsn, migrations=root))
    assert "notes" not in db.tables()
    ok(cli("up", dsn=db.dsn, migrations=root))
    assert len(db.query("SELECT id FROM notes")) == 2


def test_percent_signs_and_placeholder_lookalikes_reach_the_database_as_written(cli, db, write_migrations):
    """Migration SQL goes to the driver without parameters: %, %s, %(x)s, :name and ? are text."""
    note = "100% sure: %s %(x)s %% :lo ?"
    sql = ("CREATE TABLE pct (id INT PRIMARY KEY, note VARCHAR(60));\n"
           f"INSERT INTO pct (id, note) VALUES (1, '{note}'), (2, 'gone');\n"
           "DELETE FROM pct WHERE note NOT LIKE '100%';\n")
    root = write_migrations({db.dialect: {"0001_pct.up.sql": sql}}, service="svc")
    ok(cli("up", dsn=db.dsn, migrations=root))
    assert db.query("SELECT id, note FROM pct") == [(1, note)]
