"""The built-in rules, statement by statement.

``check(stmt, state)`` returns the hits of one statement and then records what the
statement created (tables, indexes, NOT VALID constraints), so later statements of the
same file know which tables are new. On PostgreSQL the hits named like squawk rules are
the fallback for when squawk is not installed (or cannot parse the file); the engine
drops them when squawk ran, except ``always`` hits (cases squawk is known to miss).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from migrator.lint.catalogue import MYSQL_INDEX_ALTERNATIVE
from migrator.lint.sqltext import (
    CREATE_INDEX, CREATE_TABLE, DELETE, DROP_INDEX, FLAGS, FROM, IDENT, INSERT, RENAME_TABLE,
    UPDATE, Action, Alter, Stmt, name, parse_alter, qualified, starts_with, target_table,
)


@dataclass(frozen=True)
class Hit:
    rule: str
    line: int
    message: str
    stmt: int  # index of the statement the hit belongs to (for lint-ignore)
    help: str | None = None  # squawk's own hint, used when the catalogue has none
    always: bool = False  # kept even when squawk ran (a case squawk is known to miss)
    alternative: str | None = None  # the safe form of this statement, instead of the rule's


@dataclass
class History:
    """What earlier migrations of the same service and dialect established."""

    deprecated: set[tuple[str, str]] = field(default_factory=set)  # (table, column)
    not_null_checks: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, constraint) -> column
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)  # validated CHECK (col IS NOT NULL)


@dataclass
class FileState:
    fam: str  # postgres | mysql | sqlite
    transactional: bool
    history: History
    created: set[str] = field(default_factory=set)
    created_indexes: set[str] = field(default_factory=set)
    not_valid_here: set[tuple[str, str]] = field(default_factory=set)
    locked: set[str] = field(default_factory=set)  # existing tables an earlier statement locked (transactional files)
    suppress: dict[int, set[str]] = field(default_factory=dict)  # stmt -> squawk rules that do not apply


# squawk rules that only matter for a table that existed before the migration
ANY_TABLE_RULES = frozenset({
    "ban-concurrent-index-creation-in-transaction", "transaction-nesting",
    "ban-uncommitted-transaction", "ban-drop-database",
})

_NOT_COLUMN = {"CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "EXCLUDE", "INDEX", "KEY",
               "FULLTEXT", "SPATIAL", "PARTITION", "PERIOD", "SYSTEM", "COLUMNS", "DEFAULT"}
ADD_COLUMN = re.compile(rf"ADD\s+(?P<kw>COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?P<col>{IDENT})(?P<rest>.*)", FLAGS)
ADD_CONSTRAINT = re.compile(
    rf"ADD\s+(?:CONSTRAINT\s+(?:(?!(?:FOREIGN|CHECK|UNIQUE|PRIMARY|EXCLUDE)\b)(?P<name>{IDENT})\s+)?)?"
    rf"(?P<kind>FOREIGN\s+KEY|CHECK|UNIQUE|PRIMARY\s+KEY|EXCLUDE)\b(?P<rest>.*)", FLAGS)
DROP_COLUMN = re.compile(rf"DROP\s+(?P<kw>COLUMN\s+)?(?:IF\s+EXISTS\s+)?(?P<col>{IDENT})", FLAGS)
ALTER_TYPE = re.compile(rf"ALTER\s+(?:COLUMN\s+)?(?P<col>{IDENT})\s+(?:SET\s+DATA\s+)?TYPE\b", FLAGS)
SET_NOT_NULL = re.compile(rf"ALTER\s+(?:COLUMN\s+)?(?P<col>{IDENT})\s+SET\s+NOT\s+NULL\b", FLAGS)
VALIDATE = re.compile(rf"VALIDATE\s+CONSTRAINT\s+(?P<name>{IDENT})", FLAGS)
RENAME_TO = re.compile(rf"RENAME\s+(?:TO|AS)\s+(?P<new>{IDENT})", FLAGS)
RENAME_COLUMN = re.compile(rf"RENAME\s+(?P<kw>COLUMN\s+)?(?P<old>{IDENT})\s+TO\s+(?P<new>{IDENT})", FLAGS)
MODIFY = re.compile(rf"MODIFY\s+(?:COLUMN\s+)?(?P<col>{IDENT})\s+\S", FLAGS)
CHANGE = re.compile(rf"CHANGE\s+(?:COLUMN\s+)?(?P<old>{IDENT})\s+(?P<new>{IDENT})\s+\S", FLAGS)
OPTION = re.compile(r"(?P<key>ALGORITHM|LOCK)\b\s*=?\s*(?P<value>\w+)", FLAGS)
NOT_NULL_CHECK = re.compile(rf"\s*\(\s*(?P<col>{IDENT})\s+IS\s+NOT\s+NULL\s*\)", FLAGS)
VOLATILE_DEFAULT = re.compile(
    r"\bDEFAULT\s+\(?\s*(?:\w+\.)?(?:random|gen_random_uuid|uuid_generate_v\w*|clock_timestamp|"
    r"timeofday|nextval|statement_timestamp)\s*\(", FLAGS)
STORED_GENERATED = re.compile(r"\bGENERATED\s+ALWAYS\s+AS\s*\(.*\)\s*STORED\b", FLAGS)
SERIAL = re.compile(r"\s*(?:small|big)?serial[248]?\b", FLAGS)
IDENTITY = re.compile(r"\bGENERATED\s+(?:ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b", FLAGS)
UPDATE_SET = re.compile(rf"\bUPDATE\s+(?:ONLY\s+)?(?P<table>{IDENT})(?:\s+(?:AS\s+)?(?!SET\b){IDENT})?\s+SET\b", FLAGS)
DELETE_FROM = re.compile(rf"\bDELETE\s+FROM\s+(?:ONLY\s+)?(?P<table>{IDENT})", FLAGS)
POSITION = re.compile(r"\b(?:AFTER|FIRST)\b", FLAGS)
INSTANT_BLOCKERS = re.compile(
    r"\b(?:AFTER|FIRST|AUTO_INCREMENT|STORED|PERSISTENT|PRIMARY|UNIQUE|KEY|REFERENCES|CHECK)\b", FLAGS)
# a default the server computes per row (`DEFAULT (uuid())`): MariaDB copies the table for it
COMPUTED_DEFAULT = re.compile(
    r"\bDEFAULT\s+(?!(?:'[^']*'|\"[^\"]*\"|NULL|TRUE|FALSE|[-+]?[0-9.]+(?:E[-+]?[0-9]+)?|"
    r"CURRENT_TIMESTAMP(?:\s*\(\s*[0-9]*\s*\))?)(?![\w(]))", FLAGS)
TX_CONTROL = re.compile(r"\s*(?:BEGIN|START\s+TRANSACTION|COMMIT|ROLLBACK|END)\b(?!\s+(?:ATOMIC|NOT\s+ATOMIC)\b)", FLAGS)


def _hit(rule: str, stmt: Stmt, pos: int, message: str) -> Hit:
    return Hit(rule, stmt.line_at(pos), message, stmt.index)


# --- every dialect ---------------------------------------------------------------------


def _backfill(stmt: Stmt, st: FileState) -> list[Hit]:
    masked, start = stmt.masked, len(stmt.masked) - len(stmt.masked.lstrip())
    if re.match(r"\s*(?:UPDATE|DELETE)\b", masked, FLAGS):
        found = [(m, verb) for pattern, verb in ((UPDATE, "UPDATE"), (DELETE, "DELETE"))
                 if (m := pattern.match(masked, start)) is not None]
    elif re.match(r"\s*WITH\b", masked, FLAGS):
        found = _data_changes(masked)
    elif st.fam == "postgres" and starts_with(stmt, "DO"):
        found = _data_changes(stmt.sql)  # the body is a dollar-quoted string: search the raw text
    else:
        return []
    return [_hit("backfill-in-migration", stmt, m.start(), f"{verb} of existing table {name(m['table'])!r}")
            for m, verb in found if name(m["table"]) not in st.created]


def _data_changes(text: str) -> list[tuple[re.Match, str]]:
    return [(m, verb) for pattern, verb in ((UPDATE_SET, "UPDATE"), (DELETE_FROM, "DELETE"))
            for m in pattern.finditer(text)]


def _drop_column(stmt: Stmt, act: Action, alter: Alter, st: FileState) -> list[Hit]:
    m = DROP_COLUMN.match(act.text)
    if m is None or (not m["kw"] and qualified(m["col"])[-1].upper() in _NOT_COLUMN | {"IF"}):
        return []
    col = name(m["col"])
    if alter.table in st.created or (alter.table, col) in st.history.deprecated:
        return []
    return [_hit("drop-column-without-deprecation", stmt, act.pos,
                 f"DROP COLUMN {alter.table}.{col} without an earlier "
                 f"`-- migrator:deprecates {alter.table}.{col}`")]


def _column_def(act: Action) -> tuple[str, str] | None:
    """(column, rest of the definition) when the action adds a column."""
    m = ADD_COLUMN.match(act.text)
    if m is None or (not m["kw"] and qualified(m["col"])[-1].upper() in _NOT_COLUMN):
        return None
    return name(m["col"]), m["rest"]


def _required(rest: str) -> bool:
    return (re.search(r"\bNOT\s+NULL\b", rest, FLAGS) is not None
            and re.search(r"\b(?:DEFAULT|GENERATED|AUTO_INCREMENT|AS\s*\()", rest, FLAGS) is None
            and SERIAL.match(rest) is None)


def _renames(stmt: Stmt, act: Action, alter: Alter) -> list[Hit]:
    if (m := RENAME_TO.match(act.text)) is not None:
        return [_hit("renaming-table", stmt, act.pos, f"table {alter.table!r} renamed to {name(m['new'])!r}")]
    m = RENAME_COLUMN.match(act.text)
    if m is None or (not m["kw"] and m["old"].upper() in {"CONSTRAINT", "INDEX", "KEY"}):
        return []
    return [_hit("renaming-column", stmt, act.pos,
                 f"column {alter.table}.{name(m['old'])} renamed to {name(m['new'])!r}")]


def _add_column_required(stmt: Stmt, act: Action, alter: Alter) -> list[Hit]:
    coldef = _column_def(act)
    if coldef is None or not _required(coldef[1]):
        return []
    return [_hit("adding-required-field", stmt, act.pos,
                 f"ADD COLUMN {alter.table}.{coldef[0]} NOT NULL without a default")]


def _copy_into_new_table(stmt: Stmt, st: FileState) -> list[Hit]:
    m = INSERT.match(stmt.masked)
    if m is None or name(m["table"]) not in st.created:
        return []
    sources = [name(f["table"]) for f in FROM.finditer(stmt.masked, m.end())]
    old = [s for s in sources if s not in st.created]
    if not old:
        return []
    return [_hit("table-rebuild", stmt, 0, f"copies every row of existing table {old[0]!r} "
                 f"into new table {name(m['table'])!r} (table rebuild)")]


# --- PostgreSQL / CockroachDB ----------------------------------------------------------


def _pg_constraint(stmt: Stmt, act: Action, alter: Alter, st: FileState, existing: bool) -> list[Hit]:
    m = ADD_CONSTRAINT.match(act.text)
    if m is None:
        return []
    kind = re.sub(r"\s+", " ", m["kind"].upper())
    not_valid = re.search(r"\bNOT\s+VALID\b", m["rest"], FLAGS) is not None
    key = (alter.table, name(m["name"]) if m["name"] else "")
    if kind == "CHECK" and (check := NOT_NULL_CHECK.match(m["rest"])) is not None:
        st.history.not_null_checks[key] = name(check["col"])
        if not not_valid:
            st.history.proven_not_null.add((alter.table, name(check["col"])))
    if not_valid:
        st.not_valid_here.add(key)
    if not existing:
        return []
    using_index = re.search(r"\bUSING\s+INDEX\b", m["rest"], FLAGS) is not None
    if kind in ("FOREIGN KEY", "CHECK") and not not_valid:
        hits = [_hit("constraint-missing-not-valid", stmt, act.pos,
                     f"ADD {kind} on existing table {alter.table!r} without NOT VALID")]
        if kind == "FOREIGN KEY":
            hits.append(_hit("adding-foreign-key-constraint", stmt, act.pos,
                             f"foreign key added to existing table {alter.table!r}"))
        return hits
    if kind == "UNIQUE" and not using_index:
        return [_hit("disallowed-unique-constraint", stmt, act.pos,
                     f"ADD UNIQUE on existing table {alter.table!r} builds its index under an exclusive lock")]
    if kind == "PRIMARY KEY" and not using_index:
        return [_hit("adding-serial-primary-key-field", stmt, act.pos,
                     f"ADD PRIMARY KEY on existing table {alter.table!r} builds its index under an exclusive lock")]
    return []


def _pg_validate(stmt: Stmt, act: Action, alter: Alter, st: FileState) -> list[Hit]:
    m = VALIDATE.match(act.text)
    if m is None:
        return []
    key = (alter.table, name(m["name"]))
    if key in st.history.not_null_checks:
        st.history.proven_not_null.add((alter.table, st.history.not_null_checks[key]))
    if st.transactional and key in st.not_valid_here:
        return [_hit("constraint-missing-not-valid", stmt, act.pos,
                     f"VALIDATE CONSTRAINT {key[1]} in the same transaction that added it NOT VALID")]
    if st.transactional and alter.table in st.locked:
        return [_hit("validate-after-lock", stmt, act.pos,
                     f"VALIDATE CONSTRAINT {key[1]} after an earlier statement of this transaction "
                     f"locked {alter.table!r}")]
    return []


def _pg_add_column(stmt: Stmt, act: Action, alter: Alter) -> list[Hit]:
    coldef = _column_def(act)
    if coldef is None:
        return []
    col, rest = coldef
    hits = _add_column_required(stmt, act, alter)
    if re.search(r"\bREFERENCES\b", rest, FLAGS):
        hits.append(_hit("adding-foreign-key-constraint", stmt, act.pos,
                         f"ADD COLUMN {alter.table}.{col} REFERENCES adds a foreign key to an existing table"))
    if SERIAL.match(rest):  # squawk 2.x misses serial columns: keep this hit when squawk ran
        hits.append(Hit("adding-field-with-default", stmt.line_at(act.pos),
                        f"ADD COLUMN {alter.table}.{col} of a serial type fills every row from a sequence "
                        "(table rewrite)", stmt.index, always=True))
    elif VOLATILE_DEFAULT.search(rest) or STORED_GENERATED.search(rest) or IDENTITY.search(rest):
        hits.append(_hit("adding-field-with-default", stmt, act.pos,
                         f"ADD COLUMN {alter.table}.{col} with a volatile default, identity or stored "
                         "expression rewrites the table"))
    return hits


def _pg_action(stmt: Stmt, act: Action, alter: Alter, st: FileState) -> list[Hit]:
    existing = alter.table not in st.created
    hits = _pg_constraint(stmt, act, alter, st, existing) + _pg_validate(stmt, act, alter, st)
    if not existing:
        return hits
    if re.match(r"SET\s+(?:TABLESPACE|LOGGED|UNLOGGED)\b", act.text, FLAGS):
        verb = " ".join(act.text.split()[:2]).upper()
        hits.append(_hit("table-rebuild", stmt, act.pos, f"{verb} rewrites table {alter.table!r}"))
    if (m := ALTER_TYPE.match(act.text)) is not None:
        hits.append(_hit("changing-column-type", stmt, act.pos, f"type change of column {alter.table}.{name(m['col'])}"))
    if (m := SET_NOT_NULL.match(act.text)) is not None and (alter.table, name(m["col"])) not in st.history.proven_not_null:
        hits.append(_hit("adding-not-nullable-field", stmt, act.pos,
                         f"SET NOT NULL on {alter.table}.{name(m['col'])} without a validated CHECK (... IS NOT NULL)"))
    if re.match(r"DETACH\s+PARTITION\b", act.text, FLAGS) and not re.search(r"\b(?:CONCURRENTLY|FINALIZE)\b", act.text, FLAGS):
        hits.append(_hit("require-concurrent-partition-detach", stmt, act.pos,
                         f"DETACH PARTITION of {alter.table!r} without CONCURRENTLY"))
    return hits + _pg_add_column(stmt, act, alter) + _renames(stmt, act, alter)


def _pg_suppressions(stmt: Stmt, alter: Alter | None, st: FileState) -> set[str]:
    """squawk rules that do not apply to this statement (new table, proven NOT NULL)."""
    out = set()
    if target_table(stmt) in st.created:
        out.add("*")
    if alter is not None:
        cols = [name(m["col"]) for a in alter.actions if (m := SET_NOT_NULL.match(a.text))]
        if cols and all((alter.table, c) in st.history.proven_not_null for c in cols):
            out.add("adding-not-nullable-field")
    return out


def _alter_postgres(stmt: Stmt, alter: Alter, st: FileState) -> list[Hit]:
    st.suppress[stmt.index] = _pg_suppressions(stmt, alter, st)
    hits = []
    for act in alter.actions:
        hits += _drop_column(stmt, act, alter, st) + _pg_action(stmt, act, alter, st)
    return hits


def _statement_postgres(stmt: Stmt, st: FileState) -> list[Hit]:
    st.suppress.setdefault(stmt.index, _pg_suppressions(stmt, None, st))
    hits, masked = [], stmt.masked
    concurrently = re.search(r"\bCONCURRENTLY\b", masked, FLAGS)
    if concurrently and st.transactional and not starts_with(stmt, "REFRESH"):
        hits.append(_hit("ban-concurrent-index-creation-in-transaction", stmt, concurrently.start(),
                         "CONCURRENTLY in a transactional migration (no `-- migrator:no-transaction` header)"))
    if (m := CREATE_INDEX.match(masked)) and not m["conc"] and name(m["table"]) not in st.created:
        hits.append(_hit("require-concurrent-index-creation", stmt, 0,
                         f"CREATE INDEX on existing table {name(m['table'])!r} without CONCURRENTLY"))
    if (m := DROP_INDEX.match(masked)) and not m["conc"] and name(m["index"]) not in st.created_indexes:
        hits.append(_hit("require-concurrent-index-deletion", stmt, 0, f"DROP INDEX {name(m['index'])} without CONCURRENTLY"))
    if starts_with(stmt, "REINDEX") and not concurrently:
        hits.append(_hit("require-concurrent-reindex", stmt, 0, "REINDEX without CONCURRENTLY"))
    if st.transactional and TX_CONTROL.match(masked):
        hits.append(_hit("transaction-nesting", stmt, 0, "transaction control inside a transactional migration"))
    if starts_with(stmt, "TRUNCATE") and re.search(r"\bCASCADE\b", masked, FLAGS):
        hits.append(_hit("ban-truncate-cascade", stmt, 0, "TRUNCATE ... CASCADE"))
    return hits + _pg_rewrites(stmt, st)


def _pg_rewrites(stmt: Stmt, st: FileState) -> list[Hit]:
    table = target_table(stmt)
    if table is None or table in st.created:
        return []
    vacuum_full = starts_with(stmt, "VACUUM") and re.search(r"\bFULL\b", stmt.masked, FLAGS)
    if vacuum_full or starts_with(stmt, "CLUSTER"):
        verb = "VACUUM FULL" if vacuum_full else "CLUSTER"
        return [_hit("table-rebuild", stmt, 0, f"{verb} rewrites table {table!r}")]
    return []


# --- MySQL / MariaDB -------------------------------------------------------------------


def _online(options: dict[str, str], online_keyword: bool) -> bool:
    """ALGORITHM=INSTANT, or LOCK=NONE (MariaDB: ALTER ONLINE TABLE) with any algorithm but COPY:
    the server then refuses a change it cannot do without blocking writes."""
    algorithm = options.get("ALGORITHM", "DEFAULT")
    lock = "NONE" if online_keyword else options.get("LOCK")
    return algorithm == "INSTANT" or (lock == "NONE" and algorithm != "COPY")


def _mysql_action(stmt: Stmt, act: Action, alter: Alter, online: bool) -> list[Hit]:
    hits = _add_column_required(stmt, act, alter)
    if re.match(r"ADD\s+(?:CONSTRAINT\s+(?:(?!FOREIGN\b)\S+\s+)?)?FOREIGN\s+KEY\b", act.text, FLAGS):
        hits.append(_hit("adding-foreign-key-constraint", stmt, act.pos,
                         f"ADD FOREIGN KEY on existing table {alter.table!r}"))
    modify, change = MODIFY.match(act.text), CHANGE.match(act.text)
    if (modify or change) is not None and not online:
        col = name(modify["col"]) if modify else name(change["old"])
        hits.append(_hit("changing-column-type", stmt, act.pos,
                         f"{act.text.split()[0].upper()} of column {alter.table}.{col} without ALGORITHM=INSTANT"))
    if change is not None and name(change["old"]) != name(change["new"]):
        hits.append(_hit("renaming-column", stmt, act.pos,
                         f"column {alter.table}.{name(change['old'])} renamed to {name(change['new'])!r}"))
    if re.fullmatch(r"FORCE|ENGINE\s*=?\s*\w+|CONVERT\s+TO\s+(?:CHARACTER\s+SET|CHARSET)\b.*", act.text, FLAGS):
        hits.append(_hit("table-rebuild", stmt, act.pos, f"{act.text.split()[0].upper()} rebuilds table {alter.table!r}"))
    return hits + _renames(stmt, act, alter)


def _instant_add_column(act: Action) -> bool:
    """ADD COLUMN that MySQL 8.0.12+ and MariaDB 10.3+ do INSTANT when no algorithm is named:
    a column added last, without AUTO_INCREMENT, a stored expression, a key or a computed default."""
    coldef = _column_def(act)
    return (coldef is not None and not _required(coldef[1]) and INSTANT_BLOCKERS.search(coldef[1]) is None
            and COMPUTED_DEFAULT.search(coldef[1]) is None)


def _alter_mysql(stmt: Stmt, alter: Alter, st: FileState) -> list[Hit]:
    options = {m["key"].upper(): m["value"].upper() for a in alter.actions if (m := OPTION.fullmatch(a.text))}
    changes = [a for a in alter.actions if not OPTION.fullmatch(a.text)]
    online = _online(options, alter.online) or (not options and all(map(_instant_add_column, changes)))
    hits = [h for a in changes for h in _drop_column(stmt, a, alter, st)]
    if alter.table in st.created:
        return hits
    hits += [h for a in changes for h in _mysql_action(stmt, a, alter, online)]
    if not hits and not online:
        placed = [a for a in changes if _column_def(a) and POSITION.search(_column_def(a)[1])]
        message = (f"ADD COLUMN {alter.table}.{_column_def(placed[0])[0]} with AFTER/FIRST: MySQL before "
                   "8.0.29 rebuilds the table for a column that is not added last" if placed else
                   f"ALTER TABLE {alter.table} without ALGORITHM=INSTANT or ALGORITHM=INPLACE, LOCK=NONE")
        hits.append(_hit("alter-without-online-algorithm", stmt, 0, message))
    return hits


def _statement_mysql(stmt: Stmt, st: FileState) -> list[Hit]:
    masked = stmt.masked
    index = CREATE_INDEX.match(masked) or DROP_INDEX.match(masked)
    if index is not None and index["table"] and name(index["table"]) not in st.created:
        options = {m["key"].upper(): m["value"].upper() for m in re.finditer(
            rf"\b{OPTION.pattern}", masked[index.end():], FLAGS)}
        if not _online(options, False):
            verb = "CREATE INDEX" if index.re is CREATE_INDEX else "DROP INDEX"
            return [Hit("alter-without-online-algorithm", stmt.line_at(0),
                        f"{verb} on {name(index['table'])} without ALGORITHM=INPLACE LOCK=NONE", stmt.index,
                        alternative=MYSQL_INDEX_ALTERNATIVE[verb])]
    if starts_with(stmt, "OPTIMIZE"):
        return [_hit("table-rebuild", stmt, 0, "OPTIMIZE TABLE rebuilds the table")]
    if (m := RENAME_TABLE.match(masked)) is not None and name(m["table"]) not in st.created:
        return [_hit("renaming-table", stmt, 0, f"table {name(m['table'])!r} renamed to {name(m['new'])!r}")]
    return _copy_into_new_table(stmt, st)


# --- SQLite ----------------------------------------------------------------------------


def _alter_sqlite(stmt: Stmt, alter: Alter, st: FileState) -> list[Hit]:
    hits = [h for a in alter.actions for h in _drop_column(stmt, a, alter, st)]
    if alter.table in st.created:
        return hits
    return hits + [h for a in alter.actions
                   for h in _add_column_required(stmt, a, alter) + _renames(stmt, a, alter)]


def _statement_sqlite(stmt: Stmt, st: FileState) -> list[Hit]:
    if starts_with(stmt, "VACUUM"):
        return [_hit("table-rebuild", stmt, 0, "VACUUM rebuilds the whole database file")]
    if st.transactional and TX_CONTROL.match(stmt.masked):
        return [_hit("transaction-nesting", stmt, 0, "transaction control inside a transactional migration")]
    return _copy_into_new_table(stmt, st)


_ALTER = {"postgres": _alter_postgres, "mysql": _alter_mysql, "sqlite": _alter_sqlite}
_STATEMENT = {"postgres": _statement_postgres, "mysql": _statement_mysql, "sqlite": _statement_sqlite}


def _track_locks(stmt: Stmt, alter: Alter | None, st: FileState) -> None:
    """Remember existing tables this statement locks until commit (PostgreSQL, transactional)."""
    if st.fam != "postgres" or not st.transactional:
        return
    if alter is not None and any(not VALIDATE.match(a.text) for a in alter.actions):
        table = alter.table
    elif (m := CREATE_INDEX.match(stmt.masked)) is not None and not m["conc"]:
        table = name(m["table"])
    else:
        return
    if table not in st.created:
        st.locked.add(table)


def _track(stmt: Stmt, alter: Alter | None, st: FileState) -> None:
    _track_locks(stmt, alter, st)
    if (m := CREATE_TABLE.match(stmt.masked)) is not None:
        st.created.add(name(m["table"]))
    if (m := CREATE_INDEX.match(stmt.masked)) is not None and m["index"]:
        st.created_indexes.add(name(m["index"]))
    renames = []
    if (m := RENAME_TABLE.match(stmt.masked)) is not None:
        renames.append((name(m["table"]), name(m["new"])))
    if alter is not None:
        renames += [(alter.table, name(r["new"])) for a in alter.actions if (r := RENAME_TO.match(a.text))]
    for old, new in renames:
        if old in st.created:  # a table rebuilt in this migration (SQLite pattern) stays new
            st.created.add(new)


def check(stmt: Stmt, st: FileState) -> list[Hit]:
    """Hits of one statement; then remember what it created."""
    alter = parse_alter(stmt)
    hits = _backfill(stmt, st)
    if alter is not None:
        hits += _ALTER[st.fam](stmt, alter, st)
    hits += _STATEMENT[st.fam](stmt, st)
    _track(stmt, alter, st)
    return hits
