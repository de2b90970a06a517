"""The catalog model `up` keeps between migrations (one catalog query per migration).

The engine reads the schema once after each migration and keeps what it read as the next
migration's "before". These tests hold it to the thing it replaces: at every migration of
the example platform, what the model says must be exactly what a fresh catalog query says.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from migrator import catalog, objects
from migrator.config import parse_dsn
from migrator.dialects import open_database
from migrator.runner import Runner
from migrator.source import discover, load_service
from migrator.split import split

ROOT = Path(__file__).resolve().parents[2]


def _statements(sql: str, dialect: str = "postgres"):
    return split(sql, dialect)


@pytest.mark.parametrize("sql", [
    "INSERT INTO t (a) VALUES (1);",
    "UPDATE t SET a = 'DROP TABLE x CASCADE' WHERE id = 1;\nDELETE FROM t WHERE a IS NULL;",
    "-- a comment: CREATE TABLE y\ninsert into t values (2);",
])
def test_data_only_statements_need_no_snapshot(sql):
    assert catalog.data_only(_statements(sql))


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (a INT);",
    "INSERT INTO t (a) VALUES (1);\nALTER TABLE t ADD COLUMN b INT;",
    "INSERT INTO t (a) SELECT make_tables() ;\nCALL do_things();",
    "DELETE FROM t;\nDROP TABLE u CASCADE;",
    "",
])
def test_schema_changing_statements_are_not_data_only(sql):
    assert not catalog.data_only(_statements(sql))


@pytest.mark.parametrize("sql, far", [
    ("DROP TABLE parts CASCADE;", True),
    ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;", True),
    ("DO $$ BEGIN CREATE TABLE x (a int); END $$;", True),
    ("CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();", True),
    ("ALTER TABLE t RENAME TO u;", False),
    ("INSERT INTO t (note) VALUES ('cascade into the function');", False),
])
def test_far_reaching_statements_reset_the_model(sql, far):
    assert catalog.far_reaching(_statements(sql)) is far


@pytest.fixture
def checked(monkeypatch):
    """Every 'before' the model answers is compared with a real catalog query."""
    checked = []
    real_before = catalog.SchemaModel.before

    def before(self, relations):
        got = real_before(self, relations)
        live = {o for o in self.db.snapshot(relations, via_indexes=False)
                if objects.relation_of(o) in relations}
        assert got == live, (sorted(got - live), sorted(live - got))
        checked.append(len(relations))
        return got

    monkeypatch.setattr(catalog.SchemaModel, "before", before)
    return checked


def _apply_all(dsn: str, migrations: Path) -> None:
    database = open_database(parse_dsn(dsn))
    try:
        for name, root in sorted(discover(migrations).items()):
            runner = Runner(database, load_service(name, root))
            runner.tracker.ensure()
            with runner.locked(10):
                for m in runner.pending(runner.rows()):
                    runner.apply(m)
            assert catalog.check(database, runner.rows().values()) is None
    finally:
        database.close()


@contextmanager
def _applied(dsn: str, root: Path):
    """Every migration of service svc under ``root`` applied; then the database and its runner,
    to read what was recorded."""
    _apply_all(dsn, root)
    database = open_database(parse_dsn(dsn))
    try:
        yield database, Runner(database, load_service("svc", root / "svc"))
    finally:
        database.close()


def test_the_model_matches_the_catalog_at_every_migration_of_the_example_platform(db, checked):
    _apply_all(db.dsn, ROOT / "migrations")
    assert len(checked) == 40  # 5 services x 8 migrations


DROP_INDEX = {"postgres": "DROP INDEX ix_t_a;", "sqlite": "DROP INDEX ix_t_a;", "mysql": "DROP INDEX ix_t_a ON t;"}


def test_the_model_follows_drops_renames_and_index_only_statements(db, checked, write_migrations):
    files = {
        "0001_t.up.sql": "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT NULL, b INT NULL);\n"
                         "CREATE INDEX ix_t_a ON t (a);\n",
        "0002_drop_b.up.sql": "ALTER TABLE t DROP COLUMN b;\n",
        "0003_add_c.up.sql": "ALTER TABLE t ADD COLUMN c INT NULL;\n",
        "0004_drop_ix.up.sql": DROP_INDEX[db.dialect] + "\n",
        "0005_ix_again.up.sql": "CREATE INDEX ix_t_a ON t (c);\n",
        "0006_rename.up.sql": "ALTER TABLE t RENAME TO u;\n",
        "0007_touch_u.up.sql": "ALTER TABLE u ADD COLUMN d INT NULL;\n",
        "0008_seed.up.sql": "INSERT INTO u (id, a) VALUES (1, 2);\n",
    }
    _apply_all(db.dsn, write_migrations({db.dialect: files}, service="svc"))
    assert len(checked) == 8


def test_a_create_table_scope_stays_on_the_tables_it_names(db, write_migrations):
    """MySQL calls every primary key index PRIMARY: a CREATE TABLE ... PRIMARY KEY must not
    reach, through that index name, every table already there (each such migration then
    read the whole schema, and applying N migrations cost O(N^2) catalog rows)."""
    files = {f"{i:04d}_t{i}.up.sql": f"CREATE TABLE t{i} (id INT NOT NULL PRIMARY KEY, a INT NULL);\n"
             for i in range(1, 6)}
    _apply_all(db.dsn, write_migrations({db.dialect: files}, service="svc"))
    database = open_database(parse_dsn(db.dsn))
    try:
        model = catalog.SchemaModel(database)
        model.scope({f"t{i}" for i in range(1, 6)})  # the model knows the five tables
        statements = split("CREATE TABLE t6 (id INT NOT NULL PRIMARY KEY, b INT NULL);", db.dialect)
        scope = model.scope(catalog.names_in(statements))
        assert not scope & {f"t{i}" for i in range(1, 6)}, sorted(scope)
        assert "t6" in scope
    finally:
        database.close()


def _quoted(dialect: str) -> dict[str, str]:
    """A history in the style of ORMs that quote every name and keep its case ("User")."""
    q = "`" if dialect == "mysql" else '"'
    u, e, p, a = (f"{q}{n}{q}" for n in ("User", "Email", "Post", "authorId"))
    key = "SERIAL" if dialect == "postgres" else "INT NOT NULL"
    return {
        "0001_user.up.sql": f"CREATE TABLE {u} ({q}id{q} {key}, {e} VARCHAR(200) NOT NULL, "
                            f"CONSTRAINT {q}User_pkey{q} PRIMARY KEY ({q}id{q}));\n"
                            f"CREATE UNIQUE INDEX {q}User_Email_key{q} ON {u} ({e});\n",
        "0002_post.up.sql": f"CREATE TABLE {p} ({q}id{q} INT NOT NULL PRIMARY KEY, {a} INT NOT NULL, "
                            f"CONSTRAINT {q}Post_authorId_fkey{q} FOREIGN KEY ({a}) REFERENCES {u} ({q}id{q}));\n",
        "0003_name.up.sql": f"ALTER TABLE {u} ADD COLUMN {q}Name{q} VARCHAR(100) NULL;\n",
        "0004_drop_key.up.sql": (f"DROP INDEX {q}User_Email_key{q} ON {u};\n" if dialect == "mysql"
                                 else f"DROP INDEX {q}User_Email_key{q};\n"),
        "0005_rename.up.sql": (f"RENAME TABLE {p} TO {q}Article{q};\n" if dialect == "mysql"
                               else f"ALTER TABLE {p} RENAME TO {q}Article{q};\n"),
        "0006_title.up.sql": f"ALTER TABLE {q}Article{q} ADD COLUMN {q}Title{q} VARCHAR(100) NULL;\n",
    }


def test_quoted_names_that_keep_their_case_are_recorded_and_verified(db, checked, write_migrations):
    """PostgreSQL looks a migration's relations up by their exact name (the catalog's index),
    so "User" must be found as "User", its SERIAL's sequence "User_id_seq" too, migration
    after migration; the model must agree with a case-insensitive catalog query throughout."""
    root = write_migrations({db.dialect: _quoted(db.dialect)}, service="svc")
    with _applied(db.dsn, root) as (database, runner):
        assert len(checked) == 6
        rows = runner.rows()
        assert {"table:user", "column:user.email", "index:user.user_email_key"} <= set(rows[1].created)
        if db.dialect == "postgres":
            assert "sequence:user_id_seq" in rows[1].created
        assert "column:user.name" in rows[3].created
        assert "index:user.user_email_key" in rows[4].dropped
        assert {"table:article", "column:article.authorid"} <= set(rows[5].created)
        assert "table:post" in rows[5].dropped
        assert "column:article.title" in rows[6].created
        database.run_script_statement(f"ALTER TABLE {_quote(db.dialect, 'User')} DROP COLUMN {_quote(db.dialect, 'Name')}")
        desync = catalog.check(database, runner.rows().values())
        assert desync is not None and desync.missing == {3: ["column:user.name"]}


def _quote(dialect: str, name: str) -> str:
    q = "`" if dialect == "mysql" else '"'
    return f"{q}{name}{q}"


def test_bare_mixed_case_names_keep_their_case_on_mysql(make_database, checked, write_migrations):
    """MySQL keeps the case of a bare name (CREATE TABLE Orders makes Orders) and its scans look
    a migration's tables up by exact name: Orders must be found as written, migration after
    migration, renamed too; the model must agree with a case-insensitive catalog query."""
    db = make_database("mysql")
    files = {
        "0001_orders.up.sql": "CREATE TABLE Orders (Id INT NOT NULL PRIMARY KEY, Total INT NULL);\n"
                              "CREATE INDEX IX_Orders_Total ON Orders (Total);\n",
        "0002_note.up.sql": "ALTER TABLE Orders ADD COLUMN Note VARCHAR(50) NULL;\n",
        "0003_drop_ix.up.sql": "DROP INDEX IX_Orders_Total ON Orders;\n",
        "0004_rename.up.sql": "RENAME TABLE Orders TO PastOrders;\n",
        "0005_closed.up.sql": "ALTER TABLE PastOrders ADD COLUMN ClosedAt DATETIME NULL;\n",
    }
    root = write_migrations({"mysql": files}, service="svc")
    with _applied(db.dsn, root) as (database, runner):
        assert len(checked) == 5
        rows = runner.rows()
        assert {"table:orders", "column:orders.total", "index:orders.ix_orders_total"} <= set(rows[1].created)
        assert rows[2].created == ["column:orders.note"]
        assert rows[3].dropped == ["index:orders.ix_orders_total"]
        assert "table:pastorders" in rows[4].created and "table:orders" in rows[4].dropped
        assert rows[5].created == ["column:pastorders.closedat"]
        database.run_script_statement("ALTER TABLE PastOrders DROP COLUMN Note")
        desync = catalog.check(database, runner.rows().values())
        assert desync is not None and desync.missing == {4: ["column:pastorders.note"]}, desync


def test_one_mixed_case_name_among_lower_case_keywords_on_mysql(make_database, checked, write_migrations):
    """The same with the only name not in lower case being the table's: it is looked up as
    written and as lower-case, nothing else."""
    db = make_database("mysql")
    files = {"0001_orders.up.sql": "create table Orders (id int not null primary key);\n",
             "0002_note.up.sql": "alter table Orders add column note int null;\n"}
    root = write_migrations({"mysql": files}, service="svc")
    with _applied(db.dsn, root) as (_, runner):
        assert len(checked) == 2
        rows = runner.rows()
        assert {"table:orders", "column:orders.id"} <= set(rows[1].created)
        assert rows[2].created == ["column:orders.note"]
