"""Argument parsing and dispatch; errors become exit codes here and only here."""

from __future__ import annotations

import argparse
import sys

from migrator import commands, log
from migrator.config import build_config
from migrator.errors import ExitStatus, MigratorError

LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line, exit 2
        print(f"Error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(ExitStatus.USAGE)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number of seconds, got {text!r}")
    return value


def version_number(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer version, got {text!r}")
    return int(text)


def global_options(suppress: bool) -> argparse.ArgumentParser:
    """The options accepted before and after the command."""
    d = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("global options")
    g.add_argument("--database", "-d", metavar="DSN", default=d(None), help="database DSN (SPEC section 4)")
    g.add_argument("-e", "--read-from-env", action="store_true", default=d(False),
                   help="read the DSN from $DSN, then $DATABASE_URL")
    g.add_argument("--migrations", metavar="DIR", default=d(None),
                   help="migrations directory (default $MIGRATOR_MIGRATIONS_DIR, /migrations, ./migrations)")
    g.add_argument("--service", metavar="NAME", default=d(None), help="the service to migrate")
    g.add_argument("--lock-timeout", metavar="SECONDS", type=positive_float, default=d(300.0),
                   help="how long to wait for another runner's lock (default 300)")
    g.add_argument("--ddl-lock-timeout", metavar="SECONDS", type=positive_float, default=d(5.0),
                   help="in-database lock wait for each migration statement (default 5)")
    g.add_argument("--log-format", choices=LOG_FORMATS, default=d("auto"))
    g.add_argument("--log-level", choices=LOG_LEVELS, default=d("info"), type=str.lower)
    g.add_argument("-y", "--yes", action="store_true", default=d(False), help="answer yes to prompts")
    return p


def build_parser() -> Parser:
    common = global_options(suppress=True)
    parser = Parser(prog="migrator", parents=[global_options(suppress=False)],
                    description="Schema migrations for a multi-service platform.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    def cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = cmd("up", "apply pending migrations (after verifying tracking)")
    p.add_argument("--target", type=version_number, metavar="V", help="stop after version V")
    p.add_argument("--dry-run", action="store_true", help="print the plan, execute nothing")
    p = cmd("down", "roll back the last N migrations")
    p.add_argument("--steps", type=int, default=1, metavar="N", help="how many (default 1)")
    p = cmd("status", "every migration with OK/DIRTY/PENDING")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--check", action="store_true", help="exit 1 when behind, 3 when dirty, 4 when desynced")
    p = cmd("wait", "block until the schema is at the newest shipped version")
    p.add_argument("--timeout", type=positive_float, default=300.0, metavar="S")
    p = cmd("force", "mark the tracker clean at version V without running SQL")
    p.add_argument("target_version", type=version_number, metavar="V")
    cmd("verify", "check the tracking table against the actual schema")
    p = cmd("plan", "print the SQL that up would run")
    p.add_argument("--target", type=version_number, metavar="V")
    p = cmd("lint", "flag migrations that would block writes on a large table")
    p.add_argument("--dialect", choices=("postgres", "mysql", "sqlite", "cockroach"))
    p.add_argument("--format", choices=("text", "json"), default="text")
    p = cmd("backfill", "resumable background backfills")
    p.add_argument("action", choices=("list", "run", "pause", "resume", "restart", "status"))
    p.add_argument("name", nargs="?")
    p.add_argument("--format", choices=("text", "json"), default="text")
    cmd("version", "print the migrator version and the newest migration per service")
    return parser


def dispatch(args, config) -> int:
    c = args.command
    if c == "up":
        return commands.up(config, target=args.target, dry_run=args.dry_run)
    if c == "down":
        return commands.down(config, steps=args.steps)
    if c == "status":
        return commands.status(config, fmt=args.format, check=args.check)
    if c == "wait":
        return commands.wait(config, timeout=args.timeout)
    if c == "force":
        return commands.force(config, args.target_version)
    if c == "verify":
        return commands.verify(config)
    if c == "plan":
        return commands.plan(config, target=args.target)
    if c == "lint":
        return commands.lint(config, dialect=args.dialect, fmt=args.format)
    if c == "backfill":
        return commands.backfill(config, args.action, args.name, fmt=args.format)
    return commands.version(config)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log.configure(args.log_format, args.log_level)
    try:
        config = build_config(args, interactive=commands.stdin_is_tty())
        return int(dispatch(args, config))
    except MigratorError as exc:
        commands.report(exc)
        return int(exc.exit_status)
    except KeyboardInterrupt:
        log.operator("Error: interrupted")
        return int(ExitStatus.FAILED)
    except Exception as exc:  # a driver error outside a migration, or a bug: one line, no traceback
        from migrator.runner import is_driver_error

        kind = "database error" if is_driver_error(exc) else f"internal error ({type(exc).__name__})"
        log.operator(f"Error: {kind}: {log.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else '')}")
        if args.log_level == "debug":
            import traceback

            log.operator(log.redact(traceback.format_exc()))
        return int(ExitStatus.FAILED)
