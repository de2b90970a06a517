"""The chart on a real cluster (pytest-helm-charts): `helm install` runs the hook Jobs,
`helm test` passes, and `helm upgrade` with one more migration applies just that one.

Needs: KUBECONFIG pointing at a cluster (kind, k3d, minikube...), `kubectl` on PATH,
the migrator image loaded into the cluster (MIGRATOR_TEST_IMAGE, default
localhost/migrator:0.1.0) and a pullable PostgreSQL image (MIGRATOR_TEST_POSTGRES_IMAGE,
default postgres:16-alpine). Skipped without KUBECONFIG.

The migrations come from a ConfigMap mounted through `extraVolumes` and selected with
MIGRATOR_MIGRATIONS_DIR (extraEnv), so the upgrade can add one without a new image
(items, not the whole ConfigMap, so the service directory holds only the .sql files).
"""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from chart_helpers import Helm

pytestmark = pytest.mark.skipif(
    not os.environ.get("KUBECONFIG"),
    reason="cluster test: set KUBECONFIG to a Kubernetes cluster (with kubectl on PATH and "
    "the migrator image loaded) to run it",
)

if os.environ.get("KUBECONFIG"):
    pytest.importorskip("pytest_helm_charts", reason="cluster tests need pytest-helm-charts")
    from pytest_helm_charts.k8s.deployment import wait_for_deployments_to_run
    from pytest_helm_charts.k8s.job import wait_for_jobs_to_complete

IMAGE = os.environ.get("MIGRATOR_TEST_IMAGE", "localhost/migrator:0.1.0")
POSTGRES_IMAGE = os.environ.get("MIGRATOR_TEST_POSTGRES_IMAGE", "postgres:16-alpine")
RELEASE = "mig"
DSN = "postgres://migrator:migrator@pg:5432/app?sslmode=disable"

MIGRATIONS_V1 = {
    "0001_create_users.up.sql": "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL);\n",
}
MIGRATIONS_V2 = {
    **MIGRATIONS_V1,
    "0002_create_sessions.up.sql": (
        "CREATE TABLE sessions (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id));\n"
    ),
}


def postgres_manifest() -> str:
    labels = {"app": "pg"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "pg", "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "containers": [
                        {
                            "name": "postgres",
                            "image": POSTGRES_IMAGE,
                            "env": [
                                {"name": "POSTGRES_USER", "value": "migrator"},
                                {"name": "POSTGRES_PASSWORD", "value": "migrator"},
                                {"name": "POSTGRES_DB", "value": "app"},
                            ],
                            "ports": [{"containerPort": 5432}],
                            "readinessProbe": {
                                "exec": {"command": ["pg_isready", "-U", "migrator", "-d", "app"]},
                                "periodSeconds": 2,
                            },
                        }
                    ]
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "pg"},
        "spec": {"selector": dict(labels), "ports": [{"port": 5432}]},
    }
    return yaml.safe_dump_all([deployment, service])


def migrations_configmap(files: dict[str, str]) -> str:
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-migrations"}, "data": files}
    )


def chart_values() -> dict:
    repository, _, tag = IMAGE.rpartition(":")
    return {
        "services": ["auth"],
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "IfNotPresent",
        "activeDeadlineSeconds": 600,
        "lockTimeout": 60,
        "auth.migration.database.dsn": DSN,
        "extraEnv": [{"name": "MIGRATOR_MIGRATIONS_DIR", "value": "/test-migrations"}],
        "extraVolumes": [
            {
                "name": "test-migrations",
                "configMap": {
                    "name": "test-migrations",
                    "items": [{"key": k, "path": f"auth/postgres/{k}"} for k in MIGRATIONS_V2],
                    "optional": True,
                },
            }
        ],
        "extraVolumeMounts": [{"name": "test-migrations", "mountPath": "/test-migrations", "readOnly": True}],
    }


@pytest.fixture
def namespace(kube_cluster, random_namespace_function_scope):
    return random_namespace_function_scope.name


def kubectl(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["kubectl", *args], input=stdin, capture_output=True, text=True, check=True, timeout=300
    ).stdout


def test_install_test_and_upgrade_with_one_more_migration(helm: Helm, kube_cluster, namespace):
    kubectl("apply", "-n", namespace, "-f", "-", stdin=postgres_manifest())
    wait_for_deployments_to_run(kube_cluster.kube_client, ["pg"], namespace, 300)

    # v1: one migration (the volume's items are optional: 0002 is simply absent)
    kubectl("apply", "-n", namespace, "-f", "-", stdin=migrations_configmap(MIGRATIONS_V1))
    values = chart_values()
    install = [*helm.template_args(set_values=values, release=RELEASE, namespace=namespace)]
    install[0] = "install"
    helm.check(*install, "--timeout", "10m")
    job = f"{RELEASE}-auth-migration"
    wait_for_jobs_to_complete(kube_cluster.kube_client, [job], namespace, 60)
    helm.check("test", RELEASE, "--namespace", namespace, "--logs", "--timeout", "5m")

    # v2: one more migration; the upgrade's hook Job (re-created: before-hook-creation)
    # applies it, and the status check is green again.
    kubectl("apply", "-n", namespace, "-f", "-", stdin=migrations_configmap(MIGRATIONS_V2))
    upgrade = [*helm.template_args(set_values=values, release=RELEASE, namespace=namespace)]
    upgrade[0] = "upgrade"
    helm.check(*upgrade, "--timeout", "10m")
    wait_for_jobs_to_complete(kube_cluster.kube_client, [job], namespace, 60)
    logs = kubectl("logs", "-n", namespace, f"job/{job}")
    assert "create_sessions" in logs or '"version": 2' in logs, logs[-2000:]
    helm.check("test", RELEASE, "--namespace", namespace, "--logs", "--timeout", "5m")
    helm.check("uninstall", RELEASE, "--namespace", namespace)
