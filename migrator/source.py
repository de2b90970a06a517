"""Reading ``migrations/<service>/<dialect>/...``: discovery, validation, directives, checksums.

Everything here runs before any connection is opened, so an invalid migration set
never touches the database.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from migrator.errors import UsageError

DIALECTS = ("postgres", "mysql", "sqlite", "cockroach")
FILE_NAME = re.compile(r"^(?P<version>[0-9]+)_(?P<title>[A-Za-z0-9][A-Za-z0-9_.-]*)\.(?P<direction>up|down)\.sql$")
PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
SERVICE_KEYS = {"table_prefix", "forward_only", "description", "tracking_table"}
DIRECTIVE = re.compile(r"^--\s*migrator:(?P<name>[a-z-]+)\b(?P<arg>.*)$")
KNOWN_DIRECTIVES = {"no-transaction", "deprecates", "lint-ignore"}


@dataclass(frozen=True)
class SqlFile:
    path: Path
    text: str
    checksum: str
    directives: tuple[tuple[str, str], ...]

    @property
    def no_transaction(self) -> bool:
        return any(name == "no-transaction" for name, _ in self.directives)

    def directive_args(self, name: str) -> list[str]:
        return [arg for n, arg in self.directives if n == name]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: SqlFile
    down: SqlFile | None

    @property
    def checksum(self) -> str:
        return self.up.checksum

    @property
    def filename(self) -> str:
        return self.up.path.name

    @property
    def no_transaction(self) -> bool:
        return self.up.no_transaction


def _header_directives(path: Path, text: str) -> tuple[tuple[str, str], ...]:
    """Directives in the leading comment lines of a file (blank lines allowed)."""
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("--"):
            break
        m = DIRECTIVE.match(line)
        if m is None:
            continue
        if m["name"] not in KNOWN_DIRECTIVES:
            raise UsageError(f"{path}: unknown directive 'migrator:{m['name']}' "
                             f"(known: {', '.join(sorted(KNOWN_DIRECTIVES))})")
        found.append((m["name"], m["arg"].strip()))
    return tuple(found)


def read_sql_file(path: Path) -> SqlFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read migration file: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    return SqlFile(path, text, hashlib.sha256(data).hexdigest(), _header_directives(path, text))


def _scan_folder(folder: Path) -> dict[int, dict[str, Path]]:
    """version -> {"up": path, "down": path, "title": ...}; validates names and pairs."""
    found: dict[int, dict] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.name.endswith(".sql"):
            continue
        m = FILE_NAME.match(path.name)
        if m is None or int(m["version"]) <= 0:
            raise UsageError(f"{path}: unparsable migration file name "
                             "(expected <positive version>_<title>.up.sql or .down.sql)")
        entry = found.setdefault(int(m["version"]), {})
        other = entry.get(m["direction"])
        if other is not None:
            raise UsageError(f"{path}: duplicate migration version {int(m['version'])} (also {other.name})")
        if entry.get("title", m["title"]) != m["title"]:
            raise UsageError(f"{path}: version {int(m['version'])} has files with different titles "
                             f"({entry['title']!r} and {m['title']!r})")
        entry["title"] = m["title"]
        entry[m["direction"]] = path
    for version, entry in found.items():
        if "up" not in entry:
            raise UsageError(f"{entry['down']}: down migration without its .up.sql")
    return found


@dataclass(frozen=True)
class Service:
    name: str
    root: Path
    table_prefix: str
    forward_only: bool = False
    description: str = ""
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def tracking_table(self) -> str:
        return f"{self.table_prefix}_migrations"

    @property
    def events_table(self) -> str:
        return f"{self.table_prefix}_migration_events"

    @property
    def backfills_table(self) -> str:
        return f"{self.table_prefix}_backfills"

    @property
    def own_tables(self) -> frozenset[str]:
        return frozenset({self.tracking_table, self.events_table, self.backfills_table})

    def dialect_folders(self, dialect: str) -> list[Path]:
        """Folders to read, lowest priority first (cockroach falls back to postgres)."""
        names = ["postgres", "cockroach"] if dialect == "cockroach" else [dialect]
        return [self.root / n for n in names if (self.root / n).is_dir()]

    def migrations(self, dialect: str) -> list[Migration]:
        if dialect not in self._cache:
            try:
                self._cache[dialect] = self._load(dialect)
            except OSError as exc:
                raise _unreadable(exc, self.root / dialect) from None
        return self._cache[dialect]

    def _load(self, dialect: str) -> list[Migration]:
        folders = self.dialect_folders(dialect)
        if not folders:
            raise UsageError(f"service {self.name!r} ships no migrations for dialect {dialect!r} "
                             f"(no folder {self.root / dialect})")
        merged: dict[int, dict] = {}
        for folder in folders:
            merged.update(_scan_folder(folder))
        out = []
        for version in sorted(merged):
            entry = merged[version]
            down = read_sql_file(entry["down"]) if "down" in entry else None
            if down is not None and self.forward_only:
                raise UsageError(f"{entry['down']}: service {self.name!r} is forward_only "
                                 "but ships a down migration")
            out.append(Migration(version, entry["title"], read_sql_file(entry["up"]), down))
        return out

    def latest_version(self, dialect: str) -> int:
        migrations = self.migrations(dialect)
        return migrations[-1].version if migrations else 0


def snake_case(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_")
    return name.lower()


def _read_service_toml(root: Path) -> dict:
    path = root / "service.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    unknown = set(data) - SERVICE_KEYS
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(SERVICE_KEYS))})")
    if "forward_only" in data and not isinstance(data["forward_only"], bool):
        raise UsageError(f"{path}: forward_only must be true or false")
    return data


def load_service(name: str, root: Path) -> Service:
    data = _read_service_toml(root)
    prefix = data.get("table_prefix", snake_case(name))
    if not isinstance(prefix, str) or not PREFIX.fullmatch(prefix):
        raise UsageError(f"service {name!r}: invalid table prefix {prefix!r} "
                         "(must match [a-z_][a-z0-9_]{0,40})")
    return Service(name, root, prefix, data.get("forward_only", False), str(data.get("description", "")))


def _is_service_dir(path: Path) -> bool:
    return path.is_dir() and (
        (path / "service.toml").is_file() or any((path / d).is_dir() for d in DIALECTS)
    )


def discover(migrations_dir: Path) -> dict[str, Path]:
    """Service name -> folder. A folder that is itself one service counts as that service."""
    if not migrations_dir.is_dir():
        raise UsageError(f"migrations directory {migrations_dir} does not exist "
                         "(set --migrations or MIGRATOR_MIGRATIONS_DIR)")
    if any((migrations_dir / d).is_dir() for d in DIALECTS):
        return {migrations_dir.resolve().name: migrations_dir}
    services = {p.name: p for p in sorted(migrations_dir.iterdir()) if _is_service_dir(p)}
    if not services:
        raise UsageError(f"migrations directory {migrations_dir} holds no service "
                         "(expected <service>/<dialect>/<version>_<title>.up.sql)")
    return services


def _unreadable(exc: OSError, fallback: Path) -> UsageError:
    return UsageError(f"{exc.filename or fallback}: cannot read the migrations: {exc.strerror}")


def select_service(migrations_dir: Path, name: str | None) -> Service:
    try:
        return _select_service(migrations_dir, name)
    except OSError as exc:
        raise _unreadable(exc, migrations_dir) from None


def _select_service(migrations_dir: Path, name: str | None) -> Service:
    services = discover(migrations_dir)
    if name is None:
        if len(services) != 1:
            raise UsageError(f"--service is required: {migrations_dir} holds "
                             f"{len(services)} services ({', '.join(services)})")
        name = next(iter(services))
    if name not in services:
        raise UsageError(f"unknown service {name!r} (available: {', '.join(services) or 'none'})")
    return load_service(name, services[name])


def all_services(migrations_dir: Path) -> list[Service]:
    try:
        return [load_service(n, p) for n, p in discover(migrations_dir).items()]
    except OSError as exc:
        raise _unreadable(exc, migrations_dir) from None
