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

import re

import pytest

from chart_helpers import RELEASE, SERVICES

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
    assert f"kubectl logs -n migrations -f job/{RELEASE}-analytics-backfill" in notes


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
