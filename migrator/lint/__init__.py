"""``migrator lint``: migrations that would block writes on a large table.

PostgreSQL and CockroachDB files go through the real ``squawk`` linter when it is
installed (only its lock, rewrite and validation rules count, see
:data:`SQUAWK_KEPT` / :data:`SQUAWK_DROPPED`), plus own rules where squawk is silent;
without squawk, built-in rules named like squawk's stand in. MySQL/MariaDB and SQLite
use own rules. A statement's finding is silenced by a comment line right above it:
``-- migrator:lint-ignore <rule>[,<rule>] reason: <text>``.
"""

from migrator.lint.catalogue import BUILTIN_ALWAYS, CATALOGUE, OWN_RULES, SQUAWK_DROPPED, SQUAWK_KEPT
from migrator.lint.engine import Finding, engine_description, findings_for, lint_migration, lint_services
from migrator.lint.report import render_json, render_text
from migrator.lint.squawk import squawk_executable

__all__ = [
    "BUILTIN_ALWAYS", "CATALOGUE", "OWN_RULES", "SQUAWK_DROPPED", "SQUAWK_KEPT", "Finding", "engine_description",
    "findings_for", "lint_migration", "lint_services", "render_json", "render_text", "squawk_executable",
]
