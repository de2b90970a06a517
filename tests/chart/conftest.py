"""Fixtures for the Helm chart tests: the real `helm` binaries, Helm 3 and Helm 4.

Binaries: $HELM3_BIN / $HELM4_BIN, else .cache/tools/helm{3,4}/helm as installed by
tests/setup/install-helm.sh. A missing binary skips its tests, or fails them when CI=true.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The test modules import chart_helpers whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chart_helpers import HELM_BINARIES, ROOT, Helm  # noqa: E402


def _find_binary(name: str) -> Path | None:
    env_var, default = HELM_BINARIES[name]
    candidate = Path(os.environ.get(env_var) or default)
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def require_binary(name: str) -> Path:
    path = _find_binary(name)
    if path is not None:
        return path
    env_var, default = HELM_BINARIES[name]
    reason = (
        f"{name} not found (set {env_var} or run tests/setup/install-helm.sh, "
        f"which installs {default.relative_to(ROOT)})"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", params=sorted(HELM_BINARIES))
def helm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """Each test that uses it runs once with Helm 3 and once with Helm 4."""
    path = require_binary(request.param)
    return Helm(name=request.param, path=path, home=tmp_path_factory.mktemp(f"{request.param}-home"))


@pytest.fixture(scope="session")
def helm4(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(name="helm4", path=require_binary("helm4"), home=tmp_path_factory.mktemp("helm4-home"))
