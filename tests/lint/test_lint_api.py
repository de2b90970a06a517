"""The public API the CLI and ``plan`` use: selection of services and dialects, findings
for one migration, rendering, and how squawk is found and its report read."""

from __future__ import annotations

import dataclasses
import json
import re
import stat
import sys
from pathlib import Path

import pytest
from lint_support import corpus_service, found, lint_case

from migrator.errors import MigratorError, UsageError
from migrator.lint import (
    CATALOGUE, OWN_RULES, SQUAWK_DROPPED, SQUAWK_KEPT, Finding, findings_for, lint_services,
    render_json, render_text, squawk_executable,
)
from migrator.lint.squawk import run_squawk

PG_BAD = "ALTER TABLE users ALTER COLUMN email TYPE varchar(10);\n"


# --- services and dialects --------------------------------------------------------------


def test_unknown_dialect_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown dialect 'oracle'"):
        lint_services([corpus_service("rename-table")], ["oracle"])


def test_explicit_dialect_no_service_ships_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no migrations for dialect 'sqlite'"):
        lint_services([corpus_service("column-type-change")], ["sqlite"], use_squawk=False)


def test_all_dialects_skip_a_service_without_that_folder() -> None:
    services = [corpus_service("column-type-change"), corpus_service("rename-table")]
    findings = lint_services(services, None, use_squawk=False)
    assert {(f.service, f.dialect) for f in findings} == {
        ("column-type-change", "postgres"), ("column-type-change", "mysql"),
        ("rename-table", "postgres"), ("rename-table", "mysql"), ("rename-table", "sqlite"),
    }


def test_explicit_dialect_skips_services_without_it() -> None:
    services = [corpus_service("column-type-change"), corpus_service("rename-table")]
    findings = lint_services(services, ["sqlite"], use_squawk=False)
    assert {(f.service, f.dialect) for f in findings} == {("rename-table", "sqlite")}


def test_cockroach_lints_the_postgres_files_when_asked(make_service) -> None:
    service = make_service({"postgres/0001_x.up.sql": PG_BAD})
    assert lint_services([service], None, use_squawk=False)[0].dialect == "postgres"
    (finding,) = lint_services([service], ["cockroach"], use_squawk=False)
    assert (finding.dialect, finding.rule, finding.line) == ("cockroach", "changing-column-type", 1)


def test_cockroach_folder_is_linted_once_with_the_postgres_files(make_service) -> None:
    service = make_service({
        "postgres/0001_x.up.sql": PG_BAD,
        "cockroach/0002_y.up.sql": "CREATE INDEX ix ON users (a);\n",
    })
    findings = lint_services([service], None, use_squawk=False)
    assert sorted((f.path.parent.name, f.rule) for f in findings) == [
        ("cockroach", "require-concurrent-index-creation"), ("postgres", "changing-column-type")]


def test_only_up_files_are_linted(make_service) -> None:
    service = make_service({
        "postgres/0001_x.up.sql": "ALTER TABLE users ADD COLUMN a text NULL;\n",
        "postgres/0001_x.down.sql": "ALTER TABLE users DROP COLUMN a;\nUPDATE users SET b = 1;\n",
    })
    assert lint_services([service], use_squawk=False) == []


def test_empty_and_comment_only_files_are_clean(make_service, engine: bool) -> None:
    service = make_service({"postgres/0001_x.up.sql": "", "postgres/0002_y.up.sql": "-- nothing\n"})
    assert lint_services([service], use_squawk=engine) == []


def test_deprecation_accepts_qualified_and_quoted_names(make_service) -> None:
    service = make_service({
        "postgres/0001_a.up.sql": "-- migrator:deprecates public.users.full_name, \"orders\".\"Note\"\n",
        "postgres/0002_b.up.sql": "ALTER TABLE public.users DROP COLUMN IF EXISTS full_name;\n"
                                  "ALTER TABLE orders DROP \"Note\";\nALTER TABLE orders DROP COLUMN other;\n",
    })
    assert found(lint_services([service], use_squawk=False)) == {
        ("0002_b.up.sql", 3, "drop-column-without-deprecation")}


def test_columns_that_fill_every_row_are_rewrites(make_service, engine: bool) -> None:
    service = make_service({"postgres/0001_x.up.sql":
                            "ALTER TABLE users ADD COLUMN seq bigserial;\n"
                            "ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;\n"
                            "ALTER TABLE users ADD COLUMN c bigint NOT NULL DEFAULT 0;\n"})
    assert found(lint_services([service], use_squawk=engine)) == {
        ("0001_x.up.sql", 1, "adding-field-with-default"), ("0001_x.up.sql", 2, "adding-field-with-default")}


