"""checkov (a static analyser of Kubernetes manifests) on the rendered chart.

`helm template` with the default values and with values/full.yaml, once per Helm
version; checkov's Kubernetes checks on each render. A failed check must be listed in
tests/chart/checkov.yaml for that render, with its reason; an entry there that no
longer fails anywhere is an error too, so the list stays the list of what fails.

checkov runs from its own venv (`make checkov`: .cache/tools/checkov, pinned), or
$CHECKOV_BIN. Without it the test is skipped, and fails when CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from chart_helpers import ROOT, Helm

CONFIG = Path(__file__).resolve().parent / "checkov.yaml"
CHECKOV_DEFAULT = ROOT / ".cache" / "tools" / "checkov" / "bin" / "checkov"
RENDERS = {"default": (), "full": ("full.yaml",)}


def load_skips() -> dict[str, dict]:
    skips = yaml.safe_load(CONFIG.read_text())["skip"]
    for check_id, entry in skips.items():
        assert str(entry.get("reason", "")).strip(), f"{CONFIG.name}: {check_id} has no reason"
        unknown = set(entry.get("renders", RENDERS)) - set(RENDERS)
        assert not unknown, f"{CONFIG.name}: {check_id} names unknown renders {sorted(unknown)}"
    return skips


@pytest.fixture(scope="module")
def checkov() -> Path:
    path = Path(os.environ.get("CHECKOV_BIN") or CHECKOV_DEFAULT)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = f"checkov not found (set CHECKOV_BIN or run `make checkov`, which installs {CHECKOV_DEFAULT.relative_to(ROOT)})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def run_checkov(checkov: Path, manifests: list[Path]) -> dict:
    """checkov's JSON report of the rendered manifests (its Kubernetes checks only)."""
    files = [arg for manifest in manifests for arg in ("--file", str(manifest))]
    proc = subprocess.run(
        [str(checkov), *files, "--framework", "kubernetes", "--output", "json",
         "--quiet", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    # checkov exits 1 when a check failed; anything else is checkov itself failing.
    assert proc.returncode in (0, 1), f"checkov exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    (kubernetes,) = [r for r in reports if r.get("check_type") == "kubernetes"]
    return kubernetes


def test_rendered_chart_passes_checkov(helm: Helm, checkov: Path, tmp_path: Path):
    skips = load_skips()
    objects = 0
    for render, values in RENDERS.items():
        rendered = helm.check(*helm.template_args(values=values))
        (tmp_path / f"{render}.yaml").write_text(rendered)
        objects += sum(1 for doc in yaml.safe_load_all(rendered) if doc)
    report = run_checkov(checkov, [tmp_path / f"{render}.yaml" for render in RENDERS])
    summary = report["summary"]
    # checkov read every object of both renders (none silently unparsed)
    assert summary["parsing_errors"] == 0, summary
    assert summary["resource_count"] >= objects > 0, (summary, objects)
    assert summary["passed"] > 0, summary

    unaccepted: list[str] = []
    failing: dict[str, set[str]] = defaultdict(set)  # check id -> renders where it fails
    for check in report["results"]["failed_checks"]:
        check_id, render = check["check_id"], Path(check["file_path"]).stem
        failing[check_id].add(render)
        if check_id not in skips or render not in skips[check_id].get("renders", RENDERS):
            unaccepted.append(f"{render}: {check_id} {check['check_name']!r} on {check['resource']}"
                              f" ({check.get('guideline') or 'no guideline'})")
    assert not unaccepted, (
        f"checkov checks failing on the rendered chart ({helm.name}); fix the chart, or list the check "
        f"in tests/chart/{CONFIG.name} with its reason:\n" + "\n".join(unaccepted)
    )
    stale = [
        f"{check_id} on {render}"
        for check_id, entry in skips.items()
        for render in entry.get("renders", RENDERS)
        if render not in failing.get(check_id, ())
    ]
    assert not stale, f"tests/chart/{CONFIG.name} accepts failures checkov no longer reports: {stale}"
