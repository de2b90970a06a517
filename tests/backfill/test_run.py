"""Backfills end to end on SQLite, PostgreSQL and MariaDB, through the real CLI
(SPEC section 7): 200,000 rows, and a ``touched`` counter that proves exactly-once."""

from __future__ import annotations

import json
import signal

from tests.backfill.conftest import NAME, PLAIN_UPDATE, ROWS, UPDATE, seed


def test_complete_run_equals_a_single_update(seeded):
    db = seeded.db
    items_ref = {"postgres": "CREATE TABLE items_ref (id bigint PRIMARY KEY, amount int NOT NULL, "
                             "total int NULL, touched int NOT NULL DEFAULT 0)",
                 "mysql": "CREATE TABLE items_ref (id BIGINT PRIMARY KEY, amount INT NOT NULL, "
                          "total INT NULL, touched INT NOT NULL DEFAULT 0) ENGINE=InnoDB",
                 "sqlite": "CREATE TABLE items_ref (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL, "
                           "total INTEGER NULL, touched INTEGER NOT NULL DEFAULT 0)"}[db.dialect]
    db.execute(items_ref, "INSERT INTO items_ref SELECT * FROM items", PLAIN_UPDATE.format(table="items_ref"))

    result = seeded.run("backfill", "run", NAME)

    assert result.code == 0, result.text
    assert f"Backfill {NAME} completed: {ROWS:,} rows done" in result.out
    (same,), = db.query("SELECT COUNT(*) FROM items a JOIN items_ref b ON b.id = a.id "
                        "WHERE a.total = b.total AND a.touched = b.touched AND a.amount = b.amount")
    assert int(same) == ROWS
    assert seeded.touched() == {"rows": ROWS, "once": ROWS, "more": 0, "never": 0, "wrong": 0,
                                "max_touched_id": ROWS}
    status = seeded.status()
    assert status["status"] == "completed"
    assert status["rows_done"] == ROWS and status["last_key"] == ROWS
    assert status["total_estimate"] == ROWS and status["percent"] == 100.0
    completed = [d for e, d in seeded.events() if e == "MIGRATION_BACKFILL_COMPLETED"]
    assert len(completed) == 1 and 0 < completed[0]["longest_batch_ms"] < 1000

    again = seeded.run("backfill", "run", NAME)  # a second run does no work
    assert again.code == 0 and "already completed" in again.out
    assert seeded.touched()["once"] == ROWS


def test_sparse_keys_do_not_make_empty_batches(service):
    service.up()
    seed(service.db, rows=50_000, step=1_000_003)  # keys spread over 5e10
    service.write_backfill(batch_size=5000)

    result = service.run("backfill", "run")

    assert result.code == 0, result.text
    completed = [d for e, d in service.events() if e == "MIGRATION_BACKFILL_COMPLETED"][0]
    assert completed["rows_done"] == 50_000
    assert completed["batches"] <= 50_000 // 5000 + 4  # slow start: 1000, 2000, 4000, then 5000
    assert completed["last_key"] == 50_000 * 1_000_003
    assert service.touched()["once"] == 50_000


def test_pause_from_another_process_then_resume(seeded):
    seeded.write_backfill(batch_size=1000, pause_ms=20)
    runner = seeded.spawn("backfill", "run", NAME)
    seeded.wait_for(lambda s: s["rows_done"] >= 20_000, what="some progress")

    paused = seeded.run("backfill", "pause", NAME)

    assert paused.code == 0, paused.text
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 0, out + err
    assert f"Backfill {NAME} paused: stopped after its current batch" in out
    state = seeded.checkpoint()
    assert state["status"] == "paused"
    assert 20_000 <= state["rows_done"] < ROWS
    counts = seeded.touched()
    assert counts["once"] == state["rows_done"] and counts["more"] == 0 and counts["wrong"] == 0
    assert counts["max_touched_id"] == state["last_key"]

    idle = seeded.run("backfill", "run", NAME)  # a paused backfill: no work, says so, exit 0
    assert idle.code == 0, idle.text
    assert "is paused: no work done" in idle.out
    assert seeded.checkpoint()["rows_done"] == state["rows_done"]
    assert seeded.touched()["once"] == state["rows_done"]

    resumed = seeded.run("backfill", "resume", NAME)
    assert resumed.code == 0, resumed.text
    assert seeded.checkpoint()["status"] == "pending"
    assert seeded.touched()["once"] == state["rows_done"]  # resume runs no batches

    seeded.write_backfill(batch_size=5000, pause_ms=0)
    done = seeded.run("backfill", "run", NAME)
    assert done.code == 0, done.text
    assert seeded.checkpoint()["status"] == "completed"
    assert seeded.touched() == {"rows": ROWS, "once": ROWS, "more": 0, "never": 0, "wrong": 0,
                                "max_touched_id": ROWS}

    events = seeded.events()
    names = [e for e, _ in events]
    for expected in ("STARTED", "PROGRESS", "PAUSED", "RESUMED", "COMPLETED"):
        assert f"MIGRATION_BACKFILL_{expected}" in names, names
    assert names[0] == "MIGRATION_BACKFILL_STARTED" and names[-1] == "MIGRATION_BACKFILL_COMPLETED"
    paused_by = {d["by"] for e, d in events if e == "MIGRATION_BACKFILL_PAUSED"}
    assert paused_by == {"command", "runner"}
    assert all(d["backfill"] == NAME for _, d in events)
    progress = [d for e, d in events if e == "MIGRATION_BACKFILL_PROGRESS"]
    assert all({"rows_done", "total_estimate", "rows_per_second", "eta_seconds", "last_key"} <= set(d)
               for d in progress)
    completed = [d for e, d in events if e == "MIGRATION_BACKFILL_COMPLETED"][0]
    assert completed["rows_done"] == ROWS and completed["longest_batch_ms"] > 0
    logged = [json.loads(line)["event"] for line in done.err.splitlines() if line.startswith("{")]
    assert "MIGRATION_BACKFILL_STARTED" in logged and "MIGRATION_BACKFILL_COMPLETED" in logged


