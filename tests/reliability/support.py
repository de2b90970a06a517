"""Helpers of the reliability suite (tests/reliability/).

- running the real CLI as subprocesses, many at once, each in its own process group
  (so SIGKILL reaches a whole `migrator` run);
- an independent look at a database: the migrator's catalog snapshot plus triggers and
  functions (what an operator sees with psql/mysql), the tracking and events rows read
  with plain SQL;
- the *oracle*: the example platform applied statement by statement into a reference
  database, with the schema recorded after every statement, so any state a killed run
  leaves behind can be named ("service S at version V, k of its n statements done");
- a throwaway PostgreSQL server (initdb + pg_ctl as a non-root user) for the tests that
  stop the server, need many connections, or need password authentication.

Nothing here reads /work/shared or anything outside the repository and /tmp.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import MIGRATIONS, ROOT, Result, TestDB, migrator_cmd

SERVICES = ("auth", "agentic", "analytics", "cortex", "apiOntology")
PREFIXES = {"auth": "platform", "agentic": "agentic", "analytics": "analytics", "cortex": "cortex",
            "apiOntology": "ontology"}
DIALECTS = ("sqlite", "postgres", "mysql")
# The suite's own PostgreSQL server has this role, which must authenticate with a password.
PW_ROLE = "reliability_pw"
PW_PASSWORD = "Rel/pw:with@odd chars#S3cr3t"

# Printed at the end of the session by conftest.pytest_terminal_summary.
REPORT: dict[str, list[str]] = {}


class KnownBug(AssertionError):
    """Raised by the one assertion of a test that checks a reported, unfixed bug, so that
    ``xfail(raises=KnownBug, strict=True)`` covers exactly that assertion: any other
    failure of the test still fails it, and the fix turns it into an XPASS (a failure)."""


def report(section: str, line: str) -> None:
    REPORT.setdefault(section, []).append(line)
    print(f"[{section}] {line}")


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


# -- running the CLI ------------------------------------------------------------------

def cli_env(extra: dict | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DSN", "DATABASE_URL", "MIGRATE_REPAIR_TRACKING", "MIGRATOR_MIGRATIONS_DIR")}
    env.update(extra or {})
    return env


def argv(*args, dsn=None, migrations=None, service=None, log_format="json") -> list[str]:
    cmd = migrator_cmd() + ["--log-format", log_format]
    if dsn:
        cmd += ["--database", dsn]
    if migrations:
        cmd += ["--migrations", str(migrations)]
    if service:
        cmd += ["--service", service]
    return cmd + [str(a) for a in args]


class Proc:
    """One subprocess in its own session (process group), output to temp files."""

    def __init__(self, cmd: list[str], env: dict | None = None, label: str = "", cwd=None):
        self.cmd = cmd
        self.label = label or " ".join(cmd[-3:])
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.p = subprocess.Popen(cmd, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
                                  env=cli_env(env), start_new_session=True, cwd=cwd)
        self.ended: float | None = None
        self.killed = False

    def poll(self) -> int | None:
        rc = self.p.poll()
        if rc is not None and self.ended is None:
            self.ended = time.monotonic()
        return rc

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.killed = True
            except ProcessLookupError:
                pass

    def wait(self, timeout: float = 300) -> Result:
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.p.wait(timeout=30)
            raise AssertionError(f"{self.label}: still running after {timeout:g}s (hang or deadlock); killed")
        self.poll()
        if self.killed:
            wait_group_gone(self.p.pid)
        return self.result()

    def peek_err(self) -> str:
        """stderr so far, without moving the file offset the child writes at."""
        return os.pread(self._err.fileno(), 1 << 22, 0).decode("utf-8", "replace")

    def result(self) -> Result:
        self._out.seek(0)
        self._err.seek(0)
        return Result(self.p.returncode, self._out.read().decode("utf-8", "replace"),
                      self._err.read().decode("utf-8", "replace"))

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started


def group_members(pgid: int) -> list[int]:
    """Processes of a process group with a live (non-zombie) thread, from /proc.

    Every thread counts, not only the leader: when SIGKILL ends a threaded process, its
    main thread can be a zombie while another thread is still exiting, and the files
    (a SQLite runner's flock) close only with the last thread."""
    members = set()
    for stat in Path("/proc").glob("[0-9]*/task/[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.add(int(stat.parent.parent.parent.name))
    return sorted(members)


def wait_group_gone(pgid: int, timeout: float = 30) -> None:
    """After SIGKILL of a group: wait until its last member has exited (and so closed
    its files: a SQLite runner's flock dies with it)."""
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process group {pgid} still alive {timeout:g}s after SIGKILL")
        time.sleep(0.01)


def run(*args, dsn=None, migrations=None, service=None, env=None, timeout=180, input=None,
        log_format="json") -> Result:
    p = subprocess.run(argv(*args, dsn=dsn, migrations=migrations, service=service, log_format=log_format),
                       capture_output=True, text=True, env=cli_env(env), timeout=timeout, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL)
    return Result(p.returncode, p.stdout, p.stderr)


def run_many(cmds: list[tuple[str, list[str]]], timeout: float = 300, env=None) -> dict[str, Result]:
    """Start every (label, argv) at once, wait for all."""
    procs = [(label, Proc(cmd, env=env, label=label)) for label, cmd in cmds]
    out = {}
    for label, p in procs:
        out[label] = p.wait(timeout)
    return out


def run_batch(command_lines: list[list[str]], timeout: float = 300) -> list[Result]:
    """Several command lines (without the program name) through ``migrator.cli.main``
    in one Python process (tests/reliability/cli_batch.py)."""
    import sys

    p = subprocess.run([sys.executable, "-m", "tests.reliability.cli_batch", json.dumps(command_lines)],
                       capture_output=True, text=True, env=cli_env(), timeout=timeout, cwd=ROOT,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError(f"cli_batch failed ({p.returncode}): {p.stderr[-3000:]}")
    return [Result(r["code"], r["out"], r["err"]) for r in json.loads(p.stdout)]


def error_line(result: Result) -> str | None:
    """The first stderr line that starts with ``Error:`` (the operator's one-line error)."""
    for line in result.err.splitlines():
        if line.startswith("Error:"):
            return line
    return None


def describe(result: Result, limit: int = 1500) -> str:
    return (f"exit {result.code}\n--- stdout ---\n{result.out[-limit:]}\n--- stderr ---\n{result.err[-limit:]}")


# -- looking at a database ------------------------------------------------------------

EXTRA_OBJECTS = {
    "postgres": [
        "SELECT 'trigger:' || lower(c.relname) || '.' || lower(t.tgname) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND NOT t.tgisinternal",
        "SELECT 'function:' || lower(p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema()",
    ],
    "mysql": [
        "SELECT CONCAT('trigger:', LOWER(EVENT_OBJECT_TABLE), '.', LOWER(TRIGGER_NAME)) "
        "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
        "SELECT CONCAT('function:', LOWER(ROUTINE_NAME)) FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA = DATABASE()",
    ],
    "sqlite": [
        "SELECT 'trigger:' || lower(tbl_name) || '.' || lower(name) FROM sqlite_master WHERE type = 'trigger'",
    ],
}
PG_INVALID_INDEXES = (
    "SELECT lower(c.relname) || '.' || lower(i.relname) FROM pg_index x "
    "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND NOT x.indisvalid"
)


ROUTINE_DDL = re.compile(r"\b(TRIGGER|FUNCTION|PROCEDURE|DROP\s+TABLE)\b", re.IGNORECASE)


def relation_of(obj: str) -> str:
    kind, _, rest = obj.partition(":")
    return rest if kind in ("table", "view", "sequence", "function") else rest.split(".", 1)[0]


def inspect_db(db, dialect: str, names=None) -> frozenset[str]:
    """Every schema object: the migrator's snapshot kinds plus triggers and functions;
    with ``names``, only the objects on those relations (MariaDB's information_schema
    is slow unfiltered)."""
    wanted = None if names is None else {n.lower() for n in names}
    objs = set(db.snapshot(wanted))
    for sql in EXTRA_OBJECTS[dialect]:
        objs.update(r[0] for r in db.query(sql))
    if wanted is not None:
        objs = {o for o in objs if relation_of(o) in wanted}
    return frozenset(objs)


def inspect(test_db: TestDB, names=None) -> frozenset[str]:
    db = test_db.connect()
    try:
        return inspect_db(db, test_db.dialect, names)
    finally:
        db.close()


@dataclass
class TrackingRow:
    version: int
    name: str | None
    checksum: str | None
    applied_at: object
    execution_ms: object
    dirty: bool
    forced: bool
    created: object
    dropped: object


def tracking_rows(db, prefix: str) -> list[TrackingRow] | None:
    """Raw tracking rows (None: no tracking table)."""
    if f"table:{prefix}_migrations" not in db.snapshot({f"{prefix}_migrations"}, kinds=("table",)):
        return None
    rows = db.query(f"SELECT version, name, checksum, applied_at, execution_ms, dirty, forced, "
                    f"objects_created, objects_dropped FROM {db.quote(prefix + '_migrations')} ORDER BY version")
    return [TrackingRow(int(r[0]), r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6]), r[7], r[8]) for r in rows]


def event_rows(db, prefix: str) -> list[tuple[str, int | None, str]]:
    if f"table:{prefix}_migration_events" not in db.snapshot({f"{prefix}_migration_events"}, kinds=("table",)):
        return []
    return [(r[0], None if r[1] is None else int(r[1]), r[2]) for r in db.query(
        f"SELECT event, version, detail FROM {db.quote(prefix + '_migration_events')} ORDER BY id")]


def quiesce(test_db: TestDB, timeout: float = 60) -> float:
    """Wait until no other client session is connected to the database (a killed
    client's server session finishes the statement it was running, then goes away).
    Returns the seconds waited."""
    if test_db.dialect == "sqlite":
        return 0.0
    sql = {
        "postgres": "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        "mysql": "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() "
                 "AND ID <> CONNECTION_ID()",
    }[test_db.dialect]
    started = time.monotonic()
    db = test_db.connect()
    try:
        while True:
            n = int(db.query(sql)[0][0])
            if n == 0:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{n} orphaned session(s) still connected to {test_db.name} "
                                     f"{timeout:g}s after the runners died")
            time.sleep(0.05)
    finally:
        db.close()


