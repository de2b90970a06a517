"""Backfill declarations: ``migrations/<service>/backfills/<name>.toml``, read and checked
before any connection.

``:lo`` and ``:hi`` are real driver parameters: the declared SQL is scanned (string
literals, quoted identifiers, comments and dollar quotes are skipped) and becomes a
``text()`` construct whose only parameters are those ``:lo``/``:hi``; nothing is
formatted into the SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import TextClause, bindparam, text

from migrator import lexer
from migrator.dialects import DIALECTS, files_dialects, sql_family
from migrator.errors import UsageError
from migrator.lexer import Kind
from migrator.source import Service, read_toml

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
KEYS = {"requires", "table", "key", "batch_size", "pause_ms", "description", "sql"}
REQUIRED = ("requires", "table", "key", "batch_size", "sql")
STATUSES = ("pending", "running", "paused", "completed", "failed")

def bind_sql(sql: str, dialect: str) -> TextClause:
    """The statement as a ``text()`` construct whose parameters are the ``:lo`` and ``:hi``
    outside literals and comments, and nothing else.

    ``text()`` reads any ``:name`` as a parameter, inside a string literal too, so every
    other colon is escaped as ``text()`` documents (``\\:``): ``':lo'`` stays a literal,
    ``x::int`` and ``:lo::bigint`` casts. Raises ValueError when the text is not exactly
    one statement or lacks ``:lo``/``:hi``.
    """
    family = sql_family(dialect)
    tokens = list(lexer.tokens(sql, family))
    out: list[str] = []
    names: set[str] = set()
    for i, token in enumerate(tokens):
        if token.text == ";":
            if any(t.kind not in lexer.NOT_CODE and t.text != ";" for t in tokens[i + 1:]):
                raise ValueError("must be exactly one statement (found a ';' followed by more SQL)")
            break
        if token.text == "?" and family == "sqlite":
            raise ValueError("'?' placeholders are not allowed: write :lo and :hi")
        if _parameter(tokens, i):
            out[-1] = f":{token.text}"  # its colon, not escaped
            names.add(token.text)
        else:
            out.append(token.text.replace(":", "\\:"))
    missing = [f":{n}" for n in ("lo", "hi") if n not in names]
    if missing:
        raise ValueError(f"must use {' and '.join(missing)} "
                         "(the key range [lo, hi) is bound by the migrator)")
    return text("".join(out).strip()).bindparams(bindparam("lo"), bindparam("hi"))


def _parameter(tokens: list[lexer.Token], i: int) -> bool:
    """Token ``i`` is the name of a ``:lo`` or ``:hi``: a colon before it, and before that
    neither a colon (``x::hi`` is a cast), a backslash (``text()``'s escape) nor a word or
    number it would belong to."""
    if tokens[i].kind != Kind.WORD or tokens[i].text not in ("lo", "hi") or i < 1 or tokens[i - 1].text != ":":
        return False
    return i < 2 or not (tokens[i - 2].text in (":", "\\") or tokens[i - 2].kind in (Kind.WORD, Kind.NUMBER))


@dataclass(frozen=True)
class Backfill:
    name: str
    path: Path
    requires: int
    table: str
    key: str
    batch_size: int
    pause_ms: int
    description: str
    sql: dict[str, str]

    def statement(self, dialect: str) -> str | None:
        """The dialect's own statement, else that of the dialect whose SQL it speaks."""
        return next((self.sql[d] for d in reversed(files_dialects(dialect)) if d in self.sql), None)


def _bad(path: Path, problem: str) -> UsageError:
    return UsageError(f"{path}: invalid backfill declaration: {problem}")


def _integer(path: Path, data: dict, key: str, minimum: int, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(path, f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


def _identifier(path: Path, data: dict, key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise _bad(path, f"{key} must be a plain identifier matching [A-Za-z_][A-Za-z0-9_]{{0,62}}, "
                         f"got {value!r}")
    return value


def _sql_table(path: Path, value) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise _bad(path, "[sql] must be a table with at least one of " + ", ".join(DIALECTS))
    unknown = sorted(set(value) - set(DIALECTS))
    if unknown:
        raise _bad(path, f"unknown [sql] key(s) {', '.join(unknown)} (known: {', '.join(DIALECTS)})")
    for dialect, statement in value.items():
        if not isinstance(statement, str) or not statement.strip():
            raise _bad(path, f"sql.{dialect} must be a non-empty string")
        try:
            bind_sql(statement, dialect)
        except ValueError as exc:
            raise _bad(path, f"sql.{dialect} {exc}") from None
    return dict(value)


def _read_toml(path: Path) -> dict:
    try:
        return read_toml(path)
    except ValueError as exc:
        raise _bad(path, str(exc)) from None


def parse_declaration(path: Path) -> Backfill:
    """Read and strictly validate one declaration; a bad file is a UsageError naming it."""
    name = path.name.removesuffix(".toml")
    if not NAME.fullmatch(name):
        raise _bad(path, f"the file name {name!r} must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,99}}")
    data = _read_toml(path)
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise _bad(path, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise _bad(path, f"missing required key(s) {', '.join(missing)}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _bad(path, f"description must be a string, got {description!r}")
    return Backfill(
        name=name, path=path, requires=_integer(path, data, "requires", 1),
        table=_identifier(path, data, "table"), key=_identifier(path, data, "key"),
        batch_size=_integer(path, data, "batch_size", 1), pause_ms=_integer(path, data, "pause_ms", 0, 0),
        description=description, sql=_sql_table(path, data["sql"]),
    )


def check_for_dialect(bf: Backfill, service: Service, dialect: str) -> None:
    """The checks that need the dialect in use: its SQL exists, its required version ships."""
    if bf.statement(dialect) is None:
        spoken = files_dialects(dialect)[:-1]
        fallback = f" ({dialect} falls back to {', '.join(spoken)})" if spoken else ""
        raise _bad(bf.path, f"no [sql] {dialect} statement for the database in use{fallback}")
    versions = {m.version for m in service.migrations(dialect)}
    if bf.requires not in versions:
        raise _bad(bf.path, f"requires = {bf.requires}, but service {service.name!r} ships no migration "
                            f"{bf.requires} for {dialect}")


def load_backfills(service: Service, dialect: str | None = None) -> list[Backfill]:
    """Every declaration of the service, in name order, validated before any connection."""
    folder = service.root / "backfills"
    if not folder.is_dir():
        return []
    found = [parse_declaration(p) for p in sorted(folder.iterdir())
             if p.suffix == ".toml" and not p.name.startswith(".") and p.is_file()]
    if dialect is not None:
        for bf in found:
            check_for_dialect(bf, service, dialect)
    return found
