"""Backfill declarations are validated strictly before anything touches the database:
a bad file is exit 2 naming the file (SPEC section 7). ``:lo``/``:hi`` become driver
parameters, never formatted into the SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.dialects import mysql, postgresql, sqlite

from migrator.backfill import bind_sql, load_backfills, parse_declaration
from migrator.errors import UsageError
from migrator.source import load_service
from tests.backfill.conftest import ITEMS, UPDATE, declaration

GOOD = {"sqlite": UPDATE, "postgres": UPDATE, "mysql": UPDATE}

BAD = {
    "toml-syntax": ("requires = 1\ntable = 'items\n", "invalid TOML"),
    "unknown-key": (declaration(GOOD, batchsize=10), "unknown key(s) batchsize"),
    "missing-key": (declaration(GOOD, key=None), "missing required key(s) key"),
    "string-batch": (declaration(GOOD, batch_size="5000"), "batch_size must be an integer >= 1"),
    "zero-batch": (declaration(GOOD, batch_size=0), "batch_size must be an integer >= 1"),
    "negative-pause": (declaration(GOOD, pause_ms=-1), "pause_ms must be an integer >= 0"),
    "bool-requires": (declaration(GOOD, requires=True), "requires must be an integer >= 1"),
    "float-requires": (declaration(GOOD, requires=1.5), "requires must be an integer >= 1"),
    "injected-table": (declaration(GOOD, table="items; DROP TABLE items"), "table must be a plain identifier"),
    "bad-key": (declaration(GOOD, key="1id"), "key must be a plain identifier"),
    "long-key": (declaration(GOOD, key="k" * 64), "key must be a plain identifier"),
    "no-hi": (declaration({"sqlite": "UPDATE items SET total = 1 WHERE id >= :lo"}), "must use :hi"),
    "lo-in-string-only": (declaration({"sqlite": "UPDATE items SET total = 1 WHERE ':lo' < ':hi'"}),
                          "must use :lo and :hi"),
    "two-statements": (declaration({"sqlite": UPDATE + "; DELETE FROM items"}), "exactly one statement"),
    "qmark": (declaration({"sqlite": UPDATE.replace("amount * 2", "?")}), "'?' placeholders"),
    "unknown-dialect": (declaration({"sqlite": UPDATE, "oracle": UPDATE}), "unknown [sql] key(s) oracle"),
    "empty-sql": (declaration({"sqlite": "  "}), "sql.sqlite must be a non-empty string"),
    "sql-not-table": ('requires = 1\ntable = "items"\nkey = "id"\nbatch_size = 5\nsql = "x"\n', "[sql] must be a table"),
    "description-type": (declaration(GOOD, description=5), "description must be a string"),
    "not-shipped": (declaration(GOOD, requires=99), "ships no migration 99"),
    "no-sql-for-dialect": (declaration({"postgres": UPDATE}), "no [sql] sqlite statement"),
}


@pytest.fixture
def svc(tmp_path, write_migrations):
    return write_migrations({"sqlite": {"0001_items.up.sql": ITEMS["sqlite"]}})


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_declaration_exits_2_naming_the_file(case, svc, cli, tmp_path):
    text, message = BAD[case]
    path = svc / "svc" / "backfills" / "items_total.toml"
    path.parent.mkdir()
    path.write_text(text)
    dsn = f"sqlite://{tmp_path / 'untouched.db'}"

    for args in (("backfill", "run"), ("backfill", "status"), ("backfill", "list")):
        result = cli(*args, dsn=dsn, migrations=svc)
        assert result.code == 2, result.text
        assert f"{path}: invalid backfill declaration" in result.err
        assert message in result.err, result.err
    assert not (tmp_path / "untouched.db").exists()  # reported before any connection


def test_not_utf8_and_bad_file_name(svc, cli, tmp_path):
    folder = svc / "svc" / "backfills"
    folder.mkdir()
    (folder / "latin1.toml").write_bytes(declaration(GOOD).encode() + b'description = "caf\xe9"\n')
    result = cli("backfill", "list", dsn=f"sqlite://{tmp_path / 'x.db'}", migrations=svc)
    assert result.code == 2 and "latin1.toml" in result.err and "not valid UTF-8" in result.err

    (folder / "latin1.toml").unlink()
    (folder / "bad name.toml").write_text(declaration(GOOD))
    result = cli("backfill", "list", dsn=f"sqlite://{tmp_path / 'x.db'}", migrations=svc)
    assert result.code == 2 and "bad name.toml" in result.err


def test_list_works_without_a_database(svc, cli):
    folder = svc / "svc" / "backfills"
    folder.mkdir()
    (folder / "items_total.toml").write_text(declaration({"postgres": UPDATE}, description="doubles"))
    (folder / "README.md").write_text("not a declaration")

    result = cli("backfill", "list", migrations=svc)

    assert result.code == 0, result.text
    assert "items_total" in result.out and "doubles" in result.out


def test_parse_declaration_reads_every_field(tmp_path):
    path = tmp_path / "fill.toml"
    path.write_text(declaration({"postgres": UPDATE, "cockroach": UPDATE + " AND true"}, requires=3,
                                batch_size=250, pause_ms=15, description="d"))
    bf = parse_declaration(path)
    assert (bf.name, bf.requires, bf.table, bf.key, bf.batch_size, bf.pause_ms, bf.description) == (
        "fill", 3, "items", "id", 250, 15, "d")
    assert bf.statement("cockroach").endswith("AND true")
    assert bf.statement("postgres") == UPDATE and bf.statement("sqlite") is None
    del bf.sql["cockroach"]
    assert bf.statement("cockroach") == UPDATE  # cockroach falls back to postgres


def test_load_backfills_checks_the_dialect_in_use(tmp_path, write_migrations):
    root = write_migrations({"sqlite": {"0001_items.up.sql": ITEMS["sqlite"]}})
    folder = root / "svc" / "backfills"
    folder.mkdir()
    (folder / "b.toml").write_text(declaration({"sqlite": UPDATE}))
    (folder / "a.toml").write_text(declaration({"sqlite": UPDATE}))
    service = load_service("svc", root / "svc")
    assert [b.name for b in load_backfills(service, "sqlite")] == ["a", "b"]
    with pytest.raises(UsageError, match="no \\[sql\\] postgres statement"):
        load_backfills(service, "postgres")
    with pytest.raises(UsageError, match="no \\[sql\\] cockroach statement for the database in use "
                                         "\\(cockroach falls back to postgres\\)"):
        load_backfills(service, "cockroach")


DRIVERS = {"postgres": postgresql.psycopg.dialect(), "cockroach": postgresql.psycopg.dialect(),
           "mysql": mysql.pymysql.dialect(), "sqlite": sqlite.pysqlite.dialect()}


@pytest.mark.parametrize("sql, dialect, text, order", [
    ("UPDATE t SET a = 1 WHERE id >= :lo AND id < :hi", "sqlite",
     "UPDATE t SET a = 1 WHERE id >= ? AND id < ?", ("lo", "hi")),
    ("UPDATE t SET s = '50% :lo' WHERE id >= :lo AND id < :hi AND x::int > 0;", "postgres",
     "UPDATE t SET s = '50%% :lo' WHERE id >= %(lo)s AND id < %(hi)s AND x::int > 0", ()),
    ("UPDATE t SET s = $f$ :hi $f$ WHERE id < :hi AND id >= :lo -- :lo", "postgres",
     "UPDATE t SET s = $f$ :hi $f$ WHERE id < %(hi)s AND id >= %(lo)s -- :lo", ()),
    ("UPDATE t SET s = $$ :hi $$ WHERE id >= :lo AND id < :hi", "cockroach",  # postgres's literals
     "UPDATE t SET s = $$ :hi $$ WHERE id >= %(lo)s AND id < %(hi)s", ()),
    ("UPDATE t SET s = E'it\\'s :lo' WHERE id BETWEEN :lo AND :hi - 1 AND \":hi\" = 1", "postgres",
     "UPDATE t SET s = E'it\\'s :lo' WHERE id BETWEEN %(lo)s AND %(hi)s - 1 AND \":hi\" = 1", ()),
    ("UPDATE t SET a = 1 WHERE id >= :lo::bigint AND id < :hi", "postgres",  # a cast right after :lo
     "UPDATE t SET a = 1 WHERE id >= %(lo)s::bigint AND id < %(hi)s", ()),
    ("UPDATE t SET s = 'a\\':lo', b = `:hi` WHERE id >= :lo AND id < :hi # :lo", "mysql",
     "UPDATE t SET s = 'a\\':lo', b = `:hi` WHERE id >= %s AND id < %s # :lo", ("lo", "hi")),
    ("UPDATE t SET a = :lo WHERE id >= :lo AND id < :hi /* ; :hi */ ; -- done", "mysql",
     "UPDATE t SET a = %s WHERE id >= %s AND id < %s /* ; :hi */", ("lo", "lo", "hi")),
    ("UPDATE t SET s = 'a\\:b', p = '5%' WHERE id >= :lo AND id < :hi", "mysql",  # a backslash before a colon
     "UPDATE t SET s = 'a\\:b', p = '5%%' WHERE id >= %s AND id < %s", ("lo", "hi")),
    ("UPDATE t SET a = [:lo] WHERE id >= :lo AND id < :hi AND :lox = 1", "sqlite",
     "UPDATE t SET a = [:lo] WHERE id >= ? AND id < ? AND :lox = 1", ("lo", "hi")),
    ("UPDATE t SET a = b::hi, c = d:lo, e = 1:hi WHERE id >= :lo AND id < (:hi)", "postgres",
     "UPDATE t SET a = b::hi, c = d:lo, e = 1:hi WHERE id >= %(lo)s AND id < (%(hi)s)", ()),
])
def test_bind_sql(sql, dialect, text, order):
    """What the driver receives: its own placeholders where :lo and :hi were, the rest as written."""
    compiled = bind_sql(sql, dialect).compile(dialect=DRIVERS[dialect])
    assert compiled.string == text
    assert tuple(compiled.positiontup or ()) == order  # a positional driver's values, in this order


def test_bound_values_are_parameters_not_text(tmp_path):
    """A literal ':lo' in the statement stays a literal; the bounds arrive as parameters."""
    with create_engine(f"sqlite:///{tmp_path / 'p.db'}").begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES (?, NULL)", [(i,) for i in range(1, 11)])
        bound = bind_sql("UPDATE t SET note = ':lo..:hi' || ' ' || :lo WHERE id >= :lo AND id < :hi", "sqlite")
        conn.execute(bound, {"lo": 3, "hi": 6})
        assert conn.exec_driver_sql("SELECT id, note FROM t WHERE note IS NOT NULL").fetchall() == [
            (3, ":lo..:hi 3"), (4, ":lo..:hi 3"), (5, ":lo..:hi 3")]
