"""End to end: the image, the chart rendered by the real Helm, and the migration Jobs
run as podman containers exactly as their pod specs say (harness.py), against one real
database per service on PostgreSQL 15 and MariaDB 10.11.

Fixtures are in conftest.py, the Deployment helper in release.py.
"""

from __future__ import annotations

import time

import pytest

import harness
from release import (
    FATAL_DESYNC, applied_versions, assert_rollout, event_names, exit_codes, job_name, migration_jobs, record,
    service_of,
)


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
@pytest.mark.parametrize("helm_name", ["helm3", "helm4"])
def test_install_then_noop(deployment, helm_name, dialect):
    dep = deployment(helm_name, dialect)
    docs = dep.render()
    jobs = dep.check_rendered_jobs(docs, dep.images.chart_default)

    install = dep.hooks(docs, "pre-install")
    assert_rollout(install, len(jobs))
    for result, service in zip(install.results, dep.services):
        assert applied_versions(result) == dep.images.versions(service, dialect), result.explain()
    before = dep.check_at_latest()

    if helm_name == "helm4":  # `helm test`: status --check per service (same Pods with either Helm)
        assert_rollout(dep.hooks(docs, "test"), len(jobs))

    # The next `helm upgrade` with the same image changes nothing.
    started = time.monotonic()
    again = dep.hooks(docs, "pre-upgrade")
    record(f"no-op pre-upgrade, all {len(jobs)} Jobs ({dialect})", time.monotonic() - started)
    assert_rollout(again, len(jobs))
    for result in again.results:
        record(f"no-op `up` Job ({dialect})", result.seconds)
        assert applied_versions(result) == [], result.explain()
    assert dep.check_at_latest() == before


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_upgrade_applies_only_the_new_migrations_then_desync_and_repair(deployment, upgrade_image, dialect):
    dep = deployment("helm3", dialect)
    assert_rollout(dep.hooks(dep.render(), "pre-install"), len(dep.services))
    rows = dep.check_at_latest()

    # The upgrade's image carries one more migration per service: only those run.
    docs = dep.render(image=upgrade_image)
    dep.check_rendered_jobs(docs, upgrade_image)
    upgrade = dep.hooks(docs, "pre-upgrade")
    assert_rollout(upgrade, len(dep.services))
    for result, service in zip(upgrade.results, dep.services):
        new = dep.images.latest(service, dialect) + 1
        assert applied_versions(result) == [new], result.explain()
        after = dep.platform.tracking(service, dep.images.prefix(service))
        assert after[:-1] == rows[service] and after[-1][:2] == (new, False), after
        assert f"e2e_upgrade_{service.lower()}" in dep.platform.tables(service)

    # The new table is dropped behind the tracker's back: that service's Job stops the
    # rollout with exit 4 and the FATAL message; the Jobs before it are no-ops, and
    # Helm never starts the ones after it.
    victim_index = 3
    victim = dep.services[victim_index]
    new = dep.images.latest(victim, dialect) + 1
    dep.platform.dbs[victim].execute(f"DROP TABLE e2e_upgrade_{victim.lower()}")
    desync = dep.hooks(docs, "pre-upgrade")
    assert exit_codes(desync) == [0] * victim_index + [4], desync.explain()
    failed = desync.results[-1]
    assert failed.job == job_name(victim)
    assert FATAL_DESYNC in failed.stderr.splitlines(), failed.explain()
    assert f"Re-run with MIGRATE_REPAIR_TRACKING=1 to rewind tracking from version {new}" in failed.stderr
    test_pods = [p for p in harness.hook_manifests(docs) if p["kind"] == "Pod" and service_of(p) == victim]
    assert len(test_pods) == 1 and harness.hook_events(test_pods[0]) == ["test"]
    assert dep.cluster.run_pod(test_pods[0]).exit_code == 4  # `helm test` reports it too

    # Break-glass: repairTracking for that service only; the upgrade then rewinds the
    # tracking, re-applies the migration and finishes.
    repair_docs = dep.render(f"{victim}.migration.repairTracking=true", image=upgrade_image)
    flagged = [service_of(j) for j in migration_jobs(repair_docs)
               if {"name": "MIGRATE_REPAIR_TRACKING", "value": "1"} in
               j["spec"]["template"]["spec"]["containers"][0].get("env", [])]
    assert flagged == [victim]
    repaired = dep.hooks(repair_docs, "pre-upgrade")
    assert_rollout(repaired, len(dep.services))
    result = repaired.by_job()[job_name(victim)]
    assert "MIGRATION_TRACKING_REPAIRED" in event_names(result), result.explain()
    assert applied_versions(result) == [new], result.explain()
    assert f"e2e_upgrade_{victim.lower()}" in dep.platform.tables(victim)
    assert dep.cluster.run_pod(test_pods[0]).exit_code == 0


def test_dirty_mariadb_service_exits_3_until_forced(deployment, broken_image):
    dep = deployment("helm4", "mysql")
    assert_rollout(dep.hooks(dep.render(), "pre-install"), len(dep.services))

    victim_index = 2
    victim = dep.services[victim_index]
    version = dep.images.latest(victim, "mysql") + 1
    docs = dep.render(image=broken_image(victim))

    # The upgrade: the new migration fails half-way (MariaDB DDL commits implicitly) and
    # leaves its version dirty; Helm stops there.
    first = dep.hooks(docs, "pre-upgrade")
    assert exit_codes(first) == [0] * victim_index + [1], first.explain()
    assert "MIGRATION_FAILED" in event_names(first.results[-1])
    prefix = dep.images.prefix(victim)
    assert dep.platform.tracking(victim, prefix)[-1][:2] == (version, True)

    # The next run of that Job refuses with exit 3 and the dirty message.
    again = dep.hooks(docs, "pre-upgrade")
    assert exit_codes(again) == [0] * victim_index + [3], again.explain()
    assert f"Error: Database is in dirty state at version {version}" in again.results[-1].stderr.splitlines()

    # The operator finishes the migration by hand and records it with `migrator force`,
    # run in the image from the Job's own pod spec.
    table = f"e2e_broken_{victim.lower()}"
    dep.platform.dbs[victim].execute(f"CREATE INDEX {table}_owner ON {table} (owner_id)")
    force = dep.run_in_job_pod(docs, victim, ["force", str(version), "--yes", "--service", victim,
                                              "--read-from-env", "--log-format", "json"])
    assert force.exit_code == 0, force.explain()
    assert "MIGRATION_FORCED" in event_names(force)
    assert dep.platform.tracking(victim, prefix)[-1][:2] == (version, False)

    fixed = dep.hooks(docs, "pre-upgrade")
    assert_rollout(fixed, len(dep.services))
    assert all(applied_versions(r) == [] for r in fixed.results), fixed.explain()
    test_pod = next(p for p in harness.hook_manifests(docs) if p["kind"] == "Pod" and service_of(p) == victim)
    assert dep.cluster.run_pod(test_pod).exit_code == 0, "`helm test` for the forced service"
