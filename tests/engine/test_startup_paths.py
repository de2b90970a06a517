"""Start-up work of every command (a no-op ``up`` is mostly start-up): what the fast paths
replaced must behave as before. Pure unit tests and one subprocess; no database."""

from __future__ import annotations

import dataclasses

import pytest

from migrator.config import DSN, parse_dsn
from migrator.errors import UsageError
from migrator.source import select_service
from migrator.split import Statement


# -- migration files --------------------------------------------------------------------------
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
