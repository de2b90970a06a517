"""NOTES.txt, rendered offline.

`helm template` does not render NOTES.txt, and Helm 3's `helm install --dry-run=client`
contacts the API server. So:
- on Helm 4, the real thing: `helm install --dry-run=client` renders NOTES offline;
- on Helm 3, a scratch copy of the chart where NOTES.txt is moved out of templates/ and
  rendered by `tpl` (same engine, values, release and named templates) into a ConfigMap
  that `helm template --show-only` prints;
- test_tpl_rendering_matches_helm_install checks, on Helm 4, that both ways give the
  same text, so the Helm 3 way is shown to be faithful.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from chart_helpers import CHART_DIR, RELEASE, SERVICES, rerun_loop

REPAIR_WARNING = re.compile(r"WARNING: the break-glass flag is ON for service (\w+):")


def warned_services(notes: str) -> list[str]:
    return REPAIR_WARNING.findall(notes)


def test_no_warning_by_default(helm, tmp_path):
    notes = helm.notes(tmp_path)
    assert warned_services(notes) == []
    assert "MIGRATE_REPAIR_TRACKING" not in notes
    for service in SERVICES:
        assert f"- {service}: job/" in notes
    assert f"helm test {RELEASE} -n migrations --logs" in notes


def test_warning_names_each_service_with_the_flag(helm, tmp_path):
    notes = helm.notes(
        tmp_path,
        set_values={"analytics.migration.repairTracking": True, "cortex.migration.repairTracking": True},
    )
    assert warned_services(notes) == ["analytics", "cortex"]
    for service in ("analytics", "cortex"):
        block = notes[notes.index(f"ON for service {service}:") :]
        block = block[: block.index("*" * 20)]
        assert f"MIGRATE_REPAIR_TRACKING=1 on job/{RELEASE}-{service}-migration" in block
        assert "must go back to false after this repair upgrade" in block
        assert f"--set {service}.migration.repairTracking=false" in block


def test_warning_from_values_file(helm, tmp_path):
    notes = helm.notes(tmp_path, values=["full.yaml"])
    assert warned_services(notes) == ["analytics"]
    assert "- apiOntology" not in notes  # disabled in full.yaml
    assert re.search(rf"kubectl logs -n migrations -f job/{RELEASE}-analytics-backfill-[0-9a-f]{{8}}\n", notes)


def test_no_warning_for_a_disabled_service(helm, tmp_path):
    notes = helm.notes(
        tmp_path,
        set_values={"auth.migration.repairTracking": True, "auth.migration.enabled": False},
    )
    assert warned_services(notes) == []


def test_notes_show_the_manual_rerun_in_order(helm, tmp_path):
    notes = helm.notes(tmp_path, set_values={"agentic.migration.enabled": False})
    assert f"helm get hooks {RELEASE} -n migrations > hooks.yaml" in notes
    assert "for s in auth analytics cortex apiOntology; do" in notes
    assert "app.kubernetes.io/component=migration,migrator.platform/service=$s" in notes


# A stand-in for the API server's answers (this machine has no cluster): `kubectl apply`
# is recorded, `kubectl get job -l ...` answers the Job conditions a real Job ends with
# (Kubernetes 1.31+ sets FailureTarget/SuccessCriteriaMet before Failed/Complete), and
# `sleep` returns at once. The loop under test is the real one, run by the real bash.
KUBECTL = textwrap.dedent("""\
    #!/bin/bash
    echo "$*" >> "$CALLS"
    case "$1" in
      get) case "$*" in *"service=$FAILING"*) echo "FailureTarget Failed";; *) echo "SuccessCriteriaMet Complete";; esac;;
      logs) echo "migration failed: the logs";;
    esac
""")


def run_loop(loop: str, tmp_path: Path, failing: str) -> tuple[subprocess.CompletedProcess, list[str], float]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("kubectl", KUBECTL), ("sleep", "#!/bin/sh\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / f"calls-{failing}"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls), "FAILING": failing}
    started = time.monotonic()
    proc = subprocess.run(["bash", "-c", loop], capture_output=True, text=True, env=env, timeout=60)
    return proc, calls.read_text().splitlines(), time.monotonic() - started


def applied_services(calls: list[str]) -> list[str]:
    return [c.rsplit("service=", 1)[1] for c in calls if c.startswith("apply ")]


def test_manual_rerun_stops_at_the_first_failed_job(helm, tmp_path):
    loop = rerun_loop(helm.notes(tmp_path))

    proc, calls, seconds = run_loop(loop, tmp_path, failing="analytics")

    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert applied_services(calls) == ["auth", "agentic", "analytics"]  # cortex never starts
    assert "analytics: FailureTarget Failed" in proc.stdout and "migration failed: the logs" in proc.stdout
    assert seconds < 10  # no waiting out a timeout on a failed Job
    ok, calls, _ = run_loop(loop, tmp_path, failing="nothing")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert applied_services(calls) == SERVICES
    gets = [c for c in calls if c.startswith("get job")]
    assert all(f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=migration" in c for c in gets)


def test_notes_when_nothing_is_enabled(helm, tmp_path):
    notes = helm.notes(tmp_path, set_values={f"{s}.migration.enabled": False for s in SERVICES})
    assert "No migration Job is enabled" in notes


@pytest.mark.parametrize(
    "values",
    [{}, {"analytics.migration.repairTracking": True, "auth.backfill.enabled": True}],
    ids=["defaults", "repair-and-backfill"],
)
def test_tpl_rendering_matches_helm_install(helm4, tmp_path, values):
    real = helm4.notes_via_install(set_values=values)
    via_tpl = helm4.notes_via_tpl(tmp_path, set_values=values)
    assert via_tpl.strip() == real.strip()


def test_readme_shows_the_same_rerun_loop(helm, tmp_path):
    readme = (CHART_DIR.parent / "README.md").read_text()
    section = readme[readme.index("### Manual hook re-run (when Helm cannot)") :]
    notes_loop = rerun_loop(helm.notes(tmp_path)).replace("-n migrations", "-n platform")
    assert rerun_loop(section) == notes_loop
