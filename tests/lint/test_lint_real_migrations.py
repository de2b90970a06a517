"""The project's own migrations/ must pass lint (SPEC section 8: "pass it in CI").

On failure the assertion message lists every remaining finding, one grep-able line each.
"""

from __future__ import annotations

import pytest
from lint_support import REPO

from migrator.lint import lint_services, render_text
from migrator.source import all_services


@pytest.mark.real_migrations
def test_project_migrations_pass_lint(engine: bool) -> None:
    findings = lint_services(all_services(REPO / "migrations"), use_squawk=engine)
    assert not findings, (
        "migrations/ has lint findings (fix the migration, or silence one statement with "
        "`-- migrator:lint-ignore <rule> reason: <text>`):\n" + render_text(findings))