def locks_free(test_db: TestDB, prefixes) -> list[str]:
    """The runner locks that cannot be taken right now (should be none)."""
    held = []
    db = test_db.connect()
    try:
        for prefix in prefixes:
            if db.try_lock(prefix):
                db.unlock(prefix)
            else:
                held.append(prefix)
    finally:
        db.close()
    return held


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the oracle -------------------------------------------------------------------------

@dataclass
class ServiceOracle:
    """One service of the example platform on one dialect: its migrations and the
    schema (restricted to the service's own relations) after each statement."""

    service: str
    prefix: str
    versions: list[int]
    names: dict[int, str]
    checksums: dict[int, str]
    statements: dict[int, list[str]]
    no_transaction: set[int]
    down_statements: dict[int, list[str]] = field(default_factory=dict)
    prefix_states: dict[int, list[frozenset]] = field(default_factory=dict)  # v -> [after 0..n stmts]
    relations: frozenset = frozenset()

    @property
    def newest(self) -> int:
        return self.versions[-1]

    def state(self, version: int) -> frozenset:
        """The schema with every migration up to ``version`` fully applied."""
        if version == 0:
            return frozenset()
        return self.prefix_states[version][-1]

    def own(self, objects) -> frozenset:
        return frozenset(o for o in objects if relation_of(o) in self.relations)

    def dropped_by(self, version: int) -> frozenset:
        """The objects that migration ``version`` removes."""
        return self.state(self.previous(version)) - self.state(version)

    def previous(self, version: int) -> int:
        i = self.versions.index(version)
        return self.versions[i - 1] if i else 0


