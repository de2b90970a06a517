"""Fixtures of the reliability suite: crash safety, database loss, concurrency, bad
input and security checks of the real CLI against real databases.

Modes
-----
CI mode (the default, what `make test` runs) keeps the whole directory to a few
minutes on a 2-core machine. Soak mode runs many more trials:

    MIGRATOR_SOAK=1 .venv/bin/python -m pytest tests/reliability -q
    .venv/bin/python -m pytest tests/reliability -q --soak      # same (option defined here)

(``--soak`` is only known when tests/reliability is named on the command line, because
pytest reads options from the conftest files of the paths it is given; the
environment variable works everywhere.)

Randomness is seeded: the seed is printed in the terminal summary and with every
failure. Re-run one with ``MIGRATOR_RELIABILITY_SEED=<seed>`` (or ``--reliability-seed``).
Kill timing still depends on the machine, so a seed reproduces the choices (modes,
delays, flags), not the exact instruction a process died on.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CI, make_db
from tests.reliability import support
from tests.reliability.support import PW_PASSWORD, PW_ROLE, REPORT, start_scratch, truthy

# The image fixture of tests/image (builds the image once per session with image/build.sh,
# or uses $MIGRATOR_IMAGE; without a container engine: skip, or fail when CI=true).
from tests.image.conftest import image  # noqa: E402,F401



def pytest_addoption(parser):
    group = parser.getgroup("migrator reliability")
    group.addoption("--soak", action="store_true", default=False,
                    help="reliability suite: long soak mode (same as MIGRATOR_SOAK=1)")
    group.addoption("--reliability-seed", default=None,
                    help="reliability suite: seed of the random choices (same as MIGRATOR_RELIABILITY_SEED)")


def _option(config, name, default=None):
    try:
        return config.getoption(name)
    except (ValueError, AttributeError):
        return default


_SEED: list[int] = []


def session_seed(config) -> int:
    if not _SEED:
        given = _option(config, "reliability_seed") or os.environ.get("MIGRATOR_RELIABILITY_SEED")
        _SEED.append(int(given) if given else random.SystemRandom().randrange(1, 2**31))
    return _SEED[0]


@pytest.fixture(scope="session")
def soak(pytestconfig) -> bool:
    return bool(_option(pytestconfig, "soak", False)) or truthy(os.environ.get("MIGRATOR_SOAK"))


@pytest.fixture(scope="session")
def seed(pytestconfig) -> int:
    value = session_seed(pytestconfig)
    print(f"reliability seed: {value} (re-run with MIGRATOR_RELIABILITY_SEED={value})")
    return value


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not REPORT and not _SEED:
        return
    tr = terminalreporter
    tr.section("migrator reliability")
    if _SEED:
        tr.write_line(f"seed: {_SEED[0]}  (re-run with MIGRATOR_RELIABILITY_SEED={_SEED[0]})")
    mode = "soak" if (_option(config, "soak", False) or truthy(os.environ.get("MIGRATOR_SOAK"))) else "CI"
    tr.write_line(f"mode: {mode}")
    for section, lines in REPORT.items():
        tr.write_line(f"{section}:")
        for line in lines:
            tr.write_line(f"  {line}")


@pytest.fixture(scope="session")
def oracles(tmp_path_factory):
    """oracles(dialect) -> {service: ServiceOracle}, built once per dialect per session."""
    built: dict[str, dict] = {}
    drops = []

    def get(dialect: str) -> dict:
        if dialect not in built:
            started = time.monotonic()
            test_db, drop = make_db(dialect, tmp_path_factory.mktemp(f"oracle-{dialect}"))
            drops.append(drop)
            built[dialect] = support.build_oracle(test_db)
            support.report("oracle", f"{dialect}: example platform applied statement by statement in "
                                     f"{time.monotonic() - started:.1f}s")
        return built[dialect]

    yield get
    for drop in drops:
        drop()


@pytest.fixture(scope="session")
def scratch_pg():
    """A throwaway PostgreSQL server of our own: 300 connections, and a role that must
    authenticate with a password (scram-sha-256 on 127.0.0.1), which the shared test
    server cannot offer (its pg_hba trusts 127.0.0.1)."""
    server = start_scratch("shared", settings={"max_connections": "300"},
                      hba=[f"host all {PW_ROLE} 127.0.0.1/32 scram-sha-256"])
    escaped = PW_PASSWORD.replace("'", "''")
    with server.admin() as conn:
        conn.execute(f"CREATE ROLE {PW_ROLE} LOGIN PASSWORD '{escaped}'")
    yield server
    server.cleanup()


@pytest.fixture
def make_scratch_pg():
    """Factory for a private throwaway server (tests that stop it or limit connections)."""
    servers = []

    def make(name: str, **kwargs) -> ScratchPostgres:
        server = start_scratch(name, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.cleanup()


@pytest.fixture(scope="session")
def nobody_python():
    """(argv prefix, env) to run the migrator as the unprivileged user `nobody`, or skip.

    The venv's interpreter lives under /root (not executable for nobody), so this uses
    Debian's /usr/bin/python3 (same minor version) with the project and the venv's
    site-packages on PYTHONPATH."""
    import sysconfig

    if os.geteuid() != 0:
        return [sys.executable, "-m", "migrator"], {}
    python = Path("/usr/bin/python3")
    runuser = shutil.which("runuser")
    if not python.exists() or runuser is None:
        pytest.skip("cannot run as a non-root user here (no /usr/bin/python3 or runuser)")
    import subprocess

    version = subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != "%d.%d" % sys.version_info[:2]:
        pytest.skip(f"/usr/bin/python3 is {version}, the venv is {sys.version_info[:2]}: cannot run as nobody")
    site = sysconfig.get_paths()["purelib"]
    env = {"PYTHONPATH": f"{support.ROOT}:{site}", "PYTHONDONTWRITEBYTECODE": "1"}
    return [runuser, "-u", "nobody", "--", "env", f"PYTHONPATH={env['PYTHONPATH']}",
            "PYTHONDONTWRITEBYTECODE=1", str(python), "-m", "migrator"], env


def helm_binaries():
    from tests.chart.chart_helpers import HELM_BINARIES

    found = {}
    for name, (env_var, default) in sorted(HELM_BINARIES.items()):
        candidate = Path(os.environ.get(env_var) or default)
        found[name] = candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None
    return found


@pytest.fixture(params=["helm3", "helm4"])
def helm(request, tmp_path_factory):
    from tests.chart.chart_helpers import Helm

    path = helm_binaries().get(request.param)
    if path is None:
        reason = f"{request.param} not installed (tests/setup/install-helm.sh)"
        if CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return Helm(name=request.param, path=path, home=tmp_path_factory.mktemp(f"{request.param}-home"))
