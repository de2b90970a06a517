"""The chart rendered with the real `helm template` (Helm 3 and Helm 4), asserted on the
parsed YAML: the migration hook Jobs, the objects the chart makes for them, the test
Pods and the backfill Jobs."""

from __future__ import annotations

import re

import pytest

from chart_helpers import (
    KEBAB,
    NAMESPACE,
    RELEASE,
    SERVICE_LABEL,
    SERVICES,
    annotations,
    by_service,
    container,
    env_of,
    hook_weight,
    is_hook,
    labels,
    migration_jobs,
    of,
    pod_spec,
)

DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def default_docs(helm):
    return helm.template()


@pytest.fixture(scope="module")
def full_docs(helm):
    return helm.template(values=["full.yaml"])


# --- the migration Jobs with default values ---------------------------------------


def test_one_job_per_service_in_services_order(default_docs):
    jobs = migration_jobs(default_docs)
    assert [labels(j)[SERVICE_LABEL] for j in jobs] == SERVICES
    assert [hook_weight(j) for j in jobs] == [0, 1, 2, 3, 4]
    assert [j["metadata"]["name"] for j in jobs] == [f"{RELEASE}-{KEBAB[s]}-migration" for s in SERVICES]
    assert all(j["metadata"]["namespace"] == NAMESPACE for j in jobs)


def test_job_labels(default_docs):
    for job in migration_jobs(default_docs):
        service = labels(job)[SERVICE_LABEL]
        expected = {
            "app.kubernetes.io/name": "migrator",
            "app.kubernetes.io/instance": RELEASE,
            "app.kubernetes.io/component": "migration",
            "app.kubernetes.io/part-of": RELEASE,
            "app.kubernetes.io/version": "0.1.0",
            "app.kubernetes.io/managed-by": "Helm",
            "helm.sh/chart": "migrator-0.1.0",
            SERVICE_LABEL: service,
        }
        assert labels(job) == expected
        # the pods carry the same labels, so `kubectl logs -l` finds them
        assert job["spec"]["template"]["metadata"]["labels"] == expected


def test_job_hook_annotations(default_docs):
    for job in migration_jobs(default_docs):
        ann = annotations(job)
        assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert ann["helm.sh/hook-delete-policy"] == "before-hook-creation"
        assert "migrator.platform/repair-tracking" not in ann


def test_job_spec(default_docs):
    for job in migration_jobs(default_docs):
        spec = job["spec"]
        assert spec["backoffLimit"] == 0
        assert spec["activeDeadlineSeconds"] == 1800
        assert "ttlSecondsAfterFinished" not in spec
        assert pod_spec(job)["restartPolicy"] == "Never"


def test_job_security_context(default_docs):
    for job in migration_jobs(default_docs):
        pod = pod_spec(job)
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert pod["automountServiceAccountToken"] is False
        c = container(job)
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["runAsNonRoot"] is True
        # read-only root filesystem: the only writable place is an emptyDir at /tmp
        assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
        assert c["resources"]["requests"] and c["resources"]["limits"]


def test_job_container_args_and_env(default_docs):
    for job in migration_jobs(default_docs):
        service = labels(job)[SERVICE_LABEL]
        c = container(job)
        assert "command" not in c, "the image's entrypoint (migrator) must stay"
        assert c["args"] == [
            "up", "--service", service, "--read-from-env", "--lock-timeout", "300",
            "--ddl-lock-timeout", "5", "--connect-timeout", "60", "--ddl-lock-retries", "5",
            "--progress-interval", "30", "--log-format", "json",
        ]  # fmt: skip
        assert job["spec"]["backoffLimit"] == 0
        assert c["image"] == "migrator:0.1.0"
        assert c["imagePullPolicy"] == "IfNotPresent"
        env = env_of(c)
        assert env["DSN"] == {"secretKeyRef": {"name": f"{RELEASE}-{KEBAB[service]}-db", "key": "dsn"}}
        assert env["PYTHONDONTWRITEBYTECODE"] == "1"
        assert "MIGRATE_REPAIR_TRACKING" not in env
        assert c["env"][0]["name"] == "DSN"


