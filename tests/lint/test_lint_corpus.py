"""The corpus: every known-bad migration is flagged by the expected rule at the expected
line (and nowhere else); every known-good one is clean. PostgreSQL runs with squawk and
with the built-in rules."""

from __future__ import annotations

import pytest

from lint_support import CORPUS, found, lint_case

from migrator.lint import squawk_executable

# case -> dialect -> {(file, line, rule)}: exactly the lines flagged; the rules listed must
# be among the rules reported on that line (squawk may add a second rule on the same line).
BAD: dict[str, dict[str, set[tuple[str, int, str]]]] = {
    "index-without-concurrently": {
        "postgres": {("0001_change.up.sql", 2, "require-concurrent-index-creation")},
        "mysql": {("0001_change.up.sql", 2, "alter-without-online-algorithm")},
    },
    "add-column-not-null": {
        "postgres": {("0001_change.up.sql", 2, "adding-required-field")},
        "mysql": {("0001_change.up.sql", 2, "adding-required-field")},
        "sqlite": {("0001_change.up.sql", 2, "adding-required-field")},
    },
    "column-type-change": {
        "postgres": {("0001_change.up.sql", 2, "changing-column-type")},
        "mysql": {("0001_change.up.sql", 2, "changing-column-type")},
    },
    "change-column": {
        "postgres": {("0001_change.up.sql", 2, "renaming-column")},
        "mysql": {("0001_change.up.sql", 2, "changing-column-type"), ("0001_change.up.sql", 2, "renaming-column")},
        "sqlite": {("0001_change.up.sql", 2, "renaming-column")},
    },
    "fk-without-not-valid": {
        "postgres": {("0001_change.up.sql", 2, "constraint-missing-not-valid"),
                     ("0001_change.up.sql", 2, "adding-foreign-key-constraint")},
        "mysql": {("0001_change.up.sql", 2, "adding-foreign-key-constraint")},
    },
    "check-without-not-valid": {
        "postgres": {("0001_change.up.sql", 2, "constraint-missing-not-valid")},
        "mysql": {("0001_change.up.sql", 2, "alter-without-online-algorithm")},
    },
    "set-not-null": {
        "postgres": {("0001_change.up.sql", 2, "adding-not-nullable-field")},
        "mysql": {("0001_change.up.sql", 2, "changing-column-type")},
    },
    "concurrently-in-transaction": {
        "postgres": {("0001_change.up.sql", 2, "ban-concurrent-index-creation-in-transaction")},
        "mysql": {("0001_change.up.sql", 2, "alter-without-online-algorithm")},
    },
    "update-backfill": {
        d: {("0001_change.up.sql", 2, "backfill-in-migration")} for d in ("postgres", "mysql", "sqlite")
    },
    "delete-backfill": {
        d: {("0001_change.up.sql", 2, "backfill-in-migration")} for d in ("postgres", "mysql", "sqlite")
    },
    "drop-column-not-deprecated": {
        d: {("0001_change.up.sql", 2, "drop-column-without-deprecation")} for d in ("postgres", "mysql", "sqlite")
    },
    "deprecated-in-same-migration": {
        d: {("0002_drop.up.sql", 2, "drop-column-without-deprecation")} for d in ("postgres", "mysql", "sqlite")
    },
    "add-column-rebuild": {
        "postgres": {("0001_change.up.sql", 2, "adding-field-with-default")},
        "mysql": {("0001_change.up.sql", 2, "alter-without-online-algorithm")},
    },
    "table-rebuild": {
        "postgres": {("0001_change.up.sql", 2, "table-rebuild")},
        "mysql": {("0001_change.up.sql", 2, "table-rebuild")},
    },
    "table-copy": {
        "postgres": {("0001_change.up.sql", 3, "table-rebuild")},
        "mysql": {("0001_change.up.sql", 2, "table-rebuild")},
        "sqlite": {("0001_change.up.sql", 3, "table-rebuild")},
    },
    "rename-table": {
        d: {("0001_change.up.sql", 2, "renaming-table")} for d in ("postgres", "mysql", "sqlite")
    },
    "unique-constraint": {
        "postgres": {("0001_change.up.sql", 2, "disallowed-unique-constraint")},
        "mysql": {("0001_change.up.sql", 2, "alter-without-online-algorithm")},
    },
    "drop-index": {
        "postgres": {("0001_change.up.sql", 2, "require-concurrent-index-deletion")},
        "mysql": {("0001_change.up.sql", 2, "alter-without-online-algorithm")},
    },
    "add-primary-key": {
        "postgres": {("0001_change.up.sql", 2, "adding-serial-primary-key-field")},
        "mysql": {("0001_change.up.sql", 2, "alter-without-online-algorithm")},
    },
    "transaction-nesting": {
        d: {("0001_change.up.sql", 2, "transaction-nesting"), ("0001_change.up.sql", 4, "transaction-nesting")}
        for d in ("postgres", "sqlite")
    },
    "add-fk-column": {"postgres": {("0001_change.up.sql", 2, "adding-foreign-key-constraint")}},
    "validate-same-transaction": {"postgres": {("0001_change.up.sql", 3, "constraint-missing-not-valid")}},
    "validate-after-lock": {"postgres": {("0001_change.up.sql", 3, "validate-after-lock")}},
    "update-in-cte": {"postgres": {("0001_change.up.sql", 3, "backfill-in-migration")}},
    "do-block-update": {"postgres": {("0001_change.up.sql", 4, "backfill-in-migration")}},
    # line numbers: multi-line literals, comments and statements before the finding
    "line-numbers": {
        "postgres": {("0001_change.up.sql", 13, "changing-column-type"),
                     ("0001_change.up.sql", 14, "require-concurrent-index-creation")},
        "mysql": {("0001_change.up.sql", 12, "changing-column-type"),
                  ("0001_change.up.sql", 13, "alter-without-online-algorithm")},
        "sqlite": {("0001_change.up.sql", 12, "adding-required-field"),
                   ("0001_change.up.sql", 13, "backfill-in-migration")},
    },
    # an ignore without a reason is a finding and is not applied
    "lint-ignore-without-reason": {
        "postgres": {("0001_change.up.sql", 1, "lint-ignore-without-reason"),
                     ("0001_change.up.sql", 2, "require-concurrent-index-creation")},
        "mysql": {("0001_change.up.sql", 1, "lint-ignore-without-reason"),
                  ("0001_change.up.sql", 2, "alter-without-online-algorithm")},
        "sqlite": {("0001_change.up.sql", 1, "lint-ignore-without-reason"),
                   ("0001_change.up.sql", 2, "backfill-in-migration")},
    },
    # an ignore covers only the next statement and only the rules it names
    "lint-ignore-scope": {
        d: {("0001_change.up.sql", 3, "backfill-in-migration"),
            ("0001_change.up.sql", 5, "changing-column-type"),
            ("0001_change.up.sql", 6, "lint-ignore-malformed"),
            ("0001_change.up.sql", 7, "backfill-in-migration")} for d in ("postgres", "mysql")
    },
}

