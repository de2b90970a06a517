"""A tiny stand-in for Kubernetes + Helm hooks, for the end-to-end tests.

It takes what the chart renders (`helm template`), picks the hook Jobs the way Helm
or `kubectl` would, and runs each Job's pod as a podman container exactly as its pod
spec says. Nothing here knows about migrator; it only knows Kubernetes objects:

    docs = parse(render(helm, "r1", CHART, values={...}))
    cluster = Cluster(images={"localhost/migrator:0.1.0": "localhost/migrator:0.1.0"},
                      secrets={"r1-auth-db": {"dsn": "postgres://..."}})
    rollout = cluster.helm_hooks(docs, "pre-install")  # Secrets, ServiceAccount, Jobs by weight
    rollout.results[0].exit_code, rollout.results[0].logs

Pod spec → `image/run.sh` (podman with this machine's flags, `--rm --network host`):
  image                               → the local tag it maps to in `images` (else: error)
  command / args                      → `--entrypoint '[...]'` / the container's arguments
  env value / valueFrom.secretKeyRef  → `-e NAME` (the value is passed in podman's own
                                        environment, never on a command line)
  runAsUser / runAsGroup              → `--user UID[:GID]`; fsGroup, supplementalGroups → `--group-add`
  runAsNonRoot                        → checked against the effective uid (image USER if unset)
  readOnlyRootFilesystem              → `--read-only --read-only-tmpfs=false` (no implicit tmpfs)
  allowPrivilegeEscalation: false     → `--security-opt no-new-privileges`
  capabilities drop/add               → `--cap-drop` / `--cap-add`
  seccompProfile RuntimeDefault       → podman's default profile (Unconfined → seccomp=unconfined)
  emptyDir volumes + volumeMounts     → `--tmpfs PATH:rw,size=...,mode=0777`
  resources.limits memory / cpu       → `--memory` / `--cpus` (requests only schedule)
  Job activeDeadlineSeconds           → the container is killed past it
  Job backoffLimit                    → that many retries of a failed pod
  deleting a Job                      → its pod gets SIGTERM, then SIGKILL after the
                                        grace period (`podman stop --time 30`)

`Cluster.helm_upgrade_plain(old, new)` applies the plain (non-hook) objects of an upgrade
as Helm does: objects the new release no longer renders are deleted, new ones created,
and a Job that keeps its name but changes its pod template is rejected, as the API
server rejects it (`spec.template: field is immutable`).

Anything else in a Job or pod spec raises SpecError, so a chart change the harness does
not model fails the tests loudly instead of being ignored. Scheduling-only fields
(nodeSelector, affinity, tolerations, priorityClassName) and fields with no effect on
one host (imagePullPolicy, imagePullSecrets, terminationMessagePolicy, ...) are
accepted explicitly.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

ROOT = Path(__file__).resolve().parents[2]
RUN_SH = ROOT / "image" / "run.sh"
ENGINE_SH = ROOT / "image" / "engine.sh"

HOOK = "helm.sh/hook"
HOOK_WEIGHT = "helm.sh/hook-weight"

# Helm's InstallOrder (pkg/releaseutil/kind_sorter.go), the tie-breaker for hooks of
# equal weight and name. Only the kinds this harness can apply are listed.
KIND_ORDER = {"ServiceAccount": 0, "Secret": 1, "Pod": 2, "Job": 3}


class SpecError(AssertionError):
    """Something in a manifest that the harness does not understand or cannot honour."""


# --------------------------------------------------------------------------------------
# Rendering and selecting manifests
# --------------------------------------------------------------------------------------

def render(helm: Path | str, release: str, chart: Path | str, *, namespace: str = "default",
           values: Mapping[str, Any] | None = None, set_values: Iterable[str] = (),
           workdir: Path | None = None, timeout: float = 120) -> str:
    """`helm template RELEASE CHART -n NS -f values.yaml --set ...`; the rendered YAML.

    HELM_* homes point into `workdir` so nothing is read from or written to ~."""
    workdir = Path(workdir or ROOT / "var" / "e2e-helm")
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(helm), "template", release, str(chart), "--namespace", namespace]
    if values:
        values_file = workdir / f"values-{uuid.uuid4().hex[:8]}.yaml"
        values_file.write_text(yaml.safe_dump(dict(values), sort_keys=False))
        cmd += ["--values", str(values_file)]
    for item in set_values:
        cmd += ["--set", item]
    env = {**os.environ, "HELM_CACHE_HOME": str(workdir / "cache"),
           "HELM_CONFIG_HOME": str(workdir / "config"), "HELM_DATA_HOME": str(workdir / "data")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def parse(text: str) -> list[dict]:
    """Every object of a multi-document YAML stream (empty documents dropped)."""
    docs = [d for d in yaml.safe_load_all(text) if d]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d:
            raise SpecError(f"not a Kubernetes object: {str(d)[:200]}")
    return docs


def annotations(doc: Mapping) -> dict[str, str]:
    return dict((doc.get("metadata") or {}).get("annotations") or {})


def labels(doc: Mapping) -> dict[str, str]:
    return dict((doc.get("metadata") or {}).get("labels") or {})


def name_of(doc: Mapping) -> str:
    return doc["metadata"]["name"]


def hook_events(doc: Mapping) -> list[str]:
    return [e.strip() for e in annotations(doc).get(HOOK, "").split(",") if e.strip()]


def hook_weight(doc: Mapping) -> int:
    raw = annotations(doc).get(HOOK_WEIGHT, "0")
    try:
        return int(str(raw).strip())
    except ValueError:
        raise SpecError(f"{doc['kind']}/{name_of(doc)}: {HOOK_WEIGHT} {raw!r} is not an integer") from None


def hook_manifests(docs: Iterable[dict]) -> list[dict]:
    """What `helm get hooks RELEASE` returns: every object with a `helm.sh/hook` annotation."""
    return [d for d in docs if hook_events(d)]


def helm_hook_order(docs: Iterable[dict], event: str) -> list[dict]:
    """The hooks of one event in the order Helm runs them: by weight, then name
    (a stable sort over Helm's kind order)."""
    hooks = [d for d in docs if event in hook_events(d)]
    for d in hooks:
        if d["kind"] not in KIND_ORDER:
            raise SpecError(f"{event} hook {d['kind']}/{name_of(d)}: the harness cannot apply a {d['kind']}")
    return sorted(hooks, key=lambda d: (hook_weight(d), name_of(d), KIND_ORDER[d["kind"]]))


_SELECTOR_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$")


def parse_selector(selector: str) -> list[tuple[str, str, str | None]]:
    """An equality-based label selector (`a=b,c!=d,e,!f`) as `kubectl -l` reads it."""
    terms = []
    for part in selector.split(","):
        m = _SELECTOR_TERM.match(part)
        if not m:
            raise SpecError(f"label selector term {part!r} is not supported by the harness "
                            "(equality-based terms and existence only)")
        neg, key, op, value = m.groups()
        if neg and op:
            raise SpecError(f"label selector term {part!r} is invalid")
        terms.append((key, "!" if neg else (op or "exists").replace("==", "="), value))
    return terms


def matches(selector: str, doc_labels: Mapping[str, str]) -> bool:
    for key, op, value in parse_selector(selector):
        if op == "exists" and key not in doc_labels:
            return False
        if op == "!" and key in doc_labels:
            return False
        if op == "=" and doc_labels.get(key) != value:
            return False
        if op == "!=" and doc_labels.get(key) == value:
            return False
    return True


def select(docs: Iterable[dict], kind: str, selector: str) -> list[dict]:
    """`kubectl get KIND -l SELECTOR` over a list of objects, in their order."""
    return [d for d in docs if d["kind"] == kind and matches(selector, labels(d))]


def by_hook_weight(docs: Iterable[dict]) -> list[dict]:
    return sorted(docs, key=lambda d: (hook_weight(d), name_of(d)))


def job_by_name(docs: Iterable[dict], name: str) -> dict:
    found = [d for d in docs if d["kind"] == "Job" and name_of(d) == name]
    if len(found) != 1:
        raise AssertionError(f"expected one Job {name}, found {len(found)}")
    return found[0]


# --------------------------------------------------------------------------------------
# Pod spec → podman command line
# --------------------------------------------------------------------------------------

_MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def memory_bytes(quantity: Any) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(quantity).strip())
    if not m:
        raise SpecError(f"memory quantity {quantity!r} is not understood")
    return int(float(m.group(1)) * _MEMORY_UNITS[m.group(2) or ""])


