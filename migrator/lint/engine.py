"""Linting migrations: built-in rules, squawk's findings, lint-ignore comments.

A migration is linted with the history of the earlier migrations of the same service
and dialect (which columns were deprecated, which NOT NULL checks were validated).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from migrator.dialects import DIALECTS, sql_family
from migrator.errors import UsageError
from migrator.lint.catalogue import BUILTIN_ALWAYS, SQUAWK_KEPT, rule_text
from migrator.lint.checks import ANY_TABLE_RULES, FileState, History, Hit, check
from migrator.lint.squawk import run_squawk, squawk_executable
from migrator.lint.sqltext import IDENT, Stmt, qualified, statements
from migrator.source import Migration, Service

IGNORE = re.compile(r"--\s*migrator:lint-ignore\b(?P<body>.*)$", re.IGNORECASE)
REASON = re.compile(r"\breason\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    rule: str
    message: str
    why: str
    alternative: str
    dialect: str
    service: str
    version: int


# --- one migration ---------------------------------------------------------------------


def _deprecations(migration: Migration) -> set[tuple[str, str]]:
    """(table, column) pairs of the file's ``-- migrator:deprecates <table>.<column>`` headers."""
    out = set()
    for arg in migration.up.directive_args("deprecates"):
        for m in re.finditer(IDENT, arg):
            parts = qualified(m.group(0))
            if len(parts) >= 2:
                out.add((parts[-2], parts[-1]))
    return out


def _squawk_hits(violations: list[dict], stmts: list[Stmt], st: FileState) -> list[Hit] | None:
    """squawk's kept findings; None when squawk could not parse the file.

    squawk 2.x lints nothing in a file once it meets a syntax error (e.g. CockroachDB-only
    syntax), so such a file gets the built-in rules instead.
    """
    if any(v.get("rule_name") == "syntax-error" for v in violations):
        return None
    starts = [s.line for s in stmts]
    hits, seen = [], set()
    for v in violations:
        rule, line = str(v.get("rule_name")), int(v.get("line", 0)) + 1
        index = max(bisect_right(starts, line) - 1, 0)
        skip = st.suppress.get(index, set())
        if rule not in SQUAWK_KEPT or rule in skip or (
                "*" in skip and rule not in ANY_TABLE_RULES):
            continue
        if (rule, line) not in seen:
            seen.add((rule, line))
            hits.append(Hit(rule, line, str(v.get("message", rule)), index, v.get("help")))
    return hits


def _parse_ignore(body: str, line: int, stmt: Stmt) -> tuple[set[str], Hit | None]:
    m = REASON.search(body)
    named, reason = (body[:m.start()], body[m.end():]) if m else (body, "")
    names = {r for r in re.split(r"[\s,]+", named) if r}
    if not names:
        return set(), Hit("lint-ignore-malformed", line, "lint-ignore names no rule", stmt.index)
    if not reason.strip():
        return set(), Hit("lint-ignore-without-reason", line,
                          f"lint-ignore {','.join(sorted(names))} has no `reason: <text>`", stmt.index)
    return names, None


def _ignores(lines: list[str], stmt: Stmt) -> tuple[set[str], list[Hit]]:
    """Rules silenced by the comment lines right above ``stmt``, and malformed ignores."""
    rules: set[str] = set()
    problems = []
    index = stmt.line - 2  # 0-based index of the line above the statement
    while index >= 0 and (not lines[index].strip() or lines[index].lstrip().startswith(("--", "#"))):
        m = IGNORE.search(lines[index].strip())
        if m is not None:
            names, problem = _parse_ignore(m["body"], index + 1, stmt)
            rules |= names
            problems += [problem] if problem else []
        index -= 1
    return rules, problems


def _apply_ignores(text: str, stmts: list[Stmt], hits: list[Hit]) -> list[Hit]:
    lines = text.splitlines()
    kept, ignored = [], {}
    for stmt in stmts:
        ignored[stmt.index], problems = _ignores(lines, stmt)
        kept += problems
    kept += [h for h in hits if h.rule not in ignored.get(h.stmt, set())]
    return kept


def _finding(hit: Hit, service: Service, migration: Migration, dialect: str) -> Finding:
    text = rule_text(hit.rule, sql_family(dialect))
    why = text.why if text else hit.message
    alternative = hit.alternative or (text.alternative if text else
                                      hit.help or f"see https://squawkhq.com/docs/{hit.rule}")
    return Finding(migration.up.path, hit.line, hit.rule, hit.message, why, alternative,
                   dialect, service.name, migration.version)


