"""`migrator.waitInitContainer`, included by a tiny application chart (made in a temp
dir) that depends on this chart through a file:// dependency, as a real application
chart would."""

from __future__ import annotations

import textwrap
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from chart_helpers import CHART_DIR, Helm, of

KUBERNETES_VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]
DIGEST = "sha256:" + "ab" * 32

APP_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-ontology-api
spec:
  selector:
    matchLabels:
      app: ontology-api
  template:
    metadata:
      labels:
        app: ontology-api
    spec:
      initContainers:
        - {{- include "migrator.waitInitContainer" (dict "context" $ "service" "auth") | nindent 10 }}
        - {{- include "migrator.waitInitContainer" (dict "context" $ "service" "apiOntology" "timeout" 900 "secretName" "ontology-dsn" "secretKey" "url" "resources" (dict "requests" (dict "cpu" "5m" "memory" "32Mi"))) | nindent 10 }}
      containers:
        - name: app
          image: ontology-api:1.0.0
"""


def make_app_chart(root: Path, helm: Helm, *, alias: str | None = None, template: str = APP_DEPLOYMENT) -> Path:
    app = root / f"ontology-api-{helm.name}-{alias or 'plain'}"
    (app / "templates").mkdir(parents=True)
    dependency = {"name": "migrator", "version": "0.1.0", "repository": f"file://{CHART_DIR}"}
    if alias:
        dependency["alias"] = alias
    chart_yaml = {
        "apiVersion": "v2",
        "name": "ontology-api",
        "version": "1.0.0",
        "appVersion": "9.9.9",  # must not leak into the migrator image tag
        "description": "A test application chart that waits for its schema.",
        "dependencies": [dependency],
    }
    (app / "Chart.yaml").write_text(yaml.safe_dump(chart_yaml, sort_keys=False))
    (app / "values.yaml").write_text("{}\n")
    (app / "templates" / "deployment.yaml").write_text(template)
    helm.check("dependency", "build", str(app))
    return app


@pytest.fixture(scope="module")
def app_chart(helm, tmp_path_factory):
    return make_app_chart(tmp_path_factory.mktemp("app"), helm)


def init_containers(docs):
    (deployment,) = of(docs, "Deployment")
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["initContainers"]}


def env_dsn(c):
    (dsn,) = [e for e in c["env"] if e["name"] == "DSN"]
    return dsn["valueFrom"]["secretKeyRef"]


def test_defaults_follow_the_migrator_dependency(helm, app_chart):
    docs = helm.template(chart=app_chart, release="ontology")
    containers = init_containers(docs)
    assert list(containers) == ["wait-for-auth-schema", "wait-for-api-ontology-schema"]
    auth = containers["wait-for-auth-schema"]
    assert auth["image"] == "migrator:0.1.0", "the migrator chart's appVersion, not the app's"
    assert "command" not in auth
    assert auth["args"] == [
        "wait", "--service", "auth", "--read-from-env", "--timeout", "300", "--log-format", "json",
    ]  # fmt: skip
    assert env_dsn(auth) == {"name": "ontology-auth-db", "key": "dsn"}
    assert {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"} in auth["env"]
    sc = auth["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert auth["resources"]["limits"]["memory"]


def test_explicit_parameters(helm, app_chart):
    onto = init_containers(helm.template(chart=app_chart, release="ontology"))["wait-for-api-ontology-schema"]
    assert onto["args"] == [
        "wait", "--service", "apiOntology", "--read-from-env", "--timeout", "900", "--log-format", "json",
    ]  # fmt: skip
    assert env_dsn(onto) == {"name": "ontology-dsn", "key": "url"}
    assert onto["resources"] == {"requests": {"cpu": "5m", "memory": "32Mi"}}


def test_parent_values_for_the_dependency_are_followed(helm, app_chart):
    docs = helm.template(
        chart=app_chart,
        release="ontology",
        set_values={
            "migrator.image.repository": "registry.example.com/migrator",
            "migrator.image.digest": DIGEST,
            "migrator.image.pullPolicy": "Always",
            "migrator.auth.migration.database.existingSecret": "auth-credentials",
            "migrator.auth.migration.database.secretKey": "uri",
        },
    )
    auth = init_containers(docs)["wait-for-auth-schema"]
    assert auth["image"] == f"registry.example.com/migrator@{DIGEST}"
    assert auth["imagePullPolicy"] == "Always"
    assert env_dsn(auth) == {"name": "auth-credentials", "key": "uri"}
    # the dependency's own hook Jobs render too, with the same image
    jobs = of(docs, "Job")
    assert jobs and {j["spec"]["template"]["spec"]["containers"][0]["image"] for j in jobs} == {auth["image"]}


def test_aliased_dependency(helm, tmp_path):
    template = APP_DEPLOYMENT.replace('"service" "auth")', '"service" "auth" "chart" "schema")').replace(
        '"service" "apiOntology" ', '"service" "apiOntology" "chart" "schema" '
    )
    app = make_app_chart(tmp_path, helm, alias="schema", template=template)
    docs = helm.template(chart=app, release="r", set_values={"schema.image.tag": "2.0.0"})
    assert init_containers(docs)["wait-for-auth-schema"]["image"] == "migrator:2.0.0"


def test_without_the_dependency_image_is_required(helm, app_chart):
    template = APP_DEPLOYMENT.replace('"service" "auth")', '"service" "auth" "chart" "nope")')
    (app_chart / "templates" / "broken.yaml").write_text(template.replace("-ontology-api", "-broken"))
    try:
        proc = helm.template_raw(chart=app_chart)
    finally:
        (app_chart / "templates" / "broken.yaml").unlink()
    assert proc.returncode != 0
    assert 'no "nope" dependency in this chart: pass "image"' in proc.stderr


def test_service_is_required(helm, app_chart):
    (app_chart / "templates" / "broken.yaml").write_text(
        'kind: ConfigMap\n{{ include "migrator.waitInitContainer" (dict "context" $) }}\n'
    )
    try:
        proc = helm.template_raw(chart=app_chart)
    finally:
        (app_chart / "templates" / "broken.yaml").unlink()
    assert proc.returncode != 0
    assert '"service" is required' in proc.stderr


def test_app_chart_lints_and_validates(helm, app_chart):
    assert "0 chart(s) failed" in helm.lint(chart=app_chart)
    (deployment,) = of(helm.template(chart=app_chart), "Deployment")
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(deployment, version, strict=True)


def test_usage_comment_documents_the_template():
    text = (CHART_DIR / "templates" / "_wait.tpl").read_text()
    usage = textwrap.dedent(text.split("Usage", 1)[1].split("Expects a dict", 1)[0])
    assert 'include "migrator.waitInitContainer" (dict "context" $ "service" "auth"' in usage
    for parameter in ("context", "service", "timeout", "secretName", "secretKey", "image", "chart"):
        assert f"  {parameter} " in text
