"""1. Crash safety: SIGKILL the migrator at random points while it applies the example
platform (five services into one database), then recover.

Each trial starts from an empty database and runs one or two *kill rounds*: the five
services are started either as five processes at once (`parallel`) or one after the
other in one shell loop (`sequential`, like the Helm hooks), and the whole process group
is SIGKILLed after a random delay in [0, typical runtime] (typical runtime: measured by
an uninterrupted control run of the same dialect; sequential: twice the parallel time;
half the rounds draw the delay from the control run's first applied migration on, since
start-up is a large part of a fast run).
Random `--ddl-lock-timeout` values are sprinkled in. After every round, once the killed
clients' server sessions are gone, each service's state must be *explainable*:

- the tracking rows are a prefix of the shipped versions, every row complete (name,
  checksum of the file, applied_at, JSON object lists) — no half-written row;
- no dirty row, and the schema (objects of that service, with triggers and functions)
  is exactly the oracle's schema at the newest tracking row; MIGRATION_APPLIED events
  exist for exactly the clean rows; or
- a dirty row, only on MariaDB (DDL is not transactional) or for a PostgreSQL
  `-- migrator:no-transaction` migration (SPEC section 6: "for no-transaction migrations
  the row is written dirty first"), only at the newest row, with the schema equal to
  the oracle's schema after exactly k of that version's statements;
- every runner lock can be taken at once.

Recovery is the operator's procedure. For a dirty version V, `up` must refuse with
`Error: Database is in dirty state at version V` (exit 3); then, because the oracle
says which k statements of V are in the schema, the test *completes V by hand* (runs
its remaining statements) and runs `force V` — or, when none of V's statements ran,
`force V-1`. Then `up` for every service (five processes at once) must exit 0, `verify`
must exit 0, every service must be at its newest version with exactly the oracle's final
schema, and no lock may be held.

(On PostgreSQL and SQLite the issue asked for "always clean". That holds for every
transactional migration; the PostgreSQL `0006_*` migrations are `-- migrator:no-transaction`
(CREATE INDEX CONCURRENTLY), and a kill inside one leaves it dirty, as SPEC section 6
specifies. The suite accepts that state only there, and recovers it like MariaDB's.)

To keep CI mode short on two cores, the `verify` runs, the dirty-state refusals and the
`force` commands go through the CLI's entry point in one interpreter
(tests/reliability/cli_batch.py); every `up` that is killed or recovers is a real process.
"""

from __future__ import annotations

import random
import shlex
import time

import pytest

from tests.conftest import MIGRATIONS, make_db
from tests.reliability import support
from tests.reliability.support import (FORCE_DROP_BUG, PREFIXES, SERVICES, KnownBug, Proc, argv, describe,
                                       locks_free, platform_states, quiesce, recover_all, run, short,
                                       verify_all)

TRIALS = {"ci": 10, "soak": 50}
FLAG_CHOICES = ([], [], [], ["--ddl-lock-timeout", "1"], ["--ddl-lock-timeout", "30"])


class TrialFailure(AssertionError):
    pass


def spawn(test_db, mode: str, flags: list[str]) -> list[Proc]:
    if mode == "parallel":
        return [Proc(argv(*flags, "up", dsn=test_db.dsn, migrations=MIGRATIONS, service=s), label=s)
                for s in SERVICES]
    lines = []
    for s in SERVICES:  # a dirty service (3) does not stop the loop; anything else does
        cmd = shlex.join(argv(*flags, "up", dsn=test_db.dsn, migrations=MIGRATIONS, service=s))
        lines.append(f"{cmd}; rc=$?; if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then exit $rc; fi")
    return [Proc(["bash", "-c", "\n".join(lines)], label="sequential")]


def kill_after(procs: list[Proc], delay: float) -> tuple[list, int]:
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and any(p.poll() is None for p in procs):
        time.sleep(0.005)
    running = [p for p in procs if p.poll() is None]
    for p in running:
        p.kill()
    results = [(p, p.wait(120)) for p in procs]
    return results, sum(1 for p in procs if p.killed)


def control_run(test_db, oracle) -> tuple[float, float]:
    """An uninterrupted parallel run: (its duration, when the first migration was applied)."""
    started = time.monotonic()
    procs = spawn(test_db, "parallel", [])
    first = None
    while any(p.poll() is None for p in procs):
        if first is None and any('"MIGRATION_APPLIED"' in p.peek_err() for p in procs):
            first = time.monotonic() - started
        time.sleep(0.005)
    results = [(p, p.wait(300)) for p in procs]
    elapsed = time.monotonic() - started
    for p, r in results:
        assert r.code == 0, f"control run of {p.label} failed: {describe(r)}"
    states, problems = platform_states(test_db, oracle, test_db.dialect)
    assert not problems, "control run (no kill) disagrees with the oracle:\n" + "\n".join(problems)
    assert all(st.kind == "clean" and st.version == oracle[s].newest for s, st in states.items()), short(states)
    for s, r in verify_all(test_db).items():
        assert r.code == 0, f"verify of {s} after the control run: {describe(r)}"
    return elapsed, min(first or 0.0, elapsed)


