"""Argument parsing and dispatch; errors become exit codes here and only here.

One argparse parser: a subparser per command, each with ``set_defaults(func=...)``. The
global options are declared once and added twice: to the main parser (with their
defaults) and to every command (defaults suppressed, so a value given before the command
is not overwritten by the command's default when none is given after it).
"""

from __future__ import annotations

import argparse
import math
import re
import sys

from migrator import __version__, commands, log
from migrator.config import build_config, is_secret_param
from migrator.dialects import DIALECTS
from migrator.errors import ExitStatus, MigratorError
from migrator.dialects.base import driver_error
from migrator.execute import DATABASE_ERRORS, install_signal_handlers

EPILOG = """\
exit codes:
  0  success, or nothing to do
  1  a migration or database error (also: status --check behind, a declined prompt, wait timed out)
  2  usage or configuration error: bad flag, bad DSN, invalid migration set
  3  dirty state: a migration stopped half-way; fix the schema by hand, then `migrator force V`
  4  tracking desync: the tracking table claims objects that do not exist in the schema,
     or that objects it records as dropped exist again
  5  the migration lock was not acquired within --lock-timeout
  6  an applied migration's file changed on disk (checksum mismatch)
  130, 143  stopped by SIGINT or SIGTERM: the running statement was cancelled and rolled back where the
            database can (MySQL and no-transaction migrations stay dirty), the lock released

environment:
  DSN, DATABASE_URL          the database, with -e (DSN first)
  MIGRATOR_MIGRATIONS_DIR    the default of --migrations
  MIGRATE_REPAIR_TRACKING=1  let up rewind the tracking table after a desync that is provably
                             repairable (in the chart: <service>.migration.repairTracking: true)
"""
LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


# A DSN's password in any text: scheme://user:PASSWORD@ (up to the last @ of the word: an
# unencoded password may hold one) and ?...KEY=VALUE where the DSN parser counts KEY as a secret.
_USERINFO_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):\S*@")
_QUERY_PARAM = re.compile(r"([?&;]([^=&\s]+)=)([^&\s]*)")


def redact_dsns(text: str) -> str:
    text = _USERINFO_PASSWORD.sub(r"\1:***@", text)
    return _QUERY_PARAM.sub(lambda m: m[1] + ("***" if is_secret_param(m[2]) else m[3]), text)


def seconds(text: str) -> float:
    try:
        value = float(text) if text.isascii() else math.nan  # float() also reads '١'
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds, 0 or more, got {text!r}")
    return value


def _ascii_digits(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()):  # isdigit() alone takes '١' or '²'
        raise argparse.ArgumentTypeError(f"expected {what} (digits 0-9), got {text!r}")
    return int(text)


def version_number(text: str) -> int:
    return _ascii_digits(text, "a non-negative integer version")


def count(text: str) -> int:
    return _ascii_digits(text, "a whole number")


# flags, add_argument keywords; "%(default)s" in a help text is the option's default
GLOBAL_OPTIONS = (
    (("--database", "-d"), dict(metavar="DSN", default=None, help="database DSN, e.g. postgres://user:pass@host:5432/app "
                                                                  "(default: none; see -e)")),
    (("-e", "--read-from-env"), dict(action="store_true", default=False,
                                     help="read the DSN from $DSN, then $DATABASE_URL (default: %(default)s)")),
    (("--migrations",), dict(metavar="DIR", default=None,
                             help="migrations directory (default: $MIGRATOR_MIGRATIONS_DIR, else /migrations "
                                  "when it exists, else ./migrations)")),
    (("--service",), dict(metavar="NAME", default=None,
                          help="the service to migrate (default: the only service of the directory)")),
    (("--lock-timeout",), dict(metavar="SECONDS", type=seconds, default=300.0,
                               help="how long to wait for another runner's lock before exit 5 "
                                    "(default: %(default)g)")),
    (("--ddl-lock-timeout",), dict(metavar="SECONDS", type=seconds, default=5.0,
                                   help="how long each migration statement may wait for a table lock "
                                        "in the database before it fails; 0 means no limit on every "
                                        "database (default: %(default)g)")),
    (("--ddl-lock-retries",), dict(metavar="N", type=count, default=5,
                                   help="try a migration again this many times, after a backoff with jitter, "
                                        "when a statement hit the DDL lock timeout and nothing of it was left "
                                        "behind (default: %(default)s)")),
    (("--progress-interval",), dict(metavar="SECONDS", type=seconds, default=30.0,
                                    help="while one statement runs, log a line naming it every this many "
                                         "seconds; 0 for none (default: %(default)g)")),
    (("--connect-timeout",), dict(metavar="SECONDS", type=seconds, default=0.0,
                                  help="keep retrying a database that refuses connections or whose name does "
                                       "not resolve for this long, with backoff; a wrong password or an unknown "
                                       "database fails at once (default: %(default)g, fail at once)")),
    (("--log-format",), dict(choices=LOG_FORMATS, default="auto",
                             help="log lines on stderr: console on a terminal and JSON lines otherwise "
                                  "with auto (default: %(default)s)")),
    (("--log-level",), dict(choices=LOG_LEVELS, default="info", type=str.lower,
                            help="least severe log level shown; debug adds tracebacks (default: %(default)s)")),
    (("-y", "--yes"), dict(action="store_true", default=False,
                           help="answer yes to the confirmation of down and force (default: %(default)s, ask)")),
)


