"""What the migrator reads before it connects, and whose rows it then reads: one table
prefix per service (in a directory, and across images through the recorded owner),
checksums that survive line-ending and BOM conversions, and input that must be refused
with one line before it reaches the database (deep TOML, symbolic links out of the
migrations directory, huge files). SQLite, PostgreSQL and MariaDB where a database is used."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
from engine_support import communicate, events, ok, plain_lines, sleep_sql, tracking_rows

from migrator.errors import UsageError
from migrator.source import MAX_FILE_BYTES, select_service
from tests.conftest import MIGRATIONS

T1 = "CREATE TABLE src_one (id INTEGER PRIMARY KEY);\n"
T2 = "-- the second table\nCREATE TABLE src_two (id INTEGER PRIMARY KEY, note VARCHAR(20));\n"
OWNER = "MIGRATION_TRACKING_OWNER"


def first_error(r) -> str:
    lines = plain_lines(r.err)
    assert lines and lines[0].startswith("Error: "), r.err
    return lines[0]


# -- one table prefix per service ------------------------------------------------------------

def test_two_services_with_one_prefix_are_an_invalid_set(cli, db, write_migrations):
    root = write_migrations({db.dialect: {"0001_a.up.sql": T1}}, service="alpha",
                            service_toml='table_prefix = "shared"\n')
    write_migrations({db.dialect: {"0001_b.up.sql": T2}}, service="beta",
                     service_toml='table_prefix = "shared"\n', root=root)
    before = db.snapshot()
    for service in ("alpha", "beta"):
        for args in (("up",), ("status",), ("force", "1", "--yes")):
            r = ok(cli(*args, dsn=db.dsn, migrations=root, service=service), 2)
            line = first_error(r)
            assert "'alpha' and 'beta'" in line and "'shared'" in line, line
    assert db.snapshot() == before


def test_a_folder_without_service_toml_collides_with_auths_prefix(cli, db, tmp_path):
    """A `platform` folder takes the prefix `platform` (its name), which `auth` sets."""
    root = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, root)
    (root / "platform" / db.dialect).mkdir(parents=True)
    (root / "platform" / db.dialect / "0001_x.up.sql").write_text(T1)
    before = db.snapshot()
    for service in ("auth", "cortex"):  # whatever --service: the directory is invalid
        r = ok(cli("up", dsn=db.dsn, migrations=root, service=service), 2)
        assert "services 'auth' and 'platform' have the same table prefix 'platform'" in first_error(r)
    assert db.snapshot() == before


def test_a_service_never_adopts_another_services_rows_across_images(cli, db, write_migrations):
    """alpha and beta at prefix `shared`, each from its own migrations directory (image)."""
    image_a = write_migrations({db.dialect: {"0001_a.up.sql": T1}}, service="alpha",
                               service_toml='table_prefix = "shared"\n')
    image_b = write_migrations({db.dialect: {"0001_b.up.sql": T2, "0002_c.up.sql": "SELECT 1;\n"}},
                               service="beta", service_toml='table_prefix = "shared"\n')
    ok(cli("up", dsn=db.dsn, migrations=image_a))
    assert [e[2]["service"] for e in events(db, "shared", OWNER)] == ["alpha"]
    rows, before = tracking_rows(db, "shared"), db.snapshot()
    for args in (("status",), ("up",), ("force", "1", "--yes"), ("verify",), ("down", "--yes")):
        r = ok(cli(*args, dsn=db.dsn, migrations=image_b), 2)
        line = first_error(r)
        assert line == ("Error: tracking table shared_migrations belongs to service 'alpha', not 'beta': "
                        "both use the table prefix 'shared'"), line
        assert "Hint: give service 'beta' its own table_prefix in" in r.err
    assert (tracking_rows(db, "shared"), db.snapshot()) == (rows, before)
    ok(cli("status", "--check", dsn=db.dsn, migrations=image_a))


def test_two_images_services_of_one_prefix_at_the_same_moment(migrator_for, db, write_migrations):
    """Both start on a fresh database; the one that gets the lock first owns the tables, the
    other is refused under the lock (its start-up check may have found no tables yet)."""
    slow = f"{sleep_sql(db.dialect, 1)};\n"
    roots = {name: write_migrations({db.dialect: {"0001_a.up.sql": slow + T1.replace("src_one", f"src_{name}")}},
                                    service=name, service_toml='table_prefix = "shared"\n')
             for name in ("alpha", "beta")}
    procs = {name: migrator_for(db, root, name).spawn("--lock-timeout", "60", "up") for name, root in roots.items()}
    results = {name: communicate(p, 120) for name, p in procs.items()}
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 2], results
    winner = next(name for name, (code, _, _) in results.items() if code == 0)
    loser = next(name for name in results if name != winner)
    assert (f"Error: tracking table shared_migrations belongs to service {winner!r}, not {loser!r}"
            in plain_lines(results[loser][2])[0])
    assert [e[2]["service"] for e in events(db, "shared", OWNER)] == [winner]
    assert f"src_{loser}" not in db.tables() and f"src_{winner}" in db.tables()


def test_tables_without_a_recorded_owner_are_adopted_by_the_first_writer(cli, db, write_migrations):
    """A database of an earlier release records no owner: the first service that writes
    (`up`, even with nothing pending) records itself; read-only commands record nothing."""
    image_a = write_migrations({db.dialect: {"0001_a.up.sql": T1}}, service="alpha",
                               service_toml='table_prefix = "shared"\n')
    image_b = write_migrations({db.dialect: {"0001_b.up.sql": T2}}, service="beta",
                               service_toml='table_prefix = "shared"\n')
    ok(cli("up", dsn=db.dsn, migrations=image_a))
    db.execute(f"DELETE FROM shared_migration_events WHERE event = '{OWNER}'")  # as an earlier release left it
    ok(cli("status", dsn=db.dsn, migrations=image_a))
    assert events(db, "shared", OWNER) == []
    ok(cli("up", dsn=db.dsn, migrations=image_a))
    assert [e[2]["service"] for e in events(db, "shared", OWNER)] == ["alpha"]
    ok(cli("status", dsn=db.dsn, migrations=image_b), 2)
    ok(cli("up", dsn=db.dsn, migrations=image_a))
    assert len(events(db, "shared", OWNER)) == 1


# -- checksums: line endings and a BOM are not changes ---------------------------------------

def windows(text: str) -> bytes:
    return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()


def test_crlf_and_bom_conversions_keep_applied_migrations_valid(cli, db, write_migrations):
    root = write_migrations({db.dialect: {"0001_one.up.sql": T1, "0002_two.up.sql": T2}})
    folder = root / "svc" / db.dialect
    ok(cli("up", dsn=db.dsn, migrations=root))
    recorded = {r.version: r.checksum for r in tracking_rows(db, "svc")}
    assert recorded == {1: hashlib.sha256(T1.encode()).hexdigest(), 2: hashlib.sha256(T2.encode()).hexdigest()}
    for name, text in (("0001_one.up.sql", T1), ("0002_two.up.sql", T2)):
        (folder / name).write_bytes(windows(text))  # a Windows checkout (git autocrlf) with a BOM
    for args in (("up",), ("status", "--check"), ("verify",)):
        ok(cli(*args, dsn=db.dsn, migrations=root))
    # a row recorded by an earlier release from these very bytes (sha256 of the exact file)
    exact = hashlib.sha256(windows(T2)).hexdigest()
    db.execute(f"UPDATE svc_migrations SET checksum = '{exact}' WHERE version = 2")
    for args in (("up",), ("status", "--check")):
        ok(cli(*args, dsn=db.dsn, migrations=root))
    # a real edit is still a change
    (folder / "0002_two.up.sql").write_bytes(windows(T2.replace("VARCHAR(20)", "VARCHAR(30)")))
    r = ok(cli("up", dsn=db.dsn, migrations=root), 6)
    assert "checksum mismatch: applied migration 2 changed on disk" in first_error(r)
    assert "0002_two.up.sql" in first_error(r)
    ok(cli("status", "--check", dsn=db.dsn, migrations=root), 6)


def test_new_rows_record_the_line_ending_independent_checksum(cli, db, write_migrations):
    root = write_migrations({db.dialect: {"0001_one.up.sql": windows(T1)}})
    ok(cli("up", dsn=db.dsn, migrations=root))
    assert [r.checksum for r in tracking_rows(db, "svc")] == [hashlib.sha256(T1.encode()).hexdigest()]
    (root / "svc" / db.dialect / "0001_one.up.sql").write_text(T1)  # back to LF, no BOM
    ok(cli("status", "--check", dsn=db.dsn, migrations=root))


# -- input refused before the database: deep TOML, symbolic links out, huge files -------------

NESTED = "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"


def refused(root, service: str = "svc", dialect: str = "sqlite") -> str:
    with pytest.raises(UsageError) as caught:
        select_service(root, service).migrations(dialect)
    assert caught.value.exit_status == 2
    return caught.value.message


@pytest.mark.parametrize("toml", [NESTED, "x = " + "[" * 5000 + "]" * 5000 + "\n"], ids=["tables", "arrays"])
def test_deeply_nested_service_toml(write_migrations, toml):
    root = write_migrations({"sqlite": {"0001_a.up.sql": T1}}, service_toml=toml)
    message = refused(root)
    assert message == f"{root / 'svc' / 'service.toml'}: invalid TOML: arrays or tables nested too deeply"


def test_non_string_settings_are_named_in_short(write_migrations):
    root = write_migrations({"sqlite": {"0001_a.up.sql": T1}},
                            service_toml="table_prefix = " + "{a = " * 100 + "1" + "}" * 100 + "\n")
    message = refused(root)
    assert message.startswith("service 'svc': invalid table prefix {'a': {") and len(message) < 200
    root = write_migrations({"sqlite": {"0001_a.up.sql": T1}}, service_toml="description = [1]\n")
    assert refused(root).endswith("service.toml: description must be a string")


def test_tracking_table_must_name_the_prefixs_table(write_migrations):
    root = write_migrations({"sqlite": {"0001_a.up.sql": T1}},
                            service_toml='table_prefix = "billing"\ntracking_table = "billing_migrations"\n')
    assert select_service(root, "svc").tracking_table == "billing_migrations"
    root = write_migrations({"sqlite": {"0001_a.up.sql": T1}},
                            service_toml='table_prefix = "billing"\ntracking_table = "schema_migrations"\n')
    assert refused(root) == (f"{root / 'svc' / 'service.toml'}: tracking_table 'schema_migrations' must be "
                             "'billing_migrations': the tracking table is named after table_prefix")


def test_a_symlink_to_a_file_outside_the_migrations_directory(write_migrations, tmp_path):
    outside = tmp_path / "hostname"
    outside.write_text("not a migration\n")
    root = write_migrations({"sqlite": {"0001_a.up.sql": T1}})
    link = root / "svc" / "sqlite" / "0002_host.up.sql"
    link.symlink_to(outside)
    assert refused(root) == f"{link}: a symbolic link to {outside}, outside the migrations directory {root}"


def test_a_symlinked_dialect_folder_outside_the_migrations_directory(write_migrations, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "0001_a.up.sql").write_text(T1)
    root = write_migrations({"postgres": {"0001_a.up.sql": T1}})
    (root / "svc" / "sqlite").symlink_to(elsewhere)
    assert refused(root).startswith(f"{root / 'svc' / 'sqlite'}: a symbolic link to {elsewhere}, outside")


def test_symlinks_inside_the_migrations_directory_are_followed(write_migrations):
    root = write_migrations({"postgres": {"0001_a.up.sql": T1}}, service="base")
    write_migrations({"sqlite": {}}, service="svc", root=root)
    (root / "svc" / "sqlite" / "0001_a.up.sql").symlink_to(root / "base" / "postgres" / "0001_a.up.sql")
    (root / "svc" / "cockroach").symlink_to(os.path.join("..", "base", "postgres"))
    service = select_service(root, "svc")
    assert [m.up.text for m in service.migrations("sqlite")] == [T1]
    assert [m.version for m in service.migrations("cockroach")] == [1]


def test_a_huge_migration_file_is_refused_by_its_size_unread(write_migrations):
    root = write_migrations({"sqlite": {"0001_a.up.sql": T1}})
    huge = root / "svc" / "sqlite" / "0002_huge.up.sql"
    with open(huge, "wb") as f:  # sparse: 4 GiB on paper, nothing on disk
        f.truncate(4 * 2**30)
    assert refused(root) == f"{huge}: migration file refused: {4 * 2**30} bytes, over the limit of 64 MiB"
    with open(huge, "r+b") as f:
        f.truncate(MAX_FILE_BYTES)
    assert len(select_service(root, "svc").migrations("sqlite")[1].up.text) == MAX_FILE_BYTES


def test_unreadable_file_names_the_path(tmp_path):
    folder = tmp_path / "svc" / "sqlite"
    (folder / "1_a.up.sql").mkdir(parents=True)  # a folder where a file should be
    with pytest.raises(UsageError) as caught:
        select_service(tmp_path, "svc").migrations("sqlite")
    assert caught.value.message == f"{folder / '1_a.up.sql'}: cannot read migration file: Is a directory"


def test_a_fifo_is_not_read(write_migrations):
    root = write_migrations({"sqlite": {"0001_a.up.sql": T1}})
    fifo = root / "svc" / "sqlite" / "0002_pipe.up.sql"
    os.mkfifo(fifo)
    assert refused(root) == f"{fifo}: migration file refused: not a regular file"  # not a read that blocks
