"""`helm lint --strict` on Helm 3 and Helm 4, and every rendered object validated
against the Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields are
errors) for Kubernetes 1.29 and the newest version the package ships."""

from __future__ import annotations

import kubernetes_validate
import pytest

from chart_helpers import SERVICES

KUBERNETES_VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]

ALL_ON = {
    **{f"{s}.migration.database.dsn": f"postgres://{s}:pw@db:5432/{s}" for s in SERVICES},
    **{f"{s}.backfill.enabled": True for s in SERVICES},
    **{f"{s}.migration.repairTracking": True for s in SERVICES},
}

SCENARIOS = {
    "defaults": {},
    "full-values-file": {"values": ["full.yaml"]},
    "everything-on": {"set_values": ALL_ON},
    "no-service-account": {"set_values": {"serviceAccount.create": False}},
}


@pytest.mark.parametrize("values", [[], ["full.yaml"]], ids=["defaults", "full-values-file"])
def test_helm_lint_strict(helm, values):
    out = helm.lint(values=values)
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out and "[ERROR]" not in out


@pytest.mark.parametrize("k8s_version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_rendered_objects_validate(helm, scenario, k8s_version):
    docs = helm.template(**scenario)
    assert docs
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, k8s_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f'{doc["kind"]}/{doc["metadata"]["name"]}: {exc.message} at {list(exc.path)}')
    assert not errors, "\n".join(errors)
