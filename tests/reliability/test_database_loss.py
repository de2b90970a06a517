"""2. Database loss: the PostgreSQL server goes away in the middle of a run.

The server is a throwaway one the test starts itself (initdb into /tmp, pg_ctl, run as
the `postgres` user, trust auth on 127.0.0.1, a free port): stopping the shared test
server would break every other test.

- inside a migration: a throwaway migration (auth 0009 in a private copy of the
  examples) creates a table and holds its transaction open with pg_sleep; the server
  is stopped (`pg_ctl stop -m fast`: sessions are terminated; `-m immediate`: a crash)
  while it sleeps. The runner must exit 1 with one clear `Error:` line, no traceback
  and no password; runs against the stopped server too; after a restart, `up` of all
  five services completes and `verify` is clean.
- at a random point: the five services are applied one after the other and the server
  is stopped right after the k-th MIGRATION_APPLIED log line (k random, seeded) plus a
  random jitter; every runner exits 0 or 1 (clearly); the state left behind is
  explainable (oracle); after a restart everything completes.
"""

from __future__ import annotations

import json
import random
import time

import pytest

from tests.conftest import MIGRATIONS
from tests.reliability import support
from tests.reliability.support import (SERVICES, Proc, argv, describe, error_line, platform_states,
                                       recover_all, run, run_many, short, up_all, verify_all)

PASSWORD = "Loss-Pw-S3cr3t"  # trust auth ignores it; it must still never be printed
HOLD_SECONDS = 2
HOLD = (
    "-- reliability suite: a migration that holds its transaction open while the server dies\n"
    "CREATE TABLE reliability_hold (id bigint PRIMARY KEY);\n"
    f"SELECT pg_sleep({HOLD_SECONDS});\n"
)


@pytest.fixture(scope="module")
def loss_server_instance():
    server = support.start_scratch("loss")
    yield server
    server.cleanup()


@pytest.fixture
def loss_server(loss_server_instance):
    if not loss_server_instance.running():
        loss_server_instance.start()
    return loss_server_instance


CUT_OFF_BUG = ("bug: when the connection dies inside a transactional migration, Database.transaction() "
               "tries ROLLBACK on the dead connection and that error ('the connection is closed') replaces "
               "the migration's own: the operator is not told which migration was running nor why")


def assert_clear_failure(r, what: str) -> str:
    assert r.code == 1, f"{what}: expected exit 1: {describe(r)}"
    line = error_line(r)
    assert line, f"{what}: no line starting with 'Error:' on stderr: {describe(r)}"
    assert "Traceback" not in r.out + r.err, f"{what}: traceback in output: {describe(r)}"
    assert "internal error" not in line, f"{what}: {line}"
    assert PASSWORD not in r.out + r.err, f"{what}: the password was printed"
    return line