GOOD: dict[str, tuple[str, ...]] = {
    "good-concurrently-no-transaction": ("postgres", "mysql", "sqlite"),
    "good-not-valid-then-validate": ("postgres", "mysql"),
    "good-add-column-null": ("postgres", "mysql", "sqlite"),
    "good-index-on-new-table": ("postgres", "mysql", "sqlite"),
    "good-update-new-table": ("postgres", "mysql", "sqlite"),
    "good-drop-after-deprecation": ("postgres", "mysql", "sqlite"),
    "good-algorithm-instant": ("mysql", "postgres"),
    "good-literals-and-bodies": ("postgres", "mysql", "sqlite"),
    "good-lint-ignore": ("postgres", "mysql", "sqlite"),
}

NO_SQUAWK = pytest.mark.skipif(squawk_executable() is None, reason="squawk-cli is not installed")


def _params(pairs) -> list:
    """(case, dialect, use_squawk): PostgreSQL once with squawk and once with the built-in rules."""
    out = []
    for case, dialect in pairs:
        out.append(pytest.param(case, dialect, False, id=f"{case}-{dialect}"))
        if dialect == "postgres":
            out.append(pytest.param(case, dialect, True, id=f"{case}-{dialect}-squawk", marks=NO_SQUAWK))
    return out


BAD_PARAMS = _params((case, dialect) for case, by_dialect in BAD.items() for dialect in by_dialect)
GOOD_PARAMS = _params((case, dialect) for case, dialects in GOOD.items() for dialect in dialects)


@pytest.mark.parametrize("case, dialect, use_squawk", BAD_PARAMS)
def test_bad_migration_is_flagged(case: str, dialect: str, use_squawk: bool) -> None:
    findings = lint_case(case, dialect, use_squawk=use_squawk)
    expected = BAD[case][dialect]
    missing = expected - found(findings)
    assert not missing, f"not flagged: {sorted(missing)}; got {sorted(found(findings))}"
    stray = {(name, line) for name, line, _ in found(findings)} - {(name, line) for name, line, _ in expected}
    assert not stray, f"unexpected findings at {sorted(stray)}: {sorted(found(findings))}"


@pytest.mark.parametrize("case, dialect, use_squawk", GOOD_PARAMS)
def test_good_migration_is_clean(case: str, dialect: str, use_squawk: bool) -> None:
    assert sorted(found(lint_case(case, dialect, use_squawk=use_squawk))) == []


def test_corpus_has_at_least_15_bad_cases_on_postgres_and_mysql() -> None:
    both = [c for c, by_dialect in BAD.items() if {"postgres", "mysql"} <= set(by_dialect)]
    assert len(both) >= 15
    for case in BAD:
        for dialect in BAD[case]:
            assert (CORPUS / case / dialect).is_dir(), f"{case}/{dialect} missing from the corpus"


def test_every_corpus_folder_is_checked() -> None:
    assert {p.name for p in CORPUS.iterdir() if p.is_dir()} == set(BAD) | set(GOOD)


def test_findings_carry_context_and_advice(engine: bool) -> None:
    (finding,) = [f for f in lint_case("column-type-change", "postgres", use_squawk=engine)]
    assert finding.service == "column-type-change"
    assert finding.dialect == "postgres"
    assert finding.version == 1
    assert finding.path == CORPUS / "column-type-change" / "postgres" / "0001_change.up.sql"
    assert "ACCESS EXCLUSIVE" in finding.why
    assert "expand/contract" in finding.alternative
    assert finding.message