def load_service_migrations(root: Path, service: str, dialect: str):
    from migrator.source import select_service

    svc = select_service(root, service)
    return svc, svc.migrations(dialect)


def build_oracle(test_db: TestDB, root: Path = MIGRATIONS) -> dict[str, ServiceOracle]:
    """Apply every service statement by statement (autocommit) into the empty ``test_db``."""
    from migrator.catalog import names_in
    from migrator.split import split

    dialect = test_db.dialect
    out: dict[str, ServiceOracle] = {}
    db = test_db.connect()
    try:
        for service in SERVICES:
            svc, migrations = load_service_migrations(root, service, dialect)
            so = ServiceOracle(service, svc.table_prefix, [m.version for m in migrations],
                               {m.version: m.name for m in migrations},
                               {m.version: m.checksum for m in migrations},
                               {m.version: [s.sql for s in split(m.up.text, dialect)] for m in migrations},
                               {m.version for m in migrations if m.no_transaction},
                               {m.version: [s.sql for s in split(m.down.text, dialect)]
                                for m in migrations if m.down is not None})
            names = None
            if dialect == "mysql":
                names = set()
                for m in migrations:
                    names |= names_in(split(m.up.text, dialect))
            base = inspect_db(db, dialect, names)
            raw: dict[int, list[frozenset]] = {}
            current = base
            for m in migrations:
                states = [current]
                for sql in so.statements[m.version]:
                    db.run_script_statement(sql)
                    if names is None or ROUTINE_DDL.search(sql):  # look at everything
                        current = inspect_db(db, dialect, names)
                    else:  # re-read only the relations the statement names; the rest carries over
                        touched = names_in(split(sql + ";", dialect))
                        if names is not None:
                            touched &= names
                        snap = {o for o in db.snapshot(touched) if relation_of(o) in touched}
                        current = frozenset({o for o in current if relation_of(o) not in touched
                                             or o.split(":", 1)[0] in ("trigger", "function")} | snap)
                    states.append(current)
                raw[m.version] = states
            full = inspect_db(db, dialect, names)
            assert full == current, (f"oracle for {service} on {dialect}: incremental snapshots drifted: "
                                     f"{sorted(full ^ current)[:10]}")
            relations = set()
            for states in raw.values():
                for snap in states:
                    relations.update(relation_of(o) for o in snap - base)
            so.relations = frozenset(relations)
            so.prefix_states = {v: [so.own(s) for s in states] for v, states in raw.items()}
            out[service] = so
    finally:
        db.close()
    return out


