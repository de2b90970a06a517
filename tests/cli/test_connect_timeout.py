"""--connect-timeout: a database that does not answer yet (refused, name not resolved) is
tried again with backoff, each attempt logged; one that answers no (wrong password, unknown
database) fails at once. Real ports, real servers, the real CLI."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import pytest

from tests.conftest import MYSQL_ADMIN, PG_ADMIN, make_db

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


def _answering_no():
    pg_user, mysql_user = PG_ADMIN.split("://")[1].split("@")[0], MYSQL_ADMIN.split("://")[1].split("@")[0]
    pg_host, mysql_host = PG_ADMIN.split("@")[1].split("/")[0], MYSQL_ADMIN.split("@")[1].split("/")[0]
    missing = f"nodb_{uuid.uuid4().hex[:8]}"
    return {
        "postgres-unknown-database": f"postgres://{pg_user}@{pg_host}/{missing}",
        "postgres-unknown-role": f"postgres://no_role_{uuid.uuid4().hex[:6]}:{PASSWORD}@{pg_host}/postgres",
        "mysql-unknown-database": f"mysql://{mysql_user}@{mysql_host}/{missing}",
        "mysql-wrong-password": f"mysql://{mysql_user.split(':')[0]}:{PASSWORD}@{mysql_host}/mysql",
    }


@pytest.mark.parametrize("case", sorted(_answering_no()))
def test_a_server_that_answers_no_fails_at_once(cli, example_copy, case):
    result, elapsed = timed(cli, "--connect-timeout", "30", "status", dsn=_answering_no()[case],
                            migrations=example_copy, service="auth")
    if "Connection refused" in result.err:
        from tests.conftest import unavailable

        unavailable(f"the {case.split('-')[0]} test server is not running")
    assert result.code == 1, result.text
    assert elapsed < 10, f"retried a refusal for {elapsed:.1f}s"
    assert events(result, "MIGRATION_CONNECT_RETRY") == []
    assert "--connect-timeout" not in result.err
    assert PASSWORD not in result.text


class LateForwarder:
    """A TCP port that starts accepting after ``delay`` seconds and forwards each connection
    to a real database server: a database that comes up while the migrator is waiting."""

    def __init__(self, target: tuple[str, int], delay: float):
        self.target, self.delay, self.port = target, delay, closed_port()
        self.stop = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        time.sleep(self.delay)
        with socket.create_server(("127.0.0.1", self.port)) as server:
            server.settimeout(0.2)
            while not self.stop.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                upstream = socket.create_connection(self.target)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # the other direction closed both sockets
        finally:
            for s in (source, sink):
                s.close()


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_a_database_that_comes_up_late_is_reached(cli, tmp_path, write_migrations, dialect):
    test_db, drop = make_db(dialect, tmp_path)
    try:
        host_port = test_db.dsn.split("@")[1].split("/")[0]
        host, port = host_port.rsplit(":", 1)
        late = LateForwarder((host, int(port)), delay=1.5)
        dsn = test_db.dsn.replace(host_port, f"127.0.0.1:{late.port}")
        migrations = write_migrations({dialect: {"0001_a.up.sql": "CREATE TABLE late_a (id INT PRIMARY KEY);"}})
        result, elapsed = timed(cli, "up", "--connect-timeout", "20", dsn=dsn, migrations=migrations)
        late.stop.set()
        assert result.code == 0, result.text
        assert elapsed >= 1.5
        assert events(result, "MIGRATION_CONNECT_RETRY")
        assert "table:late_a" in test_db.snapshot()
    finally:
        drop()
