"""Fixtures for the engine suite: the small per-dialect test migrations, a CLI bound to
one throwaway database, and readers of the tracking and events tables.

The shared fixtures (``db``, ``cli``, ``write_migrations``, ``example_copy``,
``make_database``) live in tests/conftest.py; ``db`` runs every test that uses it on
SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The test modules import engine_support whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_support import SERVICE, TEST_MIGRATIONS, Migrator, copy_test_migrations  # noqa: E402


@pytest.fixture
def app_migrations(tmp_path, dialect) -> Path:
    """A private copy of tests/engine/migrations/<dialect> as service ``app``; returns the root."""
    return copy_test_migrations(tmp_path / "migrations", dialect)


@pytest.fixture
def mig(cli, db, app_migrations) -> Migrator:
    """The real CLI bound to the throwaway ``db`` and the ``app`` test migrations."""
    return Migrator(cli, db, app_migrations, SERVICE)


@pytest.fixture
def migrator_for(cli):
    """Bind the CLI to any database and migrations directory: migrator_for(db, root, 'svc')."""

    def bind(db, migrations: Path, service: str | None = None) -> Migrator:
        return Migrator(cli, db, migrations, service)

    return bind


__all__ = ["TEST_MIGRATIONS"]
