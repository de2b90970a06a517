"""A backfill Job survives a `helm upgrade` that changes its image (SPEC section 9).

Two releases of the chart are rendered by the real Helm, the second with another image
tag, and applied in order by the harness as Helm applies them: the first release's
backfill Job runs as a podman container against PostgreSQL; the upgrade runs the
pre-upgrade hooks, deletes the Job the new release no longer renders (its pod gets
SIGTERM) and creates the new one. A Job's pod template is immutable, so the chart
names each backfill Job after its pod template: the upgrade never patches one.
The checkpoint carries the work from the first runner to the second, and a `touched`
counter proves that no row is processed twice.
"""

from __future__ import annotations

import copy
import time
import uuid

import pytest

import harness
from release import assert_rollout, engine

SERVICE = "auth"
BACKFILL = "e2e_items_total"
ROWS = 5000


def backfill_image(images, tmp) -> tuple[str, int]:
    """The image plus a table (one more migration) and a slow backfill of it."""
    version = images.latest(SERVICE, "postgres") + 1
    files = {
        f"{SERVICE}/postgres/{version:04d}_e2e_backfill_items.up.sql": (
            "CREATE TABLE e2e_items (id BIGINT PRIMARY KEY, amount INT NOT NULL, total INT NULL,\n"
            "    touched INT NOT NULL DEFAULT 0);\n"),
        f"{SERVICE}/backfills/{BACKFILL}.toml": (
            f'requires = {version}\ntable = "e2e_items"\nkey = "id"\nbatch_size = 100\npause_ms = 200\n'
            '[sql]\npostgres = "UPDATE e2e_items SET total = amount * 2, touched = touched + 1 '
            'WHERE id >= :lo AND id < :hi AND total IS NULL"\n'),
    }
    return images.derive("backfill", files, tmp), version


def plain_jobs(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["kind"] == "Job" and not harness.hook_events(d)]


def checkpoint(db, prefix: str) -> tuple[str, int, int | None]:
    if f"table:{prefix}_backfills" not in db.snapshot():  # the runner has not created it yet
        return ("absent", 0, None)
    rows = db.query(f"SELECT status, rows_done, last_key FROM {prefix}_backfills WHERE name = '{BACKFILL}'")
    return (rows[0][0], int(rows[0][1]), rows[0][2]) if rows else ("absent", 0, None)


def event(result: harness.JobResult, name: str) -> dict:
    found = [e for e in result.events() if e.get("event") == name]
    assert len(found) == 1, result.explain()
    return found[0]


def test_backfill_job_survives_an_upgrade_that_changes_its_image(deployment, images, tmp_path):
    first_image, _ = backfill_image(images, tmp_path)
    second_image = f"localhost/migrator:e2e-backfill2-{uuid.uuid4().hex[:8]}"  # same content, new tag
    assert engine("tag", first_image, second_image).returncode == 0
    images.created.append(second_image)

    dep = deployment("helm4", "postgres")
    values = (f"{SERVICE}.backfill.enabled=true", f"{SERVICE}.backfill.name={BACKFILL}")
    docs1 = dep.render(*values, image=first_image)
    docs2 = dep.render(*values, image=second_image)
    (job1,), (job2,) = plain_jobs(docs1), plain_jobs(docs2)
    name1, name2 = harness.name_of(job1), harness.name_of(job2)
    assert name1 != name2 and name1.startswith(f"e2e-{SERVICE}-backfill-")

    # The API server's rule that the chart avoids: same Job name, another pod template.
    patched = copy.deepcopy(docs1)
    plain_jobs(patched)[0]["spec"]["template"]["spec"]["containers"][0]["image"] = second_image
    with pytest.raises(harness.SpecError, match="field is immutable"):
        dep.cluster.helm_upgrade_plain(docs1, patched, {})

    # Release 1: the hooks migrate (the new table included), then the backfill Job starts.
    assert_rollout(dep.hooks(docs1, "pre-install"), len(dep.services))
    db, prefix = dep.platform.dbs[SERVICE], dep.images.prefix(SERVICE)
    db.execute(f"INSERT INTO e2e_items (id, amount) SELECT g, g % 100 FROM generate_series(1, {ROWS}) g")
    running = {name1: dep.cluster.start_job(job1)}
    deadline = time.monotonic() + 120
    while checkpoint(db, prefix)[1] < 300:
        assert time.monotonic() < deadline, f"no progress: {checkpoint(db, prefix)}"
        time.sleep(0.2)

    # Release 2: the upgrade deletes the old Job (SIGTERM to its pod) and creates the new one.
    assert_rollout(dep.hooks(docs2, "pre-upgrade"), len(dep.services))
    jobs = dep.cluster.helm_upgrade_plain(docs1, docs2, running)
    assert list(jobs) == [name2]
    first = dep.cluster.deleted[name1]
    dep._checked(harness.Rollout("upgrade: deleted", [first]))
    assert first.exit_code == 143, first.explain()
    assert f"Error: backfill {BACKFILL} interrupted by SIGTERM: stopped after its current batch" in first.stderr
    stopped = event(first, "MIGRATION_BACKFILL_INTERRUPTED")
    status, rows_done, last_key = checkpoint(db, prefix)
    assert status == "running" and 300 <= rows_done < ROWS and last_key == stopped["last_key"]

    second = jobs[name2].wait()
    second.job = name2
    dep._checked(harness.Rollout("upgrade: created", [second]))
    assert second.exit_code == 0, second.explain()
    started = event(second, "MIGRATION_BACKFILL_STARTED")
    assert started["from_key"] == last_key and started["rows_done"] == rows_done  # the checkpoint carried over
    assert event(second, "MIGRATION_BACKFILL_COMPLETED")["rows_done"] == ROWS
    assert checkpoint(db, prefix)[:2] == ("completed", ROWS)
    (once, other), = db.query("SELECT SUM(CASE WHEN touched = 1 AND total = amount * 2 THEN 1 ELSE 0 END), "
                              "SUM(CASE WHEN touched <> 1 THEN 1 ELSE 0 END) FROM e2e_items")
    assert (once, other) == (ROWS, 0)
