"""Start-up work of every command (a no-op ``up`` is mostly start-up): what the fast paths
replaced must behave as before. Pure unit tests and one subprocess; no database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrator import cli
from migrator._record import FrozenInstanceError
from migrator.config import DSN, parse_dsn
from migrator.errors import UsageError
from migrator.source import select_service
from migrator.split import Statement

ROOT = Path(__file__).resolve().parents[2]


# -- migration files --------------------------------------------------------------------------
def test_unreadable_file_names_the_path(tmp_path):
    folder = tmp_path / "svc" / "sqlite"
    (folder / "1_a.up.sql").mkdir(parents=True)  # a folder where a file should be
    with pytest.raises(UsageError) as caught:
        select_service(tmp_path, "svc").migrations("sqlite")
    assert caught.value.message == f"{folder / '1_a.up.sql'}: cannot read migration file: Is a directory"


# -- records: what the frozen dataclasses gave --------------------------------------------------
def test_records_behave_as_frozen_dataclasses():
    dsn = parse_dsn("postgres://u:S3cret@db:5433/app?sslmode=disable")
    assert dsn == DSN("postgres", "postgres", "app", "db", 5433, "u", "S3cret", params=(("sslmode", "disable"),))
    assert hash(dsn) == hash(DSN("postgres", "postgres", "app", "db", 5433, "u", "S3cret", None,
                                 (("sslmode", "disable"),)))
    assert repr(dsn) == ("DSN(scheme='postgres', dialect='postgres', database='app', host='db', port=5433, "
                         "user='u', socket=None)")  # neither the password nor the query (sslpassword=...)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dsn.password = "x"
    with pytest.raises(AttributeError):
        del dsn.host
    s = Statement("SELECT 1", 1, "-- c")
    assert repr(s) == "Statement(sql='SELECT 1', line=1, comments='-- c')"
    assert s == Statement("SELECT 1", 1, "-- c") and s != Statement("SELECT 1", 2, "-- c")
    assert {s, Statement("SELECT 1", 1, "-- c")} == {s}


# -- the command line: quick_parse reads plain ones as argparse does; argparse the rest ----------
def _argparse(argv):
    from migrator.cli_parser import build_parser

    try:
        return vars(build_parser().parse_args(argv))
    except SystemExit as exc:
        return f"exit {exc.code}"


PLAIN = [
    ["up"], ["-e", "up", "--service", "bench"], ["--database", "sqlite://x.db", "up", "--dry-run", "--target", "7"],
    ["up", "--service", "a", "--service", "b", "-y", "--log-level", "DEBUG", "--log-format", "json"],
    ["--service", "up", "up"], ["--lock-timeout", "1e3", "--ddl-lock-timeout", "0", "status", "--format", "json",
                                "--check"], ["-d", "", "wait", "--timeout", "2.5"], ["down", "--steps", " 3 "],
    ["verify", "--read-from-env"], ["version"], ["plan", "--target", "0012"], ["lint", "--dialect", "mysql"],
    ["--migrations", "m", "--yes", "up", "--lock-timeout", "inf"],
]
NOT_PLAIN = [  # argparse's business: help, errors, abbreviations, positionals, dash values
    [], ["-h"], ["up", "--help"], ["up", "extra"], ["--dry-run", "up"], ["up", "--target", "x"], ["up", "--target", "\u00b2"],
    ["--serv", "x", "up"], ["--service=x", "up"], ["-ey", "up"], ["up", "--lock-timeout", "-1"], ["--service", "-", "up"],
    ["--log-level", "loud", "up"], ["force", "3"], ["backfill", "list"], ["bogus"], ["up", "--"], ["--service"],
    ["status", "--format", "xml"], ["down", "--steps", "x"],
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_quick_parse_reads_plain_command_lines_as_argparse(argv):
    quick = cli.quick_parse(argv)
    assert quick is not None and vars(quick) == _argparse(argv)


@pytest.mark.parametrize("argv", NOT_PLAIN, ids=" ".join)
def test_quick_parse_leaves_the_rest_to_argparse(argv):
    assert cli.quick_parse(argv) is None


def test_quick_parse_agrees_with_argparse_on_random_command_lines():
    import random

    rng = random.Random(7)
    tokens = ["up", "status", "down", "wait", "verify", "plan", "lint", "version", "force", "backfill", "-e", "-y",
              "--yes", "-d", "--database", "--service", "--migrations", "--lock-timeout", "--ddl-lock-timeout",
              "--log-level", "--log-format", "--target", "--dry-run", "--format", "--check", "--timeout", "--steps",
              "--dialect", "json", "text", "INFO", "debug", "console", "3", "0.5", "-2", "x", "", "mysql", "--"]
    accepted = 0
    for _ in range(8000):
        argv = [rng.choice(tokens) for _ in range(rng.randint(0, 7))]
        quick = cli.quick_parse(argv)
        if quick is not None:
            accepted += 1
            assert vars(quick) == _argparse(argv), argv
    assert accepted > 200


def test_parser_lists_every_command_and_builds_only_the_one_used():
    from migrator.cli_parser import Commands, build_parser

    parser = build_parser()
    help_text = parser.format_help()
    for name, help_line, _ in cli.COMMANDS:
        assert name in help_text and help_line[:40] in help_text.replace("\n" + " " * 24, " ")
    action = next(a for a in parser._actions if isinstance(a, Commands))
    assert list(action.choices) == [name for name, _, _ in cli.COMMANDS]
    args = parser.parse_args(["--service", "x", "up", "--target", "3", "--lock-timeout", "2"])
    assert (args.command, args.target, args.dry_run, args.service, args.lock_timeout) == ("up", 3, False, "x", 2.0)
    assert list(action.choices) == [name for name, _, _ in cli.COMMANDS]
    built = [name for name, p in action.choices.items() if p is not None]
    assert built == ["up"]


def test_terminal_columns_is_shutils(monkeypatch):
    import shutil

    from migrator.cli_parser import terminal_columns

    for columns in ("", "0", "x", "57", "300"):
        monkeypatch.setenv("COLUMNS", columns)
        assert terminal_columns() == shutil.get_terminal_size().columns


# -- what a no-op up imports ---------------------------------------------------------------------
def test_command_start_imports_nothing_it_does_not_use():
    code = ("import sys; from migrator import cli; cli.parse_args(['-e', 'up', '--service', 'x']); "
            "print(' '.join(sorted(sys.modules)))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    for module in ("argparse", "logging", "structlog", "shutil", "migrator.lint",
                   "migrator.backfill"):
        assert module not in out, f"{module} is imported at start"