# -- classifying what a run left behind -----------------------------------------------

@dataclass
class ServiceState:
    service: str
    kind: str  # "fresh" (nothing of it), "clean" (at a version, no dirty row), "dirty"
    version: int  # highest tracking row (0: none)
    statements_done: int | None = None  # dirty: how many statements of `version` are in the schema
    statements_total: int | None = None
    rows: list[TrackingRow] = field(default_factory=list)
    invalid_indexes: list[str] = field(default_factory=list)


@dataclass
class Look:
    """One read of a database: its objects, and per table prefix the tracking rows
    (None: no tracking table) and events; PostgreSQL's INVALID indexes."""

    objects: frozenset
    rows: dict
    events: dict
    invalid: list


def look(test_db: TestDB, oracles) -> Look:
    prefixes = [o.prefix for o in oracles]
    names = None
    if test_db.dialect == "mysql":
        names = set().union(*(o.relations for o in oracles))
        names |= {f"{p}_{t}" for p in prefixes for t in ("migrations", "migration_events", "backfills")}
    db = test_db.connect()
    try:
        objects = inspect_db(db, test_db.dialect, names)
        rows, events = {}, {}
        for p in prefixes:
            rows[p] = tracking_rows(db, p) if f"table:{p}_migrations" in objects else None
            events[p] = event_rows(db, p) if f"table:{p}_migration_events" in objects else []
        invalid = [r[0] for r in db.query(PG_INVALID_INDEXES)] if test_db.dialect == "postgres" else []
    finally:
        db.close()
    return Look(objects, rows, events, invalid)


