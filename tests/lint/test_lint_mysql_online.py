"""MySQL/MariaDB: what copies the table or blocks writes is a finding, what the server does
INSTANT by default is not, and the safe form a finding suggests is valid SQL (run on the
real MariaDB)."""

from __future__ import annotations

import re

import pytest

from migrator.lint import lint_services
from migrator.lint.catalogue import CATALOGUE, MYSQL_INDEX_ALTERNATIVE

# ADD COLUMN that MySQL 8.0.12+ and MariaDB 10.3+ run INSTANT when no algorithm is named
INSTANT_BY_DEFAULT = [
    "ALTER TABLE users ADD COLUMN nickname VARCHAR(64) NULL",
    "ALTER TABLE users ADD nickname VARCHAR(64)",
    "ALTER TABLE users ADD COLUMN plan VARCHAR(10) NOT NULL DEFAULT 'free' COMMENT 'tier'",
    "ALTER TABLE users ADD COLUMN seen_at DATETIME NULL DEFAULT CURRENT_TIMESTAMP",
    "ALTER TABLE users ADD COLUMN a INT NULL, ADD COLUMN b JSON NULL",
    "ALTER TABLE users ADD COLUMN total INT AS (id * 2) VIRTUAL",
]
# ... and ADD COLUMN forms that copy or rebuild the table (or block writes) on some supported server
NOT_INSTANT = {
    "ALTER TABLE users ADD COLUMN nickname VARCHAR(64) NULL AFTER id": "AFTER/FIRST",
    "ALTER TABLE users ADD COLUMN nickname VARCHAR(64) NULL FIRST": "AFTER/FIRST",
    "ALTER TABLE users ADD COLUMN token VARCHAR(40) DEFAULT (uuid())": "without ALGORITHM",
    "ALTER TABLE users ADD COLUMN total INT AS (id * 2) STORED": "without ALGORITHM",
    "ALTER TABLE users ADD COLUMN code INT NULL UNIQUE": "without ALGORITHM",
    "ALTER TABLE users ADD COLUMN code INT NULL, ADD INDEX ix_code (code)": "without ALGORITHM",
    "ALTER TABLE users ADD COLUMN code INT NULL, ALGORITHM=COPY": "without ALGORITHM",
}


def lint_mysql(make_service, sql: str):
    return lint_services([make_service({"mysql/0001_x.up.sql": sql + ";\n"})], use_squawk=False)


@pytest.mark.parametrize("sql", INSTANT_BY_DEFAULT)
def test_instant_by_default_add_column_is_not_a_finding(make_service, sql):
    assert lint_mysql(make_service, sql) == []


@pytest.mark.parametrize("sql", NOT_INSTANT)
def test_add_column_that_copies_is_a_finding(make_service, sql):
    (finding,) = lint_mysql(make_service, sql)
    assert finding.rule == "alter-without-online-algorithm" and NOT_INSTANT[sql] in finding.message


@pytest.mark.parametrize("verb, sql", [("CREATE INDEX", "CREATE INDEX ix_email ON users (email)"),
                                       ("DROP INDEX", "DROP INDEX ix_email ON users")])
def test_index_findings_suggest_the_index_statements_own_online_form(make_service, verb, sql):
    (finding,) = lint_mysql(make_service, sql)
    assert finding.rule == "alter-without-online-algorithm"
    assert finding.alternative == MYSQL_INDEX_ALTERNATIVE[verb]
    assert "INSTANT" not in finding.alternative


def suggested_statements(text: str) -> list[str]:
    """The SQL in backticks of a suggestion, placeholders filled in."""
    fill = {"<table>": "users", "<index>": "ix_email", "<columns>": "email"}
    out = []
    for sql in re.findall(r"`([^`]+)`", text):
        for placeholder, value in fill.items():
            sql = sql.replace(placeholder, value)
        out.append(sql)
    return out


def test_the_suggested_forms_run_on_mariadb_and_lint_clean(make_database, make_service):
    db = make_database("mysql")
    db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(100))")
    create = suggested_statements(MYSQL_INDEX_ALTERNATIVE["CREATE INDEX"])
    drop = suggested_statements(MYSQL_INDEX_ALTERNATIVE["DROP INDEX"])
    alter = [f"ALTER TABLE users ADD COLUMN n{i} INT NULL FIRST{clause}" for i, clause in
             enumerate(re.findall(r"`(, [^`]+)`", CATALOGUE["alter-without-online-algorithm"]["mysql"].alternative))]
    assert len(create) == 2 and len(drop) == 1 and len(alter) == 2
    for sql in (create[0], drop[0], create[1], drop[0], *alter):
        db.execute(sql)  # raises on a syntax error or a refused algorithm
        assert lint_mysql(make_service, sql) == [], sql
