"""Usage errors: one line, exit 2, and never a DSN's password, whatever argparse complains
about; numbers that are not finite and digits that are not ASCII are usage errors too."""

from __future__ import annotations

import pytest

from migrator.cli import redact_dsns

SECRET = "hunter2-S3cret"
CHOICES = "(choose from 'up', 'down', 'status', 'wait', 'force', 'verify', 'plan', 'lint', 'backfill', 'new', 'version')"

CASES = [
    # a mistyped --database: its DSN becomes the command argparse complains about
    (["--databse", f"postgres://u:{SECRET}@h/db", "status"],
     f"Error: argument COMMAND: invalid choice: 'postgres://u:***@h/db' {CHOICES} (see `migrator --help`)"),
    # a DSN without --database, after the command
    (["status", f"postgres://u:{SECRET}@h/db"],
     "Error: unrecognized arguments: postgres://u:***@h/db (see `migrator --help`)"),
    (["status", f"mysql://u:{SECRET}@tcp(db:3306)/app?PASSWORD={SECRET}"],
     "Error: unrecognized arguments: mysql://u:***@tcp(db:3306)/app?PASSWORD=*** (see `migrator --help`)"),
    (["status", f"--databse=postgres://u:pw@{SECRET}@h/db"],  # an unencoded @ in the password
     "Error: unrecognized arguments: --databse=postgres://u:***@h/db (see `migrator --help`)"),
    (["status", f"postgres://h/db?sslmode=disable&Password={SECRET}"],
     "Error: unrecognized arguments: postgres://h/db?sslmode=disable&Password=*** (see `migrator --help`)"),
]
for flag in ("--lock-timeout", "--ddl-lock-timeout", "--connect-timeout"):
    for value in ("nan", "inf", "1e400", "-1", "soon", "\u0665"):
        CASES.append(([flag, value, "status"], f"Error: argument {flag}: expected a finite number of seconds, "
                                               f"0 or more, got '{value}' (see `migrator --help`)"))
CASES += [
    (["--lock-timeout", "-inf", "status"], "Error: argument --lock-timeout: expected one argument "
                                           "(see `migrator --help`)"),  # argparse takes -inf for an option
    (["status", "--lock-timeout=nan"], "Error: argument --lock-timeout: expected a finite number of seconds, "
                                       "0 or more, got 'nan' (see `migrator status --help`)"),
    (["wait", "--timeout", "1e400"], "Error: argument --timeout: expected a finite number of seconds, "
                                     "0 or more, got '1e400' (see `migrator wait --help`)"),
    (["force", "\u0661"], "Error: argument V: expected a non-negative integer version (digits 0-9), "
                          "got '\u0661' (see `migrator force --help`)"),
    (["up", "--target", "\u00b2"], "Error: argument --target: expected a non-negative integer version "
                                   "(digits 0-9), got '\u00b2' (see `migrator up --help`)"),
    (["down", "--steps", "\u0663"], "Error: argument --steps: expected a whole number (digits 0-9), "
                                    "got '\u0663' (see `migrator down --help`)"),
]


@pytest.mark.parametrize("argv, line", CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_usage_error_is_one_redacted_line(cli, tmp_path, argv, line):
    result = cli(*argv, migrations=tmp_path)
    assert (result.code, result.out, result.err) == (2, "", line + "\n")
    assert SECRET not in result.text


@pytest.mark.parametrize("text, expected", [
    (f"a postgres://u:{SECRET}@h/db and cockroach://root:{SECRET}@c:26257/d",
     "a postgres://u:***@h/db and cockroach://root:***@c:26257/d"),
    (f"'postgresql://:{SECRET}@h/db'", "'postgresql://:***@h/db'"),
    (f"x?user=u&password={SECRET}&sslmode=require", "x?user=u&password=***&sslmode=require"),
    (f"x?PassWord={SECRET}", "x?PassWord=***"),
    (f"x?sslmode=verify-full&oauth_client_secret={SECRET}", "x?sslmode=verify-full&oauth_client_secret=***"),
    ("postgres://u@h/db?application_name=a", "postgres://u@h/db?application_name=a"),  # nothing secret
])
def test_redact_dsns(text, expected):
    assert redact_dsns(text) == expected