def add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    group = parser.add_argument_group("global options (before or after the command)")
    for flags, kwargs in GLOBAL_OPTIONS:
        if suppress:
            kwargs = dict(kwargs, default=argparse.SUPPRESS,
                          help=kwargs["help"] % {"default": kwargs["default"]})
        group.add_argument(*flags, **kwargs)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)  # keep the epilog's lines
        kwargs.setdefault("epilog", EPILOG)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one clear line, exit 2, never a DSN's password
        print(f"Error: {redact_dsns(message)} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(ExitStatus.USAGE)


def _up(args, config):
    return commands.up(config, target=args.target, dry_run=args.dry_run)


def _down(args, config):
    return commands.down(config, steps=args.steps)


def _status(args, config):
    return commands.status(config, fmt=args.format, check=args.check)


def _wait(args, config):
    return commands.wait(config, timeout=args.timeout)


def _force(args, config):
    return commands.force(config, args.target_version)


def _verify(args, config):
    return commands.verify(config)


def _plan(args, config):
    return commands.plan(config, target=args.target)


def _lint(args, config):
    return commands.lint(config, dialect=args.dialect, fmt=args.format)


def _backfill(args, config):
    return commands.backfill(config, args.action, args.name, fmt=args.format)


def _new(args, config):
    return commands.new(config, " ".join(args.title))


def _version(args, config):
    return commands.version(config)


def _format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: %(default)s)")


def add_commands(sub) -> None:
    def command(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[global_options])
        p.set_defaults(func=func)
        return p

    global_options = argparse.ArgumentParser(add_help=False)
    add_global_options(global_options, suppress=True)

    p = command("up", _up, "apply pending migrations, after verifying tracking")
    p.add_argument("--target", type=version_number, metavar="V", help="stop after version V (default: the newest)")
    p.add_argument("--dry-run", action="store_true", help="print what plan prints, execute nothing (default: %(default)s)")
    p = command("down", _down, "roll back the last N migrations (asks for confirmation unless --yes)")
    p.add_argument("--steps", type=count, default=1, metavar="N", help="how many migrations to roll back (default: %(default)s)")
    p = command("status", _status, "every migration with OK/DIRTY/PENDING/FORCED, and the state of the database")
    _format(p)
    p.add_argument("--check", action="store_true",
                   help="exit 1 when behind, 3 when dirty, 4 when desynced, 6 when a file changed (default: %(default)s)")
    p = command("wait", _wait, "block until the database is at the newest version this migrator ships")
    p.add_argument("--timeout", type=seconds, default=300.0, metavar="SECONDS",
                   help="give up with exit 1 after this long (default: %(default)g)")
    p = command("force", _force, "mark the tracker clean at version V without running SQL (after a manual fix)")
    p.add_argument("target_version", type=version_number, metavar="V",
                   help="the version to mark clean; 0 clears the tracker (required, no default)")
    command("verify", _verify, "check the tracking table against the actual schema (exit 4 on desync)")
    p = command("plan", _plan, "print the SQL that up would run, execute nothing")
    p.add_argument("--target", type=version_number, metavar="V", help="stop after version V (default: the newest)")
    p = command("lint", _lint, "flag migrations that would block writes on a large table")
    p.add_argument("--dialect", choices=DIALECTS,
                   help="lint only this dialect's files (default: every dialect)")
    _format(p)
    p = command("backfill", _backfill, "resumable background backfills")
    p.add_argument("action", choices=("list", "run", "pause", "resume", "restart", "status"),
                   help="what to do (required, no default)")
    p.add_argument("name", nargs="?", help="the backfill (default: every backfill, where the action allows)")
    _format(p)
    p = command("new", _new, "write the next version's empty up and down files in every dialect folder "
                             "of --service (no database needed)")
    p.add_argument("title", nargs="+", help="what the migration does, e.g. add user email; made into the "
                                            "file name (required, no default)")
    command("version", _version, "print the migrator version and the newest migration per service")


def build_parser() -> Parser:
    parser = Parser(prog="migrator", description="Schema migrations for a multi-service platform.")
    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True,
                                parser_class=Parser)
    add_commands(sub)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def run() -> None:
    """The ``migrator`` console script (and ``python -m migrator``): SIGTERM and SIGINT stop
    it cleanly (the statement cancelled, the lock released, exit 143 or 130)."""
    install_signal_handlers()
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log.configure(args.log_format, args.log_level)
    try:
        config = build_config(args, interactive=commands.stdin_is_tty())
        return int(args.func(args, config))
    except MigratorError as exc:
        commands.report(exc)
        return int(exc.exit_status)
    except KeyboardInterrupt:
        log.operator("Error: interrupted")
        return int(ExitStatus.FAILED)
    except Exception as exc:  # a database error outside a migration, or a bug: one line, no traceback
        kind = "database error" if isinstance(exc, DATABASE_ERRORS) else f"internal error ({type(exc).__name__})"
        text = str(driver_error(exc)).strip()  # the driver's own message, not SQLAlchemy's wrapper
        log.operator(f"Error: {kind}: {log.redact(text.splitlines()[0] if text else '')}")
        if args.log_level == "debug":
            import traceback

            log.operator(log.redact(traceback.format_exc()))
        return int(ExitStatus.FAILED)