def cpu_cores(quantity: Any) -> float:
    text = str(quantity).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", text)
    if not m:
        raise SpecError(f"cpu quantity {quantity!r} is not understood")
    return float(m.group(1)) / (1000 if m.group(2) else 1)


def _only(where: str, obj: Mapping, allowed: Iterable[str]) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise SpecError(f"{where}: the harness does not understand {', '.join(unknown)} "
                        "(teach tests/e2e/harness.py, or the chart stops being tested end to end)")


def _no_refs(where: str, text: str) -> str:
    if "$(" in text:
        raise SpecError(f"{where}: $(VAR) expansion in {text!r} is not modelled by the harness")
    return text


@dataclass
class Container:
    """A pod translated for `image/run.sh`: engine options, arguments, and the values of
    the environment variables that the options name with `-e NAME`."""

    name: str
    image: str
    options: list[str]
    args: list[str]
    env_values: dict[str, str]
    deadline: float | None = None
    retries: int = 0

    def command_line(self, name: str = "NAME") -> list[str]:
        """What runs (secret values stay in the process environment, not in here)."""
        return ["bash", str(RUN_SH), "--name", name, *self.options, "--", *self.args]

    def describe(self, name: str = "NAME") -> str:
        return f"MIGRATOR_IMAGE={self.image} " + " ".join(self.command_line(name))


