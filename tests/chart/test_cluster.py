"""The chart on a real cluster (pytest-helm-charts), with the real Helm 3 and Helm 4:
install, `helm test`, an upgrade with one more migration, a desync repaired through
`repairTracking`, the manual re-run from `helm get hooks` (the loop NOTES.txt prints, run
by bash with the real kubectl), and a backfill Job that survives an upgrade.

Runs on any cluster, air-gapped included: nothing is pulled but the image under test.
- KUBECONFIG: the cluster (kubectl on PATH). Without it every test here is skipped.
- MIGRATOR_CLUSTER_DSN: a PostgreSQL or MySQL/MariaDB DSN that the cluster's pods can
  reach (the Jobs get it through the Secret the chart makes from `database.dsn`).
- MIGRATOR_CLUSTER_HOST_DSN: the same database as this machine reaches it (default: the
  same DSN), for the checks and for breaking the schema behind the tracker's back.
- MIGRATOR_TEST_IMAGE: the image under test, as the cluster's nodes know it (default
  localhost/migrator:<appVersion>), with MIGRATOR_TEST_IMAGE_PULL_POLICY (IfNotPresent).

Each test uses its own service name (hence its own table prefix and tables) and its own
namespace, so tests share one database without seeing each other; they drop their
tables at the end. The migrations come from a ConfigMap mounted through `extraVolumes`
and selected with MIGRATOR_MIGRATIONS_DIR, so an upgrade can add one without a new image:
the volume lists every file a test will use (`items`, optional), the ConfigMap holds
those published so far.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from chart_helpers import CHART_DIR, Helm, rerun_loop

KUBECONFIG = os.environ.get("KUBECONFIG")
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

pytestmark = pytest.mark.skipif(
    not KUBECONFIG,
    reason="cluster tests: KUBECONFIG is not set (they need a Kubernetes cluster, kubectl on PATH, "
    "MIGRATOR_CLUSTER_DSN reachable from its pods and MIGRATOR_TEST_IMAGE loaded on its nodes)",
)

if KUBECONFIG:
    from pytest_helm_charts.k8s.job import wait_for_jobs_to_complete

APP_VERSION = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())["appVersion"]
IMAGE = os.environ.get("MIGRATOR_TEST_IMAGE", f"localhost/migrator:{APP_VERSION}")
PULL_POLICY = os.environ.get("MIGRATOR_TEST_IMAGE_PULL_POLICY", "IfNotPresent")
RELEASE = "mig"
DIGITS = "(SELECT 0 AS n UNION ALL " + " UNION ALL ".join(f"SELECT {i}" for i in range(1, 10)) + ")"
ROWS = 10_000
FATAL = "FATAL: the migration tracking table is out of sync with the actual database schema"


def unavailable(reason: str):
    if CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def open_host_db():
    from migrator.config import parse_dsn
    from migrator.dialects import open_database

    dsn = os.environ.get("MIGRATOR_CLUSTER_HOST_DSN") or os.environ.get("MIGRATOR_CLUSTER_DSN")
    return open_database(parse_dsn(dsn))


class Platform:
    """One test's service: its migrations (a ConfigMap), its values and its tables."""

    def __init__(self, namespace: str):
        self.dsn = os.environ.get("MIGRATOR_CLUSTER_DSN")
        if not self.dsn:
            unavailable("MIGRATOR_CLUSTER_DSN is not set: the DSN of a database the cluster's pods can reach")
        self.db = open_host_db()
        self.dialect = self.db.files_dialect
        if self.dialect not in ("postgres", "mysql"):
            unavailable(f"the cluster tests ship migrations for postgres and mysql, not {self.dialect}")
        self.namespace = namespace
        self.service = f"c{uuid.uuid4().hex[:8]}"  # its own table prefix: tests share the database
        self.files: dict[str, str] = {}
        self.version = 0

    # -- migrations in a ConfigMap -----------------------------------------------------
    def add_migration(self, title: str, sql: str) -> str:
        self.version += 1
        key = f"{self.version:04d}_{title}.up.sql"
        self.files[key] = sql
        return key

    def add_backfill(self, name: str, text: str) -> None:
        self.files[f"{name}.toml"] = text

    def path_of(self, key: str) -> str:
        folder = "backfills" if key.endswith(".toml") else self.dialect
        return f"{self.service}/{folder}/{key}"

    def publish(self, *held_back: str) -> None:
        """The ConfigMap with every file but `held_back` (the values list them all)."""
        data = {k: v for k, v in self.files.items() if k not in held_back}
        kubectl("apply", "-n", self.namespace, "-f", "-", stdin=yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "test-migrations"}, "data": data}))

    def values(self, **extra) -> dict:
        repository, _, tag = IMAGE.rpartition(":")
        svc = self.service
        values = {
            "services": [svc],
            f"{svc}.migration.database.dsn": self.dsn,
            "image.repository": repository, "image.tag": tag, "image.pullPolicy": PULL_POLICY,
            "activeDeadlineSeconds": 600, "lockTimeout": 60, "connectTimeout": 60,
            "extraEnv": [{"name": "MIGRATOR_MIGRATIONS_DIR", "value": "/test-migrations"}],
            "extraVolumes": [{"name": "test-migrations", "configMap": {
                "name": "test-migrations", "optional": True,  # a listed key not published yet is absent
                "items": [{"key": k, "path": self.path_of(k)} for k in sorted(self.files)]}}],
            "extraVolumeMounts": [{"name": "test-migrations", "mountPath": "/test-migrations", "readOnly": True}],
        }
        values.update(extra)
        return values

    # -- the database, as this machine sees it ----------------------------------------
    def tables(self) -> set[str]:
        return {o.split(":", 1)[1] for o in self.db.snapshot(None, kinds=("table",))}

    def query(self, sql: str) -> list[tuple]:
        return self.db.query(sql)

    def drop_tables(self) -> None:
        for table in sorted(t for t in self.tables() if t.startswith(f"{self.service}_")):
            self.db.run_script_statement(f"DROP TABLE {table}")
        self.db.close()

    # -- names ---------------------------------------------------------------------------
    @property
    def job(self) -> str:
        return f"{RELEASE}-{self.service}-migration"

    @property
    def selector(self) -> str:
        return f"app.kubernetes.io/instance={RELEASE},migrator.platform/service={self.service}"


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc.stdout


