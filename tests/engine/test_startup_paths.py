"""Start-up work of every command (a no-op ``up`` is mostly start-up): what the fast paths
replaced must behave as before. Pure unit tests; no database."""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from pathlib import Path

import pytest

from migrator._lazy import lazy_re
from migrator._record import FrozenInstanceError
from migrator.config import DSN, parse_dsn
from migrator.errors import UsageError
from migrator.source import Migration, SqlFile, _simple_toml, select_service
from migrator.split import Statement, split


# -- service.toml: the simple-TOML reader gives tomllib's answer or defers to it ---------------
TOML_DOCUMENTS = [
    "",
    "\n\n",
    'table_prefix = "bench"\n',
    'table_prefix = "bench"',
    '# a comment\ntable_prefix = "cortex"\nforward_only = false\n',
    '  description = "Cortex: model endpoints, \u00e9t\u00e9 # not a comment"   # a comment\n',
    "forward_only=true\n",
    'a-b_9 = "x"\n\t\n   # indented comment \u2603\n',
    'table_prefix = ""\n',
]
DEFERRED = [  # valid or invalid TOML that the simple reader leaves to tomllib
    'table_prefix = "a\\tb"\n',  # an escape
    "table_prefix = 'literal'\n",
    "table_prefix = 7\n",
    'table_prefix = "x"\ntable_prefix = "y"\n',  # duplicate key: an error
    "table_prefix = \n",
    'table_prefix = "x" y\n',
    "forward_only = True\n",
    '"quoted" = "key"\n',
    "[table]\nkey = 1\n",
    'a.b = "dotted"\n',
    '\ufefftable_prefix = "bom"\n',
    '# bad \x01 control\n',
    'description = "bad \x7f control"\n',
    'key = """multi\nline"""\n',
    "key = truex\n",
]


@pytest.mark.parametrize("text", TOML_DOCUMENTS)
def test_simple_toml_equals_tomllib(text):
    assert _simple_toml(text) == tomllib.loads(text)


@pytest.mark.parametrize("text", DEFERRED)
def test_simple_toml_defers_the_rest(text):
    assert _simple_toml(text) is None


def test_service_toml_errors_unchanged(tmp_path):
    root = tmp_path / "svc"
    (root / "sqlite").mkdir(parents=True)
    (root / "service.toml").write_text('table_prefix = "x"\ntable_prefix = "y"\n')
    with pytest.raises(UsageError) as caught:
        select_service(tmp_path, "svc")
    try:
        tomllib.loads('table_prefix = "x"\ntable_prefix = "y"\n')
    except tomllib.TOMLDecodeError as exc:
        expected = f"{root / 'service.toml'}: invalid TOML: {exc}"
    assert caught.value.message == expected


# -- migration files: read once, with plain system calls, Paths made on demand ----------------
def test_files_read_from_a_folder_equal_records_built_from_their_bytes(tmp_path):
    folder = tmp_path / "svc" / "postgres"
    folder.mkdir(parents=True)
    big = "SELECT 1;\n" * 20000  # more than one 64 KiB read
    files = {
        "1_a.up.sql": "\ufeff-- migrator:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n",
        "1_a.down.sql": "DROP INDEX i;\n",
        "2_big.up.sql": big,
        "3_empty.up.sql": "",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    migrations = select_service(tmp_path, "svc").migrations("postgres")
    assert [m.version for m in migrations] == [1, 2, 3]
    directives = {"1_a.up.sql": (("no-transaction", ""),)}
    for m in migrations:
        for f in (m.up, m.down):
            if f is None:
                continue
            data = (folder / f.path.name).read_bytes()
            expected = SqlFile(folder / f.path.name, data.decode("utf-8").removeprefix("\ufeff"),
                               hashlib.sha256(data).hexdigest(), directives.get(f.path.name, ()))
            assert f == expected and hash(f) == hash(expected) and repr(f) == repr(expected)
            assert f.path == folder / f.path.name and isinstance(f.path, Path)
            assert f.checksum == hashlib.sha256(f.path.read_bytes()).hexdigest()
    assert migrations[0].up.directives == (("no-transaction", ""),) and migrations[0].no_transaction
    assert migrations[1].up.text == big and migrations[2].up.text == ""


def test_unreadable_file_names_the_path(tmp_path):
    folder = tmp_path / "svc" / "sqlite"
    (folder / "1_a.up.sql").mkdir(parents=True)  # a folder where a file should be
    with pytest.raises(UsageError) as caught:
        select_service(tmp_path, "svc").migrations("sqlite")
    assert caught.value.message == f"{folder / '1_a.up.sql'}: cannot read migration file: Is a directory"


# -- records: what the frozen dataclasses gave --------------------------------------------------
def test_records_behave_as_frozen_dataclasses():
    dsn = parse_dsn("postgres://u:S3cret@db:5433/app?sslmode=disable")
    assert dsn == DSN("postgres", "postgres", "app", "db", 5433, "u", "S3cret", params=(("sslmode", "disable"),))
    assert hash(dsn) == hash(DSN("postgres", "postgres", "app", "db", 5433, "u", "S3cret", None,
                                 (("sslmode", "disable"),)))
    assert repr(dsn) == ("DSN(scheme='postgres', dialect='postgres', database='app', host='db', port=5433, "
                         "user='u', socket=None)")  # neither the password nor the query (sslpassword=...)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dsn.password = "x"
    with pytest.raises(AttributeError):
        del dsn.host
    s = Statement("SELECT 1", 1, "-- c")
    assert repr(s) == "Statement(sql='SELECT 1', line=1, comments='-- c')"
    assert s == Statement("SELECT 1", 1, "-- c") and s != Statement("SELECT 1", 2, "-- c")
    assert {s, Statement("SELECT 1", 1, "-- c")} == {s}
    f = SqlFile(Path("/m/1_a.up.sql"), "SELECT 1;", "0" * 64, ())
    m = Migration(1, "a", f, None)
    assert m.filename == "1_a.up.sql" and m.checksum == "0" * 64
    assert repr(m).startswith("Migration(version=1, name='a', up=SqlFile(path=PosixPath('/m/1_a.up.sql')")
    assert not dataclasses.is_dataclass(m)  # no code may rely on dataclasses.fields() of these


def test_split_patterns_compile_on_first_use():
    pattern = lazy_re(r"a(b)", 0)
    assert "match" not in vars(pattern)
    assert pattern.match("ab")[1] == "b" and "match" in vars(pattern)
    assert split("SELECT 1; SELECT 'a;b';", "mysql")[1].sql == "SELECT 'a;b'"
