"""Reading ``migrations/<service>/<dialect>/...``: discovery, validation, directives, checksums.

Everything here runs before any connection is opened, so an invalid migration set
never touches the database.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import reprlib
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from migrator.dialects import DIALECTS, files_dialects
from migrator.errors import UsageError

FILE_NAME = re.compile(r"^(?P<version>[0-9]+)_(?P<title>[A-Za-z0-9][A-Za-z0-9_.-]*)\.(?P<direction>up|down)\.sql$")
PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
SERVICE_KEYS = {"table_prefix", "forward_only", "description", "tracking_table"}
DIRECTIVE = re.compile(r"^--\s*migrator:(?P<name>[a-z-]+)\b(?P<arg>.*)$")
KNOWN_DIRECTIVES = {"no-transaction", "deprecates", "lint-ignore"}
MAX_FILE_BYTES = 64 * 1024 * 1024  # a migration or declaration above this is refused unread
BOM = "\ufeff"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_checksum(text: str) -> str:
    """sha256 of ``text`` with CRLF line endings read as LF (and without a BOM): the same file
    checked out on Windows (git autocrlf) or saved with a BOM has the same checksum."""
    return sha256(text.removeprefix(BOM).replace("\r\n", "\n").encode("utf-8"))


@dataclass(frozen=True)
class SqlFile:
    """One migration file as read: ``path``, ``text`` (decoded, without a BOM), ``checksum``
    (sha256 of the text with LF line endings), ``bytes_checksum`` (sha256 of the exact bytes,
    what earlier releases recorded) and the header ``directives``."""

    path: Path
    text: str
    checksum: str
    bytes_checksum: str
    directives: tuple[tuple[str, str], ...]

    @property
    def no_transaction(self) -> bool:
        return any(name == "no-transaction" for name, _ in self.directives)

    def directive_args(self, name: str) -> list[str]:
        return [arg for n, arg in self.directives if n == name]


@dataclass(frozen=True)
class Migration:
    """One version: ``version``, ``name`` (the title), its ``up`` file and its ``down``
    file (or None)."""

    version: int
    name: str
    up: SqlFile
    down: SqlFile | None

    @property
    def checksum(self) -> str:
        return self.up.checksum

    @property
    def checksums(self) -> frozenset[str]:
        """Every checksum a tracking row of this version may hold: today's and the exact-bytes
        one that earlier releases recorded."""
        return frozenset({self.up.checksum, self.up.bytes_checksum})

    @property
    def filename(self) -> str:
        return self.up.path.name

    @property
    def no_transaction(self) -> bool:
        return self.up.no_transaction


def _header_directives(path: Path, text: str) -> tuple[tuple[str, str], ...]:
    """Directives in the leading comment lines of ``path`` (blank lines allowed)."""
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


def inside(path: Path, base: Path) -> None:
    """Refuse ``path`` when it resolves (through symbolic links) outside the folder ``base``."""
    real = path.resolve()
    if not real.is_relative_to(base.resolve()):
        raise UsageError(f"{path}: a symbolic link to {real}, outside the migrations directory {base}")


def read_limited(path: Path) -> bytes:
    """The bytes of the regular file ``path``; a file above MAX_FILE_BYTES is refused by its
    size, before it is read. Raises OSError (unreadable) or ValueError (too big, not a file)."""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:  # a FIFO must not block
        info = os.fstat(f.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise ValueError(f"{info.st_size} bytes, over the limit of {MAX_FILE_BYTES // 2**20} MiB")
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise ValueError(f"over the limit of {MAX_FILE_BYTES // 2**20} MiB")
    return data


def read_toml(path: Path) -> dict:
    """The TOML document ``path`` as tomllib reads it. Raises ValueError with the reason: not
    readable, too big, not UTF-8, invalid TOML (nesting that exhausts the parser included)."""
    try:
        text = read_limited(path).decode("utf-8")
        return tomllib.loads(text)
    except OSError as exc:
        raise ValueError(f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ValueError("invalid TOML: arrays or tables nested too deeply") from None


def _read_in_folder(folder: Path, name: str, base: Path) -> SqlFile:
    """The migration file ``folder / name``, read and checked (``folder`` is inside ``base``)."""
    path = folder / name
    if path.is_symlink():
        inside(path, base)
    try:
        data = read_limited(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read migration file: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: migration file refused: {exc}") from None
    try:
        text = data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    return SqlFile(path, text, text_checksum(text), sha256(data), _header_directives(path, text))


def _scan_folder(folder: Path) -> dict[int, dict]:
    """version -> {"folder": folder, "title": ..., "up": file name, "down": file name};
    validates names and pairs."""
    found: dict[int, dict] = {}
    match = FILE_NAME.match
    for name in sorted(os.listdir(folder)):  # the order of sorted(folder.iterdir()): one folder
        if name[:1] == "." or not name.endswith(".sql"):
            continue
        m = match(name)
        version = int(m[1]) if m is not None else 0
        if version <= 0:
            raise UsageError(f"{folder / name}: unparsable migration file name "
                             "(expected <positive version>_<title>.up.sql or .down.sql)")
        _, title, direction = m.groups()
        entry = found.get(version)
        if entry is None:
            found[version] = {"folder": folder, "title": title, direction: name}
            continue
        other = entry.get(direction)
        if other is not None:
            raise UsageError(f"{folder / name}: duplicate migration version {version} (also {other})")
        if entry["title"] != title:
            raise UsageError(f"{folder / name}: version {version} has files with different titles "
                             f"({entry['title']!r} and {title!r})")
        entry[direction] = name
    for version, entry in found.items():
        if "up" not in entry:
            raise UsageError(f"{entry['folder'] / entry['down']}: down migration without its .up.sql")
    return found


@dataclass(frozen=True)
class Service:
    """One service's folder and settings; ``migrations(dialect)`` reads (once) and validates
    its migration files. ``migrations_dir``: the folder its files must stay in (symbolic
    links included); its own folder when not given."""

    name: str
    root: Path
    table_prefix: str
    forward_only: bool = False
    description: str = ""
    migrations_dir: Path | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

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
        return [self.root / n for n in files_dialects(dialect) if (self.root / n).is_dir()]

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
        base = self.migrations_dir or self.root
        merged: dict[int, dict] = {}
        for folder in folders:
            inside(folder, base)
            merged.update(_scan_folder(folder))
        out = []
        for version in sorted(merged):
            entry = merged[version]
            folder = entry["folder"]
            down = _read_in_folder(folder, entry["down"], base) if "down" in entry else None
            if down is not None and self.forward_only:
                raise UsageError(f"{folder / entry['down']}: service {self.name!r} is forward_only "
                                 "but ships a down migration")
            out.append(Migration(version, entry["title"], _read_in_folder(folder, entry["up"], base), down))
        return out

    def latest_version(self, dialect: str) -> int:
        migrations = self.migrations(dialect)
        return migrations[-1].version if migrations else 0


def snake_case(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_")
    return name.lower()


def _read_service_toml(root: Path, base: Path) -> dict:
    path = root / "service.toml"
    if not path.is_file():
        return {}
    inside(path, base)
    try:
        data = read_toml(path)
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
    unknown = set(data) - SERVICE_KEYS
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(SERVICE_KEYS))})")
    for key in ("description", "tracking_table"):
        if key in data and not isinstance(data[key], str):
            raise UsageError(f"{path}: {key} must be a string")
    if "forward_only" in data and not isinstance(data["forward_only"], bool):
        raise UsageError(f"{path}: forward_only must be true or false")
    return data


def load_service(name: str, root: Path, migrations_dir: Path | None = None) -> Service:
    data = _read_service_toml(root, migrations_dir or root)
    prefix = data["table_prefix"] if "table_prefix" in data else snake_case(name)
    if not isinstance(prefix, str) or not PREFIX.fullmatch(prefix):
        shown = repr(prefix) if isinstance(prefix, str) else reprlib.repr(prefix)
        raise UsageError(f"service {name!r}: invalid table prefix {shown} (must match [a-z_][a-z0-9_]{{0,40}})")
    if data.get("tracking_table", f"{prefix}_migrations") != f"{prefix}_migrations":
        raise UsageError(f"{root / 'service.toml'}: tracking_table {reprlib.repr(data['tracking_table'])} "
                         f"must be '{prefix}_migrations': the tracking table is named after table_prefix")
    return Service(name, root, prefix, data.get("forward_only", False), data.get("description", ""),
                   migrations_dir)


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


def _distinct_prefixes(services: list[Service]) -> None:
    """Two services with one table prefix would read and write each other's tracking rows."""
    seen: dict[str, Service] = {}
    for service in services:
        other = seen.setdefault(service.table_prefix, service)
        if other is not service:
            raise UsageError(f"services {other.name!r} and {service.name!r} have the same table prefix "
                             f"{service.table_prefix!r}: give one of them its own table_prefix in "
                             f"{service.root / 'service.toml'}")


def _load_all(migrations_dir: Path) -> list[Service]:
    services = [load_service(n, p, migrations_dir) for n, p in discover(migrations_dir).items()]
    _distinct_prefixes(services)
    return services


def select_service(migrations_dir: Path, name: str | None) -> Service:
    """The service ``name`` (may be None when the directory holds one), after the whole
    directory was checked (every service.toml, distinct table prefixes)."""
    try:
        services = {s.name: s for s in _load_all(migrations_dir)}
    except OSError as exc:
        raise _unreadable(exc, migrations_dir) from None
    if name is None:
        if len(services) != 1:
            raise UsageError(f"--service is required: {migrations_dir} holds "
                             f"{len(services)} services ({', '.join(services)})")
        name = next(iter(services))
    if name not in services:
        raise UsageError(f"unknown service {name!r} (available: {', '.join(services) or 'none'})")
    return services[name]


def all_services(migrations_dir: Path) -> list[Service]:
    try:
        return _load_all(migrations_dir)
    except OSError as exc:
        raise _unreadable(exc, migrations_dir) from None