def helm_release(helm: Helm, verb: str, platform: Platform, **values) -> subprocess.CompletedProcess:
    args = helm.template_args(set_values=platform.values(**values), release=RELEASE, namespace=platform.namespace)
    args[0] = verb
    return helm.run(*args, "--timeout", "10m")


def helm_ok(helm: Helm, verb: str, platform: Platform, **values) -> None:
    proc = helm_release(helm, verb, platform, **values)
    assert proc.returncode == 0, f"helm {verb} failed:\n{proc.stderr}\n{job_logs(platform)}"


def job_logs(platform: Platform, job: str | None = None) -> str:
    return kubectl("logs", "-n", platform.namespace, f"job/{job or platform.job}", check=False)


def helm_test(helm: Helm, platform: Platform) -> None:
    proc = helm.run("test", RELEASE, "--namespace", platform.namespace, "--logs", "--timeout", "5m")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def users_sql(platform: Platform) -> str:
    p = platform.service
    text = "TEXT" if platform.dialect == "postgres" else "VARCHAR(200)"
    ids = "a.n * 1000 + b.n * 100 + c.n * 10 + d.n + 1"
    return (f"CREATE TABLE {p}_users (id BIGINT NOT NULL PRIMARY KEY, email {text} NOT NULL, "
            f"email_domain {text} NULL);\n"
            f"INSERT INTO {p}_users (id, email) SELECT {ids}, 'user@example.org' "
            f"FROM {DIGITS} a CROSS JOIN {DIGITS} b CROSS JOIN {DIGITS} c CROSS JOIN {DIGITS} d;\n")


def sessions_sql(platform: Platform) -> str:
    return f"CREATE TABLE {platform.service}_sessions (id BIGINT NOT NULL PRIMARY KEY, user_id BIGINT NOT NULL);\n"


@pytest.fixture
def platform(kube_cluster, random_namespace_function_scope):
    plat = Platform(random_namespace_function_scope.name)
    yield plat
    plat.drop_tables()


def test_install_test_and_upgrade_with_one_more_migration(helm: Helm, platform: Platform):
    platform.add_migration("create_users", users_sql(platform))
    later = platform.add_migration("create_sessions", sessions_sql(platform))
    platform.publish(later)
    helm_ok(helm, "install", platform)
    assert f"{platform.service}_users" in platform.tables()
    assert f"{platform.service}_sessions" not in platform.tables()
    helm_test(helm, platform)

    platform.publish()
    helm_ok(helm, "upgrade", platform)  # the hook Job is re-created (before-hook-creation)
    assert '"version": 2' in job_logs(platform) and "MIGRATION_APPLIED" in job_logs(platform)
    assert f"{platform.service}_sessions" in platform.tables()
    helm_test(helm, platform)