def classify(test_db: TestDB, oracle: ServiceOracle, allow_dirty: bool,
             check_events: bool = True, seen: Look | None = None) -> tuple[ServiceState, list[str]]:
    """Name the state of one service and list every way it is unexplainable."""
    problems: list[str] = []
    s = oracle.service
    seen = seen or look(test_db, [oracle])
    objects, rows, events = seen.objects, seen.rows[oracle.prefix], seen.events[oracle.prefix]
    invalid = [i for i in seen.invalid if i.split(".", 1)[0] in oracle.relations]
    own = oracle.own(objects)
    rows = rows or []
    versions = [r.version for r in rows]
    if versions != oracle.versions[:len(versions)]:
        problems.append(f"{s}: tracking versions {versions} are not a prefix of the shipped {oracle.versions}")
    for r in rows:
        if r.version not in oracle.names:
            continue
        bad = []
        if r.name != oracle.names[r.version]:
            bad.append(f"name {r.name!r}")
        if r.checksum != oracle.checksums[r.version]:
            bad.append(f"checksum {r.checksum!r}")
        if r.applied_at is None:
            bad.append("applied_at NULL")
        if r.execution_ms is None:
            bad.append("execution_ms NULL")
        for label, value in (("objects_created", r.created), ("objects_dropped", r.dropped)):
            try:
                if not isinstance(json.loads(value or "[]"), list):
                    bad.append(f"{label} not a JSON list")
            except ValueError:
                bad.append(f"{label} not JSON: {value!r}")
        if bad:
            problems.append(f"{s}: half-written tracking row {r.version}: {', '.join(bad)}")
    for _event, _version, detail in events:
        try:
            json.loads(detail)
        except ValueError:
            problems.append(f"{s}: event detail is not JSON: {detail!r}")
    dirty = [r.version for r in rows if r.dirty]
    top = versions[-1] if versions else 0
    if not rows:
        state = ServiceState(s, "fresh", 0, rows=rows)
        if own:
            problems.append(f"{s}: no tracking rows but the schema holds {sorted(own)[:8]}")
        return state, problems
    if not dirty:
        state = ServiceState(s, "clean", top, rows=rows)
        expected = oracle.state(top)
        if own != expected:
            problems.append(f"{s}: tracking says version {top} (clean) but the schema differs: "
                            f"missing {sorted(expected - own)[:8]}, unexpected {sorted(own - expected)[:8]}")
    else:
        state = ServiceState(s, "dirty", top, rows=rows)
        if dirty != [top]:
            problems.append(f"{s}: dirty rows {dirty} are not exactly the newest tracking row {top}")
        if not allow_dirty and top not in oracle.no_transaction:
            problems.append(f"{s}: dirty at version {top}, a transactional migration on {test_db.dialect}")
        states = oracle.prefix_states.get(top, [])
        matches = [k for k, snap in enumerate(states) if snap == own]
        state.statements_total = len(states) - 1
        if matches:  # several: a statement with no visible effect; assume it ran
            state.statements_done = max(matches)
        else:
            before = oracle.state(oracle.previous(top))
            problems.append(f"{s}: dirty at {top} but the schema is no statement prefix of {top}: "
                            f"vs version {oracle.previous(top)}: missing {sorted(before - own)[:8]}, "
                            f"unexpected {sorted(own - before)[:8]}")
    if invalid and state.kind != "dirty":  # a dirty no-transaction index build may leave one
        problems.append(f"{s}: INVALID index(es) left behind in a {state.kind} state: {invalid}")
    state.invalid_indexes = invalid
    if check_events:
        applied_events = sorted({v for e, v, _ in events if e == "MIGRATION_APPLIED"})
        clean = sorted(r.version for r in rows if not r.dirty)
        if applied_events != clean:
            problems.append(f"{s}: MIGRATION_APPLIED events for {applied_events} but clean rows {clean}")
    return state, problems


def platform_states(test_db, oracle, dialect, after_recovery=False):
    states, problems = {}, []
    seen = look(test_db, list(oracle.values()))
    for s in SERVICES:
        state, found = classify(test_db, oracle[s], allow_dirty=(dialect == "mysql") and not after_recovery,
                                check_events=not after_recovery, seen=seen)
        states[s] = state
        problems += found
        if after_recovery and (state.kind != "clean" or state.version != oracle[s].newest):
            problems.append(f"{s}: after recovery {state.kind} at {state.version}, not {oracle[s].newest}")
    return states, problems


def verify_all(test_db, migrations: Path = MIGRATIONS) -> dict:
    lines = [["--log-format", "json", "--database", test_db.dsn, "--migrations", str(migrations),
              "--service", s, "verify"] for s in SERVICES]
    return dict(zip(SERVICES, run_batch(lines)))