def test_sigkill_mid_run_then_run_again_processes_every_row_once(seeded):
    seeded.write_backfill(batch_size=2000, pause_ms=0)
    reached = 0
    for target in (15_000, 60_000):  # kill it twice, at different points
        runner = seeded.spawn("backfill", "run", NAME)
        state = seeded.wait_for(lambda s, t=target: s["rows_done"] >= t, what=f"{target} rows")
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)
        assert runner.returncode == -signal.SIGKILL
        state = seeded.checkpoint()
        assert state["status"] == "running"  # interrupted: run continues it
        assert reached <= state["rows_done"] < ROWS
        counts = seeded.touched()
        assert counts["more"] == 0 and counts["once"] == state["rows_done"]
        reached = state["rows_done"]

    result = seeded.run("backfill", "run", NAME)

    assert result.code == 0, result.text
    assert seeded.checkpoint()["status"] == "completed"
    assert seeded.checkpoint()["rows_done"] == ROWS
    assert seeded.touched() == {"rows": ROWS, "once": ROWS, "more": 0, "never": 0, "wrong": 0,
                                "max_touched_id": ROWS}
    started = [d for e, d in seeded.events() if e == "MIGRATION_BACKFILL_STARTED"]
    assert [d["previous_status"] for d in started] == ["pending", "running", "running"]


def test_restart_starts_over(seeded):
    assert seeded.run("backfill", "run", NAME).code == 0

    restarted = seeded.run("backfill", "restart", NAME)

    assert restarted.code == 0, restarted.text
    state = seeded.checkpoint()
    state.pop("runner")  # the last runner stays on record
    assert state == {"status": "pending", "last_key": None, "rows_done": 0, "total_estimate": None,
                     "error": None, "leased": False}
    assert seeded.touched()["once"] == ROWS  # restart itself runs no batch
    assert "MIGRATION_BACKFILL_RESTARTED" in [e for e, _ in seeded.events()]
    seeded.db.execute("UPDATE items SET total = NULL WHERE id > 150000")  # derived data lost again

    again = seeded.run("backfill", "run", NAME)

    assert again.code == 0, again.text
    assert seeded.checkpoint()["status"] == "completed" and seeded.checkpoint()["rows_done"] == ROWS
    counts = seeded.touched()
    assert counts["wrong"] == 0 and counts["once"] == 150_000 and counts["more"] == ROWS - 150_000
    assert f"{ROWS - 150_000:,} changed)" in again.out


def test_failing_batch_is_failed_with_its_error_then_resumes_after_a_fix(service):
    service.up()
    seed(service.db, rows=20_000)
    bad = ("UPDATE items SET total = amount * 2, touched = CASE WHEN id = 12345 THEN NULL ELSE touched + 1 END "
           "WHERE id >= :lo AND id < :hi AND total IS NULL")
    service.write_backfill(sql=bad, batch_size=1000)

    result = service.run("backfill", "run", NAME)

    assert result.code == 1, result.text
    assert f"backfill {NAME} failed: batch [" in result.err
    state = service.checkpoint()
    assert state["status"] == "failed"
    assert state["error"] and "batch [" in state["error"]
    assert state["last_key"] is not None and state["last_key"] < 12345
    counts = service.touched()
    assert counts["once"] == state["rows_done"] == state["last_key"] and counts["more"] == 0
    failed = [d for e, d in service.events() if e == "MIGRATION_BACKFILL_FAILED"]
    assert len(failed) == 1 and failed[0]["lo"] <= 12345 < failed[0]["hi"]
    status = service.status()
    assert status["status"] == "failed" and status["error"] == state["error"]

    service.write_backfill(batch_size=1000)  # the fixed declaration
    fixed = service.run("backfill", "run", NAME)

    assert fixed.code == 0, fixed.text
    assert service.checkpoint()["status"] == "completed" and service.checkpoint()["error"] is None
    assert service.touched() == {"rows": 20_000, "once": 20_000, "more": 0, "never": 0, "wrong": 0,
                                 "max_touched_id": 20_000}


