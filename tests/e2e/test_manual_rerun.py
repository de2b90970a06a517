"""The manual re-run path (SPEC section 9): `helm get hooks R > hooks.yaml`,
`kubectl apply -f` the migration Jobs, `kubectl wait --for=condition=complete job -l
app.kubernetes.io/instance=R,app.kubernetes.io/component=migration`.

The hook manifests are what `helm template` renders with the hook annotations (what
`helm get hooks` returns for the release); the Jobs are picked by that label selector
as `kubectl wait -l` would; applying starts them all at once, as in a cluster, and the
harness waits for them one after the other in hook-weight order.
"""

from __future__ import annotations

import harness
from release import SELECTOR, applied_versions, assert_rollout, exit_codes, job_name, migration_jobs, service_of


def test_manual_rerun_after_a_failed_install(deployment):
    dep = deployment("helm4", "postgres", secrets="chart")  # every DSN Secret is a hook of the chart
    docs = dep.render()
    hooks = harness.hook_manifests(docs)
    selected = migration_jobs(docs)
    assert [service_of(j) for j in selected] == dep.services
    assert [d for d in hooks if d["kind"] == "Job"] == [d for d in docs if d["kind"] == "Job"]
    assert harness.select(hooks, "Pod", SELECTOR) == []  # the `helm test` Pods are not picked
    assert sum(d["kind"] == "Secret" for d in hooks) == len(dep.services)

    # The install fails at the third service: its database does not exist yet.
    victim_index = 2
    victim_db = dep.platform.dbs[dep.services[victim_index]]
    admin = dep.platform.dbs[dep.services[0]]
    admin.execute(f'DROP DATABASE "{victim_db.name}" WITH (FORCE)')
    install = dep.hooks(docs, "pre-install")
    assert exit_codes(install) == [0] * victim_index + [1], install.explain()
    assert victim_db.name in install.results[-1].stderr

    # The operator creates the database and re-runs the hooks by hand.
    admin.execute(f'CREATE DATABASE "{victim_db.name}"')
    rerun = dep.manual_rerun(docs)
    assert [r.job for r in rerun.results] == [job_name(s) for s in dep.services]
    assert_rollout(rerun, len(dep.services))
    for i, (result, service) in enumerate(zip(rerun.results, dep.services)):
        expected = [] if i < victim_index else dep.images.versions(service, "postgres")
        assert applied_versions(result) == expected, result.explain()
    dep.check_at_latest()

    # Once more, one service after the other as the README's loop does it (selector +
    # the service label): every Job completes and changes nothing.
    for service in dep.services:
        label = next(k for k, v in harness.labels(harness.job_by_name(docs, job_name(service))).items()
                     if v == service)
        again = dep.manual_rerun(docs, f"{SELECTOR},{label}={service}")
        assert [r.job for r in again.results] == [job_name(service)]
        assert_rollout(again, 1)
        assert applied_versions(again.results[0]) == [], again.explain()