def short(states) -> str:
    out = []
    for s, st in states.items():
        if st.kind == "dirty":
            out.append(f"{s}:dirty@{st.version}({st.statements_done}/{st.statements_total})")
        else:
            out.append(f"{s}:{st.version}")
    return " ".join(out)


def operator_repair(test_db, so, state, migrations: Path = MIGRATIONS) -> tuple[int, str]:
    """The by-hand part of the operator's procedure for a dirty version: complete it (run
    the statements of it that are not in the schema), or, when none of them ran, give it
    up. Returns the version to `force` and what was done."""
    v, k, n = state.version, state.statements_done, state.statements_total
    if test_db.dialect == "postgres":
        db = test_db.connect()
        try:
            for (index,) in db.query(PG_INVALID_INDEXES):
                if index.split(".", 1)[0] in so.relations:  # README: drop an INVALID index and re-run
                    db.run_script_statement(f'DROP INDEX CONCURRENTLY IF EXISTS "{index.split(".", 1)[1]}"')
                    k = 0
        finally:
            db.close()
    if k == n:
        return v, f"all {n} statements of {v} are in the schema: force {v}"
    if k == 0:
        return so.previous(v), f"none of {v}'s statements ran: force {so.previous(v)}"
    test_db.execute(*so.statements[v][k:])
    return v, f"{k}/{n} statements of {v} ran: ran the other {n - k} by hand, force {v}"


def recover_dirty(test_db, oracle: dict, states: dict, migrations: Path = MIGRATIONS) -> dict:
    """For every dirty service: `up` must refuse with the exact dirty line (exit 3); then
    the by-hand fix and `force`. Returns {service: (forced version, what was done)}."""
    dirty = {s: st for s, st in states.items() if st.kind == "dirty"}
    if not dirty:
        return {}
    base = ["--log-format", "json", "--database", test_db.dsn, "--migrations", str(migrations)]
    refusals = dict(zip(dirty, run_batch([base + ["--service", s, "up"] for s in dirty])))
    for s, r in refusals.items():
        want = f"Error: Database is in dirty state at version {dirty[s].version}"
        if r.code != 3 or want not in r.err.splitlines():
            raise AssertionError(f"{s}: dirty at {dirty[s].version}, but `up` did not refuse with exit 3 "
                                 f"and {want!r}: {describe(r)}")
    plan = {s: operator_repair(test_db, oracle[s], st, migrations) for s, st in dirty.items()}
    forced = dict(zip(plan, run_batch([base + ["--service", s, "force", str(target), "--yes"]
                                       for s, (target, _) in plan.items()])))
    for s, r in forced.items():
        if r.code != 0:
            raise AssertionError(f"{s}: force {plan[s][0]} failed: {describe(r)}")
    return plan


FORCE_DROP_BUG = (
    "bug: `force V` after an operator completed a dirty migration V by hand records nothing of what V "
    "dropped, so verification still expects the dropped objects: `verify`/`up` exit 4 (desync, auto-repair "
    "refused as partial) and the service is stuck")


def missing_objects(result) -> set[str]:
    """The objects a desync report lists as missing."""
    found = set()
    for line in result.err.splitlines():
        m = re.match(r"\s+version \d+ \(.*?\): missing (.*)$", line)
        if m:
            found.update(x.strip() for x in m.group(1).split(","))
    return found


def is_force_drop_bug(so, forced_version: int, result) -> bool:
    dropped = so.dropped_by(forced_version) if forced_version else frozenset()
    missing = missing_objects(result)
    return result.code == 4 and bool(dropped) and bool(missing) and missing <= dropped


