"""End to end: a team's own one-service platform (`billing`) shipped as a derived
image (`FROM` the image under test + `COPY migrations/ /migrations/`), installed with
the chart's `services: [billing]`, then upgraded with a second derived image that
carries one more migration. The hooks run as podman containers (harness.py) against
a real throwaway database on PostgreSQL 15 or MariaDB 10.11.

Fixtures are in conftest.py (`images`, `helm_workdir`) and tests/conftest.py
(`make_database`).
"""

from __future__ import annotations

import pytest

import harness
from release import CHART, NAMESPACE, RELEASE, applied_versions, assert_rollout, helm_path, service_of

SERVICE = "billing"
SECRET = "billing-db-credentials"

# billing's migrations, per dialect: version -> (title, up SQL)
MIGRATIONS = {
    "postgres": {
        1: ("create_customers", "CREATE TABLE customers (\n    id BIGSERIAL PRIMARY KEY,\n"
                                "    email TEXT NOT NULL UNIQUE,\n"
                                "    created_at TIMESTAMPTZ NOT NULL DEFAULT now()\n);\n"),
        2: ("create_invoices", "CREATE TABLE invoices (\n    id BIGSERIAL PRIMARY KEY,\n"
                               "    customer_id BIGINT NOT NULL REFERENCES customers (id),\n"
                               "    amount_cents BIGINT NOT NULL,\n    currency CHAR(3) NOT NULL\n);\n\n"
                               "CREATE INDEX invoices_customer_id ON invoices (customer_id);\n"),
        3: ("add_invoice_paid_at", "ALTER TABLE invoices ADD COLUMN paid_at TIMESTAMPTZ NULL;\n"),
        4: ("create_payments", "CREATE TABLE payments (\n    id BIGSERIAL PRIMARY KEY,\n"
                               "    invoice_id BIGINT NOT NULL REFERENCES invoices (id),\n"
                               "    amount_cents BIGINT NOT NULL\n);\n"),
    },
    "mysql": {
        1: ("create_customers", "CREATE TABLE customers (\n    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
                                "    email VARCHAR(320) NOT NULL UNIQUE,\n"
                                "    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)\n);\n"),
        2: ("create_invoices", "CREATE TABLE invoices (\n    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
                               "    customer_id BIGINT NOT NULL,\n    amount_cents BIGINT NOT NULL,\n"
                               "    currency CHAR(3) NOT NULL,\n"
                               "    KEY invoices_customer_id (customer_id),\n"
                               "    CONSTRAINT invoices_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)\n"
                               ");\n"),
        3: ("add_invoice_paid_at", "ALTER TABLE invoices ADD COLUMN paid_at DATETIME(6) NULL;\n"),
        4: ("create_payments", "CREATE TABLE payments (\n    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
                               "    invoice_id BIGINT NOT NULL,\n    amount_cents BIGINT NOT NULL,\n"
                               "    CONSTRAINT payments_invoice_fk FOREIGN KEY (invoice_id) REFERENCES invoices (id)\n"
                               ");\n"),
    },
}


def billing_files(upto: int) -> dict[str, str]:
    """migrations/billing/ as a team writes it: service.toml and versions 1..upto."""
    files = {f"{SERVICE}/service.toml": 'description = "Invoices and payments"\ntable_prefix = "billing"\n'}
    for dialect, migrations in MIGRATIONS.items():
        for version in range(1, upto + 1):
            title, sql = migrations[version]
            files[f"{SERVICE}/{dialect}/{version:04d}_{title}.up.sql"] = sql
    return files


@pytest.fixture(scope="module")
def billing_images(images, tmp_path_factory):
    """Two derived images: billing v1 (3 migrations) and v2 (one more); removed at
    the end of the session with every other tag it created."""
    tmp = tmp_path_factory.mktemp("billing")
    return {n: images.derive(f"billing-v{n}", billing_files(n), tmp / f"v{n}") for n in (3, 4)}


