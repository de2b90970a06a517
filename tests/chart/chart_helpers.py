"""Helpers of the Helm chart tests: running the real `helm` binaries, rendering with
`helm template`, rendering NOTES.txt offline, and picking objects out of the YAML.
Imported by tests/chart/conftest.py and the test modules beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "chart"
VALUES_DIR = Path(__file__).resolve().parent / "values"
RELEASE = "platform"
NAMESPACE = "migrations"

HELM_BINARIES = {
    "helm3": ("HELM3_BIN", ROOT / ".cache" / "tools" / "helm3" / "helm"),
    "helm4": ("HELM4_BIN", ROOT / ".cache" / "tools" / "helm4" / "helm"),
}

# NOTES.txt rendered through `tpl` inside a ConfigMap of a scratch copy of the chart;
# see Helm.notes_via_tpl.
_NOTES_RENDER_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: rendered-notes
data:
  NOTES.txt: {{ tpl (.Files.Get "notes-under-test/NOTES.txt") . | toJson }}
"""


class HelmError(AssertionError):
    """A helm command that was expected to succeed failed."""


@dataclass(frozen=True)
class Helm:
    """One helm binary, run with its own empty config/cache/data directories."""

    name: str
    path: Path
    home: Path
    major: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "major", int(self.name[-1]))

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HELM_CACHE_HOME=str(self.home / "cache"),
            HELM_CONFIG_HOME=str(self.home / "config"),
            HELM_DATA_HOME=str(self.home / "data"),
        )
        return env

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.path), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def check(self, *args: str, cwd: Path | None = None) -> str:
        proc = self.run(*args, cwd=cwd)
        if proc.returncode != 0:
            raise HelmError(f"{self.name} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return proc.stdout

    def value_args(
        self, values: Iterable[str | Path] = (), set_values: Mapping[str, Any] | None = None
    ) -> list[str]:
        """`-f` for each values file (a bare name is looked up in tests/chart/values),
        then `set_values` ({"a.b.c": value}, typed as in Python) as one more values file,
        which keeps types and commas intact (no --set escaping)."""
        args: list[str] = []
        for item in values:
            path = Path(item)
            if not path.is_absolute() and not path.exists():
                path = VALUES_DIR / path
            args += ["-f", str(path)]
        if set_values:
            nested: dict[str, Any] = {}
            for dotted, value in set_values.items():
                *parents, leaf = dotted.split(".")
                node = nested
                for key in parents:
                    node = node.setdefault(key, {})
                node[leaf] = value
            fd, name = tempfile.mkstemp(prefix="values-", suffix=".yaml", dir=self.home)
            with os.fdopen(fd, "w") as f:
                yaml.safe_dump(nested, f)
            args += ["-f", name]
        return args

    def template_args(
        self,
        values: Iterable[str | Path] = (),
        set_values: Mapping[str, Any] | None = None,
        chart: Path = CHART_DIR,
        release: str = RELEASE,
        namespace: str = NAMESPACE,
        extra: Iterable[str] = (),
    ) -> list[str]:
        return [
            "template",
            release,
            str(chart),
            "--namespace",
            namespace,
            *self.value_args(values, set_values),
            *extra,
        ]

    def template_raw(self, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run(*self.template_args(**kwargs))

    def template(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Render with `helm template` (tests included) and parse every document."""
        out = self.check(*self.template_args(**kwargs))
        return [doc for doc in yaml.safe_load_all(out) if doc]

    def lint(self, values: Iterable[str | Path] = (), chart: Path = CHART_DIR) -> str:
        return self.check("lint", "--strict", str(chart), *self.value_args(values))

    def notes_via_install(self, **kwargs: Any) -> str:
        """NOTES.txt exactly as `helm install` renders it, without a cluster.

        Helm 4's `install --dry-run=client` renders offline. Helm 3's contacts the API
        server ("Kubernetes cluster unreachable"), so it is not used on Helm 3.
        """
        args = self.template_args(**kwargs)
        args[0] = "install"
        out = self.check(*args, "--dry-run=client")
        marker = "\nNOTES:\n"
        assert marker in out, f"no NOTES in `helm install --dry-run=client` output:\n{out[-2000:]}"
        return out.split(marker, 1)[1]

    def notes_via_tpl(self, workdir: Path, **kwargs: Any) -> str:
        """NOTES.txt rendered offline on any Helm version: a scratch copy of the chart
        moves NOTES.txt out of templates/ and renders its text with `tpl` (same engine,
        values, release and named templates) into a ConfigMap shown by `helm template`.
        """
        chart = workdir / "migrator"
        if chart.exists():
            shutil.rmtree(chart)
        shutil.copytree(CHART_DIR, chart)
        (chart / "notes-under-test").mkdir()
        (chart / "templates" / "NOTES.txt").rename(chart / "notes-under-test" / "NOTES.txt")
        (chart / "templates" / "zz-notes-render.yaml").write_text(_NOTES_RENDER_TEMPLATE)
        kwargs["chart"] = chart
        out = self.check(
            *self.template_args(**kwargs), "--show-only", "templates/zz-notes-render.yaml"
        )
        return yaml.safe_load(out)["data"]["NOTES.txt"]

    def notes(self, workdir: Path, **kwargs: Any) -> str:
        if self.major >= 4:
            return self.notes_via_install(**kwargs)
        return self.notes_via_tpl(workdir, **kwargs)


SERVICES = ["auth", "agentic", "analytics", "cortex", "apiOntology"]
KEBAB = {"auth": "auth", "agentic": "agentic", "analytics": "analytics", "cortex": "cortex", "apiOntology": "api-ontology"}
SERVICE_LABEL = "migrator.platform/service"
COMPONENT_LABEL = "app.kubernetes.io/component"


def labels(doc: dict[str, Any]) -> dict[str, str]:
    return doc["metadata"].get("labels") or {}


def annotations(doc: dict[str, Any]) -> dict[str, str]:
    return doc["metadata"].get("annotations") or {}


def is_hook(doc: dict[str, Any]) -> bool:
    return "helm.sh/hook" in annotations(doc)


def hook_weight(doc: dict[str, Any]) -> int:
    return int(annotations(doc).get("helm.sh/hook-weight", "0"))


def of(docs: list[dict[str, Any]], kind: str, component: str | None = None) -> list[dict[str, Any]]:
    """Documents of `kind` (and `app.kubernetes.io/component`, when given), in render order."""
    return [
        d
        for d in docs
        if d.get("kind") == kind and (component is None or labels(d).get(COMPONENT_LABEL) == component)
    ]


def migration_jobs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The migration hook Jobs in the order Helm runs them (by hook weight, then name)."""
    jobs = of(docs, "Job", "migration")
    return sorted(jobs, key=lambda d: (hook_weight(d), d["metadata"]["name"]))


def by_service(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for d in docs:
        service = labels(d)[SERVICE_LABEL]
        assert service not in found, f"two objects for {service}"
        found[service] = d
    return found


def pod_spec(pod_owner: dict[str, Any]) -> dict[str, Any]:
    spec = pod_owner["spec"]
    return spec["template"]["spec"] if pod_owner["kind"] == "Job" else spec


def container(pod_owner: dict[str, Any]) -> dict[str, Any]:
    """The single container of a Job (through its pod template) or of a Pod."""
    (only,) = pod_spec(pod_owner)["containers"]
    return only


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    """A container's env as {name: value or valueFrom}."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def rerun_loop(text: str) -> str:
    """The manual re-run loop (`for s in ...` to `done; ...`) of NOTES.txt or the README."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("for s in"))
    end = next(i for i, line in enumerate(lines) if line.strip().startswith("done;"))
    return textwrap.dedent("\n".join(lines[start : end + 1]))
