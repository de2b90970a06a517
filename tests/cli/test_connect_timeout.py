"""--connect-timeout: a database that does not answer yet (refused, name not resolved) is
tried again with backoff, each attempt logged; one that answers no (wrong password, unknown
database) fails at once. Real ports, real servers (a throwaway PostgreSQL started late, with
password authentication), the real CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid

import pytest

from migrator.config import parse_dsn
from tests.conftest import MYSQL_ADMIN, PG_ADMIN, migrator_cmd, unavailable
from tests.reliability.support import ScratchPostgres, scratch_unavailable_reason

PASSWORD = "Conn3ct-S3cret"


def closed_port() -> int:
    """A local port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def events(result, name: str) -> list[dict]:
    lines = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    return [e for e in lines if e["event"] == name]


def timed(cli, *args, **kwargs):
    started = time.monotonic()
    result = cli(*args, **kwargs)
    return result, time.monotonic() - started


@pytest.mark.parametrize("scheme", ["postgres", "mysql"])
def test_refused_port_is_retried_until_the_timeout(cli, example_copy, scheme):
    dsn = f"{scheme}://u:{PASSWORD}@127.0.0.1:{closed_port()}/app"
    result, elapsed = timed(cli, "status", "--connect-timeout", "2", dsn=dsn, migrations=example_copy,
                            service="auth")
    assert result.code == 1, result.text
    assert 2 <= elapsed < 10
    retries = events(result, "MIGRATION_CONNECT_RETRY")
    assert [e["attempt"] for e in retries] == list(range(1, len(retries) + 1)) and len(retries) >= 2
    assert retries[0]["delay"] == 0.5 and retries[1]["delay"] == 1.0  # backoff
    assert all(e["message"] == "database not reachable yet: retrying" for e in retries)
    error = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(error) == 1
    assert error[0].startswith(f"Error: database still unreachable after --connect-timeout 2s "
                               f"({len(retries) + 1} attempts): cannot connect to {scheme} at 127.0.0.1:")
    assert "Hint: check that the database is up and reachable from here, or raise --connect-timeout" in result.err
    assert PASSWORD not in result.text


def test_default_is_to_fail_at_once(cli, example_copy):
    dsn = f"postgres://postgres@127.0.0.1:{closed_port()}/app"
    result, elapsed = timed(cli, "status", dsn=dsn, migrations=example_copy, service="auth")
    assert result.code == 1 and elapsed < 2
    assert events(result, "MIGRATION_CONNECT_RETRY") == []
    assert "Connection refused" in result.err and "--connect-timeout" not in result.err


def test_unresolvable_name_is_retried(cli, example_copy):
    result, elapsed = timed(cli, "--connect-timeout", "1", "status", dsn="postgres://postgres@db.invalid/app",
                            migrations=example_copy, service="auth")
    assert result.code == 1 and elapsed >= 1
    assert events(result, "MIGRATION_CONNECT_RETRY")
    assert "Error: database still unreachable after --connect-timeout 1s" in result.err


def _answering_no() -> dict[str, str]:
    pg, my = parse_dsn(PG_ADMIN), parse_dsn(MYSQL_ADMIN)
    missing = f"nodb_{uuid.uuid4().hex[:8]}"
    return {
        "postgres-unknown-database": f"postgres://{pg.user}@{pg.host}:{pg.port}/{missing}",
        "postgres-unknown-role": f"postgres://no_role_{uuid.uuid4().hex[:6]}:{PASSWORD}@{pg.host}:{pg.port}/postgres",
        "mysql-unknown-database": f"mysql://{my.user}@{my.host}:{my.port}/{missing}",
        "mysql-wrong-password": f"mysql://{my.user}:{PASSWORD}@{my.host}:{my.port}/mysql",
    }


def refused_quickly(cli, example_copy, dsn):
    result, elapsed = timed(cli, "--connect-timeout", "30", "status", dsn=dsn, migrations=example_copy,
                            service="auth")
    assert result.code == 1, result.text
    assert elapsed < 10, f"retried a refusal for {elapsed:.1f}s"
    assert events(result, "MIGRATION_CONNECT_RETRY") == []
    assert "--connect-timeout" not in result.err
    assert PASSWORD not in result.text
    return result


@pytest.mark.parametrize("case", sorted(_answering_no()))
def test_a_server_that_answers_no_fails_at_once(cli, example_copy, case):
    dsn = _answering_no()[case]
    d = parse_dsn(dsn)
    try:
        socket.create_connection((d.host, d.port), timeout=5).close()
    except OSError:
        unavailable(f"the test server at {d.address} is not running")
    refused_quickly(cli, example_copy, dsn)


@pytest.fixture
def late_postgres():
    """A throwaway PostgreSQL, initdb'd but not started: role postgres trusted on 127.0.0.1,
    every other role by password (scram-sha-256)."""
    reason = scratch_unavailable_reason()
    if reason:
        unavailable(reason)
    server = ScratchPostgres("connect", hba=["host all postgres 127.0.0.1/32 trust",
                                             "host all all 127.0.0.1/32 scram-sha-256"])
    yield server
    server.cleanup()


def test_a_database_that_comes_up_late_is_reached_and_a_wrong_password_is_not_retried(
        cli, late_postgres, example_copy, write_migrations):
    migrations = write_migrations({"postgres": {"0001_a.up.sql": "CREATE TABLE late_a (id INT PRIMARY KEY);"}})
    dsn = late_postgres.dsn("postgres")
    waiting = subprocess.Popen(migrator_cmd() + ["--log-format", "json", "--database", dsn, "--migrations",
                                                 str(migrations), "--connect-timeout", "60", "up"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        assert waiting.poll() is None, waiting.communicate()
        late_postgres.start()
        out, err = waiting.communicate(timeout=60)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, err
    assert "Applied 1 migration" in out
    retries = [json.loads(line) for line in err.splitlines() if "MIGRATION_CONNECT_RETRY" in line]
    assert retries and "Connection refused" in retries[0]["error"]
    with late_postgres.admin() as conn:
        conn.execute(f"CREATE ROLE app LOGIN PASSWORD 'right-{PASSWORD}'")
        assert conn.execute("SELECT count(*) FROM late_a").fetchone() == (0,)
    result = refused_quickly(cli, example_copy, late_postgres.dsn("postgres", "app", PASSWORD))
    assert "password authentication failed" in result.err
