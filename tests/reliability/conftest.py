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
import tempfile
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


def runtime_distributions(name: str = "migrator") -> list:
    """The installed distributions ``name`` needs at run time (its requirements without
    extras' test tools, followed through their own requirements and the extras they ask for)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    found, todo, seen = {}, [(name, "")], set()
    while todo:
        dist_name, extra = todo.pop()
        if (dist_name.lower(), extra) in seen:
            continue
        seen.add((dist_name.lower(), extra))
        dist = metadata.distribution(dist_name)
        found[dist.metadata["Name"].lower()] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(req.name, e) for e in sorted(req.extras) or [""]]
    found.pop(name)
    return list(found.values())


def interpreter_for(user: str, runuser: str) -> Path | None:
    """An interpreter of this Python version that ``user`` can run: the venv's base one, or
    else the system's (the base may live under a home directory, e.g. pyenv's in /root)."""
    import subprocess

    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (Path(sys.base_prefix) / "bin" / f"python{version}",
                      Path("/usr/local/bin") / f"python{version}", Path("/usr/bin") / f"python{version}"):
        probe = subprocess.run([runuser, "-u", user, "--", str(candidate), "-I", "-c", "import venv"],
                               capture_output=True, cwd="/tmp", stdin=subprocess.DEVNULL)
        if probe.returncode == 0:
            return candidate
    return None


def readable_venv(top: Path, base: Path) -> Path:
    """A venv under ``top`` that any user can run: interpreter ``base``, a copy of the
    migrator package and the installed files of its runtime dependencies. Returns its python."""
    import subprocess

    venv = top / "venv"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    shutil.copytree(support.ROOT / "migrator", site / "migrator", ignore=shutil.ignore_patterns("__pycache__"))
    for dist in runtime_distributions():
        for name in dist.files or []:
            if name.parts[0] == "..":  # console scripts: not needed, python -m is used
                continue
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(dist.locate_file(name), site / name)
    for folder, dirs, files in os.walk(top):  # readable (and folders traversable) by anyone
        os.chmod(folder, 0o755)
        for f in files:
            path = os.path.join(folder, f)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
    return python


@pytest.fixture(scope="session")
def nobody_python():
    """(argv prefix, env) to run the migrator as the unprivileged user `nobody`.

    The checkout and its venv may sit where `nobody` cannot go (a clone under /root, which is
    0700), so the subprocess gets its own venv under a fresh world-readable folder in /tmp
    (readable_venv) of an interpreter nobody can run, isolated (`python -I`: no PYTHONPATH,
    no user site, no cwd)."""
    import subprocess

    if os.geteuid() != 0:
        return [sys.executable, "-m", "migrator"], {}
    runuser = shutil.which("runuser")
    base = interpreter_for("nobody", runuser) if runuser else None
    if base is None:
        reason = (f"cannot run as nobody here: no runuser, or no Python {sys.version_info[0]}."
                  f"{sys.version_info[1]} that nobody can execute")
        if CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    top = Path(tempfile.mkdtemp(prefix="migrator-nobody-", dir="/tmp"))
    try:
        python = readable_venv(top, base)
        prefix = [runuser, "-u", "nobody", "--", str(python), "-I"]
        probe = subprocess.run(prefix + ["-c", "import migrator.cli, psycopg, pymysql, structlog"],
                               capture_output=True, text=True, cwd="/tmp", stdin=subprocess.DEVNULL)
        assert probe.returncode == 0, f"the venv for nobody is incomplete: {probe.stderr[-2000:]}"
        yield prefix + ["-m", "migrator"], {}
    finally:
        shutil.rmtree(top, ignore_errors=True)


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
