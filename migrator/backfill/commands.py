"""``migrator backfill list|run|pause|resume|restart|status [NAME]``."""

from __future__ import annotations

from migrator import log
from migrator.backfill.declaration import Backfill, load_backfills
from migrator.backfill.job import BackfillJob, StopSignal, lease_seconds
from migrator.backfill.store import Checkpoint, Checkpoints
from migrator.errors import ExitStatus, MigratorError, UsageError
from migrator.session import session
from migrator.source import Service, select_service


def command(config, action: str, name: str | None = None, fmt: str = "text") -> int:
    """``migrator backfill list|run|pause|resume|restart|status [NAME]``."""
    service = select_service(config.migrations_dir, config.service)
    if action == "list" and not config.dsn_text:
        return _list(service, _choose(load_backfills(service), name, service), {}, fmt, None)
    dialect = config.dsn.dialect
    chosen = _choose(load_backfills(service, dialect), name, service)
    if action == "run":
        lease_seconds()  # a bad setting is exit 2 before any connection
    with session(config) as runner:
        if action == "list":
            return _list(service, chosen, Checkpoints(runner.db, service).all(), fmt, runner)
        if action == "status":
            return _status(runner, chosen, fmt, show_undeclared=name is None)
        if action == "run":
            return _run(config, runner, chosen)
        return _transitions(runner, chosen, action)


def _choose(backfills: list[Backfill], name: str | None, service: Service) -> list[Backfill]:
    """The named backfill, or without NAME every declared one (in name order)."""
    if name is None:
        return backfills
    chosen = [b for b in backfills if b.name == name]
    if not chosen:
        declared = ", ".join(b.name for b in backfills) or "none"
        raise UsageError(f"unknown backfill {name!r} for service {service.name} (declared: {declared}; "
                         f"files in {service.root / 'backfills'})")
    return chosen


def _ensure_tables(runner) -> Checkpoints:
    store = Checkpoints(runner.db, runner.service)
    store.ensure()
    if not runner.db.table_exists(runner.service.events_table):
        runner.tracker.ensure()
    return store


def _require_applied(runner, backfills: list[Backfill]) -> None:
    rows = runner.rows()
    for bf in backfills:
        row = rows.get(bf.requires)
        if row is None or row.dirty:
            title = runner.by_version[bf.requires].name
            state = "is dirty" if row is not None else "is not applied"
            raise MigratorError(
                f"backfill {bf.name} requires migration {bf.requires} ({title}), which {state} on "
                f"{runner.db.dsn.redacted()}",
                hint=f"apply migration {bf.requires} first (`migrator up`), then run the backfill",
            )


def _run(config, runner, chosen: list[Backfill]) -> int:
    if not chosen:
        log.result(f"No backfills declared for service {runner.service.name}.")
        return ExitStatus.OK
    _require_applied(runner, chosen)
    store = _ensure_tables(runner)
    with StopSignal().installed() as stop:
        for bf in chosen:
            store.ensure_row(bf.name)
            job = BackfillJob(runner, bf, config.lock_timeout, stop)
            log.result(_outcome_line(job, job.run()))
    return ExitStatus.OK


def _outcome_line(job: BackfillJob, outcome: str) -> str:
    cp, s, name = job.cp, job.stats, job.bf.name
    if outcome == "completed":
        return (f"Backfill {name} completed: {cp.rows_done:,} rows done ({s.rows:,} by this run, "
                f"{s.affected:,} changed) in {s.elapsed:.1f}s, {s.rate:,.0f} rows/s, {s.batches} batches, "
                f"longest batch {s.longest * 1000:.0f} ms.")
    if outcome == "already-paused":
        return (f"Backfill {name} is paused: no work done ({cp.rows_done:,} rows done, last key "
                f"{cp.last_key}). Resume it with `migrator backfill resume {name}`.")
    if outcome == "already-completed":
        return (f"Backfill {name} is already completed ({cp.rows_done:,} rows): nothing to do. "
                f"`migrator backfill restart {name}` runs it again.")
    if outcome == "paused":
        return (f"Backfill {name} paused: stopped after its current batch with {cp.rows_done:,} rows done, "
                f"last key {cp.last_key}.")
    if outcome == "taken-over":
        return (f"Backfill {name} was taken over by runner {cp.runner} (this runner's lease had run out): "
                f"stopped after its current batch ({cp.rows_done:,} rows done).")
    return f"Backfill {name} is now {outcome} (changed by another process): stopped after its current batch."


def _transitions(runner, chosen: list[Backfill], action: str) -> int:
    """pause / resume / restart of the named backfill, or of every declared one."""
    if not chosen:
        log.result(f"No backfills declared for service {runner.service.name}.")
        return ExitStatus.OK
    store = _ensure_tables(runner)
    for bf in chosen:
        _transition(runner, store, bf, action)
    return ExitStatus.OK


def _transition(runner, store: Checkpoints, bf: Backfill, action: str) -> None:
    """One checkpoint update and its event, in one transaction; no batches."""
    store.ensure_row(bf.name)
    with runner.db.transaction():
        cp = store.get(bf.name, for_update=True)
        event, message = _TRANSITIONS[action](store, bf, cp)
        if event:
            runner.tracker.event(event, bf.requires, backfill=bf.name, by="command",
                                 previous_status=cp.status, rows_done=cp.rows_done, last_key=cp.last_key)
    if event:
        runner.log.info(event, backfill=bf.name, by="command", previous_status=cp.status,
                        rows_done=cp.rows_done, last_key=cp.last_key)
    log.result(message)


