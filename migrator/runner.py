"""The engine: lock, checks, and per-migration execute/record, with events.

Transactional migrations (PostgreSQL, SQLite, CockroachDB) commit with their
tracking row. MySQL migrations and ``-- migrator:no-transaction`` files use the
dirty-flag protocol: the row is written dirty first and cleaned on success.
"""

from __future__ import annotations

import time

from migrator import catalog, log
from migrator.errors import ChecksumMismatch, DesyncError, DirtyError, MigrationFailed, UsageError
from migrator.execute import DATABASE_ERRORS, Executor
from migrator.locking import held
from migrator.objects import relation_of
from migrator.source import Migration, Service
from migrator.split import Statement, split
from migrator.tracking import AppliedRow, Tracker

FATAL_DESYNC = (
    "FATAL: the migration tracking table is out of sync with the actual database schema — "
    "it claims migrations are applied whose objects do not exist. This is a tracking desync, "
    "not a migration bug."
)
REPAIR_HINT = "Re-run with MIGRATE_REPAIR_TRACKING=1 to rewind tracking from version {version}"
REPAIR_REFUSED = "Auto-repair refused: the desync is partial or non-contiguous"


class MigrationLock:
    """A service's migration lock: a database session lock keyed by its table prefix."""

    wait_event = "MIGRATION_LOCK_WAIT"
    release_failed_event = "MIGRATION_UNLOCK_FAILED"

    def __init__(self, db, key: str, timeout: float):
        self.db, self.key, self.timeout = db, key, timeout

    def acquire(self, on_wait) -> None:
        self.db.lock(self.key, self.timeout, on_wait=lambda: on_wait(
            lock_timeout=self.timeout, message="waiting for the migration lock"))

    def release(self) -> None:
        self.db.unlock(self.key)

    def release_failed(self, exc: BaseException) -> dict:
        return dict(error=self.db.describe_error(exc), message="could not release the migration lock")


