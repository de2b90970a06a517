"""Configuration from flags and the environment, and DSN parsing.

This is the only module that reads the environment (``DSN``, ``DATABASE_URL``,
``MIGRATOR_MIGRATIONS_DIR``, ``MIGRATE_REPAIR_TRACKING``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from migrator._lazy import lazy_re
from migrator._record import Record
from migrator.errors import UsageError

SCHEMES = {
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "cockroach": "cockroach",
    "cockroachdb": "cockroach",
}
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "cockroach": 26257}
REDACTED = "***"
_HOST = lazy_re(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?)$")
_GO_MYSQL = lazy_re(r"^(?P<userinfo>.*)@(?P<net>tcp|unix)\((?P<addr>[^)]*)\)/(?P<rest>.*)$")


class DSN(Record):
    """A parsed database address. Neither ``str()`` nor ``repr()`` shows the password.
    Immutable."""

    _fields = ("scheme", "dialect", "database", "host", "port", "user", "password", "socket", "params")
    _hidden = frozenset({"password"})
    scheme: str
    dialect: str  # sqlite | postgres | mysql | cockroach
    database: str  # the database name, or the file path for SQLite
    host: str | None
    port: int | None
    user: str | None
    password: str | None
    socket: str | None
    params: tuple[tuple[str, str], ...]

    def __init__(self, scheme: str, dialect: str, database: str, host: str | None = None,
                 port: int | None = None, user: str | None = None, password: str | None = None,
                 socket: str | None = None, params: tuple[tuple[str, str], ...] = ()):
        self._set(scheme=scheme, dialect=dialect, database=database, host=host, port=port, user=user,
                  password=password, socket=socket, params=params)

    def __str__(self) -> str:
        return self.redacted()

    def redacted(self) -> str:
        if self.dialect == "sqlite":
            return f"{self.scheme}://{self.database}"
        auth = ""
        if self.user:
            auth = self.user + (f":{REDACTED}" if self.password else "") + "@"
        where = self.socket or f"{self.host}:{self.port}"
        query = "&".join(f"{k}={v}" for k, v in self.params if "pass" not in k.lower())
        return f"{self.scheme}://{auth}{where}/{self.database}" + (f"?{query}" if query else "")

    @property
    def secrets(self) -> list[str]:
        """The password, wherever the DSN gives it (userinfo or a ``password`` parameter)."""
        found = [v for k, v in self.params if "pass" in k.lower() and v]
        return ([self.password] if self.password else []) + found

    @property
    def address(self) -> str:
        if self.dialect == "sqlite":
            return self.database
        return self.socket or f"{self.host}:{self.port}"


def _bad(reason: str) -> UsageError:
    return UsageError(f"invalid DSN: {reason}")


def _split_userinfo(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, sep, password = userinfo.partition(":")
    return unquote(user) or None, (unquote(password) if sep else None)


def _check_host(host: str) -> str:
    if not host:
        raise _bad("missing host")
    if not _HOST.match(host):
        raise _bad(f"malformed host {host!r}")
    return host.strip("[]")


def _check_port(port: str | None, dialect: str) -> int:
    if port is None or port == "":
        return DEFAULT_PORTS[dialect]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad("malformed port (expected a number from 1 to 65535)")  # never echoed: it may be a password
    return int(port)


def _split_hostport(netloc: str, dialect: str) -> tuple[str, int]:
    if netloc.startswith("["):
        host, closed, rest = netloc.partition("]")
        if not closed:
            raise _bad("malformed host (unclosed '[' in an IPv6 address)")
        host += "]"
        port = rest[1:] if rest.startswith(":") else (None if not rest else rest)
        if rest and not rest.startswith(":"):
            raise _bad(f"malformed host {netloc!r}")
    else:
        host, sep, port = netloc.partition(":")
        if sep and ":" in port:
            raise _bad(f"malformed host {netloc!r}")
        port = port if sep else None
    return _check_host(host), _check_port(port, dialect)


def _check_database(name: str) -> str:
    name = unquote(name)
    if not name:
        raise _bad("missing database name")
    if "/" in name:
        raise _bad(f"malformed database name {name!r}")
    return name


def _parse_sqlite(scheme: str, rest: str) -> DSN:
    path, _, query = rest.partition("?")
    if not path or path.endswith("/"):
        raise _bad("missing database path (use sqlite:///absolute/path.db or sqlite://relative.db)")
    return DSN(scheme=scheme, dialect="sqlite", database=unquote(path), params=tuple(parse_qsl(query)))


def _parse_go_mysql(scheme: str, match: re.Match) -> DSN:
    user, password = _split_userinfo(match["userinfo"])
    dbname, _, query = match["rest"].partition("?")
    params = tuple(parse_qsl(query))
    if match["net"] == "unix":
        if not match["addr"].startswith("/"):
            raise _bad(f"malformed socket path {match['addr']!r}")
        return DSN(scheme, "mysql", _check_database(dbname), user=user, password=password,
                   socket=match["addr"], params=params)
    host, port = _split_hostport(match["addr"], "mysql")
    return DSN(scheme, "mysql", _check_database(dbname), host, port, user, password, params=params)


def _parse_url(scheme: str, dialect: str, rest: str) -> DSN:
    userinfo, _, location = rest.rpartition("@")  # an unencoded password may hold "/", "?" or "@"
    hostport, slash, path_query = location.partition("/")
    user, password = _split_userinfo(userinfo)
    dbname, _, query = path_query.partition("?")
    if not slash:
        hostport, _, query = hostport.partition("?")
    params = tuple(parse_qsl(query))
    socket = dict(params).get("host") if dialect != "mysql" else dict(params).get("socket")
    if socket and socket.startswith("/") and not hostport:
        return DSN(scheme, dialect, _check_database(dbname), user=user, password=password,
                   socket=socket, params=tuple(p for p in params if p[0] not in ("host", "socket")))
    host, port = _split_hostport(hostport, dialect)
    return DSN(scheme, dialect, _check_database(dbname), host, port, user, password, params=params)


def parse_dsn(text: str) -> DSN:
    """Parse a DSN of SPEC section 4; raise UsageError naming the problem (never the password)."""
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise _bad("expected SCHEME://... (sqlite, postgres, postgresql, mysql, cockroach)")
    dialect = SCHEMES.get(scheme.lower())
    if dialect is None:
        shown = scheme if re.fullmatch(r"[A-Za-z0-9+.-]{1,20}", scheme) else "?"
        raise _bad(f"unknown scheme {shown!r} (expected sqlite, postgres, postgresql, mysql, cockroach)")
    if dialect == "sqlite":
        return _parse_sqlite(scheme, rest)
    if dialect == "mysql":
        go_form = _GO_MYSQL.match(rest)
        if go_form:
            return _parse_go_mysql(scheme, go_form)
        if "@tcp(" in rest or "@unix(" in rest:
            raise _bad("malformed Go-driver address (expected user:pass@tcp(host:port)/dbname)")
    return _parse_url(scheme, dialect, rest)


def default_migrations_dir(env: dict[str, str]) -> Path:
    if env.get("MIGRATOR_MIGRATIONS_DIR"):
        return Path(env["MIGRATOR_MIGRATIONS_DIR"])
    if Path("/migrations").is_dir():
        return Path("/migrations")
    return Path("migrations")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class Config(Record):
    """What a command runs with, from flags and the environment. Immutable."""

    _fields = ("dsn_text", "migrations_dir", "service", "lock_timeout", "ddl_lock_timeout", "log_format",
               "log_level", "yes", "repair_tracking", "interactive", "connect_timeout")
    dsn_text: str | None
    migrations_dir: Path
    service: str | None
    lock_timeout: float
    ddl_lock_timeout: float
    log_format: str
    log_level: str
    yes: bool
    repair_tracking: bool
    interactive: bool
    connect_timeout: float  # seconds to keep retrying a server that does not answer; 0: fail at once

    def __init__(self, dsn_text: str | None, migrations_dir: Path, service: str | None, lock_timeout: float,
                 ddl_lock_timeout: float, log_format: str, log_level: str, yes: bool, repair_tracking: bool,
                 interactive: bool, connect_timeout: float = 0.0):
        self._set(dsn_text=dsn_text, migrations_dir=migrations_dir, service=service, lock_timeout=lock_timeout,
                  ddl_lock_timeout=ddl_lock_timeout, log_format=log_format, log_level=log_level, yes=yes,
                  repair_tracking=repair_tracking, interactive=interactive, connect_timeout=connect_timeout)

    @property
    def dsn(self) -> DSN:
        if not self.dsn_text:
            raise UsageError("no database given: pass --database DSN, or -e with DSN or DATABASE_URL set")
        return parse_dsn(self.dsn_text)


def build_config(args, env: dict[str, str] | None = None, interactive: bool = False) -> Config:
    """Build the frozen Config from parsed flags and the environment."""
    env = dict(os.environ) if env is None else env
    dsn_text = args.database
    if getattr(args, "read_from_env", False) and not dsn_text:
        dsn_text = env.get("DSN") or env.get("DATABASE_URL")
        if not dsn_text:
            raise UsageError("-e/--read-from-env given but neither DSN nor DATABASE_URL is set")
    migrations = Path(args.migrations) if args.migrations else default_migrations_dir(env)
    return Config(
        dsn_text=dsn_text,
        migrations_dir=migrations,
        service=args.service,
        lock_timeout=args.lock_timeout,
        ddl_lock_timeout=args.ddl_lock_timeout,
        log_format=args.log_format,
        log_level=args.log_level,
        yes=args.yes,
        repair_tracking=_truthy(env.get("MIGRATE_REPAIR_TRACKING")),
        interactive=interactive,
        connect_timeout=getattr(args, "connect_timeout", 0.0),
    )