@pytest.mark.parametrize("clause, flagged", [
    (", ALGORITHM=INSTANT", False),
    (", ALGORITHM=INPLACE, LOCK=NONE", False),
    (", LOCK=NONE", False),
    (", ALGORITHM = NOCOPY, LOCK = NONE", False),
    (", ALGORITHM=INPLACE", True),
    (", ALGORITHM=COPY, LOCK=NONE", True),
    (", LOCK=SHARED", True),
    ("", False),  # a nullable column added last: INSTANT by default (MySQL 8.0.12+, MariaDB 10.3+)
    (" AFTER id", True),
    (" AFTER id, ALGORITHM=INSTANT", False),
])
def test_mysql_online_algorithm_clauses(make_service, clause: str, flagged: bool) -> None:
    service = make_service({"mysql/0001_x.up.sql": f"ALTER TABLE users ADD COLUMN lock_version INT NULL{clause};\n"})
    rules = [f.rule for f in lint_services([service], use_squawk=False)]
    assert rules == (["alter-without-online-algorithm"] if flagged else [])


def test_mariadb_alter_online_table(make_service) -> None:
    service = make_service({"mysql/0001_x.up.sql": "ALTER ONLINE TABLE users ADD INDEX ix (a);\n"})
    assert lint_services([service], use_squawk=False) == []


def test_crlf_and_bom_files_keep_their_line_numbers(make_service, engine: bool) -> None:
    service = make_service({"postgres/0001_x.up.sql":
                            "\ufeff-- header\r\n\r\nALTER TABLE users\r\n  ALTER COLUMN a TYPE text;\r\n"})
    assert found(lint_services([service], use_squawk=engine)) == {("0001_x.up.sql", 4, "changing-column-type")}


# --- findings_for (migrator plan) -----------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_findings_for_uses_the_history_of_earlier_migrations(dialect: str) -> None:
    good = corpus_service("good-drop-after-deprecation")
    assert findings_for(good, good.migrations(dialect)[-1], dialect, use_squawk=False) == []
    bad = corpus_service("deprecated-in-same-migration")
    (finding,) = findings_for(bad, bad.migrations(dialect)[-1], dialect, use_squawk=False)
    assert (finding.rule, finding.version) == ("drop-column-without-deprecation", 2)


def test_findings_for_matches_lint_services(engine: bool) -> None:
    service = corpus_service("good-not-valid-then-validate")
    for migration in service.migrations("postgres"):
        assert findings_for(service, migration, "postgres", use_squawk=engine) == []
    service = corpus_service("line-numbers")
    (migration,) = service.migrations("postgres")
    assert findings_for(service, migration, "postgres", use_squawk=engine) == lint_case(
        "line-numbers", "postgres", use_squawk=engine)


# --- rendering --------------------------------------------------------------------------


