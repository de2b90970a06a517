"""Every lint rule: why it blocks writes and the safe alternative; which squawk rules count.

Where an own rule means the same as a squawk rule it carries squawk's name, so one
``-- migrator:lint-ignore <rule> reason: ...`` works with and without squawk installed,
and on every dialect.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleText:
    why: str
    alternative: str


_NO_TX = "in its own migration whose header has `-- migrator:no-transaction`"
_EXPAND = ("expand/contract: add a new column, write both, backfill it (backfills/<name>.toml), "
           "switch reads, then deprecate (`-- migrator:deprecates <table>.<column>`) and drop the old one")
_NOT_VALID = ("ADD CONSTRAINT ... NOT VALID in one migration, then ALTER TABLE ... VALIDATE CONSTRAINT "
              "in a later migration (validation takes only a SHARE UPDATE EXCLUSIVE lock)")

# rule -> family ("*" for any) -> text
CATALOGUE: dict[str, dict[str, RuleText]] = {
    # --- squawk rules kept (and emulated by the built-in PostgreSQL rules) -------------
    "require-concurrent-index-creation": {"*": RuleText(
        "CREATE INDEX takes a SHARE lock on the table: every INSERT, UPDATE and DELETE waits "
        "until the whole index is built",
        f"CREATE INDEX CONCURRENTLY {_NO_TX}")},
    "require-concurrent-index-deletion": {"*": RuleText(
        "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table: reads and writes wait behind it",
        f"DROP INDEX CONCURRENTLY {_NO_TX}")},
    "require-concurrent-reindex": {"*": RuleText(
        "REINDEX without CONCURRENTLY blocks writes (and reads that use the index) for the whole rebuild",
        f"REINDEX ... CONCURRENTLY {_NO_TX}")},
    "require-concurrent-partition-detach": {"*": RuleText(
        "DETACH PARTITION takes an ACCESS EXCLUSIVE lock on the parent table",
        f"ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY {_NO_TX}")},
    "ban-concurrent-index-creation-in-transaction": {"*": RuleText(
        "CONCURRENTLY cannot run inside a transaction block: the migration fails",
        f"put the statement {_NO_TX}")},
    "adding-required-field": {"*": RuleText(
        "a NOT NULL column without a default is required at once: existing rows have no value "
        "(PostgreSQL and SQLite refuse, MySQL silently stores 0 or '') and INSERTs of the previous "
        "release, which does not know the column, fail during the rollout",
        "add the column NULL (or with a constant DEFAULT), backfill it (backfills/<name>.toml), "
        "then enforce NOT NULL in a later migration")},
    "adding-not-nullable-field": {"*": RuleText(
        "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock: reads and writes wait "
        "for the scan",
        "ADD CONSTRAINT <c> CHECK (<column> IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT <c> in a later "
        "migration; then SET NOT NULL (PostgreSQL 12+ uses the valid CHECK and skips the scan)")},
    "adding-field-with-default": {"*": RuleText(
        "a volatile DEFAULT or a STORED generated column rewrites every row under an ACCESS "
        "EXCLUSIVE lock",
        "add the column NULL (or with a constant default), backfill it in batches "
        "(backfills/<name>.toml), then set the default")},
    "changing-column-type": {
        "*": RuleText(
            "ALTER COLUMN ... TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock: "
            "reads and writes wait for the whole rewrite",
            _EXPAND),
        "mysql": RuleText(
            "MODIFY/CHANGE of a column definition needs ALGORITHM=COPY for most type changes: the table "
            "is copied row by row and writes wait for the whole copy",
            f"{_EXPAND}; or state `, ALGORITHM=INSTANT` (or INPLACE, LOCK=NONE) so the server refuses "
            "instead of copying; for big tables use gh-ost or pt-online-schema-change")},
    "constraint-missing-not-valid": {"*": RuleText(
        "a new FOREIGN KEY or CHECK validates every row while holding a lock that blocks writes; "
        "validating in the same transaction that added it NOT VALID keeps that lock for the scan",
        _NOT_VALID)},
    "adding-foreign-key-constraint": {
        "*": RuleText(
            "a new foreign key scans the table while holding SHARE ROW EXCLUSIVE locks on both tables, "
            "blocking their writes",
            _NOT_VALID),
        "mysql": RuleText(
            "with foreign_key_checks=1 MySQL adds a foreign key with ALGORITHM=COPY: the table is copied "
            "and writes wait for the whole copy",
            "declare the foreign key in CREATE TABLE, or add it with gh-ost / pt-online-schema-change; "
            "for a table known to be small, lint-ignore it with the reason")},
    "disallowed-unique-constraint": {"*": RuleText(
        "ADD CONSTRAINT ... UNIQUE builds its index under an ACCESS EXCLUSIVE lock",
        f"CREATE UNIQUE INDEX CONCURRENTLY {_NO_TX}, then ADD CONSTRAINT <c> UNIQUE USING INDEX <index>")},
    "adding-serial-primary-key-field": {"*": RuleText(
        "ADD PRIMARY KEY builds its index under an ACCESS EXCLUSIVE lock",
        f"CREATE UNIQUE INDEX CONCURRENTLY {_NO_TX}, then ADD CONSTRAINT <c> PRIMARY KEY USING INDEX <index>")},
    "renaming-column": {"*": RuleText(
        "the previous release keeps using the old name while the new one rolls out: its queries fail "
        "the moment the rename commits",
        _EXPAND)},
    "renaming-table": {"*": RuleText(
        "the previous release keeps using the old name while the new one rolls out: its queries fail "
        "the moment the rename commits",
        "create the new table, write both, backfill, switch reads, then drop the old table in a "
        "later release (or keep a view with the old name meanwhile)")},
    "transaction-nesting": {"*": RuleText(
        "the migrator already runs the file in a transaction; BEGIN/COMMIT inside it ends that "
        "transaction early, so the migration and its tracking row no longer commit together",
        "remove BEGIN/COMMIT/ROLLBACK, or mark the file `-- migrator:no-transaction` when it must manage "
        "its own transactions")},
    "ban-uncommitted-transaction": {"*": RuleText(
        "a BEGIN without COMMIT leaves the migration's locks held in an open transaction",
        "remove the BEGIN (the migrator manages the transaction)")},
    "ban-truncate-cascade": {"*": RuleText(
        "TRUNCATE ... CASCADE takes ACCESS EXCLUSIVE locks on, and empties, every table that "
        "references this one",
        "delete exactly the rows you mean, in a backfill (backfills/<name>.toml)")},
    "ban-drop-database": {"*": RuleText(
        "dropping a database removes every service's data", "never drop a database in a migration")},
    "ban-alter-domain-with-add-constraint": {"*": RuleText(
        "adding a constraint to a domain scans every column of that domain while blocking writes",
        "put NOT VALID CHECK constraints on the tables, then VALIDATE them in a later migration")},
    "ban-create-domain-with-constraint": {"*": RuleText(
        "a domain constraint cannot be added NOT VALID later: changing it scans every column using "
        "the domain while blocking writes",
        "use CHECK constraints on the tables (NOT VALID + VALIDATE) instead of domain constraints")},
    # --- own rules ---------------------------------------------------------------------
    "backfill-in-migration": {"*": RuleText(
        "an UPDATE or DELETE of an existing table locks every matched row until the migration "
        "commits: writers of those rows wait, and a large table makes the deploy hook run for minutes",
        "move the data change into a backfill (migrations/<service>/backfills/<name>.toml): "
        "small key-range batches outside the hook")},
    "drop-column-without-deprecation": {"*": RuleText(
        "the previous release still reads and writes the column while the new one rolls out: its "
        "queries fail as soon as the column is gone",
        "deprecate it one release earlier: a migration with a lower version carries "
        "`-- migrator:deprecates <table>.<column>` in its header and the code stops using the column; "
        "drop it in a later migration")},
    "table-rebuild": {
        "*": RuleText(
            "the statement rewrites the whole table under an ACCESS EXCLUSIVE lock: reads and writes "
            "wait until it finishes",
            "run it outside migrations in a maintenance window, or use pg_repack (online)"),
        "mysql": RuleText(
            "the statement rebuilds the whole table (a copy of every row); without an online "
            "algorithm writes wait, and even online it can stall replication",
            "run it outside migrations (maintenance window), or use gh-ost / pt-online-schema-change"),
        "sqlite": RuleText(
            "copying or rebuilding a table holds SQLite's database write lock for the whole copy: "
            "every writer waits",
            "prefer the in-place ALTER TABLE forms SQLite has (ADD COLUMN, RENAME, DROP COLUMN after "
            "deprecation); rebuild only small tables, with a lint-ignore naming the reason")},
    "validate-after-lock": {"*": RuleText(
        "VALIDATE CONSTRAINT scans the whole table, and an earlier statement of the same transaction "
        "already locked that table (ALTER TABLE holds ACCESS EXCLUSIVE, CREATE INDEX holds SHARE, until "
        "commit): reads and writes wait for the whole scan",
        "run VALIDATE CONSTRAINT in its own migration (a later version, or a `-- migrator:no-transaction` "
        "one), so it holds only SHARE UPDATE EXCLUSIVE while it scans")},
    "alter-without-online-algorithm": {"mysql": RuleText(
        "without an explicit algorithm MySQL/MariaDB silently fall back to a table copy "
        "(ALGORITHM=COPY) that blocks writes whenever the change cannot be done in place",
        "append `, ALGORITHM=INSTANT` (metadata only) or `, ALGORITHM=INPLACE, LOCK=NONE` to the ALTER "
        "TABLE: the server then refuses the change instead of blocking writes; add a column last "
        "(no AFTER/FIRST) to keep it instant")},
    "lint-ignore-without-reason": {"*": RuleText(
        "a silenced finding needs a recorded reason for the reviewer; this ignore is not applied",
        "write `-- migrator:lint-ignore <rule>[,<rule>] reason: <why it is safe here>`")},
    "lint-ignore-malformed": {"*": RuleText(
        "the ignore comment names no rule, so it silences nothing",
        "write `-- migrator:lint-ignore <rule>[,<rule>] reason: <why it is safe here>`")},
}

OWN_RULES = frozenset({
    "backfill-in-migration", "drop-column-without-deprecation", "table-rebuild", "validate-after-lock",
    "alter-without-online-algorithm", "lint-ignore-without-reason", "lint-ignore-malformed",
})

# The squawk rules that count (an allowlist): locks, table rewrites, validation scans,
# the transaction handling the migrator relies on, and column/table renames (which break
# the running release exactly like an undeprecated DROP COLUMN). Every other squawk rule
# is dropped: its style rules, its timeout rules, and the "may break existing clients"
# family that squawk 2.x enables by default (ban-drop-*, renaming-object, ban-set-schema,
# ban-alter-identity, ...), which are about compatibility, not locks. A lock rule added by
# a future squawk needs an entry in CATALOGUE to count.
SQUAWK_KEPT = frozenset(CATALOGUE) - OWN_RULES

# squawk 2.x misses CONCURRENTLY in a transactional file that holds a single statement, so
# this rule always comes from the built-in check (squawk's copy is dropped to avoid doubles).
BUILTIN_ALWAYS = frozenset({"ban-concurrent-index-creation-in-transaction"})

# Why some squawk rules are not findings; documentation for the allowlist.
SQUAWK_DROPPED: dict[str, str] = {
    "prefer-text-field": "style (varchar vs text)",
    "prefer-bigint-over-int": "style (column width)",
    "prefer-bigint-over-smallint": "style (column width)",
    "prefer-big-int": "older name of prefer-bigint-over-int",
    "prefer-identity": "style (serial vs identity)",
    "prefer-robust-stmts": "style (IF NOT EXISTS); the tracking table decides what runs",
    "prefer-timestamp-tz": "data-type advice, no lock",
    "prefer-timestamptz": "older name of prefer-timestamp-tz",
    "ban-char-field": "data-type advice, no lock",
    "require-enum-value-ordering": "style (enum order), no lock",
    "require-lock-timeout": "the migrator sets lock_timeout itself (--ddl-lock-timeout)",
    "require-statement-timeout": "timeouts are the migrator's job (--ddl-lock-timeout)",
    "require-timeout-settings": "timeouts are the migrator's job (--ddl-lock-timeout)",
    "ban-drop-column": "replaced by drop-column-without-deprecation, which honours "
                       "`-- migrator:deprecates` (expand/contract)",
    "ban-drop-table": "compatibility, not a lock: the table's lock is held only briefly",
    "ban-drop-not-null": "relaxing NOT NULL is an expand step and takes no long lock",
    "ban-drop-constraint": "compatibility, not a lock",
    "ban-drop-default": "compatibility, not a lock",
    "renaming-object": "renames of indexes, constraints and views: metadata only, no lock",
    "unused-ignore": "about squawk's own ignore comments, which migrations do not use",
    "require-table-schema": "style",
    "syntax-error": "not a lock rule; a file squawk cannot parse is checked by the built-in rules",
}


# The online forms of the index statements, for the alter-without-online-algorithm finding on
# them (CREATE INDEX takes its options without commas; MariaDB's DROP INDEX takes none).
MYSQL_INDEX_ALTERNATIVE = {
    "CREATE INDEX": "`CREATE INDEX <index> ON <table> (<columns>) ALGORITHM=INPLACE LOCK=NONE`, or "
                    "`ALTER TABLE <table> ADD INDEX <index> (<columns>), ALGORITHM=INPLACE, LOCK=NONE`: "
                    "the server then refuses the change instead of blocking writes",
    "DROP INDEX": "`ALTER TABLE <table> DROP INDEX <index>, ALGORITHM=INPLACE, LOCK=NONE` (MariaDB's "
                  "DROP INDEX takes no ALGORITHM or LOCK clause): the server then refuses the change "
                  "instead of blocking writes",
}


def rule_text(rule: str, fam: str) -> RuleText | None:
    texts = CATALOGUE.get(rule)
    if texts is None:
        return None
    return texts.get(fam) or texts.get("*") or next(iter(texts.values()))
