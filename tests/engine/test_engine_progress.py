"""What a migration Job's log says while it runs and when it fails: MIGRATION_STARTED per
migration, a line while one statement runs long, and a failure that names the statement
(n of m, line), what had already run where nothing was rolled back, and PostgreSQL's
DETAIL and HINT."""

from __future__ import annotations

from engine_support import json_lines, ok, sleep_sql


def test_started_and_progress_lines_name_the_statement(mig, dialect):
    # SQLite's loop runs as fast as the machine: a longer loop, a shorter interval
    interval, seconds = (0.2, 8) if dialect == "sqlite" else (1, 2.6)
    mig.write("0006_slow.up.sql", f"-- a slow one\n{sleep_sql(dialect, seconds)};\nSELECT 1;\n")
    result = ok(mig("up", "--progress-interval", str(interval)))  # a global option, after the command too
    logged = json_lines(result.err)
    started = {e["version"]: e for e in logged if e["event"] == "MIGRATION_STARTED"}
    assert sorted(started) == [1, 2, 3, 4, 5, 6]
    assert started[6]["statements"] == 2 and started[6]["name"] == "slow"
    assert started[6]["mode"] == ("transaction" if dialect != "mysql"
                                  else "no transaction (DDL commits implicitly): dirty flag")
    running = [e for e in logged if e["event"] == "MIGRATION_STATEMENT_RUNNING"]
    assert running and all(e["version"] == 6 for e in running), running
    # one each interval while it ran, none after it returned
    assert [round(e["elapsed_s"] / interval) for e in running] == list(range(1, len(running) + 1))
    if dialect != "sqlite":
        assert len(running) == 2
    assert all(e["statement"] == "1 of 2" and e["line"] == 2 for e in running)
    assert f"0006_slow.up.sql statement 1 of 2 (line 2) still running after {interval:.1f}s" in running[0]["message"]
    events = [e["event"] for e in logged]
    assert events.index("MIGRATION_STARTED", events.index("MIGRATION_APPLIED")) < events.index(
        "MIGRATION_STATEMENT_RUNNING")


def test_progress_interval_zero_logs_no_progress(mig, dialect):
    mig.write("0006_slow.up.sql", f"{sleep_sql(dialect, 1.2)};\n")
    result = ok(mig("--progress-interval", "0", "up"))
    assert "MIGRATION_STATEMENT_RUNNING" not in result.err


FAILING = {
    "postgres": "CREATE TABLE f1 (id int PRIMARY KEY);\nINSERT INTO f1 VALUES (1);\n\nINSERT INTO f1 VALUES (1);\n",
    "mysql": "CREATE TABLE f1 (id INT PRIMARY KEY);\nINSERT INTO f1 VALUES (1);\n\nINSERT INTO f1 VALUES (1);\n",
    "sqlite": "CREATE TABLE f1 (id INTEGER PRIMARY KEY);\nINSERT INTO f1 VALUES (1);\n\nINSERT INTO f1 VALUES (1);\n",
}


def test_a_failure_names_the_statement_and_what_had_run(mig, dialect):
    ok(mig("up"))
    mig.write("0006_dup.up.sql", FAILING[dialect])
    result = mig("up")
    assert result.code == 1, result.err
    assert "Error: migration 6 failed: 0006_dup.up.sql line 4: " in result.err
    assert "  statement 3 of 3 (line 4): INSERT INTO f1 VALUES (1)" in result.err
    ran = "  already run, not rolled back: statements 1 to 2 of 3 (lines 1, 2)"
    assert (ran in result.err) == (dialect == "mysql")  # the others rolled back the whole migration
    if dialect == "postgres":
        assert "  DETAIL: Key (id)=(1) already exists." in result.err
    failed = [e for e in json_lines(result.err) if e["event"] == "MIGRATION_FAILED"]
    assert len(failed) == 1 and failed[0]["statement"] == "3 of 3" and failed[0]["line"] == 4


def test_postgres_hint_is_kept(make_database, migrator_for, write_migrations):
    db = make_database("postgres")
    migrations = write_migrations({"postgres": {"0001_bad.up.sql": "CREATE TABLE t (id int);\nSELECT no_such_fn(1);\n"}})
    result = migrator_for(db, migrations, "svc")("up")
    assert result.code == 1
    assert "  HINT: No function matches the given name and argument types." in result.err


def test_console_prints_a_failure_once_json_logs_it_once(mig, dialect):
    ok(mig("up"))
    mig.write("0006_dup.up.sql", FAILING[dialect])
    console = mig("up", log_format="console")
    assert console.code == 1
    error_line = next(line for line in console.err.splitlines() if line.startswith("Error: "))
    assert error_line.startswith("Error: migration 6 failed: 0006_dup.up.sql line 4: ")
    text = error_line[len("Error: "):]
    assert console.err.count(text) == 1, console.err  # the operator line only, no log line repeating it
    if dialect == "mysql":  # the failed run left a dirty row: clear it to fail again
        ok(mig("force", "5", "--yes"))
        mig.db.execute("DROP TABLE f1")
    as_json = mig("up")
    assert as_json.code == 1
    events = [e["event"] for e in json_lines(as_json.err)]
    assert events.count("MIGRATION_FAILED") == 1 and "MIGRATION_COMMAND_FAILED" not in events
    assert as_json.err.count(f"\n{error_line}\n") == 1


def test_every_log_event_is_an_upper_snake_code(mig, dialect):
    import re

    mig.write("0006_dup.up.sql", FAILING[dialect])
    result = mig("--progress-interval", "0.2", "up")
    assert result.code == 1
    events = [e["event"] for e in json_lines(result.err)]
    assert {"MIGRATION_STARTED", "MIGRATION_APPLIED", "MIGRATION_FAILED"} <= set(events)
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]+", e) for e in events), events
    assert all("message" in e for e in json_lines(result.err) if e["event"] == "MIGRATION_STARTED")


def test_bad_values_of_the_new_options_are_usage_errors(mig, db):
    for args in (("--progress-interval", "-1", "up"), ("up", "--ddl-lock-retries", "two"),
                 ("--ddl-lock-retries", "-1", "up")):
        result = mig(*args)
        assert result.code == 2, (args, result.err)
        assert len(result.err.strip().splitlines()) == 1 and args[args.index(next(
            a for a in args if a.startswith("--"))) + 1] in result.err
    assert db.tables() == set()  # nothing reached the database