def recover_all(test_db, oracle: dict, states: dict, migrations: Path = MIGRATIONS,
                known_bugs: list | None = None) -> list[str]:
    """The operator's whole recovery: dirty services fixed by hand and forced, then `up` of
    every service (processes at once), which must all exit 0. A service that ends in the
    FORCE_DROP_BUG desync is recorded in ``known_bugs`` and worked around the only way the
    CLI allows: revert V by hand (its down file), `force V-1`, `up` (which re-applies V and
    records its drop)."""
    plan = recover_dirty(test_db, oracle, states, migrations)
    notes = [f"{s}: {how}" for s, (_, how) in plan.items()]
    for s, r in up_all(test_db, migrations).items():
        if r.code == 0:
            continue
        so, forced = oracle[s], plan.get(s, (0, ""))[0]
        if known_bugs is None or not is_force_drop_bug(so, forced, r):
            raise AssertionError(f"recovery `up` of {s} failed: {describe(r)}")
        known_bugs.append(f"{s}@{forced}")
        test_db.execute(*so.down_statements[forced])
        again = run_batch([["--log-format", "json", "--database", test_db.dsn, "--migrations", str(migrations),
                            "--service", s, "force", str(so.previous(forced)), "--yes"]])[0]
        up = run("up", dsn=test_db.dsn, migrations=migrations, service=s)
        if again.code != 0 or up.code != 0:
            raise AssertionError(f"{s}: workaround for the force/drop bug failed: {describe(again)}\n{describe(up)}")
        notes.append(f"{s}: KNOWN BUG after force {forced} (desync on what {forced} dropped); worked around: "
                     f"down file by hand, force {so.previous(forced)}, up")
    return notes


def up_all(test_db, migrations: Path = MIGRATIONS, flags=("--lock-timeout", "60")) -> dict:
    """`up` of every service, one process each, all at once."""
    return run_many([(s, argv(*flags, "up", dsn=test_db.dsn, migrations=migrations, service=s))
                     for s in SERVICES])


# -- a throwaway PostgreSQL server ----------------------------------------------------

def _pg_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    for path in reversed(candidates):
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScratchPostgres:
    """initdb'd into a temp dir, run as the `postgres` user when we are root."""

    def __init__(self, name: str, settings: dict | None = None, hba: list[str] = ()):
        self.bindir = _pg_bindir()
        if self.bindir is None:
            raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb")
        self.name = name
        self.settings = {"listen_addresses": "127.0.0.1", "fsync": "off", "max_connections": "100",
                         **(settings or {})}
        self.hba = list(hba)
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix=f"migrator-reliability-{name}-", dir="/tmp"))
        self.data = self.base / "data"
        self.logfile = self.base / "server.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        self.base.chmod(0o700)
        self._sh(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "-N", "-E", "UTF8", "--no-locale")
        (self.data / "pg_hba.conf").write_text(
            "".join(line + "\n" for line in self.hba)
            + "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        if self.as_postgres:
            shutil.chown(self.data / "pg_hba.conf", "postgres", "postgres")

    def _sh(self, *cmd: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        full = (["runuser", "-u", "postgres", "--"] if self.as_postgres else []) + list(cmd)
        p = subprocess.run(full, capture_output=True, text=True, timeout=timeout, cwd="/tmp",
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stdout}{p.stderr}"
                               f"{self.log_tail()}")
        return p

    def log_tail(self) -> str:
        try:
            return "\n--- server log ---\n" + "".join(self.logfile.read_text().splitlines(True)[-20:])
        except OSError:
            return ""

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.base} " + " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        self._sh(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-o", opts,
                 "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._sh(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop",
                 check=False)

    def running(self) -> bool:
        return self._sh(str(self.bindir / "pg_ctl"), "-D", str(self.data), "status", check=False).returncode == 0

    def admin(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname,
                               autocommit=True, connect_timeout=5)

    def dsn(self, dbname: str, user: str = "postgres", password: str | None = None) -> str:
        from urllib.parse import quote

        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        return f"postgres://{auth}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, owner: str | None = None) -> TestDB:
        name = f"mt_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
        return TestDB("postgres", self.dsn(name), name)

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def start_scratch(name: str, **kwargs) -> ScratchPostgres:
    """A started throwaway server, or skip (fail when CI=true) when this machine cannot."""
    from tests.conftest import unavailable

    reason = scratch_unavailable_reason()
    if reason:
        unavailable(reason)
    server = ScratchPostgres(name, **kwargs)
    try:
        server.start()
    except Exception:
        server.cleanup()
        raise
    return server


def scratch_unavailable_reason() -> str | None:
    if _pg_bindir() is None:
        return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb, pg_ctl)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL as a non-root user"
    return None