def lint_migration(service: Service, migration: Migration, dialect: str, history: History,
                   squawk: list[dict] | None = None) -> list[Finding]:
    """Findings of one migration; ``squawk`` is squawk's report for it (None: built-in rules).

    ``history`` is updated with what this migration establishes, for the next one.
    """
    fam = sql_family(dialect)
    st = FileState(fam, not migration.no_transaction, history)
    stmts = statements(migration.up.text, dialect)
    hits = [h for stmt in stmts for h in check(stmt, st)]
    found = _squawk_hits(squawk, stmts, st) if squawk is not None and fam == "postgres" else None
    if found is not None:
        hits = [h for h in hits if h.rule not in SQUAWK_KEPT or h.rule in BUILTIN_ALWAYS or h.always]
        kept = {(h.line, h.rule) for h in hits}
        hits += [h for h in found if (h.line, h.rule) not in kept]
    history.deprecated |= _deprecations(migration)
    hits = _apply_ignores(migration.up.text, stmts, hits)
    unique = {(h.line, h.rule, h.message): h for h in hits}
    return [_finding(h, service, migration, dialect) for h in sorted(unique.values(), key=lambda h: (h.line, h.rule))]


# --- public API --------------------------------------------------------------------------


def _squawk(use_squawk: bool) -> str | None:
    return squawk_executable() if use_squawk else None


def _squawk_reports(executable: str | None, pairs: list[tuple[Service, str]]) -> dict[Path, list[dict]] | None:
    if executable is None:
        return None
    files = [(m.up.path, not m.no_transaction) for service, dialect in pairs
             if sql_family(dialect) == "postgres" for m in service.migrations(dialect)]
    return run_squawk(executable, files) if files else {}


def findings_for(service: Service, migration: Migration, dialect: str, *, use_squawk: bool = True) -> list[Finding]:
    """Findings of one migration (for ``migrator plan``), with the history of the earlier ones."""
    history = History()
    for earlier in service.migrations(dialect):
        if earlier.version >= migration.version:
            break
        lint_migration(service, earlier, dialect, history)
    executable = _squawk(use_squawk) if sql_family(dialect) == "postgres" else None
    report = run_squawk(executable, [(migration.up.path, not migration.no_transaction)]) if executable else None
    return lint_migration(service, migration, dialect, history, report[migration.up.path] if report else None)


def _has_folder(service: Service, dialect: str, explicit: bool) -> bool:
    if not explicit and sql_family(dialect) != dialect:
        return (service.root / dialect).is_dir()  # else it would only repeat its family's files
    return bool(service.dialect_folders(dialect))


def select(services: list[Service], dialects: list[str] | None) -> list[tuple[Service, str]]:
    """(service, dialect) pairs to lint. ``dialects=None``: every dialect a service ships."""
    explicit = dialects is not None
    wanted = list(dialects) if explicit else list(DIALECTS)
    unknown = [d for d in wanted if d not in DIALECTS]
    if unknown:
        raise UsageError(f"unknown dialect {unknown[0]!r} (known: {', '.join(DIALECTS)})")
    pairs = [(s, d) for d in wanted for s in services if _has_folder(s, d, explicit)]
    missing = [d for d in wanted if explicit and services and not any(p[1] == d for p in pairs)]
    if missing:
        names = ", ".join(s.name for s in services)
        raise UsageError(f"no migrations for dialect {missing[0]!r} in service(s) {names}")
    return pairs


def lint_services(services: list[Service], dialects: list[str] | None = None, *,
                  use_squawk: bool = True) -> list[Finding]:
    """Lint every ``.up.sql`` of ``services`` for ``dialects`` (None: all they ship)."""
    pairs = select(services, dialects)
    reports = _squawk_reports(_squawk(use_squawk), pairs)
    findings: dict[tuple, Finding] = {}
    for service, dialect in pairs:
        history = History()
        for migration in service.migrations(dialect):
            report = None if reports is None else reports.get(migration.up.path, [])
            for f in lint_migration(service, migration, dialect, history, report):
                findings.setdefault((f.path, f.line, f.rule, f.message), f)  # cockroach repeats postgres files
    return list(findings.values())


def engine_description(use_squawk: bool = True) -> str:
    """Which PostgreSQL engine lint uses, for a status line."""
    executable = _squawk(use_squawk)
    if executable is None:
        return "built-in PostgreSQL rules (squawk not installed)" if use_squawk else "built-in PostgreSQL rules"
    return f"squawk at {executable}"

