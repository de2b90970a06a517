"""Reading ``migrations/<service>/<dialect>/...``: discovery, validation, directives, checksums.

Everything here runs before any connection is opened, so an invalid migration set
never touches the database.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

try:  # CPython's own SHA-256: hashlib's OpenSSL backend costs ~4 ms to load at every start
    from _sha256 import sha256  # CPython <= 3.11
except ImportError:
    try:
        from _sha2 import sha256  # CPython >= 3.12
    except ImportError:
        from hashlib import sha256

from migrator._lazy import lazy_re
from migrator._record import Record
from migrator.errors import UsageError

DIALECTS = ("postgres", "mysql", "sqlite", "cockroach")
FILE_NAME = re.compile(r"^(?P<version>[0-9]+)_(?P<title>[A-Za-z0-9][A-Za-z0-9_.-]*)\.(?P<direction>up|down)\.sql$")
PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
SERVICE_KEYS = {"table_prefix", "forward_only", "description", "tracking_table"}
DIRECTIVE = lazy_re(r"^--\s*migrator:(?P<name>[a-z-]+)\b(?P<arg>.*)$")
KNOWN_DIRECTIVES = {"no-transaction", "deprecates", "lint-ignore"}


class SqlFile(Record):
    """One migration file as read: ``path``, ``text`` (decoded, without a BOM), ``checksum``
    (sha256 of the bytes) and the header ``directives``. Immutable.

    Files read from a folder make their ``path`` on first use: a run that only checks
    checksums (a no-op ``up``) never needs the Path objects of its thousand files."""

    _fields = ("path", "text", "checksum", "directives")
    text: str
    checksum: str
    directives: tuple[tuple[str, str], ...]

    def __init__(self, path: Path, text: str, checksum: str, directives: tuple[tuple[str, str], ...]):
        self._set(path=path, text=text, checksum=checksum, directives=directives)

    def __getattr__(self, name: str):  # only for what __dict__ lacks: a path not made yet
        d = self.__dict__
        if name == "path" and "_folder" in d:
            path = d["path"] = d["_folder"] / d["_name"]
            return path
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def no_transaction(self) -> bool:
        return any(name == "no-transaction" for name, _ in self.directives)

    def directive_args(self, name: str) -> list[str]:
        return [arg for n, arg in self.directives if n == name]


class Migration(Record):
    """One version: ``version``, ``name`` (the title), its ``up`` file and its ``down``
    file (or None). Immutable."""

    _fields = ("version", "name", "up", "down")
    version: int
    name: str
    up: SqlFile
    down: SqlFile | None

    def __init__(self, version: int, name: str, up: SqlFile, down: SqlFile | None):
        self._set(version=version, name=name, up=up, down=down)

    @property
    def checksum(self) -> str:
        return self.up.checksum

    @property
    def filename(self) -> str:
        return self.up.path.name

    @property
    def no_transaction(self) -> bool:
        return self.up.no_transaction


def _header_directives(folder: Path, name: str, text: str) -> tuple[tuple[str, str], ...]:
    """Directives in the leading comment lines of file ``folder / name`` (blank lines allowed)."""
    if "migrator:" not in text:  # no line can be a directive (most files): skip the line scan
        return ()
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
            raise UsageError(f"{folder / name}: unknown directive 'migrator:{m['name']}' "
                             f"(known: {', '.join(sorted(KNOWN_DIRECTIVES))})")
        found.append((m["name"], m["arg"].strip()))
    return tuple(found)


def _read_bytes(path: str) -> bytes:
    """The whole file, with plain system calls (a pathlib/io file object costs twice as much,
    and a service holds a thousand files)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, 65536)  # os.read allocates what it asks for: 1 MiB would cost an mmap
        if data:
            chunks = [data]
            while True:
                more = os.read(fd, 65536)
                if not more:
                    break
                chunks.append(more)
            if len(chunks) > 1:
                data = b"".join(chunks)
        return data
    finally:
        os.close(fd)