def test_finding_is_a_frozen_dataclass() -> None:
    (finding, *_) = lint_case("rename-table", "sqlite")
    assert [f.name for f in dataclasses.fields(Finding)] == [
        "path", "line", "rule", "message", "why", "alternative", "dialect", "service", "version"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.line = 3  # type: ignore[misc]


def test_render_text_is_one_grepable_line_per_finding() -> None:
    findings = lint_case("line-numbers", "mysql")
    lines = render_text(findings).splitlines()
    assert len(lines) == len(findings) + 1
    pattern = re.compile(r"^(?P<path>.+\.up\.sql):(?P<line>\d+): \[(?P<rule>[a-z-]+)\] .+ — safe alternative: .+$")
    parsed = [pattern.match(line) for line in lines[:-1]]
    assert all(parsed), lines
    assert [(Path(m["path"]), int(m["line"]), m["rule"]) for m in parsed] == [
        (f.path, f.line, f.rule) for f in findings]
    assert lines[-1] == "Lint: 2 findings in 1 file."


def test_render_text_without_findings() -> None:
    assert render_text([]) == "Lint: no findings."


def test_render_json() -> None:
    findings = lint_case("lint-ignore-without-reason", "postgres")
    data = json.loads(render_json(findings))
    assert data["count"] == 2
    first = data["findings"][0]
    assert set(first) == {"path", "line", "rule", "message", "why", "alternative", "dialect", "service", "version"}
    assert (first["line"], first["rule"], first["version"]) == (1, "lint-ignore-without-reason", 1)
    assert first["path"].endswith("lint-ignore-without-reason/postgres/0001_change.up.sql")
    assert json.loads(render_json([])) == {"findings": [], "count": 0}


# --- the rule catalogue -------------------------------------------------------------------


def test_every_rule_explains_why_and_the_safe_alternative() -> None:
    for rule, texts in CATALOGUE.items():
        for text in texts.values():
            assert text.why and text.alternative, rule


def test_kept_and_dropped_squawk_rules() -> None:
    assert not SQUAWK_KEPT & set(SQUAWK_DROPPED)
    assert not SQUAWK_KEPT & OWN_RULES
    for style in ("prefer-text-field", "prefer-bigint-over-int", "prefer-bigint-over-smallint",
                  "prefer-identity", "prefer-robust-stmts", "prefer-timestamp-tz", "ban-char-field",
                  "require-lock-timeout", "require-statement-timeout"):
        assert style in SQUAWK_DROPPED
    for lock in ("require-concurrent-index-creation", "adding-required-field", "changing-column-type",
                 "constraint-missing-not-valid", "adding-not-nullable-field", "adding-foreign-key-constraint"):
        assert lock in SQUAWK_KEPT


# --- squawk ---------------------------------------------------------------------------------


def _fake_squawk(folder: Path, report: str, exit_code: int = 1) -> Path:
    """A stand-in squawk that prints ``report`` (``{file}`` becomes the last path argument)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "squawk"
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"print({report!r}.replace('{{file}}', sys.argv[-1]))\nsys.exit({exit_code})\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_squawk_is_taken_from_the_running_venv_first(tmp_path: Path, monkeypatch) -> None:
    venv_bin, elsewhere = tmp_path / "venv" / "bin", tmp_path / "elsewhere"
    _fake_squawk(venv_bin, "[]")
    _fake_squawk(elsewhere, "[]")
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    monkeypatch.setenv("PATH", str(elsewhere))
    assert squawk_executable() == str(venv_bin / "squawk")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "other" / "python"))
    assert squawk_executable() == str(elsewhere / "squawk")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert squawk_executable() is None


def test_squawk_lines_are_zero_based(tmp_path: Path, make_service) -> None:
    service = make_service({"postgres/0001_x.up.sql": "-- header\n\nALTER TABLE users\n  RENAME TO people;\n"})
    report = json.dumps([{"file": "{file}", "line": 3, "column": 2, "rule_name": "renaming-table",
                          "message": "Renaming a table may break existing clients.", "help": None},
                         {"file": "{file}", "line": 2, "column": 0, "rule_name": "prefer-robust-stmts",
                          "message": "style", "help": None}])
    script = _fake_squawk(tmp_path / "bin", report)
    violations = run_squawk(str(script), [(service.migrations("postgres")[0].up.path, True)])
    assert [v["rule_name"] for v in next(iter(violations.values()))] == ["renaming-table", "prefer-robust-stmts"]


def test_broken_squawk_is_an_error_not_a_clean_result(tmp_path: Path, make_service) -> None:
    service = make_service({"postgres/0001_x.up.sql": PG_BAD})
    script = _fake_squawk(tmp_path / "bin", "thread 'main' panicked", exit_code=101)
    with pytest.raises(MigratorError, match="squawk failed"):
        run_squawk(str(script), [(service.migrations("postgres")[0].up.path, True)])


def test_real_squawk_reports_zero_based_lines(squawk: str, make_service) -> None:
    """Pins the JSON format of the squawk version pip installs (lines and columns 0-based)."""
    service = make_service({"postgres/0001_x.up.sql": "-- header\n\n" + PG_BAD})
    path = service.migrations("postgres")[0].up.path
    violations = run_squawk(squawk, [(path, True)])[path]
    (change,) = [v for v in violations if v["rule_name"] == "changing-column-type"]
    assert change["line"] == 2
    (finding,) = lint_services([service], ["postgres"], use_squawk=True)
    assert (finding.line, finding.rule) == (3, "changing-column-type")


def test_real_squawk_ignores_a_squawk_config_in_the_tree(squawk: str, make_service, monkeypatch) -> None:
    service = make_service({"postgres/0001_x.up.sql": PG_BAD})
    (service.root / ".squawk.toml").write_text('excluded_rules = ["changing-column-type"]\n')
    monkeypatch.chdir(service.root)
    assert [f.rule for f in lint_services([service], use_squawk=True)] == ["changing-column-type"]


def test_squawk_runs_without_assume_in_transaction_for_no_transaction_files(squawk: str, make_service) -> None:
    service = make_service({
        "postgres/0001_x.up.sql": "-- migrator:no-transaction\nCREATE INDEX CONCURRENTLY ix ON users (a);\n"
                                  "CREATE INDEX CONCURRENTLY iy ON users (b);\n",
    })
    assert lint_services([service], use_squawk=True) == []


def test_files_squawk_cannot_parse_get_the_builtin_rules(squawk: str, make_service) -> None:
    service = make_service({"cockroach/0001_x.up.sql":
                            "CREATE INDEX ix ON users (a) USING HASH;\nALTER TABLE users ALTER COLUMN b TYPE text;\n"})
    findings = lint_services([service], ["cockroach"], use_squawk=True)
    assert found(findings) == {("0001_x.up.sql", 1, "require-concurrent-index-creation"),
                               ("0001_x.up.sql", 2, "changing-column-type")}


def test_lint_without_squawk_still_works(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert squawk_executable() is None
    assert found(lint_case("index-without-concurrently", "postgres", use_squawk=True)) == {
        ("0001_change.up.sql", 2, "require-concurrent-index-creation")}
