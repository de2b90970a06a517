"""What `--help` tells a user: every option of every page with its help and default, the exit
codes, MIGRATE_REPAIR_TRACKING; and `--version`. The real CLI in a subprocess."""

from __future__ import annotations

import re

import pytest

from migrator import __version__

GLOBAL_FLAGS = ("--database", "--read-from-env", "--migrations", "--service", "--lock-timeout",
                "--ddl-lock-timeout", "--connect-timeout", "--log-format", "--log-level", "--yes")


def sections(help_text: str) -> dict[str, list[str]]:
    """The help's sections ("options:", "global options ...:") as lists of entries: an entry is
    an option (or positional) line with its indented continuation lines, joined."""
    found: dict[str, list[str]] = {}
    current = None
    for line in help_text.splitlines():
        if line and not line.startswith(" "):
            current = found.setdefault(line.rstrip(":"), []) if line.endswith(":") else None
        elif current is not None and re.match(r"^  \S", line):
            current.append(line.strip())
        elif current is not None and line.strip() and current:
            current[-1] += " " + line.strip()
    return found


def commands(cli) -> list[str]:
    result = cli("--help")
    listed = re.findall(r"^    (\w+) ", result.out, re.M)
    assert {"up", "down", "status", "wait", "force", "verify", "plan", "lint", "backfill", "version"} <= set(listed)
    return listed


def usage_flags(help_text: str) -> set[str]:
    usage = help_text.split("\n\n", 1)[0]
    return set(re.findall(r"\[(--?[\w-]+)", usage)) - {"-h"}


def check_page(help_text: str) -> None:
    entries = [e for name, items in sections(help_text).items() if "options" in name or "arguments" in name
               for e in items]
    for entry in entries:
        if entry.startswith(("-h, --help", "--version")):
            continue
        assert re.search(r"\(default: [^)]+\)|\(required, no default\)", entry), f"no default shown: {entry}"
        assert len(entry.split(None, 2)) > 2, f"no help text: {entry}"
    shown = " ".join(entries)
    for flag in usage_flags(help_text) | set(GLOBAL_FLAGS):
        assert re.search(rf"(^|[ ,]){re.escape(flag)}\b", shown), f"{flag} is in the usage but not described"
    assert "MIGRATE_REPAIR_TRACKING" in help_text and "repairTracking" in help_text
    for code in range(7):
        assert re.search(rf"^  {code}  \S", help_text, re.M), f"exit code {code} is not explained"
    assert "SPEC" not in help_text and "section" not in help_text.lower()


def test_main_help(cli):
    result = cli("--help")
    assert result.code == 0 and result.err == ""
    check_page(result.out)
    assert "--connect-timeout SECONDS" in result.out
    ddl = next(e for items in sections(result.out).values() for e in items if e.startswith("--ddl-lock-timeout"))
    assert "0 means no limit on every database" in ddl


def test_every_command_help(cli):
    for command in commands(cli):
        result = cli(command, "--help")
        assert result.code == 0, (command, result.err)
        assert result.out.startswith(f"usage: migrator {command} ")
        check_page(result.out)


@pytest.mark.parametrize("command, option, default", [
    ("up", "--lock-timeout SECONDS", "300"), ("status", "--format {text,json}", "text"),
    ("wait", "--timeout SECONDS", "300"), ("down", "--steps N", "1"), ("force", "V", None),
    ("lint", "--dialect", "every dialect"), ("version", "--log-level", "info"),
])
def test_defaults_are_the_real_ones(cli, command, option, default):
    entry = next(e for items in sections(cli(command, "--help").out).values() for e in items
                 if e.startswith(option))
    assert (f"(default: {default}" in entry) if default else "(required, no default)" in entry


def test_version_flag(cli):
    result = cli("--version")
    assert (result.code, result.out) == (0, f"migrator {__version__}\n")