def one_trial(dialect, oracle, tmp_path, trng: random.Random, t_par: float, t_first: float, stats: dict) -> str:
    test_db, drop = make_db(dialect, tmp_path)
    log = []
    try:
        rounds = 1 + (trng.random() < 0.3)
        states = {}
        for rnd in range(rounds):
            mode = "parallel" if trng.random() < 0.67 else "sequential"
            typical = t_par if mode == "parallel" else 2 * t_par
            # Half the rounds: uniform over the whole run. The other half: from the moment the
            # control run applied its first migration (Python start-up and connecting take a
            # good part of a fast run), so that more kills land inside migrations.
            delay = trng.uniform(0 if trng.random() < 0.5 else 0.8 * t_first, typical)
            flags = trng.choice(FLAG_CHOICES)
            procs = spawn(test_db, mode, flags)
            results, killed = kill_after(procs, delay)
            stats["rounds"] += 1
            stats["kills"] += 1 if killed else 0
            round_line = f"r{rnd} {mode} flags={flags} kill@{delay:.2f}s ({killed} killed)"
            allowed = {0} if rnd == 0 else {0, 3}
            for p, r in results:
                if not p.killed and r.code not in allowed:
                    raise TrialFailure(f"{round_line}: {p.label} ended by itself with exit {r.code}: {describe(r)}")
            waited = quiesce(test_db)
            held = locks_free(test_db, PREFIXES.values())
            if held:
                raise TrialFailure(f"{round_line}: runner lock(s) still held after the kill: {held}")
            states, problems = platform_states(test_db, oracle, dialect)
            if problems:
                raise TrialFailure(f"{round_line}: unexplainable state:\n  "
                                   + "\n  ".join(problems))
            mid = [s for s, st in states.items() if st.kind == "dirty" or 0 < st.version < oracle[s].newest]
            stats["services_mid_run"] += len(mid)
            log.append(f"r{rnd} {mode:<10} {flags and flags[1] or '-':>2} kill@{delay:5.2f}s "
                       f"({killed} killed, quiet after {waited:.2f}s): {short(states)}")
        # -- recovery, as an operator would do it
        stats["dirty"] += [f"{s}@{st.version}({st.statements_done}/{st.statements_total})"
                           for s, st in states.items() if st.kind == "dirty"]
        log += [f"   {line}" for line in recover_all(test_db, oracle, states, known_bugs=stats["known_bug"])]
        for s, r in verify_all(test_db).items():
            if r.code != 0:
                raise TrialFailure(f"`verify` of {s} after recovery: {describe(r)}")
        _, problems = platform_states(test_db, oracle, dialect, after_recovery=True)
        if problems:
            raise TrialFailure("after recovery:\n  " + "\n  ".join(problems))
        held = locks_free(test_db, PREFIXES.values())
        if held:
            raise TrialFailure(f"runner lock(s) held after recovery: {held}")
        return "\n".join(log)
    except AssertionError as exc:
        raise TrialFailure("\n".join(log + [str(exc)])) from None
    finally:
        drop()


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_sigkill_at_random_points_then_recover(dialect, oracles, seed, soak, tmp_path):
    oracle = oracles(dialect)
    trials = TRIALS["soak" if soak else "ci"]
    started = time.monotonic()

    control_db, drop = make_db(dialect, tmp_path)
    try:
        t_par, t_first = control_run(control_db, oracle)
    finally:
        drop()

    rng = random.Random(f"{seed}:crash:{dialect}")
    stats = {"rounds": 0, "kills": 0, "services_mid_run": 0, "dirty": [], "known_bug": []}
    failures = []
    for i in range(trials):
        trial_seed = rng.randrange(2**32)
        try:
            log = one_trial(dialect, oracle, tmp_path, random.Random(trial_seed), t_par, t_first, stats)
            print(f"--- {dialect} trial {i} (trial seed {trial_seed})\n{log}")
        except TrialFailure as exc:
            failures.append(f"trial {i} (seed {seed}, trial seed {trial_seed}):\n{exc}")
            print(f"--- {dialect} trial {i} FAILED\n{exc}")
            if len(failures) >= 3:
                break
    elapsed = time.monotonic() - started
    support.report("crash safety", (
        f"{dialect}: {i + 1} trials, {stats['rounds']} kill rounds ({stats['kills']} killed a running "
        f"process), {stats['services_mid_run']} service states caught mid-run, dirty: "
        f"{', '.join(stats['dirty']) or 'none'}; known force/drop bug hit (worked around): "
        f"{', '.join(stats['known_bug']) or 'never'}; control run {t_par:.1f}s (first migration applied at "
        f"{t_first:.1f}s); {elapsed:.0f}s in all; "
        f"{len(failures)} failed"))
    assert not failures, f"{len(failures)} crash trial(s) on {dialect} failed:\n\n" + "\n\n".join(failures)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_force_after_finishing_a_dropping_migration_by_hand(dialect, make_database):
    """The operator's procedure for a dirty contract migration (MariaDB: any kill between its
    DROP COLUMN and the tracking update; found by the soak run): the DROP did happen, so V
    is complete; `force V` must then leave `verify` clean."""
    test_db = make_database(dialect)
    m = dict(dsn=test_db.dsn, migrations=MIGRATIONS, service="apiOntology")
    assert run("up", "--target", "7", **m).code == 0
    test_db.execute("ALTER TABLE ontology_types DROP COLUMN title")  # 0008, done by hand
    assert run("force", "8", "--yes", **m).code == 0
    verify = run("verify", **m)
    up = run("up", **m)
    if verify.code != 0 or up.code != 0:
        raise KnownBug(f"after `force 8`: verify exit {verify.code}, up exit {up.code}:\n{describe(verify)}")