def wait_for_query(server, dbname: str, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with server.admin() as conn:
        while time.monotonic() < deadline:
            n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                             "AND position(%s in query) > 0 AND pid <> pg_backend_pid()",
                             (dbname, needle)).fetchone()[0]
            if n:
                return
            time.sleep(0.02)
    raise AssertionError(f"never saw {needle!r} running in {dbname}")


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_server_stops_inside_a_migration(mode, loss_server, example_copy, soak):
    if mode == "immediate" and not soak:
        pytest.skip("CI mode: -m fast here; -m immediate is covered at random points (MIGRATOR_SOAK=1: both)")
    (example_copy / "auth" / "postgres" / "0009_reliability_hold.up.sql").write_text(HOLD)
    test_db = loss_server.create_database()
    dsn = loss_server.dsn(test_db.name, password=PASSWORD)

    runner = Proc(argv("up", dsn=dsn, migrations=example_copy, service="auth"), label="auth up")
    wait_for_query(loss_server, test_db.name, "pg_sleep")
    loss_server.stop(mode)
    r = runner.wait(120)
    line = assert_clear_failure(r, f"auth up when the server stopped ({mode})")

    down = {}
    cmds = [(args[0], argv(*args, dsn=dsn, migrations=example_copy, service="agentic"))
            for args in (["up"], ["status"], ["verify"], ["wait", "--timeout", "1"])]
    for name, res in run_many(cmds).items():
        down[name] = assert_clear_failure(res, f"`{name}` with the server down")
    assert f"127.0.0.1:{loss_server.port}" in down["up"], down["up"]

    loss_server.start()
    for s, res in up_all(test_db, example_copy).items():
        assert res.code == 0, f"{s} after the restart: {describe(res)}"
    for s, res in verify_all(test_db, example_copy).items():
        assert res.code == 0, f"verify {s}: {describe(res)}"
    status = json.loads(run("status", "--format", "json", dsn=dsn, migrations=example_copy, service="auth").out)
    assert [m["status"] for m in status["migrations"]] == ["OK"] * 9
    assert "table:reliability_hold" in support.inspect(test_db)
    support.report("database loss", f"server stopped -m {mode} inside a migration: runner said {line!r}; "
                                    f"with the server down: {down['up']!r}; after restart all 5 services at "
                                    "their newest version, verify clean")
    # Last, so that the recovery above is checked whatever the message: the operator must
    # learn which migration was cut off and why (the server's own reason).
    if not ("migration 9 failed" in line and "0009_reliability_hold.up.sql" in line):
        raise support.KnownBug(f"the error does not say which migration was running when the connection "
                               f"died: {line!r}")


def applied_count(text: str) -> int:
    return text.count('"event": "MIGRATION_APPLIED"')


def test_server_stops_at_a_random_point(loss_server, oracles, seed, soak):
    oracle = oracles("postgres")
    total = sum(len(o.versions) for o in oracle.values())
    rng = random.Random(f"{seed}:database-loss")
    trials = 8 if soak else 2
    for trial in range(trials):
        mode = ["immediate", "fast"][trial] if trial < 2 else rng.choice(["fast", "immediate"])
        k = rng.randint(1, total - 1)
        jitter = rng.uniform(0, 0.3)
        test_db = loss_server.create_database()
        dsn = loss_server.dsn(test_db.name, password=PASSWORD)
        applied, stopped_at, results = 0, None, {}
        for s in SERVICES:
            p = Proc(argv("up", dsn=dsn, migrations=MIGRATIONS, service=s), label=s)
            while p.poll() is None:
                if stopped_at is None and applied + applied_count(p.peek_err()) >= k:
                    time.sleep(jitter)
                    loss_server.stop(mode)
                    stopped_at = s
                time.sleep(0.005)
            r = p.wait(120)
            applied += applied_count(r.err)
            results[s] = r
            if r.code != 0:
                assert_clear_failure(r, f"trial {trial}: {s} up (server stopped -m {mode} after {k} migrations)")
        if stopped_at is None:  # everything finished before the k-th line was seen: stop now
            loss_server.stop(mode)
        assert not loss_server.running()
        loss_server.start()
        states, problems = platform_states(test_db, oracle, "postgres")
        assert not problems, f"trial {trial}: unexplainable state after the stop:\n" + "\n".join(problems)
        repairs = recover_all(test_db, oracle, states)  # a cut CREATE INDEX CONCURRENTLY is dirty
        for s, res in verify_all(test_db).items():
            assert res.code == 0, f"trial {trial}: verify {s}: {describe(res)}"
        _, problems = platform_states(test_db, oracle, "postgres", after_recovery=True)
        assert not problems, "\n".join(problems)
        codes = " ".join(f"{s}={r.code}" for s, r in results.items())
        cut = results.get(stopped_at)
        if cut is not None and cut.code:
            codes += f" ({stopped_at}: {error_line(cut)!r})"
        support.report("database loss", f"random stop {trial}: -m {mode} after {k}/{total} applied "
                                        f"(+{jitter:.2f}s) during {stopped_at}: exits {codes}; state "
                                        f"{short(states)}; {'; '.join(repairs) or 'no repair needed'}; "
                                        "recovered")