def _pause(store: Checkpoints, bf: Backfill, cp: Checkpoint) -> tuple[str | None, str]:
    if cp.status in ("paused", "completed"):
        return None, f"Backfill {bf.name} is already {cp.status}: nothing to pause."
    store.update(bf.name, status="paused")
    return "MIGRATION_BACKFILL_PAUSED", (f"Backfill {bf.name} paused (was {cp.shown_status}, {cp.rows_done:,} "
                                         f"rows done, last key {cp.last_key}).{_pause_tail(cp)}")


def _pause_tail(cp: Checkpoint) -> str:
    """What happens to a runner: only one that holds a live lease is stopped."""
    if cp.lease_live():
        return f" Its runner {cp.runner} stops after its current batch."
    if cp.status == "running" and cp.runner:
        return f" No runner is active, none is stopped (last runner {cp.runner}, last heartbeat {cp.heartbeat_at})."
    return ""


def _resume(store: Checkpoints, bf: Backfill, cp: Checkpoint) -> tuple[str | None, str]:
    if cp.status not in ("paused", "failed"):
        extra = f" `migrator backfill restart {bf.name}` runs it again." if cp.status == "completed" else ""
        return None, f"Backfill {bf.name} is {cp.status}, not paused: nothing to resume.{extra}"
    store.update(bf.name, status="pending", error=None)
    where = f"after key {cp.last_key}" if cp.last_key is not None else "from the start"
    return "MIGRATION_BACKFILL_RESUMED", (f"Backfill {bf.name} resumed: pending; the next "
                                          f"`migrator backfill run` continues {where}.")


def _restart(store: Checkpoints, bf: Backfill, cp: Checkpoint) -> tuple[str | None, str]:
    store.reset(bf.name)
    return "MIGRATION_BACKFILL_RESTARTED", (f"Backfill {bf.name} reset to pending (was {cp.status}, "
                                            f"{cp.rows_done:,} rows done): the next run starts over "
                                            "from the lowest key.")


_TRANSITIONS = {"pause": _pause, "resume": _resume, "restart": _restart}


def _status_item(bf: Backfill | None, cp: Checkpoint | None, name: str) -> dict:
    cp = cp or Checkpoint(name)
    item = {"name": name, "status": cp.shown_status, "rows_done": cp.rows_done, "last_key": cp.last_key,
            "total_estimate": cp.total_estimate, "percent": cp.percent, "started_at": cp.started_at,
            "updated_at": cp.updated_at, "completed_at": cp.completed_at, "error": cp.error,
            "runner": cp.runner, "heartbeat_at": cp.heartbeat_at, "lease_live": cp.lease_live(),
            "declared": bf is not None}
    if bf is not None:
        item.update(requires=bf.requires, table=bf.table)
    return item


def _status(runner, chosen: list[Backfill], fmt: str, show_undeclared: bool) -> int:
    rows = Checkpoints(runner.db, runner.service).all()
    items = [_status_item(bf, rows.get(bf.name), bf.name) for bf in chosen]
    if show_undeclared:
        declared = {bf.name for bf in chosen}
        items += [_status_item(None, cp, n) for n, cp in rows.items() if n not in declared]
    if fmt == "json":
        import json

        log.result(json.dumps({"service": runner.service.name, "table_prefix": runner.service.table_prefix,
                               "backfills": items}))
        return ExitStatus.OK
    log.result(f"Backfills of service {runner.service.name} (checkpoints in "
               f"{runner.service.backfills_table}) on {runner.db.dsn.redacted()}")
    log.result(f"{'NAME':<36} {'STATUS':<11} {'ROWS DONE':>12} {'TOTAL':>12} {'PCT':>6}  "
               f"{'LAST KEY':<20} UPDATED AT")
    for i in items:
        total = f"{i['total_estimate']:,}" if i["total_estimate"] is not None else "-"
        pct = f"{i['percent']:.1f}%" if i["percent"] is not None else "-"
        last = "-" if i["last_key"] is None else str(i["last_key"])
        note = "" if i["declared"] else "  (no declaration)"
        log.result(f"{i['name'][:36]:<36} {i['status']:<11} {i['rows_done']:>12,} {total:>12} {pct:>6}  "
                   f"{last:<20} {i['updated_at'] or '-'}{note}")
        if i["lease_live"]:
            log.result(f"  runner: {i['runner']}, last heartbeat {i['heartbeat_at']}")
        elif i["status"] == "interrupted":
            log.result(f"  interrupted: no runner holds its lease (last runner {i['runner'] or '-'}, last "
                       f"heartbeat {i['heartbeat_at'] or '-'}); the next `migrator backfill run` continues it")
        if i["error"]:
            log.result(f"  error: {i['error']}")
    if not items:
        log.result("(no backfills declared)")
    return ExitStatus.OK


def _list(service: Service, chosen: list[Backfill], rows: dict, fmt: str, runner) -> int:
    items = [dict(name=bf.name, requires=bf.requires, table=bf.table, key=bf.key, batch_size=bf.batch_size,
                  pause_ms=bf.pause_ms, description=bf.description, file=str(bf.path),
                  dialects=sorted(bf.sql), status=(rows.get(bf.name) or Checkpoint(bf.name)).status
                  if runner is not None else None) for bf in chosen]
    if fmt == "json":
        import json

        log.result(json.dumps({"service": service.name, "backfills": items}))
        return ExitStatus.OK
    log.result(f"{'NAME':<36} {'REQUIRES':>8}  {'TABLE':<24} {'KEY':<12} {'BATCH':>8}  "
               f"{'STATUS':<10} DESCRIPTION")
    for i in items:
        log.result(f"{i['name'][:36]:<36} {i['requires']:>8}  {i['table'][:24]:<24} {i['key'][:12]:<12} "
                   f"{i['batch_size']:>8,}  {i['status'] or '-':<10} {i['description']}")
    if not items:
        log.result(f"(no backfills declared in {service.root / 'backfills'})")
    return ExitStatus.OK