def _decode(folder: Path, name: str, data: bytes) -> str:
    """The text of file ``folder / name`` (the Path is made only to name it in an error)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{folder / name}: not valid UTF-8 (byte {exc.start})") from None
    return text.removeprefix("\ufeff")


def _read_in_folder(folder: Path, prefix: str, name: str) -> SqlFile:
    """The migration file ``folder / name``, read and checked, without making its Path
    (``prefix``: the folder as a string ending with a separator)."""
    try:
        data = _read_bytes(prefix + name)
    except OSError as exc:
        raise UsageError(f"{folder / name}: cannot read migration file: {exc.strerror}") from None
    text = _decode(folder, name, data)
    f = SqlFile.__new__(SqlFile)  # its path: folder / name, made by SqlFile.__getattr__ when asked
    f.__dict__.update(_folder=folder, _name=name, text=text, checksum=sha256(data).hexdigest(),
                      directives=_header_directives(folder, name, text))
    return f


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


class Service(Record):
    """One service's folder and settings; ``migrations(dialect)`` reads (once) and validates
    its migration files."""

    _fields = ("name", "root", "table_prefix", "forward_only", "description", "_cache")
    _hidden = frozenset({"_cache"})
    _uncompared = frozenset({"_cache"})
    name: str
    root: Path
    table_prefix: str
    forward_only: bool
    description: str

    def __init__(self, name: str, root: Path, table_prefix: str, forward_only: bool = False,
                 description: str = "", _cache: dict | None = None):
        self._set(name=name, root=root, table_prefix=table_prefix, forward_only=forward_only,
                  description=description, _cache={} if _cache is None else _cache)

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
        prefixes: dict[Path, str] = {}
        for folder in folders:
            merged.update(_scan_folder(folder))
            prefixes[folder] = os.path.join(folder, "")
        out = []
        for version in sorted(merged):
            entry = merged[version]
            folder = entry["folder"]
            prefix = prefixes[folder]
            down = _read_in_folder(folder, prefix, entry["down"]) if "down" in entry else None
            if down is not None and self.forward_only:
                raise UsageError(f"{folder / entry['down']}: service {self.name!r} is forward_only "
                                 "but ships a down migration")
            out.append(Migration(version, entry["title"], _read_in_folder(folder, prefix, entry["up"]), down))
        return out

    def latest_version(self, dialect: str) -> int:
        migrations = self.migrations(dialect)
        return migrations[-1].version if migrations else 0


def snake_case(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_")
    return name.lower()


# A line of the TOML that service.toml files hold: blank, a comment, or a bare key set to a
# basic string without escapes or to a boolean (with an optional comment). Characters TOML
# forbids (control characters but tab) are left out, so tomllib sees what this does not take.
_SIMPLE_TOML_LINE = lazy_re(
    r'[ \t]*(?:(?P<key>[A-Za-z0-9_-]+)[ \t]*=[ \t]*'
    r'(?:"(?P<str>[^"\\\x00-\x08\x0a-\x1f\x7f]*)"|(?P<bool>true|false))[ \t]*)?'
    r'(?:#[^\x00-\x08\x0a-\x1f\x7f]*)?')


def _simple_toml(text: str) -> dict | None:
    """``text`` parsed when every line is one of those above and no key repeats (what
    tomllib returns for it), else None: then tomllib, its import deferred to that case,
    parses it or names the error."""
    data: dict = {}
    for line in text.split("\n"):
        m = _SIMPLE_TOML_LINE.fullmatch(line)
        if m is None:
            return None
        key = m["key"]
        if key is None:
            continue
        if key in data:
            return None
        data[key] = m["str"] if m["str"] is not None else m["bool"] == "true"
    return data


def _read_service_toml(root: Path) -> dict:
    path = root / "service.toml"
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    data = _simple_toml(text)
    if data is None:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
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
    prefix = data["table_prefix"] if "table_prefix" in data else snake_case(name)
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