def test_desync_repaired_through_repair_tracking(helm: Helm, platform: Platform):
    platform.add_migration("create_users", users_sql(platform))
    platform.add_migration("create_sessions", sessions_sql(platform))
    platform.publish()
    helm_ok(helm, "install", platform)
    platform.db.run_script_statement(f"DROP TABLE {platform.service}_sessions")  # behind the tracker's back

    failed = helm_release(helm, "upgrade", platform)
    assert failed.returncode != 0
    logs = job_logs(platform)
    assert FATAL in logs and "rewind tracking from version 2" in logs, logs

    helm_ok(helm, "upgrade", platform, **{f"{platform.service}.migration.repairTracking": True})
    assert "MIGRATION_TRACKING_REPAIRED" in job_logs(platform)
    assert f"{platform.service}_sessions" in platform.tables()
    helm_ok(helm, "upgrade", platform, **{f"{platform.service}.migration.repairTracking": False})
    helm_test(helm, platform)


def test_manual_rerun_from_helm_get_hooks(helm: Helm, platform: Platform, tmp_path: Path):
    platform.add_migration("create_users", users_sql(platform))
    later = platform.add_migration("create_sessions", sessions_sql(platform))
    platform.publish(later)
    helm_ok(helm, "install", platform)
    platform.publish()  # one more migration, applied by hand without an upgrade

    notes = helm.run("get", "notes", RELEASE, "--namespace", platform.namespace).stdout
    hooks = helm.run("get", "hooks", RELEASE, "--namespace", platform.namespace).stdout
    (tmp_path / "hooks.yaml").write_text(hooks)
    kubectl("delete", "job", "-n", platform.namespace, "-l",
            f"{platform.selector},app.kubernetes.io/component=migration")
    proc = subprocess.run(["bash", "-c", rerun_loop(notes)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=900)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{platform.service}: " in proc.stdout and "Complete" in proc.stdout
    assert '"version": 2' in job_logs(platform)
    assert f"{platform.service}_sessions" in platform.tables()


def test_backfill_job_survives_an_upgrade(helm: Helm, platform: Platform, kube_cluster):
    platform.add_migration("create_users", users_sql(platform))
    p = platform.service
    platform.add_backfill("users_domain", (
        f'requires = 1\ntable = "{p}_users"\nkey = "id"\nbatch_size = 100\npause_ms = 100\n[sql]\n'
        f'{platform.dialect} = "UPDATE {p}_users SET email_domain = \'example.org\' '
        f'WHERE id >= :lo AND id < :hi AND email_domain IS NULL"\n'))
    platform.publish()
    backfill = {f"{p}.backfill.enabled": True}
    helm_ok(helm, "install", platform, **backfill)
    first = kubectl("get", "job", "-n", platform.namespace, "-o", "name", "-l",
                    f"{platform.selector},app.kubernetes.io/component=backfill").split()
    assert len(first) == 1
    deadline = time.monotonic() + 300
    while not progress(platform):
        assert time.monotonic() < deadline, "the backfill Job made no progress"
        time.sleep(1)

    # Anything in the pod template changes the Job's name: the upgrade replaces the Job.
    helm_ok(helm, "upgrade", platform, **backfill,
            **{f"{p}.backfill.extraEnv": [{"name": "UPGRADED", "value": "1"}]})
    second = kubectl("get", "job", "-n", platform.namespace, "-o", "name", "-l",
                     f"{platform.selector},app.kubernetes.io/component=backfill").split()
    assert len(second) == 1 and second != first
    name = second[0].split("/", 1)[1]
    wait_for_jobs_to_complete(kube_cluster.kube_client, [name], platform.namespace, 600)
    started = [e for e in log_events(job_logs(platform, name)) if e.get("event") == "MIGRATION_BACKFILL_STARTED"]
    assert started and started[0]["from_key"] is not None, started  # continued from the first Job's checkpoint
    (status, rows_done), = platform.query(f"SELECT status, rows_done FROM {p}_backfills")
    assert (status, int(rows_done)) == ("completed", ROWS)
    (left,), = platform.query(f"SELECT COUNT(*) FROM {p}_users WHERE email_domain IS NULL")
    assert left == 0


def log_events(logs: str) -> list[dict]:
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def progress(platform: Platform) -> bool:
    if f"{platform.service}_backfills" not in platform.tables():
        return False
    rows = platform.query(f"SELECT rows_done FROM {platform.service}_backfills")
    return bool(rows) and int(rows[0][0]) > 0