def test_default_service_account_is_an_earlier_hook(default_docs):
    (sa,) = of(default_docs, "ServiceAccount")
    assert sa["metadata"]["name"] == f"{RELEASE}-migrator"
    assert annotations(sa)["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations(sa)["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert hook_weight(sa) < min(hook_weight(j) for j in migration_jobs(default_docs))
    for job in migration_jobs(default_docs):
        assert pod_spec(job)["serviceAccountName"] == f"{RELEASE}-migrator"


def test_defaults_create_no_secret_and_no_backfill(default_docs):
    assert of(default_docs, "Secret") == []
    assert of(default_docs, "Job", "backfill") == []


def test_every_object_is_a_hook_by_default(default_docs):
    """With default values nothing is a plain resource: a release of hooks only."""
    assert all(is_hook(d) for d in default_docs)


# --- values that change the Jobs ------------------------------------------------


def test_repair_flag_on_exactly_one_job(helm):
    docs = helm.template(set_values={"analytics.migration.repairTracking": True})
    flagged = {
        labels(j)[SERVICE_LABEL]
        for j in migration_jobs(docs)
        if env_of(container(j)).get("MIGRATE_REPAIR_TRACKING") == "1"
    }
    assert flagged == {"analytics"}
    analytics = by_service(migration_jobs(docs))["analytics"]
    assert annotations(analytics)["migrator.platform/repair-tracking"] == "true"
    for pod in of(docs, "Pod"):  # the test Pods never repair
        assert "MIGRATE_REPAIR_TRACKING" not in env_of(container(pod))


def test_disabled_services_have_no_job_and_keep_their_weight(helm):
    docs = helm.template(
        set_values={"agentic.migration.enabled": False, "apiOntology.migration.enabled": False}
    )
    jobs = migration_jobs(docs)
    assert [labels(j)[SERVICE_LABEL] for j in jobs] == ["auth", "analytics", "cortex"]
    assert [hook_weight(j) for j in jobs] == [0, 2, 3]
    assert {labels(p)[SERVICE_LABEL] for p in of(docs, "Pod")} == {"auth", "analytics", "cortex"}


def test_all_services_disabled_renders_only_the_service_account(helm):
    docs = helm.template(set_values={f"{s}.migration.enabled": False for s in SERVICES})
    assert [d["kind"] for d in docs] == ["ServiceAccount"]


def test_services_list_fixes_order_and_weights(helm):
    docs = helm.template(set_values={"services": ["cortex", "auth"], "hookWeightBase": 10})
    jobs = migration_jobs(docs)
    assert [(labels(j)[SERVICE_LABEL], hook_weight(j)) for j in jobs] == [("cortex", 10), ("auth", 11)]
    (sa,) = of(docs, "ServiceAccount")
    assert hook_weight(sa) == 0


def test_existing_secret_and_key_override(helm):
    docs = helm.template(
        set_values={
            "cortex.migration.database.existingSecret": "cortex-credentials",
            "cortex.migration.database.secretKey": "url",
        }
    )
    jobs = by_service(migration_jobs(docs))
    assert env_of(container(jobs["cortex"]))["DSN"] == {
        "secretKeyRef": {"name": "cortex-credentials", "key": "url"}
    }
    assert env_of(container(jobs["auth"]))["DSN"] == {
        "secretKeyRef": {"name": f"{RELEASE}-auth-db", "key": "dsn"}
    }
    test_pod = by_service(of(docs, "Pod"))["cortex"]
    assert env_of(container(test_pod))["DSN"]["secretKeyRef"]["name"] == "cortex-credentials"


def test_image_tag_defaults_to_app_version_and_digest_pins(helm):
    tagged = helm.template(set_values={"image.repository": "localhost/migrator", "image.tag": "1.2.3"})
    assert {container(j)["image"] for j in migration_jobs(tagged)} == {"localhost/migrator:1.2.3"}
    pinned = helm.template(
        set_values={"image.repository": "localhost/migrator", "image.tag": "1.2.3", "image.digest": DIGEST}
    )
    images = {container(d)["image"] for d in migration_jobs(pinned) + of(pinned, "Pod")}
    assert images == {f"localhost/migrator@{DIGEST}"}


def test_hook_delete_policy_and_ttl_are_configurable(helm):
    docs = helm.template(
        set_values={"hookDeletePolicy": "before-hook-creation,hook-succeeded", "ttlSecondsAfterFinished": 600}
    )
    for job in migration_jobs(docs):
        assert annotations(job)["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
        assert job["spec"]["ttlSecondsAfterFinished"] == 600
    # the dependencies keep before-hook-creation: the backfills and tests need them later
    for dep in of(docs, "ServiceAccount"):
        assert annotations(dep)["helm.sh/hook-delete-policy"] == "before-hook-creation"


def test_long_release_names_are_cut_to_63_keeping_service_and_suffix(helm):
    release = "a-release-name-that-is-really-quite-long-x"  # 42 characters
    docs = helm.template(release=release)
    names = [d["metadata"]["name"] for d in docs]
    assert all(len(n) <= 63 and not n.endswith("-") for n in names), names
    jobs = migration_jobs(docs)
    assert jobs[-1]["metadata"]["name"].endswith("-api-ontology-migration")
    assert len(set(names)) == len(names)


# --- the full values file ---------------------------------------------------------


def test_full_values_jobs(full_docs):
    jobs = by_service(migration_jobs(full_docs))
    assert sorted(jobs) == sorted(["auth", "agentic", "analytics", "cortex"])  # apiOntology off
    assert [hook_weight(j) for j in migration_jobs(full_docs)] == [5, 6, 7, 8]
    for service, job in jobs.items():
        c = container(job)
        assert c["image"] == f"localhost/migrator@{DIGEST}"
        assert c["imagePullPolicy"] == "Always"
        analytics = service == "analytics"
        ddl, retries, interval = ("2.5", "0", "0.5") if analytics else ("10", "3", "15")
        extra = ["--lock-timeout", "60"] if analytics else []
        assert c["args"] == [
            "up", "--service", service, "--read-from-env", "--lock-timeout", "120",
            "--ddl-lock-timeout", ddl, "--connect-timeout", "120", "--ddl-lock-retries", retries,
            "--progress-interval", interval, "--log-format", "json", "--log-level", "debug",
            *extra,
        ]  # fmt: skip
        assert job["spec"]["backoffLimit"] == (1 if service == "analytics" else 0)
        assert env_of(c)["TZ"] == "UTC"
        assert {"name": "db-ca", "mountPath": "/etc/db-ca", "readOnly": True} in c["volumeMounts"]
        pod = pod_spec(job)
        assert pod["imagePullSecrets"] == [{"name": "regcred"}]
        assert pod["serviceAccountName"] == "platform-migrations"
        assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
        assert pod["tolerations"][0]["key"] == "dedicated"
        assert "nodeAffinity" in pod["affinity"]
        assert pod["priorityClassName"] == "batch-high"
        assert job["spec"]["ttlSecondsAfterFinished"] == 86400
        meta = job["spec"]["template"]["metadata"]
        assert meta["labels"]["team"] == "platform"
        assert meta["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"

    analytics = jobs["analytics"]
    assert analytics["spec"]["activeDeadlineSeconds"] == 7200
    assert jobs["auth"]["spec"]["activeDeadlineSeconds"] == 3600
    assert env_of(container(analytics))["MIGRATE_REPAIR_TRACKING"] == "1"
    assert env_of(container(analytics))["ANALYTICS_ONLY"] == "yes"
    assert "ANALYTICS_ONLY" not in env_of(container(jobs["auth"]))
    assert container(analytics)["resources"]["limits"] == {"memory": "1Gi"}
    assert annotations(analytics)["example.com/owner"] == "analytics-team"
    assert annotations(analytics)["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert analytics["spec"]["template"]["metadata"]["annotations"]["example.com/pod-owner"] == "analytics-team"
    assert [n for n, j in jobs.items() if "MIGRATE_REPAIR_TRACKING" in env_of(container(j))] == ["analytics"]
    assert env_of(container(jobs["agentic"]))["DSN"] == {
        "secretKeyRef": {"name": "agentic-db-credentials", "key": "url"}
    }


def test_dsn_makes_a_secret_hook_before_every_job(full_docs):
    (secret,) = of(full_docs, "Secret")
    assert secret["metadata"]["name"] == f"{RELEASE}-auth-db"
    assert secret["data"] == {"dsn": "cG9zdGdyZXM6Ly9hdXRoOnMzY3JldEBkYjo1NDMyL2F1dGg/c3NsbW9kZT1kaXNhYmxl"}
    ann = annotations(secret)
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert ann["helm.sh/hook-delete-policy"] == "before-hook-creation"
    first_job_weight = min(hook_weight(j) for j in migration_jobs(full_docs))
    assert hook_weight(secret) < first_job_weight
    (sa,) = of(full_docs, "ServiceAccount")
    assert hook_weight(sa) < first_job_weight
    assert annotations(sa)["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    auth = by_service(migration_jobs(full_docs))["auth"]
    assert env_of(container(auth))["DSN"] == {"secretKeyRef": {"name": f"{RELEASE}-auth-db", "key": "dsn"}}


def test_every_hook_dependency_is_lighter_than_every_job(helm):
    """Whatever the chart creates for the Jobs exists before the first Job starts."""
    values = {f"{s}.migration.database.dsn": f"sqlite:////tmp/{s}.db" for s in SERVICES}
    docs = helm.template(set_values={**values, "hookWeightBase": -3})
    jobs = migration_jobs(docs)
    dependencies = [d for d in docs if is_hook(d) and d["kind"] != "Job" and d["kind"] != "Pod"]
    assert sorted(d["kind"] for d in dependencies) == ["Secret"] * 5 + ["ServiceAccount"]
    assert max(hook_weight(d) for d in dependencies) < min(hook_weight(j) for j in jobs)
    for d in dependencies:
        assert annotations(d)["helm.sh/hook"] == "pre-install,pre-upgrade"


# --- helm test Pods ---------------------------------------------------------------


def test_test_pods(default_docs):
    pods = of(default_docs, "Pod")
    assert [labels(p)[SERVICE_LABEL] for p in pods] == SERVICES
    for pod in pods:
        service = labels(pod)[SERVICE_LABEL]
        assert pod["metadata"]["name"] == f"{RELEASE}-{KEBAB[service]}-migration-test"
        assert annotations(pod)["helm.sh/hook"] == "test"
        assert annotations(pod)["helm.sh/hook-delete-policy"] == "before-hook-creation"
        assert labels(pod)["app.kubernetes.io/component"] == "migration-test"
        c = container(pod)
        assert c["args"] == ["status", "--check", "--service", service, "--read-from-env"]
        assert env_of(c)["DSN"]["secretKeyRef"] == {"name": f"{RELEASE}-{KEBAB[service]}-db", "key": "dsn"}
        spec = pod_spec(pod)
        assert spec["restartPolicy"] == "Never"
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_tests_can_be_turned_off(helm):
    assert of(helm.template(set_values={"tests.enabled": False}), "Pod") == []


# --- backfill Jobs ----------------------------------------------------------------


def test_backfill_jobs_are_plain_jobs(full_docs):
    backfills = by_service(of(full_docs, "Job", "backfill"))
    assert sorted(backfills) == ["analytics", "cortex"]
    for service, job in backfills.items():
        assert not is_hook(job), "a backfill must never block the rollout"
        assert re.fullmatch(rf"{RELEASE}-{service}-backfill-[0-9a-f]{{8}}", job["metadata"]["name"])
        assert labels(job)["app.kubernetes.io/component"] == "backfill"
        assert labels(job)[SERVICE_LABEL] == service
        c = container(job)
        assert env_of(c)["DSN"]["secretKeyRef"]["name"] == f"{RELEASE}-{service}-db"
        assert "MIGRATE_REPAIR_TRACKING" not in env_of(c)
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod_spec(job)["securityContext"]["runAsNonRoot"] is True
        assert pod_spec(job)["restartPolicy"] == "Never"

    analytics, cortex = backfills["analytics"], backfills["cortex"]
    assert container(analytics)["args"] == [
        "backfill", "run", "profiles_total", "--service", "analytics", "--read-from-env",
        "--lock-timeout", "120", "--connect-timeout", "120", "--log-format", "json", "--log-level", "debug",
    ]  # fmt: skip
    assert container(cortex)["args"][:2] == ["backfill", "run"]
    assert container(cortex)["args"][2] == "--service"
    assert analytics["spec"]["backoffLimit"] == 5
    assert cortex["spec"]["backoffLimit"] == 3
    assert analytics["spec"]["activeDeadlineSeconds"] == 86400
    assert analytics["spec"]["ttlSecondsAfterFinished"] == 3600
    assert "ttlSecondsAfterFinished" not in cortex["spec"]
    assert "activeDeadlineSeconds" not in cortex["spec"]
    assert annotations(analytics) == {"argocd.argoproj.io/sync-options": "Replace=true,Force=true"}


def test_backfill_default_args(helm):
    docs = helm.template(set_values={"apiOntology.backfill.enabled": True})
    (job,) = of(docs, "Job", "backfill")
    assert job["metadata"]["name"].startswith(f"{RELEASE}-api-ontology-backfill-")
    assert job["spec"]["backoffLimit"] == 3
    assert container(job)["args"] == [
        "backfill", "run", "--service", "apiOntology", "--read-from-env", "--lock-timeout", "300",
        "--connect-timeout", "60", "--log-format", "json",
    ]  # fmt: skip


def backfill_job(helm, **values) -> dict:
    (job,) = of(helm.template(set_values={"auth.backfill.enabled": True, **values}), "Job", "backfill")
    return job


def test_backfill_job_name_follows_its_immutable_pod_template(helm):
    """A Job's pod template cannot be patched: a new image or new arguments must give a
    new Job name (Helm then deletes the old Job and creates the new one), while values
    outside the pod template keep the name, so a plain upgrade keeps the running Job."""
    base = backfill_job(helm)
    assert len(base["metadata"]["name"]) <= 63
    renamed = {
        "new image tag": backfill_job(helm, **{"image.tag": "0.2.0"}),
        "new backfill name": backfill_job(helm, **{"auth.backfill.name": "one"}),
        "new connect timeout": backfill_job(helm, connectTimeout=30),
        "new pod annotation": backfill_job(helm, **{"auth.backfill.podAnnotations": {"team": "data"}}),
    }
    for what, job in renamed.items():
        assert job["metadata"]["name"] != base["metadata"]["name"], what
        assert job["spec"]["template"] != base["spec"]["template"], what
    kept = backfill_job(helm, **{"auth.backfill.backoffLimit": 7, "auth.backfill.annotations": {"team": "data"},
                                 "auth.migration.extraArgs": ["--log-level", "debug"]})
    assert kept["metadata"]["name"] == base["metadata"]["name"]
    long = backfill_job(helm, fullnameOverride="r" * 40, **{"auth.backfill.enabled": False,
                                                            "apiOntology.backfill.enabled": True})
    assert re.fullmatch(r"r+-api-ontology-backfill-[0-9a-f]{8}", long["metadata"]["name"])
    assert len(long["metadata"]["name"]) == 63  # the release part is shortened, never the hash


def test_migration_job_timeouts_retries_and_extra_args_per_service(helm):
    docs = helm.template(set_values={
        "ddlLockTimeout": 10, "connectTimeout": 120,
        "cortex.migration.ddlLockTimeout": 2.5, "cortex.migration.connectTimeout": 0,
        "ddlLockRetries": 7, "progressInterval": 12,
        "cortex.migration.ddlLockRetries": 0, "cortex.migration.progressInterval": 1.5,
        "cortex.migration.backoffLimit": 2, "cortex.migration.extraArgs": ["--log-level", "debug"],
    })
    jobs = by_service(migration_jobs(docs))
    args = container(jobs["cortex"])["args"]
    assert args[args.index("--ddl-lock-timeout") + 1] == "2.5"
    assert args[args.index("--connect-timeout") + 1] == "0"
    assert args[args.index("--ddl-lock-retries") + 1] == "0"
    assert args[args.index("--progress-interval") + 1] == "1.5"
    assert args[-2:] == ["--log-level", "debug"]
    assert jobs["cortex"]["spec"]["backoffLimit"] == 2
    auth = container(jobs["auth"])["args"]
    assert auth[auth.index("--ddl-lock-timeout") + 1] == "10" and auth[auth.index("--connect-timeout") + 1] == "120"
    assert auth[auth.index("--ddl-lock-retries") + 1] == "7" and auth[auth.index("--progress-interval") + 1] == "12"
    assert auth[-1] == "json" and jobs["auth"]["spec"]["backoffLimit"] == 0


def test_backfill_without_migration_still_gets_its_secret(helm):
    docs = helm.template(
        set_values={
            "cortex.migration.enabled": False,
            "cortex.backfill.enabled": True,
            "cortex.migration.database.dsn": "postgres://c:pw@db:5432/cortex",
        }
    )
    assert [s["metadata"]["name"] for s in of(docs, "Secret")] == [f"{RELEASE}-cortex-db"]
    assert "cortex" not in by_service(migration_jobs(docs))
    assert len(of(docs, "Job", "backfill")) == 1


def test_fullname_override_replaces_the_release_prefix(helm):
    docs = helm.template(set_values={"fullnameOverride": "mig"})
    assert migration_jobs(docs)[0]["metadata"]["name"] == "mig-auth-migration"
    assert env_of(container(migration_jobs(docs)[0]))["DSN"]["secretKeyRef"]["name"] == "mig-auth-db"
