"""Invalid migration sets and service.toml (SPEC 3): exit 2 naming the file, before the
database is touched; table_prefix and forward_only."""

from __future__ import annotations

import pytest
from engine_support import app_tables, ok, plain_lines, tracking_rows, versions

from migrator.errors import UsageError
from migrator.source import select_service

GOOD_UP = "CREATE TABLE t1 (id INTEGER PRIMARY KEY);\n"

# name -> (files of the service's dialect folder, text the error must name, service.toml)
INVALID_SETS = {
    "duplicate version": ({"0001_a.up.sql": GOOD_UP, "001_b.up.sql": GOOD_UP}, "001_b.up.sql", None),
    "unparsable name": ({"0001_a.up.sql": GOOD_UP, "2_create table.up.sql": GOOD_UP}, "2_create table.up.sql", None),
    "down without up": ({"0001_a.up.sql": GOOD_UP, "0002_b.down.sql": "DROP TABLE t2;\n"}, "0002_b.down.sql", None),
    "not UTF-8": ({"0001_a.up.sql": GOOD_UP, "0002_b.up.sql": b"-- caf\xe9\nCREATE TABLE t2 (id INTEGER);\n"},
                  "0002_b.up.sql", None),
    "unknown directive": ({"0001_a.up.sql": GOOD_UP, "0002_b.up.sql": "-- migrator:no-transactions\nSELECT 1;\n"},
                          "0002_b.up.sql", None),
    "bad table_prefix": ({"0001_a.up.sql": GOOD_UP}, "Billing-DB", 'table_prefix = "Billing-DB"\n'),
}
# More invalid sets, checked on the source reader alone (no database needed).
MORE_INVALID_SETS = {
    "duplicate version, other title": ({"0001_a.up.sql": GOOD_UP, "0002_b.up.sql": GOOD_UP,
                                        "0002_c.up.sql": GOOD_UP}, "0002_", None),
    "duplicate version, same title": ({"0001_a.up.sql": GOOD_UP, "01_a.up.sql": GOOD_UP}, "01_a.up.sql", None),
    "no version": ({"0001_a.up.sql": GOOD_UP, "create_t2.up.sql": GOOD_UP}, "create_t2.up.sql", None),
    "version zero": ({"0000_a.up.sql": GOOD_UP}, "0000_a.up.sql", None),
    "negative version": ({"-1_a.up.sql": GOOD_UP}, "-1_a.up.sql", None),
    "no title": ({"0001.up.sql": GOOD_UP}, "0001.up.sql", None),
    "wrong direction": ({"0001_a.up.sql": GOOD_UP, "0002_b.sideways.sql": GOOD_UP}, "0002_b.sideways.sql", None),
    "not UTF-8 down": ({"0001_a.up.sql": GOOD_UP, "0001_a.down.sql": b"DROP TABLE t1; -- \xff\xfe\n"},
                       "0001_a.down.sql", None),
    "unknown directive after a comment": ({"0001_a.up.sql": "-- creates t1\n-- migrator:transaction-less\n" + GOOD_UP},
                                          "0001_a.up.sql", None),
    "prefix with a digit first": ({"0001_a.up.sql": GOOD_UP}, "1billing", 'table_prefix = "1billing"\n'),
    "prefix too long": ({"0001_a.up.sql": GOOD_UP}, "a" * 42, f'table_prefix = "{"a" * 42}"\n'),
    "prefix with SQL in it": ({"0001_a.up.sql": GOOD_UP}, "x; DROP", 'table_prefix = "x; DROP TABLE t1; --"\n'),
    "prefix not a string": ({"0001_a.up.sql": GOOD_UP}, "7", "table_prefix = 7\n"),
    "empty prefix": ({"0001_a.up.sql": GOOD_UP}, "''", 'table_prefix = ""\n'),
    "service.toml not TOML": ({"0001_a.up.sql": GOOD_UP}, "service.toml", "table_prefix = \n"),
    "forward_only not a bool": ({"0001_a.up.sql": GOOD_UP}, "forward_only", 'forward_only = "yes"\n'),
}


@pytest.mark.parametrize("case", INVALID_SETS)
def test_invalid_migration_set_exits_2_before_touching_the_database(case, cli, db, write_migrations):
    files, named, toml = INVALID_SETS[case]
    root = write_migrations({db.dialect: files}, service="svc", service_toml=toml)
    before = db.snapshot()
    r = ok(cli("up", dsn=db.dsn, migrations=root), 2)
    errors = plain_lines(r.err)
    assert errors and errors[0].startswith("Error: ") and named in errors[0], r.err
    assert db.snapshot() == before, "an invalid migration set touched the database"
    assert "svc_migrations" not in db.tables()


@pytest.mark.parametrize("case", MORE_INVALID_SETS)
def test_invalid_migration_set_is_a_usage_error_naming_the_file(case, tmp_path, write_migrations):
    files, named, toml = MORE_INVALID_SETS[case]
    root = write_migrations({"postgres": files}, service="svc", service_toml=toml)
    with pytest.raises(UsageError) as caught:
        select_service(root, "svc").migrations("postgres")
    assert caught.value.exit_status == 2
    assert named in caught.value.message


