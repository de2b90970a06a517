"""Fixtures for the container image tests (tests/image/).

The image is built once per test session with image/build.sh (a warm rebuild is a
few seconds of cache hits, and it keeps the tests from judging a stale image left on
the machine by an earlier session). Set MIGRATOR_IMAGE to test an existing image
instead (nothing is built then).

Without a container engine (a Docker daemon answering `docker info`, or podman) the
tests are skipped, or fail when CI=true: CI must run `make image` first, which
installs podman on a fresh Debian 12.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE_DIR = ROOT / "image"
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
BUILD_TIMEOUT = 1800  # a cold build from nothing (apt + debootstrap + pip) takes ~2 min


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: run `make image` before the tests)", pytrace=False)
    pytest.skip(reason)


def read_app_version() -> str:
    """The chart's appVersion (the image tag), else the package version."""
    chart = ROOT / "chart" / "Chart.yaml"
    if chart.is_file():
        for line in chart.read_text().splitlines():
            if line.startswith("appVersion:"):
                return line.split(":", 1)[1].split("#", 1)[0].strip().strip("\"'")
    return read_pyproject()["project"]["version"]


def read_pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Image:
    ref: str
    engine: str

    def engine_cmd(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(IMAGE_DIR / "engine.sh"), *args],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )

    def inspect(self, ref: str | None = None) -> dict:
        proc = self.engine_cmd("image", "inspect", ref or self.ref)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)[0]

    def run(self, *args: str, opts: tuple[str, ...] = (), timeout: float = 300) -> subprocess.CompletedProcess:
        """image/run.sh [opts] -- args: migrator ARGS unless opts change the entrypoint."""
        env = {**os.environ, "MIGRATOR_IMAGE": self.ref}
        return subprocess.run(
            ["bash", str(IMAGE_DIR / "run.sh"), *opts, "--", *args],
            capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
        )

    def sh(self, script: str, opts: tuple[str, ...] = (), timeout: float = 300) -> subprocess.CompletedProcess:
        return self.run("-c", script, opts=("--entrypoint", "/bin/sh", *opts), timeout=timeout)

    def python(self, code: str, opts: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        return self.run("-c", code, opts=("--entrypoint", "python3", *opts))


@pytest.fixture(scope="session")
def image() -> Image:
    env = {k: v for k, v in os.environ.items() if k != "MIGRATOR_IMAGE"}
    probe = subprocess.run(
        ["bash", str(IMAGE_DIR / "engine.sh"), "--print-engine"],
        capture_output=True, text=True, env=env,
    )
    engine = probe.stdout.strip()
    if probe.returncode != 0 or not engine:
        _unavailable("no container engine: no Docker daemon answers `docker info` and podman "
                     "is not installed (`make image` installs podman on Debian 12)")

    given = os.environ.get("MIGRATOR_IMAGE")
    if given:
        img = Image(given, engine)
        if img.engine_cmd("image", "inspect", given).returncode != 0:
            pytest.fail(f"MIGRATOR_IMAGE={given} is not in {engine}'s images", pytrace=False)
        return img

    ref = f"localhost/migrator:{read_app_version()}"
    log = ROOT / "var" / "image-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as fh:
        proc = subprocess.run(
            ["bash", str(IMAGE_DIR / "build.sh")], cwd=ROOT, env=env,
            stdout=fh, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT, stdin=subprocess.DEVNULL,
        )
    if proc.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-40:])
        pytest.fail(f"image/build.sh failed (exit {proc.returncode}); full log in {log}:\n{tail}",
                    pytrace=False)
    return Image(ref, engine)


@pytest.fixture(scope="session")
def uv() -> str:
    """The uv that regenerates the lock files: $UV, else .cache/tools/uv (`make uv`),
    else uv on PATH."""
    default = ROOT / ".cache" / "tools" / "uv" / "bin" / "uv"
    found = os.environ.get("UV") or (str(default) if default.is_file() else shutil.which("uv"))
    if not found:
        _unavailable(f"uv not found (set UV, or run `make uv`, which installs it into {default.relative_to(ROOT)})")
    return found


@pytest.fixture(scope="session")
def config(image: Image) -> dict:
    return image.inspect()["Config"]


@pytest.fixture(scope="session")
def cli_ready() -> None:
    """The tests that run migrator commands wait for the CLI module to exist."""
    target = read_pyproject()["project"]["scripts"]["migrator"]  # e.g. "migrator.cli:main"
    module = ROOT.joinpath(*target.split(":", 1)[0].split("."))
    if not (module.with_suffix(".py").is_file() or (module / "__init__.py").is_file()):
        pytest.skip(f"waits on the CLI: {target} is not in the package yet")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def app_version() -> str:
    return read_app_version()


@pytest.fixture(scope="session")
def project() -> dict:
    """[project] of pyproject.toml."""
    return read_pyproject()["project"]
