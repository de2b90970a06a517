"""Shared pieces of the tracking-verification tests (SPEC sections 5 and 6).

A small 4-version migration set per dialect (service ``svc``, tables ``svc_migrations``
and ``svc_migration_events``):

    1 accounts          table, PK, UNIQUE uq_accounts_email, index ix_accounts_name
    2 accounts_nickname one column: accounts.nickname
    3 projects          table, FK fk_projects_account, index ix_projects_account,
                        view active_projects, (PostgreSQL) sequence project_numbers
    4 tasks             table, UNIQUE uq_tasks_code, FK fk_tasks_project, index ix_tasks_title
   (5 seed              data only, when asked for)

The expected operator lines are copied from SPEC section 5 on purpose (not imported from
the engine): the tests check the contract, not the engine's constants.
"""

from __future__ import annotations

import json
import re

FATAL = (
    "FATAL: the migration tracking table is out of sync with the actual database schema — "
    "it claims migrations are applied whose objects do not exist. This is a tracking desync, "
    "not a migration bug."
)
REPAIR_HINT = "Re-run with MIGRATE_REPAIR_TRACKING=1 to rewind tracking from version {version}"
REFUSED = "Auto-repair refused: the desync is partial or non-contiguous"
REPAIRED = "MIGRATION_TRACKING_REPAIRED"

SERVICE = "svc"
TRACKING = "svc_migrations"
EVENTS = "svc_migration_events"
REPAIR_ENV = {"MIGRATE_REPAIR_TRACKING": "1"}

_V1 = """-- accounts: PK, a named unique constraint and an index
CREATE TABLE accounts (
    id    BIGINT NOT NULL PRIMARY KEY,
    email VARCHAR(200) NOT NULL,
    name  VARCHAR(200) NOT NULL,
    CONSTRAINT uq_accounts_email UNIQUE (email)
);
CREATE INDEX ix_accounts_name ON accounts (name);
"""
_V2 = "ALTER TABLE accounts ADD COLUMN nickname VARCHAR(100) NULL;\n"
_V3 = """CREATE TABLE projects (
    id         BIGINT NOT NULL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    title      VARCHAR(200) NOT NULL,
    CONSTRAINT fk_projects_account FOREIGN KEY (account_id) REFERENCES accounts (id)
);
CREATE INDEX ix_projects_account ON projects (account_id);
CREATE VIEW active_projects AS SELECT id, title FROM projects;
"""
_V3_PG_EXTRA = "CREATE SEQUENCE project_numbers;\n"
_V4 = """CREATE TABLE tasks (
    id         BIGINT NOT NULL PRIMARY KEY,
    project_id BIGINT NOT NULL,
    code       VARCHAR(64) NOT NULL,
    title      VARCHAR(200) NOT NULL,
    CONSTRAINT uq_tasks_code UNIQUE (code),
    CONSTRAINT fk_tasks_project FOREIGN KEY (project_id) REFERENCES projects (id)
);
CREATE INDEX ix_tasks_title ON tasks (title);
"""
_V5_DATA = "INSERT INTO accounts (id, email, name) VALUES (1, 'ada@example.com', 'Ada');\n"


def small_files(dialect: str, data_only: bool = False) -> dict[str, dict[str, str]]:
    files = {
        "0001_accounts.up.sql": _V1,
        "0002_accounts_nickname.up.sql": _V2,
        "0003_projects.up.sql": _V3 + (_V3_PG_EXTRA if dialect == "postgres" else ""),
        "0004_tasks.up.sql": _V4,
    }
    if data_only:
        files["0005_seed.up.sql"] = _V5_DATA
    return {dialect: files}


# -- drops done behind the tracker's back -----------------------------------------------

_SQLITE_REBUILD_TASKS = [
    "PRAGMA foreign_keys = OFF",
    "CREATE TABLE tasks_rebuild (id BIGINT NOT NULL PRIMARY KEY, project_id BIGINT NOT NULL, "
    "code VARCHAR(64) NOT NULL, title VARCHAR(200) NOT NULL{extra})",
    "INSERT INTO tasks_rebuild SELECT * FROM tasks",
    "DROP TABLE tasks",
    "ALTER TABLE tasks_rebuild RENAME TO tasks",
    "CREATE INDEX ix_tasks_title ON tasks (title)",
]


def _sqlite_rebuild(extra: str) -> list[str]:
    return [s.format(extra=extra) if "{extra}" in s else s for s in _SQLITE_REBUILD_TASKS]