class Runner:
    """One service on one open database."""

    def __init__(self, db, service: Service):
        self.db = db
        self.service = service
        self.tracker = Tracker(db, service)
        self.migrations: list[Migration] = service.migrations(db.files_dialect)
        self.by_version = {m.version: m for m in self.migrations}
        self.log = log.get().bind(service=service.name)
        self.model: catalog.SchemaModel | None = None  # this run's view of the catalog (apply)
        self.desync: catalog.Desync | None = None  # what check_desync found repairable
        self._statements: dict[tuple[int, bool], list[Statement]] = {}
        self.executor = Executor(db, self.log)

    @property
    def dialect(self) -> str:
        return self.db.files_dialect

    # -- lock ---------------------------------------------------------------
    def locked(self, timeout: float):
        """Hold the service's migration lock for a block, waiting up to ``timeout`` seconds for it."""
        return held(MigrationLock(self.db, self.service.table_prefix, timeout), self.log)

    # -- checks -------------------------------------------------------------
    def rows(self) -> dict[int, AppliedRow]:
        return self.tracker.rows()

    def check_access(self) -> None:
        """An object this user cannot see is not missing: refuse to judge the schema without the
        privileges to see all of it (and to read the tracking table)."""
        missing = self.db.missing_grants([self.service.tracking_table, self.service.events_table])
        if missing:
            raise UsageError(
                f"the database user lacks privileges the migrator needs to read tracking and see the "
                f"whole schema of service {self.service.name}: {'; '.join(missing)}",
                hint="grant them (the README's 'Database grants' lists what each command needs); "
                     "an object the user cannot see would otherwise count as missing")

    def check_dirty(self, rows: dict[int, AppliedRow]) -> None:
        dirty = [v for v, r in rows.items() if r.dirty]
        if dirty:
            log.error_event(self.log, "MIGRATION_DIRTY", version=dirty[0])
            raise DirtyError(dirty[0])

    def changed_files(self, rows: dict[int, AppliedRow]) -> list[int]:
        """Applied versions whose file no longer matches the checksum recorded when it was applied."""
        return [m.version for m in self.migrations
                if m.version in rows and rows[m.version].checksum not in m.checksums]

    def check_checksums(self, rows: dict[int, AppliedRow]) -> None:
        changed = [(self.by_version[v], rows[v]) for v in self.changed_files(rows)]
        if changed:
            m, row = changed[0]
            raise ChecksumMismatch(
                f"checksum mismatch: applied migration {m.version} changed on disk: {m.up.path}",
                details=[f"  {c.up.path}: recorded sha256 {r.checksum[:12]}…, file sha256 {c.checksum[:12]}…"
                         for c, r in changed],
                hint="restore the file as it was applied; put new changes in a new migration",
            )

    def check_unknown(self, rows: dict[int, AppliedRow]) -> None:
        newest = self.migrations[-1].version if self.migrations else 0
        unknown = sorted(v for v in rows if v not in self.by_version)
        below = [v for v in unknown if v < newest]
        if below:
            raise UsageError(
                f"applied migration {below[0]} has no file in {self.service.root / self.dialect}"
                f" (applied but not shipped: {', '.join(map(str, below))})",
                hint="restore the missing files, or record the real state with `migrator force`",
            )
        if unknown:
            self.log.warning("MIGRATION_DATABASE_NEWER", message="database is newer than this migrator",
                             newest_shipped=newest,
                             newest_applied=unknown[-1])

    def check_foreign_objects(self, rows: dict[int, AppliedRow]) -> None:
        """No tracking rows, but the schema already holds what the migrations create."""
        if rows or not self.migrations:
            return
        created = set().union(*(catalog.created_relations(self.statements(m)) for m in self.migrations))
        relations = {o.split(":", 1)[1] for o in created}
        if not created & self._others_objects(relations):
            return  # a fresh database: none of the relations the migrations create is there
        from migrator import declared  # the SQL reading of lint: only a database without tracking rows needs it

        history = declared.steps([(m.version, m.up.text) for m in self.migrations], self.dialect)
        schema = self._others_objects(declared.relations(history) - self.service.own_tables)
        existing = sorted({o for step in history for o in step.created} & schema,
                          key=lambda o: (o.split(":", 1)[0] not in ("table", "view", "sequence"), o))
        if not existing:
            return
        proven = declared.proven_version(history, schema)
        if proven is None:
            hint = ("no version can be proven: the schema matches no single version (a migration applied "
                    "in part, or objects changed by hand); make it match one by hand, then record that "
                    "version with `migrator force <version>` and run up again")
        else:
            hint = (f"the schema shows every table, column, index and constraint up to version {proven} "
                    f"and nothing of a later one: record it with `migrator force {proven}` and run up again")
        raise DesyncError(
            f"the database has no tracking rows in {self.service.tracking_table} but already holds "
            f"objects the migrations create ({', '.join(existing[:8])}{', ...' if len(existing) > 8 else ''}): "
            "refusing to migrate over an untracked schema",
            hint=hint,
        )

    def _others_objects(self, relations: set[str]) -> set[str]:
        """The objects on ``relations``, less the tracking, events and backfill tables of any
        service: another service sharing the database is not an untracked schema."""
        found = self.db.snapshot(relations)
        theirs = catalog.migrator_tables(found)
        return {o for o in found if relation_of(o) not in theirs}

    def check_desync(self, rows: dict[int, AppliedRow], repair: bool) -> list[int]:
        """Verify tracking against the schema. Returns the versions to rewind (repair)."""
        desync = catalog.check(self.db, rows.values())
        if desync is None:
            if repair:
                self.log.warning("MIGRATE_REPAIR_TRACKING_NOT_NEEDED", message="MIGRATE_REPAIR_TRACKING is set but "
                                 "tracking is in sync: nothing to repair; set the break-glass flag back to false")
            return []
        if desync.repairable and repair:
            self.desync = desync
            return desync.rewind
        raise self.desync_error(desync, rows)

    def desync_error(self, desync: catalog.Desync, rows) -> DesyncError:
        """The FATAL desync error (and its log event): what can be done, per version what is wrong."""
        log.error_event(self.log, "MIGRATION_TRACKING_DESYNC", versions=desync.versions, missing=desync.missing,
                        resurrected=desync.resurrected, repairable=desync.repairable)
        return DesyncError(FATAL_DESYNC, details=self.desync_lines(desync, rows), hint=self.desync_hint(desync))

    def desync_lines(self, desync: catalog.Desync, rows) -> list[str]:
        invalid = set(desync.invalid)

        def describe(v: int) -> list[str]:
            head = f"  version {v} ({rows[v].name}):"
            out = [f"{head} missing {', '.join(desync.missing[v])}"] if v in desync.missing else []
            out += [f"{head} invalid {o} (a failed CREATE INDEX CONCURRENTLY left it; drop it with "
                    f"DROP INDEX CONCURRENTLY {o.rpartition('.')[2]};)"
                    for o in desync.missing.get(v, ()) if o in invalid]
            if v in desync.resurrected:
                out.append(f"{head} resurrected {', '.join(desync.resurrected[v])} "
                           "(recorded as dropped, exists again)")
            if desync.present.get(v):
                out.append(f"{head} still present {', '.join(desync.present[v])}")
            if desync.not_back.get(v) and desync.contiguous_newest:
                out.append(f"{head} still dropped {', '.join(desync.not_back[v])} (running it again "
                           "needs them back)")
            return out

        first = (REPAIR_HINT.format(version=desync.rewind_from) if desync.repairable else REPAIR_REFUSED)
        return [first] + [line for v in desync.versions for line in describe(v)]

    def desync_hint(self, desync: catalog.Desync) -> str:
        if desync.repairable:
            rewind = desync.rewind
            return (f"the schema is older than its tracking (e.g. a restored dump): to delete tracking rows "
                    f"{', '.join(map(str, rewind))} and apply them again, run `up` once with "
                    f"MIGRATE_REPAIR_TRACKING=1 (Helm: {self.service.name}.migration.repairTracking: true), "
                    "then set it back")
        if desync.invalid:
            names = ", ".join(o.rpartition(".")[2] for o in desync.invalid)
            return (f"drop the invalid index ({names}) with DROP INDEX CONCURRENTLY, then run "
                    "`migrator verify` again")
        return ("the flag cannot fix this: make the schema match one version by hand (recreate what is missing, "
                "drop what came back or was left behind), record that version with `migrator force <version>`, "
                "then run `migrator up`")

    def repair(self, rewind: list[int]) -> None:
        desync = self.desync
        detail = {"versions": rewind, "missing": {str(v): o for v, o in desync.missing.items()},
                  "resurrected": {str(v): o for v, o in desync.resurrected.items()}}
        with self.db.transaction():
            self.tracker.delete(rewind)
            self.tracker.event("MIGRATION_TRACKING_REPAIRED", rewind[0], **detail)
        self.log.warning("MIGRATION_TRACKING_REPAIRED", **detail)
        log.operator(f"Tracking rewound from version {rewind[0]}: removed rows "
                     f"{', '.join(map(str, rewind))}; re-applying them now.")

    def atomic_repair(self, rewind: list[int]) -> bool:
        """The rewind and the re-application can be one transaction: every rewound migration is
        transactional (PostgreSQL, SQLite, CockroachDB; no no-transaction file among them)."""
        return all(v in self.by_version and self.transactional(self.by_version[v]) for v in rewind)

    # -- plan ---------------------------------------------------------------
    def pending(self, rows: dict[int, AppliedRow], target: int | None = None) -> list[Migration]:
        return [m for m in self.migrations
                if m.version not in rows and (target is None or m.version <= target)]

    def statements(self, m: Migration, down: bool = False) -> list[Statement]:
        key = (m.version, down)
        if key not in self._statements:
            self._statements[key] = split((m.down if down else m.up).text, self.dialect)
        return self._statements[key]

    def transactional(self, m: Migration, down: bool = False) -> bool:
        sql_file = m.down if down else m.up
        return self.db.transactional_ddl and not sql_file.no_transaction

    # -- execution ------------------------------------------------------------
    def _run(self, m: Migration, statements: list[Statement], path) -> None:
        self.executor.run(m, statements, path, self.transactional(m, down=path != m.up.path))

    def _started(self, m: Migration, down: bool = False) -> None:
        transactional = self.transactional(m, down)
        mode = "transaction" if transactional else "no-transaction" if (m.down if down else m.up).no_transaction \
            else "no transaction (DDL commits implicitly): dirty flag"
        statements = len(self.statements(m, down))
        self.log.info("MIGRATION_STARTED", version=m.version, name=m.name, statements=statements, mode=mode,
                      action="down" if down else "up",
                      message=f"{'rolling back' if down else 'applying'} {m.version} {m.name}: "
                              f"{statements} statement{'' if statements == 1 else 's'}, {mode}")

    def _failed(self, m: Migration, error: MigrationFailed, dirty: bool, action: str) -> None:
        if error.retrying:  # the lock-retry loop tries it again: not a failure yet
            return
        log.error_event(self.log, error.event, version=m.version, name=m.name, error=error.message,
                        action=action, dirty=dirty, **error.fields)
        error.logged = True
        try:
            self.tracker.event(error.event, m.version, name=m.name, error=error.message,
                               action=action, dirty=dirty, **error.fields)
        except DATABASE_ERRORS as exc:
            self.log.warning("MIGRATION_EVENT_NOT_RECORDED", error=self.db.describe_error(exc),
                             message="could not record the failure event")
        if dirty:
            error.hint = (f"the database is now dirty at version {m.version}: inspect the schema, complete "
                          f"or revert it by hand, then run `migrator force <version>`")
        else:
            error.hint = "the migration was rolled back; nothing was recorded"

    def apply(self, m: Migration) -> int:
        self._started(m)
        return self.executor.with_lock_retries(m, lambda: self._apply(m))

    def _apply(self, m: Migration) -> int:
        statements = self.statements(m)
        own = self.service.own_tables
        if self.model is None:  # knowing how the statements still to run spell their names
            self.model = catalog.SchemaModel(self.db, catalog.spelled_names(
                s for n in self.migrations if n.version >= m.version for s in self.statements(n)))
        far = catalog.far_reaching(statements)
        # the relations to read before and after (none for INSERT/UPDATE/DELETE alone)
        names = set() if catalog.data_only(statements) else catalog.relation_names(statements, bodies=far) - own
        if names and not self.model.known:  # one catalog query for the names of every migration still to run
            self.model.scope(set().union(*(catalog.relation_names(self.statements(n)) for n in self.migrations
                                           if n.version >= m.version)) - own)
        scope = self.model.wide_scope(names) if far else self.model.scope(names)
        started = time.monotonic()
        if self.transactional(m):
            self.executor.begin(m)
            try:
                before = self.model.before(scope)
                self._run(m, statements, m.up.path)
                change = self._change(statements, names, scope, before, far)
                ms = int((time.monotonic() - started) * 1000)
                self.db.batch([
                    self.tracker.insert_statement(m, dirty=False, created=change.created,
                                                  dropped=change.dropped, execution_ms=ms),
                    self._applied_event(m, ms, change)], commit=True)
            except BaseException as exc:
                self.model.reset()  # a failed after-snapshot or COMMIT: trust the catalog again
                self.db.rollback_after(exc)
                if isinstance(exc, MigrationFailed):
                    self._failed(m, exc, dirty=False, action="up")
                raise
        else:
            self.tracker.insert(m, dirty=True)
            before = self.model.before(scope)
            try:
                self._run(m, statements, m.up.path)
            except MigrationFailed as exc:
                self.model.reset()
                self._failed(m, exc, dirty=True, action="up")
                raise
            change = self._change(statements, names, scope, before, far)
            ms = int((time.monotonic() - started) * 1000)
            try:
                self.db.batch([
                    self.tracker.mark_clean_statement(m.version, created=change.created,
                                                      dropped=change.dropped, execution_ms=ms),
                    self._applied_event(m, ms, change)], begin=True, commit=True)
            except BaseException as exc:
                self.db.rollback_after(exc)
                raise
        if far:
            self.model.reset()
        self.log.info("MIGRATION_APPLIED", version=m.version, name=m.name, execution_ms=ms,
                      created=len(change.created), dropped=len(change.dropped))
        return ms

    def _change(self, statements: list[Statement], names: set[str], scope: set[str], before: set[str],
                far: bool) -> catalog.Change:
        """What the migration changed, from the after-snapshot (one catalog query; none when
        its statements name no relation: rows alone, comments)."""
        if not scope:
            return catalog.Change(set(), set())
        now = self.model.after(scope)
        own = self.model.with_owned(self.service.own_tables | catalog.migrator_tables(before | now))
        change = catalog.recorded(before, now, statements, own)
        if far:  # relations it reached but does not name may be another service's: only what
            named = self.model.with_owned(names)  # this service recorded counts as its drop there
            live = catalog.live_objects(self.rows().values())
            change = catalog.Change({o for o in change.created if relation_of(o) in named},
                                    {o for o in change.dropped if relation_of(o) in named or o in live})
        return change

    def _applied_event(self, m: Migration, ms: int, change: catalog.Change):
        return self.tracker.event_statement("MIGRATION_APPLIED", m.version, name=m.name, execution_ms=ms,
                                      created=sorted(change.created), dropped=sorted(change.dropped))

    def revert(self, m: Migration) -> int:
        self._started(m, down=True)
        return self.executor.with_lock_retries(m, lambda: self._revert(m))

    def _revert(self, m: Migration) -> int:
        statements = self.statements(m, down=True)
        started = time.monotonic()
        try:
            if self.transactional(m, down=True):
                with self.db.transaction():
                    self._run(m, statements, m.down.path)
                    self.tracker.delete([m.version])
                    self.tracker.event("MIGRATION_ROLLED_BACK", m.version, name=m.name)
            else:
                self.tracker.set_dirty(m.version, True)
                self._run(m, statements, m.down.path)
                with self.db.transaction():
                    self.tracker.delete([m.version])
                    self.tracker.event("MIGRATION_ROLLED_BACK", m.version, name=m.name)
        except MigrationFailed as exc:
            self._failed(m, exc, dirty=not self.transactional(m, down=True), action="down")
            raise
        ms = int((time.monotonic() - started) * 1000)
        self.log.info("MIGRATION_ROLLED_BACK", version=m.version, name=m.name, execution_ms=ms)
        return ms

    def _dropped_now(self, version: int, rows) -> list[str]:
        """Objects that rows below ``version`` created, that its statements name, and that are
        gone; with them the gone sequences that a version recorded beside one of those (a
        SERIAL or IDENTITY column's sequence goes with its table or column, unnamed)."""
        m = self.by_version.get(version)
        if m is None:
            return []
        names = catalog.names_in(self.statements(m)) - self.service.own_tables
        live = catalog.live_objects([r for r in rows if r.version < version and not r.dirty])
        candidates = {o for o in live
                      if relation_of(o) in names or o.rsplit(".", 1)[-1].split(":")[-1] in names}
        if not candidates:
            return []
        creators = {live[o] for o in candidates}
        beside = {o for o in live if o.startswith("sequence:") and live[o] in creators} - candidates
        current = self.db.snapshot({relation_of(o) for o in candidates | beside})  # as in catalog.check
        gone = candidates - current
        return sorted(gone | {o for o in beside - current if live[o] in {live[g] for g in gone}})

    def force(self, version: int, rows: dict[int, AppliedRow]) -> dict[str, list[int]]:
        removed = sorted(v for v in rows if v > version)
        cleaned = sorted(v for v, r in rows.items() if v <= version and r.dirty)
        inserted = [m for m in self.migrations if m.version <= version and m.version not in rows]
        kept = [r for v, r in rows.items() if v <= version]
        accepted = version if version in rows and version in self.changed_files(rows) else None
        with self.db.transaction():
            self.tracker.delete_above(version)
            if accepted is not None:  # the way to accept an intentional edit of an applied file
                self.tracker.set_checksum(version, self.by_version[version].checksum)
            for v in cleaned:
                self.tracker.set_dirty(v, False)
            for m in inserted:
                self.tracker.insert(m, dirty=False, forced=True)
            # What the forced versions dropped, as the schema shows it now: otherwise verification
            # keeps expecting objects that a by-hand completed migration removed (a false desync).
            for v in sorted(set(cleaned) | {m.version for m in inserted}):
                dropped = self._dropped_now(v, kept)
                if dropped:
                    self.tracker.set_dropped(v, dropped)
            self.tracker.event("MIGRATION_FORCED", version, removed=removed, cleaned=cleaned,
                               recorded=[m.version for m in inserted], checksum_accepted=accepted)
        summary = {"removed": removed, "cleaned": cleaned, "recorded": [m.version for m in inserted],
                   "checksum_accepted": accepted}
        self.log.warning("MIGRATION_FORCED", version=version, **summary)
        return summary
