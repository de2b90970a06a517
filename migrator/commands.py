"""One public function per command (alembic's command.py in spirit).

Each takes the frozen Config, does its work, prints its result on stdout and
returns the exit status; failures raise MigratorError subclasses.
"""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext

from migrator import __version__, catalog, log
from migrator.dialects import DIALECTS
from migrator.errors import DesyncError, DirtyError, ExitStatus, Interrupted, MigratorError, UsageError
from migrator.runner import Runner
from migrator.session import session
from migrator.source import all_services, select_service


def plural(count: int, noun: str) -> str:
    """``1 migration``, ``2 migrations``, ``0 migrations``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def confirm(config, question: str) -> None:
    """Ask on the terminal unless --yes; no terminal, a 'no' or end of input (Ctrl-D) is
    exit 1, nothing changed."""
    if config.yes:
        return
    if not config.interactive:
        raise MigratorError(f"{question}: refusing without confirmation (no terminal to ask): pass --yes")
    try:
        answer = input(f"{question} [y/N] ").strip().lower()
    except EOFError:
        answer = ""
    if answer not in ("y", "yes"):
        raise MigratorError("declined: nothing changed")


def _checked_rows(runner: Runner, repair: bool = False) -> tuple[dict, list[int]]:
    """The tracking rows, after the checks in the order `status` names the states: dirty, out of
    sync, changed file. Returns them and the versions a repair rewinds."""
    rows = runner.rows()
    runner.check_foreign_objects(rows)
    runner.check_dirty(rows)
    runner.check_unknown(rows)
    rewind = runner.check_desync(rows, repair)
    runner.check_checksums(rows)
    return rows, rewind


def _check_target(runner: Runner, target: int | None) -> None:
    if target is not None and target not in runner.by_version:
        raise UsageError(f"--target {target}: service {runner.service.name!r} has no migration {target}")


def _dry_run(config, runner: Runner, target: int | None) -> int:
    """What ``up`` would run, after the same checks (dirty, desync, changed files)."""
    rows, rewind = _checked_rows(runner, config.repair_tracking)
    pending = [m for m in runner.migrations if (m.version not in rows or m.version in rewind)
               and (target is None or m.version <= target)]
    print_plan(runner, pending)
    return ExitStatus.OK


def up(config, target: int | None = None, dry_run: bool = False) -> int:
    with session(config) as runner:
        _check_target(runner, target)
        if dry_run:
            return _dry_run(config, runner, target)
        with runner.locked(config.lock_timeout):
            owner = runner.tracker.check_owner()  # again: a service of the same prefix may have just run
            rows, rewind = _checked_rows(runner, config.repair_tracking)
            runner.tracker.ensure()
            if owner is None:
                runner.tracker.record_owner()
            applied = _repair(runner, rewind, rows, target) if rewind else []
            pending = runner.pending(runner.rows() if rewind else rows, target)
            if not pending and not applied:
                current = max(rows, default=0)
                log.result(f"No pending migrations: service {runner.service.name} is at version {current}.")
                return ExitStatus.OK
            for m in pending:
                _apply(runner, m)
            applied += pending
            log.result(f"Applied {plural(len(applied), 'migration')}: service {runner.service.name} is at "
                       f"version {applied[-1].version}.")
    return ExitStatus.OK


def _apply(runner: Runner, m) -> None:
    ms = runner.apply(m)
    log.result(f"Applied {m.version} {m.name} ({ms} ms)")


def _repair(runner: Runner, rewind: list[int], rows: dict, target: int | None) -> list:
    """Delete the rewound tracking rows and apply those migrations again (up to ``target``); one
    transaction when every one of them is transactional, so a failure leaves tracking as it was."""
    unshipped = [v for v in rewind if v not in runner.by_version]
    if unshipped:
        raise UsageError(f"cannot repair: applied migration {unshipped[0]} has no file in this migrator "
                         f"(versions {', '.join(map(str, unshipped))})",
                         hint="run the repair with the migrator image that shipped them")
    again = [runner.by_version[v] for v in rewind if target is None or v <= target]
    atomic = runner.atomic_repair(rewind)
    try:
        with runner.db.one_transaction() if atomic else nullcontext():
            runner.repair(rewind)
            for m in again:
                _apply(runner, m)
    except MigratorError as exc:
        if atomic:
            exc.hint = (f"the repair was rolled back: tracking rows {', '.join(map(str, rewind))} are as "
                        "they were; fix the cause, then run up with MIGRATE_REPAIR_TRACKING=1 again")
        raise
    return again


def down(config, steps: int = 1) -> int:
    if steps < 1:
        raise UsageError(f"--steps must be a positive integer, got {steps}")
    with session(config) as runner:
        if runner.service.forward_only:
            raise UsageError(f"service {runner.service.name!r} is forward-only: it has no down migrations. "
                             "To undo a migration, restore the database from a backup taken before it.")
        with runner.locked(config.lock_timeout):
            rows = runner.rows()
            runner.check_dirty(rows)
            victims = sorted(rows, reverse=True)[:steps]
            if not victims:
                log.result(f"Nothing to roll back: service {runner.service.name} has no applied migrations.")
                return ExitStatus.OK
            todo = []
            for version in victims:
                m = runner.by_version.get(version)
                if m is None or m.down is None:
                    raise UsageError(f"migration {version} has no down file: cannot roll it back "
                                     "(restore from a backup, or write a new forward migration)")
                todo.append(m)
            names = ", ".join(f"{m.version}_{m.name}" for m in todo)
            confirm(config, f"Roll back {plural(len(todo), 'migration')} of service {runner.service.name} "
                            f"on {runner.db.dsn.redacted()} ({names})")
            for m in todo:
                ms = runner.revert(m)
                log.result(f"Rolled back {m.version} {m.name} ({ms} ms)")
            remaining = max((v for v in rows if v not in victims), default=0)
            log.result(f"Rolled back {plural(len(todo), 'migration')}: service {runner.service.name} is at version {remaining}.")
    return ExitStatus.OK


def force(config, version: int) -> int:
    if version < 0:
        raise UsageError(f"force: version must be 0 or a migration version, got {version}")
    with session(config) as runner:
        if version != 0 and version not in runner.by_version:
            raise UsageError(f"force {version}: service {runner.service.name!r} ships no migration {version}")
        confirm(config, f"Mark service {runner.service.name} on {runner.db.dsn.redacted()} as clean at "
                        f"version {version} without running SQL")
        with runner.locked(config.lock_timeout):
            owner = runner.tracker.check_owner()
            runner.tracker.ensure()
            if owner is None:
                runner.tracker.record_owner()
            summary = runner.force(version, runner.rows())
        log.result(f"Forced service {runner.service.name} to version {version}: removed rows "
                   f"{summary['removed'] or 'none'}, marked clean {summary['cleaned'] or 'none'}, "
                   f"recorded as forced {summary['recorded'] or 'none'}"
                   + (f", accepted the current file of {version} (checksum updated)."
                      if summary["checksum_accepted"] is not None else "."))
    return ExitStatus.OK


def status_data(runner: Runner, verify: bool = True, problems: list | None = None) -> dict:
    """Everything `status` reports, from one read of the tracking rows (and, with ``verify``,
    one verification against the schema: the way to build its error, if any, goes to ``problems``)."""
    rows = runner.rows()
    items = []
    for version in sorted(set(rows) | set(runner.by_version)):
        row = rows.get(version)
        name = runner.by_version[version].name if version in runner.by_version else row.name
        state = "PENDING" if row is None else "DIRTY" if row.dirty else "FORCED" if row.forced else "OK"
        items.append({"version": version, "name": name, "applied_at": row.applied_at if row else None,
                      "status": state})
    dirty = [i["version"] for i in items if i["status"] == "DIRTY"]
    return {"service": runner.service.name, "table_prefix": runner.service.table_prefix,
            "current_version": max(rows, default=None), "migrations": items,
            "pending": sum(1 for i in items if i["status"] == "PENDING"), "dirty": bool(dirty),
            "dirty_version": dirty[0] if dirty else None,
            "desync": _desync_data(runner, rows, [] if problems is None else problems) if verify else None,
            "changed_files": runner.changed_files(rows)}


def _desync_data(runner: Runner, rows: dict, problems: list) -> dict | None:
    try:
        runner.check_foreign_objects(rows)
    except DesyncError as exc:  # no tracking rows, but the schema holds the service's objects
        problems.append(lambda error=exc: error)
        return {"versions": [], "missing": {}, "resurrected": {}, "repairable": False, "untracked": True}
    desync = catalog.check(runner.db, rows.values())
    if desync is None:
        return None
    problems.append(lambda: runner.desync_error(desync, rows))
    return desync.as_json()


def status_line(data: dict) -> str:
    """The last line of `status`: the first of these that applies."""
    if data["dirty"]:
        return f"Database is in dirty state at version {data['dirty_version']}."
    if data["desync"]:
        return "Database tracking is out of sync with the schema (run migrator verify)."
    if data["changed_files"]:
        return f"Applied migration {data['changed_files'][0]} changed on disk."
    if data["pending"]:
        return f"Database is {plural(data['pending'], 'migration')} behind."
    return "Database is up to date."


def status_exit(data: dict) -> ExitStatus:
    """`status --check`: the exit status of the state the last line names."""
    if data["dirty"]:
        return ExitStatus.DIRTY
    if data["desync"]:
        return ExitStatus.DESYNC
    if data["changed_files"]:
        return ExitStatus.CHECKSUM
    return ExitStatus.FAILED if data["pending"] else ExitStatus.OK


def status(config, fmt: str = "text", check: bool = False) -> int:
    with session(config) as runner:
        problems: list = []
        data = status_data(runner, problems=problems)
        if fmt == "json":
            import json

            log.result(json.dumps(data))
        else:
            log.result(f"Service {data['service']} (tracking table {runner.service.tracking_table}) "
                       f"on {runner.db.dsn.redacted()}")
            log.result(f"{'VERSION':<16} {'NAME':<44} {'APPLIED AT':<26} STATUS")
            for item in data["migrations"]:
                log.result(f"{item['version']:<16} {item['name'][:44]:<44} "
                           f"{item['applied_at'] or '-':<26} {item['status']}")
            log.result(status_line(data))
    if not check:
        return ExitStatus.OK
    if status_exit(data) == ExitStatus.DESYNC:
        for problem in problems:  # what `verify` would say, for the logs of a `status --check` Job
            report(problem())
    return status_exit(data)


def verify(config) -> int:
    with session(config) as runner:
        rows, _ = _checked_rows(runner)
        objects = len(catalog.live_objects(r for r in rows.values() if not r.dirty))
        log.result(f"Tracking is in sync with the schema: service {runner.service.name}, "
                   f"{len(rows)} applied migrations, {objects} recorded objects checked.")
    return ExitStatus.OK


def wait(config, timeout: float = 300.0, interval: float = 2.0) -> int:
    deadline = time.monotonic() + timeout
    logger = log.get()
    last = "not checked yet"
    while True:
        try:
            with session(config) as runner:
                data = status_data(runner, verify=False)
                newest = runner.migrations[-1].version if runner.migrations else 0
                if not data["pending"] and not data["dirty"]:
                    log.result(f"Service {runner.service.name} is at version {newest}: schema ready.")
                    return ExitStatus.OK
                last = ("dirty" if data["dirty"] else f"{plural(data['pending'], 'migration')} behind version {newest}")
        except (UsageError, Interrupted):
            raise
        except MigratorError as exc:
            last = exc.message
        if time.monotonic() >= deadline:
            raise MigratorError(f"timed out after {timeout:g}s waiting for the schema: {last}")
        logger.info("MIGRATION_WAITING", state=last, message="waiting for migrations")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def print_plan(runner: Runner, pending) -> None:
    from migrator import lint

    log.result(f"-- plan for service {runner.service.name} on {runner.db.dsn.redacted()}: "
               f"{plural(len(pending), 'pending migration')}")
    for m in pending:
        mode = "transaction" if runner.transactional(m) else (
            "no-transaction" if m.no_transaction else "no transaction: DDL commits implicitly, dirty flag")
        log.result(f"-- {m.version} {m.name} ({mode}) {m.up.path}")
        for finding in lint.findings_for(runner.service, m, runner.dialect):
            log.result(f"--   lint: line {finding.line} [{finding.rule}] {finding.message}")
        for statement in runner.statements(m):
            log.result(statement.sql + ";")
        log.result("")


def plan(config, target: int | None = None) -> int:
    """``up --dry-run``: the same checks, the same output, the same exit status."""
    with session(config) as runner:
        _check_target(runner, target)
        return _dry_run(config, runner, target)


def version(config) -> int:
    log.result(f"migrator {__version__}")
    if config.service:
        services = [select_service(config.migrations_dir, config.service)]  # an unknown one is exit 2
    else:
        try:
            services = all_services(config.migrations_dir)
        except UsageError as exc:
            log.result(f"no migrations: {exc.message}")
            return ExitStatus.OK
    for service in services:
        latest = []
        for dialect in DIALECTS:
            if service.dialect_folders(dialect):
                latest.append(f"{dialect}={service.latest_version(dialect)}")
        log.result(f"{service.name}: {' '.join(latest)}")
    return ExitStatus.OK


def new(config, title: str) -> int:
    """Write the next version's empty migration files; no database needed."""
    from migrator.scaffold import new_migration

    for path in new_migration(select_service(config.migrations_dir, config.service), title):
        log.result(str(path))
    return ExitStatus.OK


def report(error: MigratorError) -> None:
    """Print an error for the operator: one line, details, then the hint."""
    message = error.message
    if not message.startswith(("Error:", "FATAL:")):
        message = f"Error: {message}"
    log.operator(message)
    for line in error.details:
        log.operator(line)
    if error.hint:
        log.operator(f"Hint: {error.hint}")
    if isinstance(error, DirtyError | DesyncError) or error.logged:  # logged where it happened
        return
    log.error_event(log.get(), getattr(error, "event", "MIGRATION_COMMAND_FAILED"), error=error.message,
                    exit_status=int(error.exit_status))


def stdin_is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def lint(config, dialect: str | None = None, fmt: str = "text") -> int:
    from migrator import lint as linter

    services = ([select_service(config.migrations_dir, config.service)] if config.service
                else all_services(config.migrations_dir))
    findings = linter.lint_services(services, [dialect] if dialect else None)
    log.result(linter.render_json(findings) if fmt == "json" else linter.render_text(findings))
    return ExitStatus.FAILED if findings else ExitStatus.OK


def backfill(config, action: str, name: str | None = None, fmt: str = "text") -> int:
    from migrator import backfill as backfills

    return backfills.command(config, action, name, fmt=fmt)