def test_valid_names_and_numeric_order(write_migrations):
    root = write_migrations({"postgres": {
        "10_ten.up.sql": "", "9_nine.up.sql": "", "20260101120000_timestamp.up.sql": "",
        "0002_two-parts.v2.up.sql": "", "0002_two-parts.v2.down.sql": "", "README.md": "not a migration",
        ".0003_hidden.up.sql": "",
    }}, service="svc")
    migrations = select_service(root, "svc").migrations("postgres")
    assert [m.version for m in migrations] == [2, 9, 10, 20260101120000]
    assert migrations[0].down is not None and migrations[1].down is None


def test_no_transaction_directive(write_migrations):
    root = write_migrations({"postgres": {
        "0001_a.up.sql": "-- migrator:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n",
        "0002_b.up.sql": "\n-- an index\n--   migrator:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n",
        "0003_c.up.sql": "CREATE TABLE t (c INT);\n-- migrator:no-transaction\n",  # not a header: ignored
    }}, service="svc")
    flags = [m.no_transaction for m in select_service(root, "svc").migrations("postgres")]
    assert flags == [True, True, False]


def test_unknown_service_exits_2(cli, db, app_migrations):
    before = db.snapshot()
    r = ok(cli("up", dsn=db.dsn, migrations=app_migrations, service="billing"), 2)
    assert "billing" in plain_lines(r.err)[0]
    ok(cli("status", dsn=db.dsn, migrations=app_migrations, service="billing"), 2)
    assert db.snapshot() == before


@pytest.mark.parametrize("dialect", ["sqlite"])  # validation is the same for every database
def test_invalid_down_file_blocks_status_and_down_too(mig, db):
    """Validation runs before every command, not only up."""
    ok(mig("up"))
    before, rows = db.snapshot(), tracking_rows(db)
    mig.write("0006_bad.down.sql", "DROP TABLE nothing;\n")
    for args in (("status",), ("down", "--yes"), ("force", "1", "--yes"), ("verify",)):
        r = ok(mig(*args), 2)
        assert "0006_bad.down.sql" in plain_lines(r.err)[0]
    assert (db.snapshot(), tracking_rows(db)) == (before, rows)


def test_table_prefix_names_the_migrator_tables(cli, db, write_migrations):
    root = write_migrations({db.dialect: {"0001_t.up.sql": GOOD_UP}}, service="billingService",
                            service_toml='table_prefix = "billing"\n')
    ok(cli("up", dsn=db.dsn, migrations=root))
    assert {"billing_migrations", "billing_migration_events"} <= db.tables()
    assert not any(t.startswith("billing_service") for t in db.tables())
    assert versions(db, "billing") == [1]


def test_default_prefix_is_the_service_name_in_snake_case(cli, db, write_migrations):
    root = write_migrations({db.dialect: {"0001_t.up.sql": GOOD_UP}}, service="apiOntology")
    ok(cli("up", dsn=db.dsn, migrations=root))
    assert versions(db, "api_ontology") == [1]


def test_forward_only_service_refuses_down(cli, db, write_migrations):
    root = write_migrations({db.dialect: {"0001_t.up.sql": GOOD_UP}}, service="svc",
                            service_toml="forward_only = true\n")
    ok(cli("up", dsn=db.dsn, migrations=root))
    before = db.snapshot()
    r = cli("down", "--yes", dsn=db.dsn, migrations=root)
    assert r.code != 0
    assert "backup" in plain_lines(r.err)[0]
    assert db.snapshot() == before and versions(db, "svc") == [1]


def test_forward_only_service_with_a_down_file_is_invalid(cli, db, write_migrations):
    root = write_migrations({db.dialect: {"0001_t.up.sql": GOOD_UP, "0001_t.down.sql": "DROP TABLE t1;\n"}},
                            service="svc", service_toml="forward_only = true\n")
    r = ok(cli("up", dsn=db.dsn, migrations=root), 2)
    assert "0001_t.down.sql" in plain_lines(r.err)[0]
    assert "svc_migrations" not in db.tables() and app_tables(db, "svc") == set()


def test_migrations_dir_from_the_environment_and_service_selection(cli, tmp_path, write_migrations):
    root = write_migrations({"sqlite": {"0001_t.up.sql": GOOD_UP}}, service="one")
    dsn = f"sqlite://{tmp_path}/x.db"
    ok(cli("up", dsn=dsn, env={"MIGRATOR_MIGRATIONS_DIR": str(root)}))  # one service: --service optional
    write_migrations({"sqlite": {"0001_t.up.sql": GOOD_UP}}, service="two", root=root)
    r = ok(cli("status", dsn=dsn, env={"MIGRATOR_MIGRATIONS_DIR": str(root)}), 2)
    assert "--service" in plain_lines(r.err)[0] and "one" in r.err and "two" in r.err
    ok(cli("status", dsn=dsn, service="one", env={"MIGRATOR_MIGRATIONS_DIR": str(root)}))
