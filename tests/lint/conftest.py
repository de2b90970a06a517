"""Fixtures for the lint tests: the corpus of tiny services, and both PostgreSQL engines.

``tests/lint/corpus/<case>/<dialect>/<version>_<title>.up.sql``: every case is a service
folder of its own. The ``engine`` fixture runs a test once with the real squawk (skipped
when squawk-cli is not installed in this venv or on PATH) and once with the built-in rules.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from migrator.lint import squawk_executable
from migrator.source import Service, load_service

# The test modules import lint_support whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_migrations: lints the project's own migrations/ and lists the findings that remain")


@pytest.fixture(params=["squawk", "builtin"])
def engine(request: pytest.FixtureRequest) -> bool:
    """True: lint PostgreSQL with the real squawk; False: with the built-in rules."""
    if request.param == "squawk" and squawk_executable() is None:
        pytest.skip("squawk-cli is not installed (pip install squawk-cli)")
    return request.param == "squawk"


@pytest.fixture
def squawk() -> str:
    executable = squawk_executable()
    if executable is None:
        pytest.skip("squawk-cli is not installed (pip install squawk-cli)")
    return executable


@pytest.fixture
def make_service(tmp_path: Path):
    """Build a service folder from {"postgres/0001_x.up.sql": "...", ...}."""

    def make(files: dict[str, str], name: str = "svc") -> Service:
        root = tmp_path / name
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return load_service(name, root)

    return make
