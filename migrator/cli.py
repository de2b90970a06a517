"""Argument parsing and dispatch; errors become exit codes here and only here.

The options are declared once, below. ``parse_args`` reads a plain command line itself
(``quick_parse``: what hook Jobs and scripts pass) and hands anything else to argparse
(migrator.cli_parser, built from the same declarations), which also prints the help
and the usage errors: importing and building argparse's parsers cost about as much as
the rest of the command-line handling of a no-op ``up``.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from migrator import commands, log
from migrator.config import build_config
from migrator.errors import ExitStatus, MigratorError

LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _type_error(message: str) -> Exception:
    import argparse

    return argparse.ArgumentTypeError(message)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _type_error(f"expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise _type_error(f"expected a non-negative number of seconds, got {text!r}")
    return value


def version_number(text: str) -> int:
    if not text.isdigit():
        raise _type_error(f"expected a non-negative integer version, got {text!r}")
    return int(text)


class Option:
    """One argument: ``add_argument(*flags, **kwargs)`` for argparse, and what quick_parse
    needs to read it the same way."""

    def __init__(self, *flags: str, **kwargs):
        self.flags = flags
        self.kwargs = kwargs
        self.positional = not flags[0].startswith("-")
        self.dest = kwargs.get("dest") or (flags[0] if self.positional else next(
            (f for f in flags if f.startswith("--")), flags[0]).lstrip("-").replace("-", "_"))
        self.flag = kwargs.get("action") == "store_true"
        self.default = kwargs.get("default", False if self.flag else None)
        self.convert = kwargs.get("type")
        self.choices = kwargs.get("choices")


GLOBAL_OPTIONS = (  # accepted before and after the command
    Option("--database", "-d", metavar="DSN", default=None, help="database DSN (SPEC section 4)"),
    Option("-e", "--read-from-env", action="store_true", default=False,
           help="read the DSN from $DSN, then $DATABASE_URL"),
    Option("--migrations", metavar="DIR", default=None,
           help="migrations directory (default $MIGRATOR_MIGRATIONS_DIR, /migrations, ./migrations)"),
    Option("--service", metavar="NAME", default=None, help="the service to migrate"),
    Option("--lock-timeout", metavar="SECONDS", type=positive_float, default=300.0,
           help="how long to wait for another runner's lock (default 300)"),
    Option("--ddl-lock-timeout", metavar="SECONDS", type=positive_float, default=5.0,
           help="in-database lock wait for each migration statement (default 5)"),
    Option("--connect-timeout", metavar="SECONDS", type=positive_float, default=0.0,
           help="keep retrying a database that refuses connections or whose name does not resolve "
                "for this long, with backoff (default 0: fail at once); a wrong password or an "
                "unknown database fails at once"),
    Option("--log-format", choices=LOG_FORMATS, default="auto"),
    Option("--log-level", choices=LOG_LEVELS, default="info", type=str.lower),
    Option("-y", "--yes", action="store_true", default=False, help="answer yes to prompts"),
)
_FORMAT = Option("--format", choices=("text", "json"), default="text")
COMMANDS = (  # name, help, its own arguments
    ("up", "apply pending migrations (after verifying tracking)", (
        Option("--target", type=version_number, metavar="V", help="stop after version V"),
        Option("--dry-run", action="store_true", help="print the plan, execute nothing"))),
    ("down", "roll back the last N migrations", (
        Option("--steps", type=int, default=1, metavar="N", help="how many (default 1)"),)),
    ("status", "every migration with OK/DIRTY/PENDING", (
        _FORMAT, Option("--check", action="store_true", help="exit 1 when behind, 3 when dirty, 4 when desynced"))),
    ("wait", "block until the schema is at the newest shipped version", (
        Option("--timeout", type=positive_float, default=300.0, metavar="S"),)),
    ("force", "mark the tracker clean at version V without running SQL", (
        Option("target_version", type=version_number, metavar="V"),)),
    ("verify", "check the tracking table against the actual schema", ()),
    ("plan", "print the SQL that up would run", (Option("--target", type=version_number, metavar="V"),)),
    ("lint", "flag migrations that would block writes on a large table", (
        Option("--dialect", choices=("postgres", "mysql", "sqlite", "cockroach")), _FORMAT)),
    ("backfill", "resumable background backfills", (
        Option("action", choices=("list", "run", "pause", "resume", "restart", "status")),
        Option("name", nargs="?"), _FORMAT)),
    ("version", "print the migrator version and the newest migration per service", ()),
)
_GLOBAL_BY_FLAG = {flag: o for o in GLOBAL_OPTIONS for flag in o.flags}
_COMMAND_OPTIONS = {name: options for name, _, options in COMMANDS}


def quick_parse(argv: list[str]) -> SimpleNamespace | None:
    """The values argparse gives for ``argv``, when every argument is an option written in
    full (``--name value``, flags alone) or the command, and every value converts and is
    a valid choice; else None. Like argparse: global options before or after the command,
    the command's own after it, the last occurrence wins, and a value is the next argument
    unless that one starts with ``-`` (then argparse decides, and reports)."""
    values = {o.dest: o.default for o in GLOBAL_OPTIONS}
    known = _GLOBAL_BY_FLAG
    command = None
    i, n = 0, len(argv)
    while i < n:
        token = argv[i]
        option = known.get(token)
        if option is None:
            if command is not None or token not in _COMMAND_OPTIONS:
                return None
            options = _COMMAND_OPTIONS[token]
            if any(o.positional or o.kwargs.get("nargs") is not None for o in options):
                return None
            command = token
            known = {**known, **{flag: o for o in options for flag in o.flags}}
            values.update((o.dest, o.default) for o in options)
            i += 1
            continue
        if option.flag:
            values[option.dest] = True
            i += 1
            continue
        if i + 1 >= n or argv[i + 1].startswith("-"):
            return None
        value = argv[i + 1]
        if option.convert is not None:
            try:
                value = option.convert(value)
            except Exception:
                return None
        if option.choices is not None and value not in option.choices:
            return None
        values[option.dest] = value
        i += 2
    if command is None:
        return None
    return SimpleNamespace(command=command, **values)


def build_parser():
    """argparse's parser for every command line (migrator.cli_parser)."""
    from migrator.cli_parser import build_parser as build

    return build()


def parse_args(argv: list[str] | None = None):
    argv = sys.argv[1:] if argv is None else list(argv)
    return quick_parse(argv) or build_parser().parse_args(argv)


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


def run() -> None:
    """The ``migrator`` console script (and ``python -m migrator``): ``main()``, then exit
    without tearing the interpreter down.

    A normal exit frees every module and object first: ~20 ms, a sixth of a no-op ``up``,
    that nobody can observe once what it does before (wait for non-daemon threads, run the
    atexit handlers, flush stdout and stderr) is done: the command closed its connection
    and released its locks. So this does those steps and leaves with ``os._exit``; it takes
    the normal way when a thread is still running, a flush fails (the interpreter reports
    it and exits 120) or a tracer or profiler is attached (it reports at exit)."""
    code = main()
    if not _observed() and not _other_threads():
        import atexit

        atexit._run_exitfuncs()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            sys.exit(code)
        os._exit(code)
    sys.exit(code)


def _observed() -> bool:
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return True
    monitoring = getattr(sys, "monitoring", None)  # Python 3.12+: cProfile, coverage, debuggers
    return monitoring is not None and any(monitoring.get_tool(i) is not None for i in range(6))


def _other_threads() -> bool:
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon for t in threading.enumerate())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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
