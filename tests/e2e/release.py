"""The e2e tests' view of the platform: the images under test, one database per service,
and a Deployment (the chart rendered by a real Helm, its hooks run by the harness).

Test modules import this module (never `conftest`: every test directory has one, and
which of them `import conftest` finds depends on the order of collection).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

import harness

ROOT = harness.ROOT
CHART = ROOT / "chart"
IMAGE_DIR = ROOT / "image"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

HELM = {
    "helm3": Path(os.environ.get("HELM3_BIN") or ROOT / ".cache/tools/helm3/helm"),
    "helm4": Path(os.environ.get("HELM4_BIN") or ROOT / ".cache/tools/helm4/helm"),
}

RELEASE = "e2e"
NAMESPACE = "platform"
SELECTOR = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=migration"

FATAL_DESYNC = ("FATAL: the migration tracking table is out of sync with the actual database schema — it "
                "claims migrations are applied whose objects do not exist. This is a tracking desync, not a "
                "migration bug.")

TIMINGS: dict[str, list[float]] = {}


def record(what: str, seconds: float) -> None:
    TIMINGS.setdefault(what, []).append(seconds)


def unavailable(reason: str):
    if CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def helm_path(name: str) -> Path:
    path = HELM[name]
    if not (path.is_file() and os.access(path, os.X_OK)):
        unavailable(f"{name} not found at {path} (run `bash tests/setup/install-helm.sh` or set "
                    f"{name.upper()}_BIN)")
    return path


def engine(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """image/engine.sh: podman (or docker) with the global flags this machine needs."""
    return subprocess.run(["bash", str(IMAGE_DIR / "engine.sh"), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def kebab(service: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", service).lower()


def job_name(service: str) -> str:
    return f"{RELEASE}-{kebab(service)}-migration"


def chart_services() -> list[str]:
    return list(yaml.safe_load((CHART / "values.yaml").read_text())["services"])


def service_of(doc: dict) -> str:
    """The `--service` argument of a Job's or Pod's container."""
    pod = doc["spec"]["template"]["spec"] if doc["kind"] == "Job" else doc["spec"]
    args = pod["containers"][0].get("args") or []
    assert "--service" in args, f"{doc['kind']} {harness.name_of(doc)} has no --service argument: {args}"
    return args[args.index("--service") + 1]


def migration_jobs(docs: list[dict]) -> list[dict]:
    """The migration Jobs as `kubectl wait -l SELECTOR` picks them out of the hook
    manifests (what `helm get hooks` returns), in hook-weight order."""
    return harness.by_hook_weight(harness.select(harness.hook_manifests(docs), "Job", SELECTOR))


def applied_versions(result: harness.JobResult) -> list[int]:
    return [e["version"] for e in result.events() if e.get("event") == "MIGRATION_APPLIED"]


def event_names(result: harness.JobResult) -> set[str]:
    return {e.get("event") for e in result.events()}


def assert_rollout(rollout: harness.Rollout, jobs: int) -> None:
    assert rollout.ok and len(rollout.results) == jobs, rollout.explain()


def exit_codes(rollout: harness.Rollout) -> list[int | None]:
    return [r.exit_code for r in rollout.results]


# --------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------

# Runs in the image: what it ships under /migrations (services, table prefixes, versions).
SHIPPED_SCRIPT = r"""
import json, os, re, tomllib
out = {}
for s in sorted(os.listdir("/migrations")):
    base = os.path.join("/migrations", s)
    if not os.path.isdir(base):
        continue
    conf = {}
    if os.path.isfile(os.path.join(base, "service.toml")):
        with open(os.path.join(base, "service.toml"), "rb") as fh:
            conf = tomllib.load(fh)
    prefix = conf.get("table_prefix") or re.sub(r"(?<!^)(?=[A-Z])", "_", s).lower()
    versions = {d: sorted(int(f.split("_", 1)[0]) for f in os.listdir(os.path.join(base, d)) if f.endswith(".up.sql"))
                for d in ("postgres", "mysql") if os.path.isdir(os.path.join(base, d))}
    out[s] = {"prefix": prefix, "versions": versions}
