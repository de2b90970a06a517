"""Fixtures for the tracking-verification and break-glass repair tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The test modules import verify_support whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from verify_support import SERVICE, small_files  # noqa: E402


@pytest.fixture
def small(write_migrations):
    """small(db, data_only=False) -> the migrations dir of the 4-version set for db's dialect."""

    def make(db, data_only: bool = False) -> Path:
        return write_migrations(small_files(db.dialect, data_only), service=SERVICE)

    return make


@pytest.fixture
def migrated(db, small, cli):
    """The throwaway database with the small set fully applied: (db, migrations dir, run)."""
    migrations = small(db)

    def run(*args, env=None):
        return cli(*args, dsn=db.dsn, migrations=migrations, env=env)

    result = run("up")
    assert result.code == 0, result.text
    assert run("verify").code == 0
    return db, migrations, run
