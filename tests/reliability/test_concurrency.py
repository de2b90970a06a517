"""3. Concurrency: 20 runners per service (100 processes) against one database, started
at once in a shuffled order, a quarter of them with `--lock-timeout 0`.

Every migration must be applied exactly once (one MIGRATION_APPLIED event per version,
one runner per service reporting "Applied 8 migrations"), nobody may deadlock (all
finish within the time limit), every runner exits 0 (waited, then saw the work done)
or 5 (lock not acquired within its timeout — only the `--lock-timeout 0` ones), and
the result is the oracle's final schema with `verify` clean.

PostgreSQL runs on the suite's own throwaway server (max_connections=300): every
waiting runner holds a connection, and the shared test server's max_connections=100
cannot take 100 runners plus the other tests' sessions. What happens when runners do
exceed max_connections is the second test: they fail clearly (exit 1, "too many
clients") and nothing is damaged.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter

import pytest

from tests.conftest import MIGRATIONS, make_db
from tests.reliability import support
from tests.reliability.support import (PREFIXES, SERVICES, Proc, argv, describe, error_line, event_rows,
                                       platform_states, verify_all)

RUNNERS_PER_SERVICE = 20


# SQLite: one write lock for the five services' runners. Its busy timeout is --ddl-lock-timeout
# (5 s by default); a hundred processes starting at once on two cores can keep a writer off
# the CPU longer than that, and a reader or the creation of a service's tables then fails
# with "database is locked". What this test is about is the runner lock, not that wait.
SQLITE_WAIT = ["--ddl-lock-timeout", "60"]


def crowd(test_db, rng: random.Random, services=SERVICES, runners=RUNNERS_PER_SERVICE):
    specs = [(s, "0" if rng.random() < 0.25 else "120") for s in services for _ in range(runners)]
    rng.shuffle(specs)
    started = time.monotonic()
    wait = SQLITE_WAIT if test_db.dialect == "sqlite" else []
    procs = [(s, lt, Proc(argv(*wait, "--lock-timeout", lt, "up", dsn=test_db.dsn, migrations=MIGRATIONS, service=s),
                          label=f"{s} lock-timeout={lt}")) for s, lt in specs]
    results = [(s, lt, p.wait(600)) for s, lt, p in procs]
    return results, time.monotonic() - started


def check_crowd(test_db, oracle, results) -> tuple[Counter, list[str]]:
    problems = []
    codes = Counter(r.code for _, _, r in results)
    applied_by = Counter()
    for s, lt, r in results:
        if r.code == 5 and lt != "0":
            problems.append(f"{s} (lock-timeout {lt}) timed out on the lock: {describe(r)}")
        elif r.code == 5:
            line = error_line(r) or ""
            if "lock not acquired" not in line:
                problems.append(f"{s}: exit 5 without the lock message: {describe(r)}")
        elif r.code != 0:
            problems.append(f"{s} (lock-timeout {lt}) exit {r.code}: {describe(r)}")
        if re.search(r"^Applied \d+ migrations: service", r.out, re.M):
            applied_by[s] += 1
        if "Traceback" in r.out + r.err:
            problems.append(f"{s}: traceback: {describe(r)}")
    for s in SERVICES:
        if s not in {x for x, _, _ in results}:
            continue
        if applied_by[s] != 1:
            problems.append(f"{s}: {applied_by[s]} runners reported applying migrations (expected exactly 1)")
        db = test_db.connect()
        try:
            events = event_rows(db, PREFIXES[s])
        finally:
            db.close()
        per_version = Counter(v for e, v, _ in events if e == "MIGRATION_APPLIED")
        if sorted(per_version) != oracle[s].versions or set(per_version.values()) != {1}:
            problems.append(f"{s}: MIGRATION_APPLIED events per version {dict(per_version)} "
                            f"(expected each of {oracle[s].versions} once)")
        failed = [v for e, v, _ in events if e == "MIGRATION_FAILED"]
        if failed:
            problems.append(f"{s}: MIGRATION_FAILED events for {failed}")
    return codes, problems


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_twenty_runners_per_service(dialect, oracles, scratch_pg, tmp_path, seed, soak):
    oracle = oracles(dialect)
    rng = random.Random(f"{seed}:concurrency:{dialect}")
    for rnd in range(3 if soak else 1):
        drop = lambda: None  # noqa: E731
        if dialect == "postgres":
            test_db = scratch_pg.create_database()
        else:
            test_db, drop = make_db(dialect, tmp_path)
        try:
            results, elapsed = crowd(test_db, rng)
            codes, problems = check_crowd(test_db, oracle, results)
            assert not problems, f"round {rnd}:\n" + "\n".join(problems[:10])
            for s, r in verify_all(test_db).items():
                assert r.code == 0, f"verify {s}: {describe(r)}"
            _, problems = platform_states(test_db, oracle, dialect, after_recovery=True)
            assert not problems, "\n".join(problems)
            support.report("concurrency", f"{dialect} round {rnd}: {len(results)} runners "
                                          f"({RUNNERS_PER_SERVICE} per service) in {elapsed:.1f}s: "
                                          f"exit codes {dict(sorted(codes.items()))}; each migration applied once")
        finally:
            drop()


def test_runners_beyond_max_connections(make_scratch_pg, oracles, seed):
    """More runners than the server accepts connections: the surplus fails clearly."""
    oracle = oracles("postgres")
    server = make_scratch_pg("tiny", settings={"max_connections": "6"})
    test_db = server.create_database()
    results, elapsed = crowd(test_db, random.Random(f"{seed}:max-connections"), services=["auth"], runners=15)
    refused = [(s, lt, r) for s, lt, r in results if r.code == 1]
    others = [(s, lt, r) for s, lt, r in results if r.code != 1]
    for _, _, r in refused:
        line = error_line(r) or ""
        assert "too many clients" in line and "Traceback" not in r.out + r.err, describe(r)
    codes, problems = check_crowd(test_db, oracle, others)
    assert not problems, "\n".join(problems[:10])
    state, problems = support.classify(test_db, oracle["auth"], allow_dirty=False, check_events=False)
    assert not problems and state.version == oracle["auth"].newest, (state, problems)
    support.report("concurrency", f"15 auth runners vs max_connections=6: {len(refused)} refused with "
                                  f"{(error_line(refused[0][2]) if refused else 'n/a')!r}, the others "
                                  f"{dict(sorted(codes.items()))}; schema complete ({elapsed:.1f}s)")
