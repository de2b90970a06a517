"""The package's layers, read from each module's imports (top level and inside functions):
a dialect reads one database and knows nothing of the engine that drives it or of the
catalog comparison that judges what it read; a backfill does not call the CLI's commands."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import migrator

PACKAGE = Path(migrator.__file__).parent


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it; ``from a import b`` counts as both
    ``a`` and ``a.b`` (b may be a module)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"  # the package imports absolutely
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def reaching(path: Path, modules: tuple[str, ...]) -> list[str]:
    return sorted(m for m in imported(path) if any(m == f or m.startswith(f + ".") for f in modules))


DIALECT_FILES = sorted((PACKAGE / "dialects").glob("*.py"))


@pytest.mark.parametrize("path", DIALECT_FILES, ids=[p.stem for p in DIALECT_FILES])
def test_a_dialect_imports_neither_the_engine_nor_the_catalog(path):
    assert reaching(path, ("migrator.catalog", "migrator.runner", "migrator.commands")) == []


def test_backfills_do_not_import_the_commands():
    files = sorted((PACKAGE / "backfill").glob("*.py"))
    assert files and all(reaching(f, ("migrator.commands",)) == [] for f in files)


def test_the_registry_and_the_cli_leave_the_drivers_unimported():
    """A command that needs no database (lint, new, list) never loads a driver; a run loads
    only its own dialect's."""
    code = ("import sys, migrator.cli, migrator.dialects, migrator.source\n"
            "print(sorted(m for m in ('psycopg', 'pymysql') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
