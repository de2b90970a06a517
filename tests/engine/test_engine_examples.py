"""The five example services migrating into ONE shared database on each engine (SPEC 2)."""

from __future__ import annotations

import re

from engine_support import Migrator, communicate, ok, tracking_rows, versions

from migrator.objects import relation_of

SERVICES = ["auth", "agentic", "analytics", "cortex", "apiOntology"]
PREFIXES = {"auth": "platform", "agentic": "agentic", "analytics": "analytics", "cortex": "cortex",
            "apiOntology": "ontology"}


def shipped(root, service: str, dialect: str) -> list[int]:
    return sorted(int(p.name.split("_", 1)[0]) for p in (root / service / dialect).glob("*.up.sql"))


def own_tables() -> set[str]:
    return {f"{p}_{t}" for p in PREFIXES.values() for t in ("migrations", "migration_events", "backfills")}


def assert_recorded_objects_are_own(db) -> None:
    """No service records objects on a relation that another service created (or on tracking tables)."""
    rows = {s: tracking_rows(db, PREFIXES[s]) for s in SERVICES}
    owner = {}
    for service, service_rows in rows.items():
        for row in service_rows:
            for obj in row.created:
                if obj.split(":", 1)[0] in ("table", "view", "sequence"):
                    owner.setdefault(relation_of(obj), service)
    for service, service_rows in rows.items():
        for row in service_rows:
            for obj in row.created + row.dropped:
                rel = relation_of(obj)
                assert rel not in own_tables(), f"{service} {row.version} recorded a migrator table: {obj}"
                assert owner.get(rel, service) == service, \
                    f"{service} {row.version} recorded {obj}, which belongs to {owner[rel]}"


def run_all(migs: dict, *args: str, together: bool) -> None:
    """Run one command for every service: at the same moment (subprocesses) or in order."""
    if not together:
        for mig in migs.values():
            ok(mig(*args))
        return
    procs = {service: mig.spawn(*args) for service, mig in migs.items()}
    for service, proc in procs.items():
        code, out, err = communicate(proc, timeout=300)
        assert code == 0, f"{service}: {' '.join(args)} exited {code}\n{out}\n{err}"


def test_example_services_share_one_database(cli, db, example_copy):
    """up, verify, down all, up again; on the servers the services migrate at the same
    moment (SPEC 6: services may share one database, even migrating together)."""
    migs = {s: Migrator(cli, db, example_copy, s) for s in SERVICES}
    together = db.dialect != "sqlite"  # one SQLite file has one writer at a time
    run_all(migs, "up", together=together)
    for service in SERVICES:
        assert versions(db, PREFIXES[service]) == shipped(example_copy, service, db.dialect)
        assert len(versions(db, PREFIXES[service])) >= 5
    run_all(migs, "verify", together=together)
    tables = db.tables()
    assert {f"{p}_migrations" for p in PREFIXES.values()} <= tables
    assert len(tables - own_tables()) >= 5 * 3, "the example services own realistic schemas"
    assert_recorded_objects_are_own(db)

    run_all(migs, "down", "--steps", "1000", "--yes", together=together)
    for service in SERVICES:
        assert versions(db, PREFIXES[service]) == []
    assert db.tables() <= own_tables(), f"down left tables behind: {sorted(db.tables() - own_tables())}"

    run_all(migs, "up", together=False)  # in the chart's order, one after the other
    for service in SERVICES:
        assert versions(db, PREFIXES[service]) == shipped(example_copy, service, db.dialect)


def test_version_lists_every_service(cli, example_copy):
    r = ok(cli("version", migrations=example_copy))
    assert re.match(r"^migrator \d+\.\d+", r.out.splitlines()[0])
    listed = {line.split(":")[0]: line for line in r.out.splitlines()[1:]}
    assert set(SERVICES) <= set(listed)
    for service in SERVICES:
        for dialect in ("postgres", "mysql", "sqlite"):
            assert f"{dialect}={shipped(example_copy, service, dialect)[-1]}" in listed[service]
