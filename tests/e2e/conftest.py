"""Fixtures of the end-to-end tests (tests/e2e/): the image, derived images, the real
Helm binaries, and one throwaway database per service on the local PostgreSQL and
MariaDB. The objects they return are defined in release.py; the Kubernetes stand-in
is harness.py.

The image is built once per session with image/build.sh, as tests/image does (set
MIGRATOR_IMAGE to use an existing image instead), then given a session-unique tag, so
a rebuild of `localhost/migrator:<appVersion>` by anyone else during the run cannot
change what the tests run. Derived images (`FROM` that tag + one extra migration per
service) are built with `podman build --isolation chroot --network host --pull=never`.
Every tag the session created is removed at its end.

A missing podman, helm or database skips the tests with the reason, or fails them
when CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import harness, release` in any import mode

from release import (  # noqa: E402
    IMAGE_DIR, ROOT, SHIPPED_SCRIPT, TIMINGS, Deployment, Images, Platform, broken_sql, engine, helm_path,
    record, unavailable, upgrade_sql,
)
from tests.conftest import MYSQL_ADMIN, PG_ADMIN  # noqa: E402
from tests.image.conftest import read_app_version  # noqa: E402

BUILD_TIMEOUT = 1800  # a cold build from nothing (apt + debootstrap + pip) takes minutes


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("e2e timings")
        for what, values in TIMINGS.items():
            terminalreporter.write_line(f"{what}: n={len(values)} min={min(values):.2f}s "
                                        f"max={max(values):.2f}s mean={sum(values) / len(values):.2f}s")


@pytest.fixture(scope="session")
def images() -> Images:
    env = {k: v for k, v in os.environ.items() if k != "MIGRATOR_IMAGE"}
    probe = subprocess.run(["bash", str(IMAGE_DIR / "engine.sh"), "--print-engine"],
                           capture_output=True, text=True, env=env)
    engine_name = probe.stdout.strip()
    if probe.returncode != 0 or not engine_name:
        unavailable("no container engine: podman is not installed and no Docker daemon answers "
                    "(`make image` installs podman on Debian 12)")

    app_version = read_app_version()
    source = os.environ.get("MIGRATOR_IMAGE")
    if not source:
        source = f"localhost/migrator:{app_version}"
        log = ROOT / "var" / "e2e-image-build.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(log, "w") as fh:
            proc = subprocess.run(["bash", str(IMAGE_DIR / "build.sh")], cwd=ROOT, env=env, stdout=fh,
                                  stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
            pytest.fail(f"image/build.sh failed (exit {proc.returncode}); log {log}:\n{tail}", pytrace=False)
        record("image build (image/build.sh)", time.monotonic() - started)

    base = f"localhost/migrator:e2e-base-{uuid.uuid4().hex[:8]}"
    proc = engine("tag", source, base)
    if proc.returncode != 0:
        pytest.fail(f"cannot tag {source} as {base}: {proc.stderr}", pytrace=False)
    imgs = Images(engine=engine_name, app_version=app_version, base=base, shipped={}, created=[base])
    try:
        proc = engine("run", "--rm", "--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit",
                      "nproc=1024:1024", "--entrypoint", "python3", base, "-c", SHIPPED_SCRIPT)
        assert proc.returncode == 0, f"listing /migrations in {base} failed:\n{proc.stderr}"
        imgs.shipped = json.loads(proc.stdout)
        yield imgs
    finally:
        for tag in reversed(imgs.created):
            engine("rmi", tag)


@pytest.fixture(scope="session")
def upgrade_image(images, tmp_path_factory) -> str:
    """The image plus one migration per service and dialect (its newest version + 1)."""
    files = {}
    for service in images.shipped:
        for dialect in ("postgres", "mysql"):
            version = images.latest(service, dialect) + 1
            files[f"{service}/{dialect}/{version:04d}_e2e_upgrade_marker.up.sql"] = upgrade_sql(service, dialect)
    return images.derive("upgrade", files, tmp_path_factory.mktemp("upgrade"))


@pytest.fixture(scope="session")
def broken_image(images, tmp_path_factory):
    """broken_image(service) -> tag: the image plus, for `service` on mysql, one
    migration whose second statement fails."""
    built: dict[str, str] = {}

    def build(service: str) -> str:
        if service not in built:
            version = images.latest(service, "mysql") + 1
            files = {f"{service}/mysql/{version:04d}_e2e_broken_index.up.sql": broken_sql(service)}
            built[service] = images.derive(f"broken-{service.lower()}", files, tmp_path_factory.mktemp("broken"))
        return built[service]

    return build


@pytest.fixture(scope="session")
def helm_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("helm-home")


def _parse(dsn: str):
    from migrator.config import parse_dsn

    return parse_dsn(dsn)


def _mysql_admin():
    import pymysql

    a = _parse(MYSQL_ADMIN)
    return pymysql.connect(host=a.host, port=a.port, user=a.user, password=a.password or "", autocommit=True)


@pytest.fixture
def platform(make_database, images):
    """platform(dialect) -> Platform: a fresh database per service. PostgreSQL DSNs carry
    a password that trust auth ignores; on MariaDB a user with that password is created
    for the test (and dropped after it)."""
    users = []

    def make(dialect: str) -> Platform:
        password = f"e2e-Pw{uuid.uuid4().hex[:12]}"
        dbs = {s: make_database(dialect) for s in images.shipped}
        dsns = {}
        if dialect == "postgres":
            a = _parse(PG_ADMIN)
            for s, db in dbs.items():
                dsns[s] = f"postgres://{a.user}:{password}@{a.host}:{a.port}/{db.name}?sslmode=disable"
        else:
            a = _parse(MYSQL_ADMIN)
            user = f"e2e_{uuid.uuid4().hex[:10]}"
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
                users.append(user)
                for db in dbs.values():
                    cur.execute(f"GRANT ALL PRIVILEGES ON `{db.name}`.* TO '{user}'@'%'")
            conn.close()
            for i, (s, db) in enumerate(dbs.items()):
                # both DSN forms of SPEC section 4: URL, and the Go driver's tcp(host:port)
                host = f"tcp({a.host}:{a.port})" if i % 2 else f"{a.host}:{a.port}"
                dsns[s] = f"mysql://{user}:{password}@{host}/{db.name}"
        return Platform(dialect, password, dbs, dsns)

    yield make
    if users:
        conn = _mysql_admin()
        with conn.cursor() as cur:
            for user in users:
                cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        conn.close()


@pytest.fixture
def deployment(platform, images, helm_workdir):
    """deployment(helm_name, dialect, secrets="mixed") -> Deployment (release.py)."""

    def make(helm_name: str, dialect: str, secrets: str = "mixed") -> Deployment:
        return Deployment(helm_path(helm_name), platform(dialect), images, helm_workdir, secrets)

    return make
