"""Every JSON log line names its event with an UPPER_SNAKE code, the human text in its
own `message` field: log collectors alert on the code, operators read the message."""

from __future__ import annotations

import json
import re

from tests.backfill.conftest import NAME, seed

CODE = re.compile(r"^[A-Z][A-Z0-9_]+$")
BROKEN = "UPDATE items SET total = no_such_column WHERE id >= :lo AND id < :hi"
FAILING = {  # the second statement fails: a duplicate key
    "postgres": "CREATE TABLE dup (id int PRIMARY KEY);\nINSERT INTO dup VALUES (1), (1);\n",
    "mysql": "CREATE TABLE dup (id INT PRIMARY KEY);\nINSERT INTO dup VALUES (1), (1);\n",
    "sqlite": "CREATE TABLE dup (id INTEGER PRIMARY KEY);\nINSERT INTO dup VALUES (1), (1);\n",
}


def logged(result) -> list[dict]:
    """The JSON lines of stderr (the other lines are the operator's plain text)."""
    return [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]


def test_every_logged_event_is_a_code_with_a_message(service):
    db = service.db
    results = [service.run("up")]
    seed(db, rows=300)
    service.write_backfill(sql=BROKEN)
    results.append(service.run("backfill", "run", NAME))  # fails: its checkpoint says failed
    service.write_backfill()
    results.append(service.run("backfill", "run", NAME))  # retried from the checkpoint
    (service.root / "svc" / db.dialect / "0003_dup.up.sql").write_text(FAILING[db.dialect])
    results.append(service.run("wait", "--timeout", "0.5"))  # one migration behind: times out
    results.append(service.run("up"))  # fails on the duplicate key

    assert [r.code for r in results] == [0, 1, 0, 1, 1], "\n".join(r.err for r in results)
    lines = [line for r in results for line in logged(r)]
    events = {line["event"] for line in lines}
    assert {"MIGRATION_BACKFILL_RETRY", "MIGRATION_WAITING", "MIGRATION_FAILED"} <= events, events
    assert [line["event"] for line in lines if not CODE.fullmatch(line["event"])] == []
    retry = next(line for line in lines if line["event"] == "MIGRATION_BACKFILL_RETRY")
    assert retry["message"] == "retrying a failed backfill from its checkpoint"
    assert "no_such_column" in retry["previous_error"]