@dataclass
class Cluster:
    """The objects a namespace holds: Secrets (the test's own and the ones hooks create),
    ServiceAccounts, and the local images that rendered image references map to."""

    images: dict[str, str]
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    service_accounts: set[str] = field(default_factory=lambda: {"default"})
    engine: str = "podman"
    deleted: dict[str, "JobResult"] = field(default_factory=dict)  # Jobs an upgrade deleted, how their pods ended
    _image_users: dict[str, str] = field(default_factory=dict)

    # -- objects --------------------------------------------------------------------
    def apply_secret(self, doc: Mapping) -> None:
        _only(f"Secret/{name_of(doc)}", doc, {"apiVersion", "kind", "metadata", "type", "data", "stringData"})
        values = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
        values.update({k: str(v) for k, v in (doc.get("stringData") or {}).items()})
        self.secrets[name_of(doc)] = values

    def apply_service_account(self, doc: Mapping) -> None:
        _only(f"ServiceAccount/{name_of(doc)}", doc,
              {"apiVersion", "kind", "metadata", "automountServiceAccountToken", "imagePullSecrets"})
        self.service_accounts.add(name_of(doc))

    def secret_value(self, where: str, ref: Mapping) -> str | None:
        _only(f"{where} secretKeyRef", ref, {"name", "key", "optional"})
        secret = self.secrets.get(ref["name"])
        if secret is None or ref["key"] not in secret:
            if ref.get("optional"):
                return None
            what = f"Secret {ref['name']!r}" if secret is None else f"key {ref['key']!r} in Secret {ref['name']!r}"
            raise SpecError(f"{where}: {what} does not exist when the pod starts "
                            f"(Kubernetes: CreateContainerConfigError; known Secrets: {sorted(self.secrets)})")
        return secret[ref["key"]]

    def image_user(self, ref: str) -> str:
        if ref not in self._image_users:
            proc = subprocess.run(["bash", str(ENGINE_SH), "image", "inspect", "--format", "{{.Config.User}}", ref],
                                  capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                raise SpecError(f"image {ref} is not in the local store: {proc.stderr.strip()}")
            self._image_users[ref] = proc.stdout.strip()
        return self._image_users[ref]

    # -- translation ----------------------------------------------------------------
    def container_for(self, where: str, pod_spec: Mapping, *, args_override: list[str] | None = None) -> Container:
        """Translate one pod spec; raises SpecError on anything it does not understand."""
        _only(f"{where} pod spec", pod_spec, {
            "restartPolicy", "serviceAccountName", "automountServiceAccountToken", "securityContext",
            "containers", "volumes", "imagePullSecrets",
            # scheduling only: no effect on a single host
            "nodeSelector", "affinity", "tolerations", "priorityClassName"})
        if pod_spec.get("restartPolicy") != "Never":
            raise SpecError(f"{where}: restartPolicy {pod_spec.get('restartPolicy')!r}: the harness runs "
                            "each pod once (Never)")
        sa = pod_spec.get("serviceAccountName", "default")
        if sa not in self.service_accounts:
            raise SpecError(f"{where}: ServiceAccount {sa!r} does not exist when the pod is created "
                            f"(known: {sorted(self.service_accounts)})")
        containers = pod_spec.get("containers") or []
        if len(containers) != 1:
            raise SpecError(f"{where}: {len(containers)} containers; the harness runs exactly one")
        c = containers[0]
        cwhere = f"{where} container {c.get('name')!r}"
        _only(cwhere, c, {"name", "image", "imagePullPolicy", "command", "args", "env", "securityContext",
                          "resources", "volumeMounts", "workingDir", "terminationMessagePolicy",
                          "terminationMessagePath"})

        image = c.get("image", "")
        if image not in self.images:
            raise SpecError(f"{cwhere}: image {image!r} is not one the test built (known: {sorted(self.images)})")
        local = self.images[image]
        opts: list[str] = ["--pull=never"]

        # command / args: command replaces the image's ENTRYPOINT, args its CMD.
        args = [_no_refs(cwhere, str(a)) for a in (c.get("args") or [])]
        if "command" in c:
            opts += ["--entrypoint", json.dumps([_no_refs(cwhere, str(a)) for a in c["command"]])]
        if args_override is not None:
            args = list(args_override)
        if c.get("workingDir"):
            opts += ["--workdir", c["workingDir"]]

        # env
        env_values: dict[str, str] = {}
        for item in c.get("env") or []:
            _only(f"{cwhere} env", item, {"name", "value", "valueFrom"})
            name = item["name"]
            if "valueFrom" in item:
                _only(f"{cwhere} env {name} valueFrom", item["valueFrom"], {"secretKeyRef"})
                value = self.secret_value(f"{cwhere} env {name}", item["valueFrom"]["secretKeyRef"])
                if value is None:
                    continue
            else:
                value = _no_refs(f"{cwhere} env {name}", str(item.get("value", "")))
            env_values[name] = value
            opts += ["-e", name]

        # security contexts: the container's fields win over the pod's.
        psc = pod_spec.get("securityContext") or {}
        csc = c.get("securityContext") or {}
        _only(f"{where} pod securityContext", psc, {"runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup",
                                                     "supplementalGroups", "seccompProfile", "fsGroupChangePolicy"})
        _only(f"{cwhere} securityContext", csc, {"runAsUser", "runAsGroup", "runAsNonRoot", "readOnlyRootFilesystem",
                                                  "allowPrivilegeEscalation", "capabilities", "privileged",
                                                  "seccompProfile"})
        sc = {**psc, **csc}
        uid, gid = sc.get("runAsUser"), sc.get("runAsGroup")
        if gid is not None and uid is None:
            raise SpecError(f"{cwhere}: runAsGroup without runAsUser is not modelled")
        if uid is not None:
            opts += ["--user", f"{int(uid)}" + (f":{int(gid)}" if gid is not None else "")]
        if sc.get("runAsNonRoot"):
            effective = str(uid) if uid is not None else self.image_user(local).split(":", 1)[0]
            if not effective.isdigit() or int(effective) == 0:
                raise SpecError(f"{cwhere}: runAsNonRoot, but the container would run as {effective!r} "
                                "(Kubernetes refuses a non-numeric or root user)")
        for group in ([psc["fsGroup"]] if "fsGroup" in psc else []) + list(psc.get("supplementalGroups") or []):
            opts += ["--group-add", str(int(group))]
        if sc.get("privileged"):
            raise SpecError(f"{cwhere}: privileged containers are not run by the harness")
        if sc.get("readOnlyRootFilesystem"):
            opts += ["--read-only"] + (["--read-only-tmpfs=false"] if self.engine == "podman" else [])
        if sc.get("allowPrivilegeEscalation") is False:
            opts += ["--security-opt", "no-new-privileges"]
        caps = sc.get("capabilities") or {}
        _only(f"{cwhere} capabilities", caps, {"drop", "add"})
        for cap in caps.get("drop") or []:
            opts += ["--cap-drop", str(cap)]
        for cap in caps.get("add") or []:
            opts += ["--cap-add", str(cap)]
        seccomp = sc.get("seccompProfile") or {"type": "RuntimeDefault"}
        _only(f"{cwhere} seccompProfile", seccomp, {"type"})
        if seccomp["type"] == "Unconfined":
            opts += ["--security-opt", "seccomp=unconfined"]
        elif seccomp["type"] != "RuntimeDefault":
            raise SpecError(f"{cwhere}: seccompProfile {seccomp['type']!r} is not modelled")

        # resources: limits are enforced, requests only matter to the scheduler.
        res = c.get("resources") or {}
        _only(f"{cwhere} resources", res, {"limits", "requests"})
        for kind, quantities in res.items():
            _only(f"{cwhere} resources.{kind}", quantities or {}, {"cpu", "memory"})
            for key, q in (quantities or {}).items():
                (memory_bytes if key == "memory" else cpu_cores)(q)  # validate
        limits = res.get("limits") or {}
        if "memory" in limits:
            opts += ["--memory", str(memory_bytes(limits["memory"]))]
        if "cpu" in limits:
            opts += ["--cpus", f"{cpu_cores(limits['cpu']):g}"]

        # volumes: emptyDir only, mounted as tmpfs.
        volumes = {}
        for v in pod_spec.get("volumes") or []:
            _only(f"{where} volume {v.get('name')!r}", v, {"name", "emptyDir"})
            empty = v.get("emptyDir") or {}
            _only(f"{where} volume {v['name']!r} emptyDir", empty, {"sizeLimit", "medium"})
            if empty.get("medium", "") not in ("", "Memory"):
                raise SpecError(f"{where}: emptyDir medium {empty['medium']!r} is not modelled")
            volumes[v["name"]] = empty
        for mount in c.get("volumeMounts") or []:
            _only(f"{cwhere} volumeMount", mount, {"name", "mountPath", "readOnly"})
            if mount["name"] not in volumes:
                raise SpecError(f"{cwhere}: volumeMount {mount['name']!r} has no volume")
            empty = volumes[mount["name"]]
            tmpfs = f"{mount['mountPath']}:{'ro' if mount.get('readOnly') else 'rw'},mode=0777"
            if "sizeLimit" in empty:
                tmpfs += f",size={memory_bytes(empty['sizeLimit'])}"
            opts += ["--tmpfs", tmpfs]

        return Container(name=where, image=local, options=opts, args=args, env_values=env_values)

    def container_for_job(self, job: Mapping, *, args_override: list[str] | None = None) -> Container:
        where = f"Job/{name_of(job)}"
        _only(where, job, {"apiVersion", "kind", "metadata", "spec"})
        spec = job.get("spec") or {}
        _only(f"{where} spec", spec, {"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished",
                                      "template", "completions", "parallelism"})
        for key in ("completions", "parallelism"):
            if spec.get(key, 1) != 1:
                raise SpecError(f"{where}: {key} {spec[key]} is not modelled (one pod per Job)")
        template = spec.get("template") or {}
        _only(f"{where} template", template, {"metadata", "spec"})
        container = self.container_for(where, template.get("spec") or {}, args_override=args_override)
        if "activeDeadlineSeconds" in spec:
            container.deadline = float(spec["activeDeadlineSeconds"])
        container.retries = int(spec.get("backoffLimit", 6))
        return container

    def container_for_pod(self, pod: Mapping) -> Container:
        where = f"Pod/{name_of(pod)}"
        _only(where, pod, {"apiVersion", "kind", "metadata", "spec"})
        return self.container_for(where, pod.get("spec") or {})

    # -- running ----------------------------------------------------------------------
    def run_job(self, job: Mapping, *, args_override: list[str] | None = None) -> "JobResult":
        """Create the Job and wait for it: its pod, retried up to backoffLimit times."""
        container = self.container_for_job(job, args_override=args_override)
        if args_override is not None:
            container.retries = 0  # a one-off pod, like `kubectl debug --copy-to`
        result = Running(container).wait()
        result.job = name_of(job)
        return result

    def run_pod(self, pod: Mapping) -> "JobResult":
        result = Running(self.container_for_pod(pod)).wait()
        result.job = name_of(pod)
        return result

    def apply(self, doc: Mapping) -> "JobResult | None":
        """`kubectl apply` one object and, for a Job or Pod, wait for it to finish."""
        kind = doc["kind"]
        if kind == "Secret":
            self.apply_secret(doc)
        elif kind == "ServiceAccount":
            self.apply_service_account(doc)
        elif kind == "Job":
            return self.run_job(doc)
        elif kind == "Pod":
            return self.run_pod(doc)
        else:
            raise SpecError(f"{kind}/{name_of(doc)}: the harness cannot apply a {kind}")
        return None

    def start_job(self, job: Mapping) -> "Running":
        """`kubectl apply` a Job without waiting for it (a plain resource of a release)."""
        running = Running(self.container_for_job(job))
        running.job = name_of(job)
        return running

    def helm_upgrade_plain(self, old_docs: Iterable[dict], new_docs: Iterable[dict],
                           running: dict[str, "Running"]) -> dict[str, "Running"]:
        """The plain Jobs of `helm upgrade`: `running` maps the old release's Job names to
        their pods. Returns the new release's Jobs (kept ones and started ones)."""
        old = {name_of(d): d for d in old_docs if d["kind"] == "Job" and not hook_events(d)}
        new = {name_of(d): d for d in new_docs if d["kind"] == "Job" and not hook_events(d)}
        for name in old.keys() & new.keys():
            if old[name]["spec"].get("template") != new[name]["spec"].get("template"):
                raise SpecError(f'cannot patch "{name}" with kind Job: Job.batch "{name}" is invalid: '
                                "spec.template: Invalid value: field is immutable")
        for name in old.keys() - new.keys():
            if name in running:
                self.deleted[name] = running[name].stop()
        return {name: running[name] if name in old and name in running else self.start_job(job)
                for name, job in new.items()}

    def helm_hooks(self, docs: Iterable[dict], event: str) -> "Rollout":
        """Run the hooks of `event` as `helm install/upgrade/test` does: one at a time, in
        hook order, waiting for each Job/Pod, stopping at the first one that fails."""
        rollout = Rollout(event)
        for doc in helm_hook_order(docs, event):
            result = self.apply(doc)
            if result is not None:
                rollout.results.append(result)
                if result.exit_code != 0:
                    break
        return rollout

    def apply_and_wait(self, docs: Iterable[dict], selector: str) -> "Rollout":
        """The manual re-run: `kubectl apply -f hooks.yaml -l SELECTOR` (the Secrets it
        picks are stored, the Jobs all start at once, as in a cluster), then
        `kubectl wait --for=condition=complete job -l SELECTOR`, one Job after the other
        in hook-weight order. Objects that SELECTOR leaves out are not applied: the
        ServiceAccount, say, must exist from the release already."""
        picked = [d for d in docs if matches(selector, labels(d))]
        for doc in picked:
            if doc["kind"] != "Job":
                self.apply(doc)
        jobs = by_hook_weight(select(picked, "Job", selector))
        started = [(job, Running(self.container_for_job(job))) for job in jobs]
        rollout = Rollout("manual")
        for job, running in started:
            result = running.wait()
            result.job = name_of(job)
            rollout.results.append(result)
        return rollout


@dataclass
class JobResult:
    job: str
    exit_code: int | None  # None: killed at activeDeadlineSeconds
    stdout: str
    stderr: str
    seconds: float
    attempts: int
    command: str

    @property
    def logs(self) -> str:
        """What `kubectl logs` shows (stdout, then stderr: the streams are read apart)."""
        return self.stdout + self.stderr

    def events(self) -> list[dict]:
        """The JSON log lines (structlog objects) of the container."""
        out = []
        for line in self.logs.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def explain(self) -> str:
        return (f"{self.job}: exit {self.exit_code} after {self.attempts} attempt(s), {self.seconds:.1f}s\n"
                f"  {self.command}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


@dataclass
class Rollout:
    event: str
    results: list[JobResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.exit_code == 0 for r in self.results)

    def by_job(self) -> dict[str, JobResult]:
        return {r.job: r for r in self.results}

    def explain(self) -> str:
        return "\n".join(r.explain() for r in self.results)


class Running:
    """One started pod (a podman container), retried on failure up to its backoffLimit."""

    GRACE_SECONDS = 30  # Kubernetes' default terminationGracePeriodSeconds

    def __init__(self, container: Container):
        self.container = container
        self.job = container.name
        self.attempts = 0
        self.started = time.monotonic()
        self._start()

    def _start(self) -> None:
        self.attempts += 1
        self.name = f"e2e-{uuid.uuid4().hex[:12]}"  # each attempt is a new pod
        # Only the variables the options name (-e NAME) reach the container.
        env = {**os.environ, **self.container.env_values, "MIGRATOR_IMAGE": self.container.image}
        self.proc = subprocess.Popen(self.container.command_line(self.name), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)

    def wait(self) -> JobResult:
        while True:
            deadline = self.container.deadline
            remaining = None if deadline is None else max(1.0, deadline - (time.monotonic() - self.started))
            try:
                out, err = self.proc.communicate(timeout=remaining)
                code: int | None = self.proc.returncode
            except subprocess.TimeoutExpired:
                subprocess.run(["bash", str(ENGINE_SH), "rm", "--force", self.name],
                               capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
                out, err = self.proc.communicate()
                code, err = None, err + f"\n[harness] DeadlineExceeded: killed after {deadline}s\n"
            if code == 125:  # podman's own failure: no pod ever ran, which Kubernetes has no exit code for
                raise AssertionError(f"the container engine could not run {self.container.name}:\n"
                                     f"  {self.container.describe(self.name)}\n{err}")
            if code == 0 or code is None or self.attempts > self.container.retries:
                return JobResult(job=self.container.name, exit_code=code, stdout=out, stderr=err,
                                 seconds=time.monotonic() - self.started, attempts=self.attempts,
                                 command=self.container.describe(self.name))
            self._start()

    def stop(self) -> JobResult:
        """Delete the Job: SIGTERM to its pod, SIGKILL after the grace period; no retry."""
        subprocess.run(["bash", str(ENGINE_SH), "stop", "--time", str(self.GRACE_SECONDS), self.name],
                       capture_output=True, timeout=self.GRACE_SECONDS + 60, stdin=subprocess.DEVNULL)
        out, err = self.proc.communicate(timeout=60)
        return JobResult(job=self.job, exit_code=self.proc.returncode, stdout=out, stderr=err,
                         seconds=time.monotonic() - self.started, attempts=self.attempts,
                         command=self.container.describe(self.name))
