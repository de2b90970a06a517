"""Command behaviour a first-hour user meets: `plan` agrees with `up --dry-run`, plurals,
Ctrl-D at a prompt, `-e` with `--database`, `version --service`, and one meaning of
`--ddl-lock-timeout 0`. The real CLI against real databases."""

from __future__ import annotations

import os
import subprocess

import pytest

from migrator.config import parse_dsn
from migrator.dialects import open_database
from tests.conftest import MIGRATIONS, migrator_cmd

FILES = {
    "0001_widgets.up.sql": "CREATE TABLE widgets (id INT PRIMARY KEY);",
    "0001_widgets.down.sql": "DROP TABLE widgets;",
    "0002_gadgets.up.sql": "CREATE TABLE gadgets (id INT PRIMARY KEY);",
    "0002_gadgets.down.sql": "DROP TABLE gadgets;",
    "0003_gizmos.up.sql": "CREATE TABLE gizmos (id INT PRIMARY KEY);",
    "0003_gizmos.down.sql": "DROP TABLE gizmos;",
}


def plain_lines(text: str) -> list[str]:
    """stderr without the JSON log lines (their timestamps differ between runs)."""
    return [line for line in text.splitlines() if not line.startswith("{")]


def break_dirty(db, migrations):
    db.execute("UPDATE svc_migrations SET dirty = TRUE WHERE version = 2")


def break_desync(db, migrations):
    db.execute("DROP TABLE gadgets")


def break_checksum(db, migrations):
    path = next(migrations.glob(f"svc/{db.dialect}/0002_gadgets.up.sql"))
    path.write_text(path.read_text() + "\n-- edited after it was applied\n")


@pytest.mark.parametrize("breaker, code, line", [
    (break_dirty, 3, "Error: Database is in dirty state at version 2"),
    (break_desync, 4, "FATAL: the migration tracking table is out of sync with the actual database schema"),
    (break_checksum, 6, "Error: checksum mismatch: applied migration 2 changed on disk"),
])
def test_plan_fails_as_up_dry_run_does(cli, db, write_migrations, breaker, code, line):
    migrations = write_migrations({db.dialect: FILES})
    assert cli("up", "--target", "2", dsn=db.dsn, migrations=migrations).code == 0
    breaker(db, migrations)
    plan = cli("plan", dsn=db.dsn, migrations=migrations)
    dry = cli("up", "--dry-run", dsn=db.dsn, migrations=migrations)
    assert (plan.code, plan.out) == (dry.code, dry.out) == (code, ""), plan.text
    assert plain_lines(plan.err) == plain_lines(dry.err)
    assert any(text.startswith(line) for text in plain_lines(plan.err)), plan.err


def test_plan_and_dry_run_print_the_same_plan(cli, tmp_path, write_migrations):
    migrations = write_migrations({"sqlite": FILES})
    dsn = f"sqlite://{tmp_path / 'p.db'}"
    assert cli("up", "--target", "1", dsn=dsn, migrations=migrations).code == 0
    plan, dry = (cli(*args, dsn=dsn, migrations=migrations) for args in (["plan"], ["up", "--dry-run"]))
    assert (plan.code, plan.out) == (dry.code, dry.out) and plan.code == 0
    assert "2 pending migrations" in plan.out and "CREATE TABLE gadgets" in plan.out
    assert cli("plan", "--target", "9", dsn=dsn, migrations=migrations).code == 2


def test_counts_are_plural_only_when_not_one(cli, tmp_path, write_migrations):
    migrations = write_migrations({"sqlite": FILES})
    dsn = f"sqlite://{tmp_path / 'p.db'}"

    def out(*args):
        result = cli(*args, dsn=dsn, migrations=migrations)
        assert result.code == 0, result.text
        return result.out

    assert "Applied 1 migration: service svc is at version 1." in out("up", "--target", "1")
    assert ": 1 pending migration\n" in out("plan", "--target", "2")
    assert "Applied 2 migrations: service svc is at version 3." in out("up")
    assert "Rolled back 1 migration: service svc is at version 2." in out("down", "--yes")
    assert "Rolled back 2 migrations: service svc is at version 0." in out("down", "--steps", "2", "--yes")
    assert ": 3 pending migrations\n" in out("plan")


@pytest.mark.parametrize("command", [["down"], ["force", "1"]])
def test_ctrl_d_at_the_prompt_declines(tmp_path, write_migrations, command):
    migrations = write_migrations({"sqlite": FILES})
    dsn = f"sqlite://{tmp_path / 'p.db'}"
    base = migrator_cmd() + ["--log-format", "json", "--database", dsn, "--migrations", str(migrations)]
    subprocess.run(base + ["up"], check=True, capture_output=True)
    before = (tmp_path / "p.db").read_bytes()
    controller, terminal = os.openpty()
    try:
        os.write(controller, b"\x04")  # Ctrl-D on an empty line: end of input
        p = subprocess.run(base + command, stdin=terminal, capture_output=True, text=True, timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert p.returncode == 1, p.stderr
    assert "[y/N]" in p.stdout
    assert "Error: declined: nothing changed" in p.stderr and "internal error" not in p.stderr
    assert (tmp_path / "p.db").read_bytes() == before


def test_database_and_read_from_env_together_is_a_usage_error(cli, tmp_path, example_copy):
    dsn = "postgres://u:Hunter2-secret@127.0.0.1:1/app"
    result = cli("-e", "status", dsn=dsn, migrations=example_copy, service="auth",
                 env={"DSN": f"sqlite://{tmp_path / 'x.db'}"})
    assert result.code == 2
    assert plain_lines(result.err) == ["Error: --database and -e/--read-from-env both given: pass one of them"]
    assert "Hunter2-secret" not in result.text


def test_version_of_one_service(cli):
    everything = cli("version", migrations=MIGRATIONS)
    auth = cli("version", "--service", "auth", migrations=MIGRATIONS)
    assert everything.code == auth.code == 0
    assert len(everything.out.splitlines()) > 2
    assert auth.out.splitlines()[1:] == [line for line in everything.out.splitlines() if line.startswith("auth:")]
    assert auth.out.splitlines()[0] == everything.out.splitlines()[0]
    unknown = cli("version", "--service", "nope", migrations=MIGRATIONS)
    assert unknown.code == 2 and "nope" in unknown.err


SETTING = {
    "postgres": ("SHOW lock_timeout", {0: "0", 1.5: "1500ms"}),
    "mysql": ("SELECT @@SESSION.lock_wait_timeout", {0: 31536000, 1.5: 2}),
    "sqlite": ("PRAGMA busy_timeout", {0: 2147483000, 1.5: 1500}),
}


@pytest.mark.parametrize("seconds", [0, 1.5])
def test_ddl_lock_timeout_zero_is_no_limit_everywhere(db, seconds):
    query, expected = SETTING[db.dialect]
    database = open_database(parse_dsn(db.dsn), ddl_lock_timeout=seconds)
    try:
        assert database.query(query)[0][0] == expected[seconds]
    finally:
        database.close()