def render(helm, workdir, image: str) -> list[dict]:
    """`helm template` as the team installs: only their service, their image, their Secret."""
    repository, tag = image.rsplit(":", 1)
    values = {"services": [SERVICE], "image": {"repository": repository, "tag": tag},
              SERVICE: {"migration": {"database": {"existingSecret": SECRET}}}}
    return harness.parse(harness.render(helm, RELEASE, CHART, namespace=NAMESPACE, values=values,
                                        workdir=workdir))


def tables(db) -> set[str]:
    if db.dialect == "postgres":
        return {r[0] for r in db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    return {r[0] for r in db.query(f"SELECT table_name FROM information_schema.tables "
                                   f"WHERE table_schema = '{db.name}'")}


def tracking(db) -> list[tuple[int, bool]]:
    return [(int(v), bool(d)) for v, d in db.query("SELECT version, dirty FROM billing_migrations ORDER BY version")]


def only_billing_ran(docs: list[dict], rollout: harness.Rollout, db, images) -> None:
    """Nothing of the example platform is rendered, run, or left in the database."""
    for doc in docs:
        if doc["kind"] in ("Job", "Pod"):
            assert service_of(doc) == SERVICE, f"{doc['kind']} {harness.name_of(doc)} migrates another service"
    assert [r.job for r in rollout.results] == [f"{RELEASE}-{SERVICE}-migration"], rollout.explain()
    services = {e.get("service") for r in rollout.results for e in r.events() if "service" in e}
    assert services == {SERVICE}, rollout.explain()
    present = tables(db)
    for example, shipped in images.shipped.items():
        if example != SERVICE:
            assert f"{shipped['prefix']}_migrations" not in present, (example, sorted(present))


@pytest.mark.parametrize(("helm_name", "dialect"), [("helm3", "postgres"), ("helm4", "mysql")])
def test_one_service_platform_from_a_derived_image(images, billing_images, make_database, helm_workdir,
                                                   helm_name, dialect):
    helm = helm_path(helm_name)
    db = make_database(dialect)
    dsn = db.dsn + ("?sslmode=disable" if dialect == "postgres" else "")
    v3, v4 = billing_images[3], billing_images[4]
    cluster = harness.Cluster(images={v3: v3, v4: v4}, secrets={SECRET: {"dsn": dsn}}, engine=images.engine)

    # helm install: one hook Job, billing's, from the derived image.
    docs = render(helm, helm_workdir, v3)
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert [harness.name_of(j) for j in jobs] == [f"{RELEASE}-{SERVICE}-migration"]
    container = jobs[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == v3 and container["args"][:3] == ["up", "--service", SERVICE]
    install = cluster.helm_hooks(docs, "pre-install")
    assert_rollout(install, 1)
    result = install.results[0]
    assert applied_versions(result) == [1, 2, 3], result.explain()
    assert "Applied 3 migrations: service billing is at version 3." in result.stdout.splitlines(), result.explain()
    assert tracking(db) == [(1, False), (2, False), (3, False)]
    assert {"customers", "invoices"} <= tables(db) and "payments" not in tables(db)
    only_billing_ran(docs, install, db, images)

    # helm test: `status --check` from the derived image passes.
    test = cluster.helm_hooks(docs, "test")
    assert_rollout(test, 1)
    pod = next(d for d in docs if d["kind"] == "Pod")
    status = pod["spec"]["containers"][0]
    assert status["image"] == v3 and "status" in status["args"] and "--check" in status["args"]

    # helm upgrade with the next image: only the new migration runs.
    docs = render(helm, helm_workdir, v4)
    upgrade = cluster.helm_hooks(docs, "pre-upgrade")
    assert_rollout(upgrade, 1)
    assert applied_versions(upgrade.results[0]) == [4], upgrade.results[0].explain()
    assert tracking(db) == [(1, False), (2, False), (3, False), (4, False)]
    assert "payments" in tables(db)
    only_billing_ran(docs, upgrade, db, images)
    assert_rollout(cluster.helm_hooks(docs, "test"), 1)

    # The next `helm upgrade` with the same image changes nothing.
    again = cluster.helm_hooks(docs, "pre-upgrade")
    assert_rollout(again, 1)
    assert applied_versions(again.results[0]) == [], again.results[0].explain()