def test_run_before_the_required_migration_exits_1_naming_it(service):
    service.up("--target", "1")
    seed(service.db, rows=1000)
    service.write_backfill(requires=2)

    result = service.run("backfill", "run", NAME)

    assert result.code == 1, result.text
    assert "requires migration 2 (notes)" in result.err and "not applied" in result.err
    assert service.touched()["never"] == 1000
    service.up()
    assert service.run("backfill", "run", NAME).code == 0
    assert service.touched()["once"] == 1000


def test_missing_sql_for_the_dialect_in_use_exits_2(service):
    service.up()
    other = "sqlite" if service.db.dialect != "sqlite" else "postgres"
    path = service.write_backfill(text=f'requires = 1\ntable = "items"\nkey = "id"\nbatch_size = 10\n'
                                        f'[sql]\n{other} = "{UPDATE}"\n')

    result = service.run("backfill", "run", NAME)

    assert result.code == 2, result.text
    assert str(path) in result.err and f"no [sql] {service.db.dialect} statement" in result.err


def test_one_runner_at_a_time(seeded):
    seeded.write_backfill(batch_size=1000, pause_ms=10)
    first = seeded.spawn("backfill", "run", NAME)
    seeded.wait_for(lambda s: s["status"] == "running" and s["rows_done"] > 0, what="the first runner")

    refused = seeded.run("--lock-timeout", "0", "backfill", "run", NAME)
    assert refused.code == 5, refused.text
    assert f"backfill {NAME}: another runner holds its lease" in refused.err

    waiting = seeded.spawn("backfill", "run", NAME)  # waits (default --lock-timeout), then finds it done
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    out2, err2 = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, out2 + err2
    assert "already completed" in out2
    assert seeded.touched()["once"] == ROWS


def test_list_status_and_transitions_without_batches(service):
    service.up()
    seed(service.db, rows=3000)
    service.write_backfill(description="double the amounts")
    service.write_backfill("zz_other", batch_size=700)

    listed = service.run("backfill", "list", "--format", "json")
    assert listed.code == 0, listed.text
    items = json.loads(listed.out)["backfills"]
    assert [(i["name"], i["requires"], i["table"], i["status"]) for i in items] == [
        (NAME, 1, "items", "pending"), ("zz_other", 1, "items", "pending")]
    text = service.run("backfill", "list")
    assert text.code == 0 and "double the amounts" in text.out and "zz_other" in text.out

    assert service.run("backfill", "pause", NAME).code == 0
    assert service.checkpoint()["status"] == "paused"
    assert "already paused" in service.run("backfill", "pause", NAME).out
    assert service.run("backfill", "resume", NAME).code == 0
    assert "nothing to resume" in service.run("backfill", "resume", NAME).out
    paused_all = service.run("backfill", "pause")  # without NAME: every declared backfill
    assert paused_all.code == 0, paused_all.text
    assert {service.checkpoint(n)["status"] for n in (NAME, "zz_other")} == {"paused"}
    idle = service.run("backfill", "run")
    assert idle.code == 0 and idle.out.count("is paused: no work done") == 2
    assert service.run("backfill", "resume").code == 0
    assert {service.checkpoint(n)["status"] for n in (NAME, "zz_other")} == {"pending"}
    assert service.touched()["never"] == 3000

    run_all = service.run("backfill", "run")  # every backfill, in name order
    assert run_all.code == 0, run_all.text
    assert run_all.out.index(NAME) < run_all.out.index("zz_other")
    status = json.loads(service.run("backfill", "status", "--format", "json").out)
    assert status["service"] == "svc" and status["table_prefix"] == "svc"
    assert [(b["name"], b["status"], b["rows_done"], b["last_key"]) for b in status["backfills"]] == [
        (NAME, "completed", 3000, 3000), ("zz_other", "completed", 3000, 3000)]
    text = service.run("backfill", "status")
    assert text.code == 0 and "completed" in text.out and "100.0%" in text.out

    unknown = service.run("backfill", "pause", "nope")
    assert unknown.code == 2 and "unknown backfill 'nope'" in unknown.err
    restarted = service.run("backfill", "restart")
    assert restarted.code == 0, restarted.text
    assert [service.checkpoint(n)["rows_done"] for n in (NAME, "zz_other")] == [0, 0]