print(json.dumps(out))
"""


@dataclass
class Images:
    engine: str
    app_version: str
    base: str     # the session's own tag of the image under test
    shipped: dict  # {service: {"prefix": str, "versions": {dialect: [int, ...]}}}
    created: list[str] = field(default_factory=list)

    @property
    def chart_default(self) -> str:
        """The reference the chart renders with image.repository=localhost/migrator."""
        return f"localhost/migrator:{self.app_version}"

    def versions(self, service: str, dialect: str) -> list[int]:
        return self.shipped[service]["versions"].get(dialect) or []

    def latest(self, service: str, dialect: str) -> int:
        return max(self.versions(service, dialect), default=0)

    def prefix(self, service: str) -> str:
        return self.shipped[service]["prefix"]

    def derive(self, label: str, files: dict[str, str], tmp: Path) -> str:
        """Build `FROM <base>` + `COPY migrations/ /migrations/` with `files`
        ({"auth/postgres/0009_x.up.sql": "..."}); returns its unique tag."""
        tag = f"localhost/migrator:e2e-{label}-{uuid.uuid4().hex[:8]}"
        ctx = tmp / f"derived-{label}"
        for rel, text in files.items():
            path = ctx / "migrations" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(0o644)
        (ctx / "Containerfile").write_text(f"FROM {self.base}\nCOPY migrations/ /migrations/\n")
        flags = ["--isolation", "chroot", "--network", "host", "--pull=never"] if self.engine == "podman" else []
        started = time.monotonic()
        proc = engine("build", *flags, "-t", tag, "-f", str(ctx / "Containerfile"), str(ctx))
        if proc.returncode != 0:
            pytest.fail(f"building {tag} failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
        record("derived image build", time.monotonic() - started)
        self.created.append(tag)
        return tag


def upgrade_sql(service: str, dialect: str) -> str:
    """The one migration the "upgrade" image adds to each service."""
    text_type = "TEXT" if dialect == "postgres" else "VARCHAR(200)"
    return (f"CREATE TABLE e2e_upgrade_{service.lower()} (\n"
            f"    id BIGINT NOT NULL PRIMARY KEY,\n    note {text_type} NOT NULL\n);\n")


def broken_sql(service: str) -> str:
    """A MariaDB migration that fails half-way: the table is created (DDL commits
    implicitly), then the index names a column that does not exist."""
    table = f"e2e_broken_{service.lower()}"
    return (f"CREATE TABLE {table} (\n    id BIGINT NOT NULL PRIMARY KEY,\n    owner_id BIGINT NOT NULL\n);\n\n"
            f"CREATE INDEX {table}_owner ON {table} (owner_ref);\n")


# --------------------------------------------------------------------------------------
# One database per service
# --------------------------------------------------------------------------------------

@dataclass
class Platform:
    """One database per service, as the platform deploys them, and the DSNs the Jobs get."""

    dialect: str
    password: str
    dbs: dict   # service -> TestDB (admin connection, for the tests' own checks)
    dsns: dict  # service -> DSN with the password

    def tracking(self, service: str, prefix: str) -> list[tuple[int, bool, str]]:
        rows = self.dbs[service].query(f"SELECT version, dirty, applied_at FROM {prefix}_migrations ORDER BY version")
        return [(int(v), bool(d), str(a)) for v, d, a in rows]

    def tables(self, service: str) -> set[str]:
        db = self.dbs[service]
        if self.dialect == "postgres":
            rows = db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        else:
            rows = db.query(f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{db.name}'")
        return {r[0] for r in rows}


# --------------------------------------------------------------------------------------
# A release
# --------------------------------------------------------------------------------------

@dataclass
class Deployment:
    """One release of the chart against one Platform.

    secrets="mixed": `auth` reads an existingSecret with a custom key, the 4th service a
    Secret the chart creates from `database.dsn`, the others the default
    `<release>-<service>-db` Secrets that the test provides. secrets="chart": every
    Secret comes from `database.dsn` (hooks of the chart)."""

    helm: Path
    platform: Platform
    images: Images
    workdir: Path
    secrets: str = "mixed"
    results: list = field(default_factory=list)

    def __post_init__(self):
        self.services = chart_services()
        self.cluster = harness.Cluster(images={self.images.chart_default: self.images.base},
                                       engine=self.images.engine)
        self.values: dict = {"image": {"repository": "localhost/migrator"}}
        for i, service in enumerate(self.services):
            dsn = self.platform.dsns[service]
            if self.secrets == "chart" or (self.secrets == "mixed" and i == 3):
                database = {"dsn": dsn}
            elif self.secrets == "mixed" and service == "auth":
                database = {"existingSecret": "e2e-platform-credentials", "secretKey": "url"}
                self.cluster.secrets["e2e-platform-credentials"] = {"url": dsn, "unrelated": "x"}
            else:
                database = {}
                self.cluster.secrets[f"{RELEASE}-{kebab(service)}-db"] = {"dsn": dsn}
            self.values[service] = {"migration": {"database": database}}

    def render(self, *set_values: str, image: str | None = None) -> list[dict]:
        """`helm template` with the test's values; `image`: a derived image, rendered
        through `image.tag`."""
        if image:
            repo, tag = image.rsplit(":", 1)
            assert repo == "localhost/migrator", image
            set_values = (*set_values, f"image.tag={tag}")
            self.cluster.images[image] = image
        started = time.monotonic()
        text = harness.render(self.helm, RELEASE, CHART, namespace=NAMESPACE, values=self.values,
                              set_values=set_values, workdir=self.workdir)
        record(f"helm template ({self.helm.parent.name})", time.monotonic() - started)
        return harness.parse(text)

    def _checked(self, rollout: harness.Rollout) -> harness.Rollout:
        for r in rollout.results:
            record(f"container `{r.command.rsplit(' -- ', 1)[-1].split(' ')[0]}`, start to exit", r.seconds)
            assert self.platform.password not in r.logs, f"the DSN password leaked into the logs of {r.job}"
            assert self.platform.password not in r.command
        self.results.extend(rollout.results)
        return rollout

    def hooks(self, docs: list[dict], event: str) -> harness.Rollout:
        """`helm install` (pre-install), `helm upgrade` (pre-upgrade) or `helm test` (test)."""
        return self._checked(self.cluster.helm_hooks(docs, event))

    def manual_rerun(self, docs: list[dict], selector: str = SELECTOR) -> harness.Rollout:
        """`helm get hooks` > hooks.yaml; `kubectl apply -f hooks.yaml -l SELECTOR`;
        `kubectl wait --for=condition=complete job -l SELECTOR`."""
        return self._checked(self.cluster.apply_and_wait(harness.hook_manifests(docs), selector))

    def run_in_job_pod(self, docs: list[dict], service: str, args: list[str]) -> harness.JobResult:
        """A one-off pod from a service's Job spec with other args (`kubectl debug --copy-to`)."""
        result = self.cluster.run_job(harness.job_by_name(docs, job_name(service)), args_override=args)
        self._checked(harness.Rollout("one-off", [result]))
        return result

    # -- checks ---------------------------------------------------------------------
    def check_rendered_jobs(self, docs: list[dict], image: str) -> list[dict]:
        """One migration Job per service, in `services` order by hook weight."""
        jobs = migration_jobs(docs)
        assert [service_of(j) for j in jobs] == self.services
        assert sorted(self.services) == sorted(self.images.shipped), "chart services != services in the image"
        weights = [harness.hook_weight(j) for j in jobs]
        assert weights == sorted(set(weights)), f"hook weights must follow the `services` order: {weights}"
        for job, service in zip(jobs, self.services):
            assert harness.name_of(job) == job_name(service)
            assert {"pre-install", "pre-upgrade"} <= set(harness.hook_events(job))
            assert service in harness.labels(job).values(), f"no label names the service: {harness.labels(job)}"
            container = job["spec"]["template"]["spec"]["containers"][0]
            assert container["image"] == image
            assert container["args"][0] == "up" and "--read-from-env" in container["args"]
            for dialect in ("postgres", "mysql"):
                assert self.images.versions(service, dialect), f"the image ships no {dialect} migrations for {service}"
        return jobs

    def check_at_latest(self) -> dict:
        """Every service's database is at its newest shipped version, clean, and holds
        only its own service's tracking table. Returns the tracking rows."""
        rows = {}
        prefixes = {s: self.images.prefix(s) for s in self.services}
        for service in self.services:
            rows[service] = self.platform.tracking(service, prefixes[service])
            assert [v for v, _, _ in rows[service]] == self.images.versions(service, self.platform.dialect), service
            assert not any(dirty for _, dirty, _ in rows[service]), service
            tables = self.platform.tables(service)
            for other, prefix in prefixes.items():
                assert (f"{prefix}_migrations" in tables) == (other == service), (service, other, sorted(tables))
        return rows
