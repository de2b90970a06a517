"""What a migration changed is recorded completely, side effects included (SPEC section 6).

``side_effects/<dialect>`` is a history written to do, on each database, what changes
relations a statement does not name: renaming a table and a column that a view and another
table's foreign key reference (SQLite rewrites their SQL), a column drop taking a
multi-column index or constraint, ``DROP TABLE ... CASCADE`` taking views and another
table's foreign key (PostgreSQL), SERIAL/IDENTITY sequences no statement names, the SQLite
table rebuilds (create new / copy / drop old / rename, and rename old / create / copy /
drop old) and a MySQL rename swap.

The reference is the whole schema read before and after each migration: what a version
records must be exactly what changed, plus what its statements name as created and exist
afterwards although they existed before (``CREATE OR REPLACE VIEW``, a rebuilt table).
"""

from __future__ import annotations

import json
from pathlib import Path

from verify_support import json_logs

from migrator import objects
from migrator.config import parse_dsn
from migrator.dialects import open_database
from migrator.runner import Runner
from migrator.source import select_service

HISTORY = Path(__file__).resolve().parent / "side_effects"
SERVICE = "side_effects"
VERSIONS = list(range(1, 9))

# objects a version names as created that existed before it ran (so no diff shows them)
RECREATED = {
    "postgres": {},
    "mysql": {2: {"view:book_titles"}, 3: {"view:book_titles"}},
    "sqlite": {4: {"view:book_titles"}, 7: {"view:book_titles"},
               8: {"table:reviews", "column:reviews.id", "column:reviews.book_id", "column:reviews.body",
                   "index:reviews.ix_reviews_book"}},
}

# side effects the history exists for: each must be in what its version recorded
SIDE_EFFECTS = {
    "postgres": {
        1: {"created": {"sequence:authors_id_seq", "sequence:books_id_seq", "sequence:reviews_id_seq"}},
        4: {"dropped": {"constraint:books.uq_books_title_isbn", "index:books.uq_books_title_isbn",
                        "index:books.ix_books_author_isbn"}},
        5: {"created": {"sequence:tags_id_seq"}},
        6: {"dropped": {"view:tag_labels", "view:popular_tags", "constraint:book_tags.fk_book_tags_tag",
                        "sequence:tags_id_seq", "table:tags"}},
        7: {"dropped": {"view:book_titles", "column:writers.full_name"}},
        8: {"created": {"sequence:book_tags_id_seq", "column:book_tags.id"},
            "dropped": {"table:reviews", "sequence:reviews_id_seq"}},
    },
    "mysql": {
        4: {"dropped": {"index:books.ix_books_isbn", "column:books.isbn"}},
        6: {"dropped": {"constraint:book_tags.fk_book_tags_tag", "view:tag_labels", "table:tags"}},
        8: {"created": {"column:reviews.rating"}},
    },
    "sqlite": {
        1: {"created": {"constraint:books.fk(author_id)", "constraint:books.unique(title,isbn)"}},
        4: {"dropped": {"constraint:books.unique(title,isbn)", "index:books.ix_books_isbn", "column:books.isbn"}},
        8: {"created": {"column:reviews.rating"}},
    },
}


def _apply_one_by_one(db) -> dict[int, tuple[set[str], set[str], set[str], set[str]]]:
    """Apply the history in one run (as `up` does), reading the whole schema around each
    migration: version -> (recorded created, recorded dropped, schema before, schema after)."""
    database = open_database(parse_dsn(db.dsn))
    out = {}
    try:
        runner = Runner(database, select_service(HISTORY, SERVICE))
        runner.tracker.ensure()
        with runner.locked(10):
            for m in runner.pending(runner.rows()):
                before = database.snapshot(None)
                runner.apply(m)
                row = runner.rows()[m.version]
                out[m.version] = (set(row.created), set(row.dropped), before, database.snapshot(None))
    finally:
        database.close()
    return out


def test_each_version_records_exactly_what_it_changed(db):
    applied = _apply_one_by_one(db)

    assert sorted(applied) == VERSIONS
    for version, (created, dropped, before, after) in applied.items():
        extra = RECREATED[db.dialect].get(version, set())
        assert extra <= before & after
        assert created == (after - before) | extra, (version, sorted(created ^ ((after - before) | extra)))
        assert dropped == before - after, (version, sorted(dropped ^ (before - after)))
    for version, expected in SIDE_EFFECTS[db.dialect].items():
        created, dropped, _, _ = applied[version]
        assert expected.get("created", set()) <= created, (version, sorted(expected["created"] - created))
        assert expected.get("dropped", set()) <= dropped, (version, sorted(expected["dropped"] - dropped))


def _rows(db) -> dict[int, tuple[list, list]]:
    return {int(v): (json.loads(c), json.loads(d)) for v, c, d in db.query(
        f"SELECT version, objects_created, objects_dropped FROM {SERVICE}_migrations ORDER BY version")}


def _own_relations(db) -> set[str]:
    own = {f"{SERVICE}_migrations", f"{SERVICE}_migration_events", f"{SERVICE}_migration_events_id_seq"}
    return {objects.relation_of(o) for o in db.snapshot()} - own


def test_the_history_goes_up_down_and_up_again_in_sync(db, cli):
    def run(*args):
        return cli(*args, dsn=db.dsn, migrations=HISTORY, service=SERVICE)

    first = run("up")
    assert first.code == 0, first.text[-3000:]
    recorded = _rows(db)
    assert sorted(recorded) == VERSIONS
    clean = run("verify")
    assert clean.code == 0, clean.text[-3000:]

    down = run("down", "--steps", len(VERSIONS), "--yes")
    assert down.code == 0, down.text[-3000:]
    assert _rows(db) == {}
    assert _own_relations(db) == set()

    again = run("up")
    assert again.code == 0, again.text[-3000:]
    assert _rows(db) == recorded
    clean = run("verify")
    assert clean.code == 0, clean.text[-3000:]
    assert not [e for e in json_logs(clean) if e.get("event") == "MIGRATION_TRACKING_DESYNC"]
