"""Property: on the example platform (5 services sharing one database), drop recorded
objects chosen at random behind the tracker's back; `verify` then flags, for each service,
exactly the versions whose recorded objects are gone: no more (a false alarm), no fewer (a
blind spot). What is gone is read from the whole schema, so a drop that takes more than its
object with it (a CASCADE, a table's indexes and sequences) counts as what it really did.
"""

from __future__ import annotations

import json
import random

import pytest
from verify_support import json_logs

from migrator.source import all_services

SEEDS = (3, 17, 2024)
PICKS = 3


def _drop_statements(dialect: str, obj: str) -> list[list[str]]:
    """Ways to drop one object by hand, tried in order (the first the database accepts)."""
    kind, _, rest = obj.partition(":")
    table, _, name = rest.partition(".")
    if dialect == "postgres":
        return {
            "table": [[f'DROP TABLE "{rest}" CASCADE']],
            "view": [[f'DROP VIEW "{rest}" CASCADE']],
            "sequence": [[f'DROP SEQUENCE "{rest}" CASCADE']],
            "column": [[f'ALTER TABLE "{table}" DROP COLUMN "{name}" CASCADE']],
            "index": [[f'DROP INDEX "{name}" CASCADE'], [f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}" CASCADE']],
            "constraint": [[f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}" CASCADE']],
        }[kind]
    if dialect == "mysql":
        off = "SET SESSION foreign_key_checks = 0"
        return {
            "table": [[off, f"DROP TABLE `{rest}`"]],
            "view": [[f"DROP VIEW `{rest}`"]],
            "column": [[off, f"ALTER TABLE `{table}` DROP COLUMN `{name}`"]],
            "index": [[off, f"DROP INDEX `{name}` ON `{table}`"]],
            "constraint": [[off, f"ALTER TABLE `{table}` DROP FOREIGN KEY `{name}`"],
                           [off, f"ALTER TABLE `{table}` DROP CONSTRAINT `{name}`"],
                           [off, f"ALTER TABLE `{table}` DROP INDEX `{name}`"]],
        }.get(kind, [])
    return {  # SQLite: its unnamed constraints only go with a table rebuild, not tried here
        "table": [["PRAGMA foreign_keys = OFF", f'DROP TABLE "{rest}"']],
        "view": [[f'DROP VIEW "{rest}"']],
        "column": [[f'ALTER TABLE "{table}" DROP COLUMN "{name}"']],
        "index": [[f'DROP INDEX "{name}"']],
    }.get(kind, [])


def _live(db, tracking_table: str) -> dict[str, int]:
    """Recorded object -> the applied version that created it, after later drops."""
    live: dict[str, int] = {}
    for version, created, dropped in db.query(
            f"SELECT version, objects_created, objects_dropped FROM {tracking_table} ORDER BY version"):
        for obj in json.loads(dropped or "[]"):
            live.pop(obj, None)
        for obj in json.loads(created or "[]"):
            live[obj] = int(version)
    return live


def _drop_some(db, rng: random.Random, candidates: list[str]) -> list[str]:
    """Drop PICKS of the candidates (those the database lets go by hand); returns them."""
    dropped = []
    for obj in rng.sample(candidates, len(candidates)):
        if len(dropped) == PICKS:
            break
        if obj not in db.snapshot():  # already gone with an earlier drop
            continue
        for statements in _drop_statements(db.dialect, obj):
            try:
                db.execute(*statements)
            except Exception:  # refused (a dependency, an index a foreign key needs): next way
                continue
            dropped.append(obj)
            break
    return dropped


def _flagged(result) -> set[int]:
    if result.code == 0:
        return set()
    assert result.code == 4, result.text[-3000:]
    events = [e for e in json_logs(result) if e.get("event") == "MIGRATION_TRACKING_DESYNC"]
    assert events, result.text[-3000:]
    return set(events[-1]["versions"])


@pytest.mark.parametrize("seed", SEEDS)
def test_verify_flags_exactly_the_versions_whose_objects_were_dropped(db, example_copy, cli, seed):
    services = all_services(example_copy)
    for service in services:
        up = cli("up", dsn=db.dsn, migrations=example_copy, service=service.name)
        assert up.code == 0, up.text[-3000:]
    live = {s.name: _live(db, s.tracking_table) for s in services}
    candidates = sorted(o for objects in live.values() for o in objects)
    assert len(candidates) > 100

    dropped = _drop_some(db, random.Random(seed), candidates)

    assert dropped, "no drop was accepted"
    now = db.snapshot()
    for service in services:
        expected = {version for obj, version in live[service.name].items() if obj not in now}
        result = cli("verify", dsn=db.dsn, migrations=example_copy, service=service.name)
        assert _flagged(result) == expected, (service.name, dropped, result.text[-3000:])
