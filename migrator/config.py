"""Configuration from flags and the environment, and DSN parsing.

This is the only module that reads the environment (``DSN``, ``DATABASE_URL``,
``MIGRATOR_MIGRATIONS_DIR``, ``MIGRATE_REPAIR_TRACKING``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

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
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?)")
_PORT = re.compile(r"[0-9]{1,5}")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_SCHEME = re.compile(r"[A-Za-z0-9+.-]{1,20}")
# The Go driver's form: [user[:password]@]tcp(host:port)/dbname or unix(/socket)/dbname. As
# in a URL, the user and password hold no unencoded "/" or "?".
_GO_MYSQL = re.compile(r"(?:(?P<userinfo>[^/?]*)@)?(?P<net>tcp|unix)\((?P<addr>[^)]*)\)(?P<tail>.*)", re.DOTALL)
_GO_MYSQL_HINT = re.compile(r"(^|@)(tcp|unix)\(")
# Query parameters whose values are credentials: password, PASSWORD, sslpassword,
# oauth_client_secret, scram_client_key... (any case).
_SECRET_PARAM = re.compile(r"pass|secret|scram_\w*key", re.IGNORECASE)
_ENCODE_HINT = "percent-encode '/', '?', '#' and '%' in the user and password (%2F, %3F, %23, %25)"


def is_secret_param(name: str) -> bool:
    return bool(_SECRET_PARAM.search(name))


@dataclass(frozen=True)
class DSN:
    """A parsed database address. Neither ``str()`` nor ``repr()`` shows a secret: the
    password and the query parameters (which may hold ``sslpassword``...) are left out of
    the repr, and ``str()`` is ``redacted()``."""

    scheme: str
    dialect: str  # sqlite | postgres | mysql | cockroach
    database: str  # the database name, or the file path for SQLite
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    socket: str | None = None
    params: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # as given, in order

    def __str__(self) -> str:
        return self.redacted()

    def redacted(self) -> str:
        """The DSN as messages show it: every secret is ``***``."""
        query = [(k, REDACTED if is_secret_param(k) and v else v) for k, v in self.params]
        if self.dialect == "sqlite":
            return f"{self.scheme}://{self.database}"
        auth = ""
        if self.user or self.password:
            auth = quote(self.user or "", safe="") + (f":{REDACTED}" if self.password else "") + "@"
        if self.socket and self.dialect == "mysql":
            where = f"unix({self.socket})"
        elif self.socket:
            where = ""
            query = [("host", self.socket)] + ([("port", str(self.port))] if self.port else []) + query
        else:
            where = self.address
        shown = "&".join(f"{k}={v}" for k, v in query)
        return f"{self.scheme}://{auth}{where}/{self.database}" + (f"?{shown}" if shown else "")

    @property
    def secrets(self) -> list[str]:
        """Every secret the DSN gives: the password of the userinfo, and the value of every
        query parameter that names a credential, in any case (``?PASSWORD=``, ``sslpassword``)."""
        found = [v for k, v in self.params if is_secret_param(k) and v]
        return ([self.password] if self.password else []) + found

    def param(self, name: str, *, any_case: bool = False) -> str | None:
        """The last value given for a query parameter (as libpq and the Go driver take it)."""
        wanted = name.lower() if any_case else name
        values = [v for k, v in self.params if (k.lower() if any_case else k) == wanted]
        return values[-1] if values else None

    @property
    def address(self) -> str:
        if self.dialect == "sqlite":
            return self.database
        if self.socket:
            return self.socket
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"


def _bad(reason: str) -> UsageError:
    return UsageError(f"invalid DSN: {reason}")


def _split_userinfo(userinfo: str | None) -> tuple[str | None, str | None]:
    """``user[:password]``: the first ":" ends the user (a user holding ":" encodes it)."""
    if not userinfo:
        return None, None
    user, sep, password = userinfo.partition(":")
    return unquote(user) or None, (unquote(password) if sep else None)


def _parse_query(query: str) -> tuple[tuple[str, str], ...]:
    """``a=1&b=2``, percent-decoded ("+" stays "+", as libpq reads it), blank values kept."""
    params = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        key = unquote(key)
        if not _PARAM_NAME.fullmatch(key):  # not echoed: a password cut short by a "?" ends up here
            raise _bad(f"malformed query parameter name: {_ENCODE_HINT}")
        params.append((key, unquote(value)))
    return tuple(params)


def _check_host(host: str) -> str:
    if not host:
        raise _bad("missing host")
    if not _HOST.fullmatch(host):
        raise _bad(f"malformed host {host!r}")
    return host.strip("[]")


def _check_port(port: str | None, dialect: str) -> int:
    """Never echoed: a port that is no number is most likely a password cut short."""
    if port is None or port == "":
        return DEFAULT_PORTS[dialect]
    if not _PORT.fullmatch(port):
        raise _bad(f"malformed port (not a number; {_ENCODE_HINT})")
    if not 0 < int(port) < 65536:
        raise _bad("port out of range (expected 1 to 65535)")
    return int(port)


def _split_hostport(netloc: str) -> tuple[str, str | None]:
    """``host[:port]`` or ``[v6]:port``, unchecked."""
    if netloc.startswith("["):
        host, closed, rest = netloc.partition("]")
        if not closed:
            raise _bad("malformed host (unclosed '[' in an IPv6 address)")
        if rest and not rest.startswith(":"):
            raise _bad("malformed host (text after ']' that is not ':port')")
        return host + "]", (rest[1:] if rest else None)
    host, sep, port = netloc.partition(":")
    if sep and ":" in port:
        raise _bad(f"malformed host (more than one ':'; {_ENCODE_HINT})")  # not echoed: a password's ':'?
    return host, (port if sep else None)


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
    return DSN(scheme=scheme, dialect="sqlite", database=unquote(path), params=_parse_query(query))


def _parse_go_mysql(scheme: str, match: re.Match) -> DSN:
    user, password = _split_userinfo(match["userinfo"])
    if not match["tail"].startswith("/"):
        raise _bad("malformed Go-driver address (expected user:pass@tcp(host:port)/dbname)")
    dbname, _, query = match["tail"][1:].partition("?")
    params = _parse_query(query)
    if match["net"] == "unix":
        if not match["addr"].startswith("/"):
            raise _bad("malformed socket path (expected unix(/absolute/path))")
        return DSN(scheme, "mysql", _check_database(dbname), user=user, password=password,
                   socket=match["addr"], params=params)
    host, port = _split_hostport(match["addr"])
    return DSN(scheme, "mysql", _check_database(dbname), _check_host(host), _check_port(port, "mysql"),
               user, password, params=params)


def _split_url(rest: str) -> tuple[str | None, str, str, str]:
    """RFC 3986: the authority ends at the first "/" or "?", its userinfo at the authority's
    last "@". Returns (userinfo, host[:port], path, query)."""
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    path, _, query = tail.partition("?")
    if "@" in path:
        # a database name holding "@" is written %40; an "@" here is a password cut short
        raise _bad(f"unexpected '@' after the host: {_ENCODE_HINT}")
    return (userinfo if at else None), hostport, path.removeprefix("/"), query


def _parse_url(scheme: str, dialect: str, rest: str) -> DSN:
    userinfo, hostport, path, query = _split_url(rest)
    user, password = _split_userinfo(userinfo)
    params = _parse_query(query)
    host, port = _split_hostport(hostport)
    socket = None
    if dialect == "mysql":
        socket = dict(params).get("socket") if not hostport else None
        params = tuple(p for p in params if not (socket and p[0] == "socket"))
    else:
        # libpq: ?host=, ?port= and ?dbname= win over the URI's own parts; a host that is a
        # directory (?host=/var/run/postgresql, or %2Fvar%2Frun%2Fpostgresql) is a unix socket
        given = dict(params)
        host = given.get("host", unquote(host))
        port = given.get("port", port)
        path = given.get("dbname", path)
        params = tuple(p for p in params if p[0] not in ("host", "port", "dbname"))
        socket = host if host.startswith("/") else None
    if socket is not None:
        if not socket.startswith("/"):
            raise _bad("malformed socket path (expected an absolute path)")
        return DSN(scheme, dialect, _check_database(path), user=user, password=password, socket=socket,
                   port=None if port is None else _check_port(port, dialect), params=params)
    return DSN(scheme, dialect, _check_database(path), _check_host(host), _check_port(port, dialect), user,
               password, params=params)


def parse_dsn(text: str) -> DSN:
    """Parse a DSN; raise UsageError naming the problem (never a password).

    Surrounding white space is dropped (a Secret made from a file ends with a newline).
    The URL forms read the authority as RFC 3986 does; see ``_split_url``."""
    text = text.strip()
    if "#" in text:
        raise _bad("unencoded '#' (a DSN has no fragment: write '#' as %23)")
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise _bad("expected SCHEME://... (sqlite, postgres, postgresql, mysql, cockroach)")
    dialect = SCHEMES.get(scheme.lower())
    if dialect is None:
        shown = scheme if _SCHEME.fullmatch(scheme) else "?"
        raise _bad(f"unknown scheme {shown!r} (expected sqlite, postgres, postgresql, mysql, cockroach)")
    if dialect == "sqlite":
        return _parse_sqlite(scheme, rest)
    if dialect == "mysql":
        go_form = _GO_MYSQL.fullmatch(rest)
        if go_form:
            return _parse_go_mysql(scheme, go_form)
        marker = _GO_MYSQL_HINT.search(rest.partition("?")[0])
        if marker and "/" in rest[:marker.start()]:
            raise _bad(f"unencoded '/' before the Go-driver address: {_ENCODE_HINT}")
        if marker:
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


@dataclass(frozen=True)
class Config:
    """What a command runs with, from flags and the environment."""

    dsn_text: str | None = field(repr=False)  # holds the password: parsed, and shown redacted, by ``dsn``
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
    ddl_lock_retries: int  # more tries of a migration that hit the DDL lock timeout, when safe
    progress_interval: float  # seconds between the lines of a statement that runs long; 0: none

    @property
    def dsn(self) -> DSN:
        if not self.dsn_text:
            raise UsageError("no database given: pass --database DSN, or -e with DSN or DATABASE_URL set")
        return parse_dsn(self.dsn_text)


def build_config(args, env: dict[str, str] | None = None, *, interactive: bool) -> Config:
    """Build the frozen Config from parsed flags and the environment."""
    env = dict(os.environ) if env is None else env
    dsn_text = args.database
    if args.read_from_env and dsn_text is not None:
        raise UsageError("--database and -e/--read-from-env both given: pass one of them")
    if args.read_from_env:
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
        connect_timeout=args.connect_timeout,
        ddl_lock_retries=args.ddl_lock_retries,
        progress_interval=args.progress_interval,
    )
