"""The harness itself: the chart's pod spec becomes the podman options it should, those
options really hold inside the container, and whatever the harness does not model
fails loudly instead of being skipped."""

from __future__ import annotations

import copy

import pytest

import harness
from release import Deployment, Platform, chart_services, helm_path, job_name, migration_jobs


def fake_deployment(images, workdir) -> Deployment:
    """No databases: these tests never reach one."""
    services = chart_services()
    dsns = {s: f"postgres://app:e2e-PwFake@127.0.0.1:5432/{s.lower()}" for s in services}
    return Deployment(helm_path("helm4"), Platform("postgres", "e2e-PwFake", {}, dsns), images, workdir)


@pytest.fixture(scope="module")
def rendered_docs(images, helm_workdir):
    return fake_deployment(images, helm_workdir).render()


@pytest.fixture
def rendered(images, helm_workdir, rendered_docs):
    return fake_deployment(images, helm_workdir), copy.deepcopy(rendered_docs)


def first_job(docs):
    return copy.deepcopy(migration_jobs(docs)[0])


def pod(job):
    return job["spec"]["template"]["spec"]


def test_chart_job_translates_to_the_expected_podman_options(rendered):
    dep, docs = rendered
    job = first_job(docs)
    dep.cluster.apply_service_account(next(d for d in docs if d["kind"] == "ServiceAccount"))
    c = dep.cluster.container_for_job(job)
    opts = " ".join(c.options)
    for expected in ("--pull=never", "--user 10001:10001", "--group-add 10001", "--read-only",
                     "--read-only-tmpfs=false", "--security-opt no-new-privileges", "--cap-drop ALL",
                     "--tmpfs /tmp:rw,mode=0777,size=67108864", "--memory 536870912", "-e DSN",
                     "-e PYTHONDONTWRITEBYTECODE"):
        assert expected in opts, f"{expected!r} not in {opts}"
    assert c.image == dep.images.base
    assert c.args == pod(job)["containers"][0]["args"]
    assert c.env_values["DSN"] == dep.platform.dsns[dep.services[0]]
    assert dep.platform.password not in " ".join(c.command_line())  # only in the process environment
    assert c.retries == job["spec"]["backoffLimit"] == 0
    assert c.deadline == job["spec"]["activeDeadlineSeconds"]


def test_options_hold_inside_the_container(rendered):
    """Through the Job's own pod spec: non-root, read-only root, writable /tmp,
    no new privileges, no capabilities, the memory limit."""
    dep, docs = rendered
    job = first_job(docs)
    pod(job)["containers"][0]["command"] = ["/bin/sh", "-c"]
    pod(job)["containers"][0]["args"] = [
        "id -u; id -g; touch /probe 2>/dev/null && echo root-writable || echo root-read-only; "
        "touch /tmp/probe && echo tmp-writable; grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; "
        "test -n \"$DSN\" && echo dsn-set"]
    dep.cluster.service_accounts.add(pod(job)["serviceAccountName"])
    result = dep.cluster.run_job(job)
    assert result.exit_code == 0, result.explain()
    lines = result.stdout.split()
    assert lines[:2] == ["10001", "10001"]
    for expected in ("root-read-only", "tmp-writable", "dsn-set", str(512 * 2**20)):
        assert expected in lines, result.explain()
    status = dict(line.split(":\t") for line in result.stdout.splitlines() if ":\t" in line)
    assert status["NoNewPrivs"] == "1" and int(status["CapEff"], 16) == 0, status


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["containers"][0].update(ports=[{"containerPort": 80}]), "does not understand ports"),
    (lambda p: p["containers"][0].update(envFrom=[{"secretRef": {"name": "x"}}]), "envFrom"),
    (lambda p: p.update(initContainers=[{"name": "x"}]), "initContainers"),
    (lambda p: p.update(hostNetwork=True), "hostNetwork"),
    (lambda p: p["volumes"].append({"name": "h", "hostPath": {"path": "/"}}), "hostPath"),
    (lambda p: p["containers"][0]["env"].append({"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}),
     "fieldRef"),
    (lambda p: p["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"].update(name="absent"),
     "Secret 'absent' does not exist"),
    (lambda p: p["containers"][0].update(image="docker.io/library/migrator:9"), "is not one the test built"),
    (lambda p: p["containers"][0]["securityContext"].update(runAsUser=0), "runAsNonRoot"),
    (lambda p: p["containers"][0]["securityContext"].update(privileged=True), "privileged"),
    (lambda p: p["containers"][0]["args"].append("$(DSN)"), "$(VAR)"),
    (lambda p: p.update(restartPolicy="OnFailure"), "restartPolicy"),
    (lambda p: p.update(serviceAccountName="nobody"), "ServiceAccount 'nobody'"),
])
def test_what_the_harness_does_not_model_fails_loudly(rendered, mutate, message):
    dep, docs = rendered
    job = first_job(docs)
    dep.cluster.service_accounts.add(pod(job).get("serviceAccountName", "default"))
    mutate(pod(job))
    with pytest.raises(harness.SpecError) as err:
        dep.cluster.container_for_job(job)
    assert message in str(err.value)


def test_a_secret_hook_is_applied_before_the_job_that_reads_it(rendered):
    """Helm hook order: the chart's Secrets and ServiceAccount (lower weight) exist
    before the first Job; a Job that needed a plain (non-hook) Secret would not start."""
    dep, docs = rendered
    order = [(d["kind"], harness.name_of(d)) for d in harness.helm_hook_order(docs, "pre-install")]
    jobs = [i for i, (kind, _) in enumerate(order) if kind == "Job"]
    others = [i for i, (kind, _) in enumerate(order) if kind != "Job"]
    assert others and max(others) < min(jobs), order
    assert [name for kind, name in order if kind == "Job"] == [job_name(s) for s in dep.services]