DROPS: dict[str, dict[str, list[str]]] = {
    "newest_table": {d: ["DROP TABLE tasks"] for d in ("sqlite", "postgres", "mysql")},
    "two_newest": {
        "sqlite": ["DROP TABLE tasks", "DROP VIEW active_projects", "DROP TABLE projects"],
        "mysql": ["DROP TABLE tasks", "DROP VIEW active_projects", "DROP TABLE projects"],
        "postgres": ["DROP TABLE tasks", "DROP VIEW active_projects", "DROP TABLE projects",
                     "DROP SEQUENCE project_numbers"],
    },
    "newest_index": {
        "sqlite": ["DROP INDEX ix_tasks_title"],
        "postgres": ["DROP INDEX ix_tasks_title"],
        "mysql": ["DROP INDEX ix_tasks_title ON tasks"],
    },
    "older_column": {d: ["ALTER TABLE accounts DROP COLUMN nickname"] for d in ("sqlite", "postgres", "mysql")},
    # versions 2 and 4 gone, 3 intact in between
    "gap": {d: ["ALTER TABLE accounts DROP COLUMN nickname", "DROP TABLE tasks"]
            for d in ("sqlite", "postgres", "mysql")},
    "view": {d: ["DROP VIEW active_projects"] for d in ("sqlite", "postgres", "mysql")},
    "sequence": {"postgres": ["DROP SEQUENCE project_numbers"]},
    "unique": {
        "postgres": ["ALTER TABLE tasks DROP CONSTRAINT uq_tasks_code"],
        "mysql": ["ALTER TABLE tasks DROP INDEX uq_tasks_code"],
        "sqlite": _sqlite_rebuild(", CONSTRAINT fk_tasks_project FOREIGN KEY (project_id) "
                                  "REFERENCES projects (id)"),
    },
    "foreign_key": {
        "postgres": ["ALTER TABLE tasks DROP CONSTRAINT fk_tasks_project"],
        "mysql": ["ALTER TABLE tasks DROP FOREIGN KEY fk_tasks_project"],
        "sqlite": _sqlite_rebuild(", CONSTRAINT uq_tasks_code UNIQUE (code)"),
    },
}

# the object each detection scenario must name, per dialect
DETECTED = {
    "view": {d: "view:active_projects" for d in ("sqlite", "postgres", "mysql")},
    "sequence": {"postgres": "sequence:project_numbers"},
    "unique": {"postgres": "constraint:tasks.uq_tasks_code", "mysql": "constraint:tasks.uq_tasks_code",
               "sqlite": "constraint:tasks.unique(code)"},
    "foreign_key": {"postgres": "constraint:tasks.fk_tasks_project",
                    "mysql": "constraint:tasks.fk_tasks_project",
                    "sqlite": "constraint:tasks.fk(project_id)"},
}


def drop(db, scenario: str) -> None:
    db.execute(*DROPS[scenario][db.dialect])


# -- reading the database -----------------------------------------------------------------

def tracking_rows(db, table: str = TRACKING) -> list[tuple]:
    rows = db.query(f"SELECT version, name, checksum, applied_at, execution_ms, dirty, forced, "
                    f"objects_created, objects_dropped FROM {table} ORDER BY version")
    return [tuple(str(v) for v in r) for r in rows]


def applied_objects(db, table: str = TRACKING) -> dict[int, list[str]]:
    return {int(v): json.loads(c or "[]")
            for v, c in db.query(f"SELECT version, objects_created FROM {table} ORDER BY version")}


def state(db, table: str = TRACKING):
    """What `up` must not change when it refuses: the whole schema and the tracking rows."""
    return sorted(db.snapshot()), tracking_rows(db, table)


def events(db, name: str, table: str = EVENTS) -> list[tuple[int | None, dict]]:
    rows = db.query(f"SELECT version, detail FROM {table} WHERE event = :event ORDER BY id", {"event": name})
    return [(None if v is None else int(v), json.loads(d)) for v, d in rows]


# -- reading the CLI output -----------------------------------------------------------------

def err_lines(result) -> list[str]:
    return result.err.splitlines()


def json_logs(result) -> list[dict]:
    out = []
    for line in result.err.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def assert_fatal_then(result, second: str) -> None:
    """The exact FATAL line of SPEC section 5, immediately followed by ``second``."""
    lines = err_lines(result)
    assert FATAL in lines, f"no exact FATAL line on stderr:\n{result.err}"
    i = lines.index(FATAL)
    assert i + 1 < len(lines) and lines[i + 1] == second, (
        f"expected {second!r} right after the FATAL line, got:\n{result.err}")


def assert_no_raw_error(result) -> None:
    text = result.text
    assert "Traceback" not in text, text
    assert "database error" not in text, text
    assert "internal error" not in text, text
    for marker in ("psycopg", "pymysql", "sqlite3.", "ProgrammingError", "OperationalError",
                   "UndefinedTable", "no such table", "doesn't exist"):
        assert marker not in text, f"raw driver error leaked ({marker!r}):\n{text}"


FORCE_HINT = re.compile(r"migrator force (\d+)")
