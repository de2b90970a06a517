"""structlog setup: console on a TTY, JSON lines otherwise; logs go to stderr.

Exact operator messages (the dirty and desync lines) are also printed to stderr as
plain text whatever the format, so they can be grepped.

Messages are built without secrets (a DSN is shown by its redacted form); ``redact`` is
the last line of defence, for text from elsewhere (a driver's error): every output passes
through it. It replaces each known secret (as given and percent-encoded) by ``***``,
longest first, so of two secrets where one begins the other the longer goes whole, and
only as a whole token, so a password ``ro`` leaves ``Error`` alone. A secret that is also
a public name of the run (the service, its table prefix) cannot be hidden by replacing
text, since it is printed by design: it is left alone rather than masking the name.
"""

from __future__ import annotations

import re
import sys
from urllib.parse import quote

_SECRETS: set[str] = set()
_PUBLIC: set[str] = set()
_pattern = None  # the compiled alternation of _SECRETS (False: none), rebuilt when they change
# logging's level numbers (DEBUG 10 ... CRITICAL 50), written out: importing logging for
# them alone cost a few milliseconds at every start
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50}
_configured = False


def add_secret(secret: str | None) -> None:
    """Hide ``secret`` from every output, as given and percent-encoded (as a DSN holds it)."""
    global _pattern
    if secret:
        _SECRETS.update({secret, quote(secret, safe=""), quote(secret)})
        _pattern = None


def add_public(*names: str) -> None:
    """Names every output shows by design (the service, its table prefix)."""
    global _pattern
    _PUBLIC.update(n for n in names if n)
    _pattern = None


def _token(secret: str) -> str:
    """``secret`` where it stands as a token: a word character may neither precede a secret
    that begins with one nor follow a secret that ends with one."""
    before = r"(?<!\w)" if re.match(r"\w", secret) else ""
    after = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
    return before + re.escape(secret) + after


def _compiled():
    global _pattern
    if _pattern is None:
        hidden = sorted(_SECRETS - _PUBLIC, key=len, reverse=True)  # longest first
        _pattern = re.compile("|".join(map(_token, hidden))) if hidden else False
    return _pattern


def redact(value):
    pattern = _compiled() if isinstance(value, str) and _SECRETS else None
    return pattern.sub("***", value) if pattern else value


def _redact_processor(_logger, _name, event_dict):
    return {k: redact(v) if isinstance(v, str) else v for k, v in event_dict.items()}


def level_number(level: str) -> int:
    return _LEVELS[level.lower()]


_settings = {"fmt": "auto", "level": "info", "stream": None}
_context: dict = {}


def configure(fmt: str = "auto", level: str = "info", stream=None) -> None:
    """Remember the settings; structlog itself is set up on the first log line (it
    costs tens of milliseconds to import, and a no-op run may log nothing)."""
    global _configured
    _settings.update(fmt=fmt, level=level, stream=stream)
    _configured = False


def _setup():
    import structlog

    global _configured
    stream = _settings["stream"] or sys.stderr
    fmt = _settings["fmt"]
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    renderer = (structlog.dev.ConsoleRenderer(colors=stream.isatty()) if fmt == "console"
                else structlog.processors.JSONRenderer(sort_keys=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_number(_settings["level"])),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(**_context)
    _configured = True
    return structlog


class Logger:
    """A structlog logger made on first use; lines below the level cost nothing."""

    def __init__(self, values: dict | None = None):
        self._values = values or {}

    def bind(self, **values) -> "Logger":
        return Logger({**self._values, **values})

    def __getattr__(self, method: str):
        wanted = _LEVELS.get(method)
        if wanted is not None and wanted < level_number(_settings["level"]):
            return lambda *args, **kwargs: None
        structlog = _setup() if not _configured else __import__("structlog")
        return getattr(structlog.get_logger("migrator").bind(**self._values), method)


def get() -> Logger:
    return Logger()


def bind(**values) -> None:
    _context.update(values)
    if _configured:
        import structlog

        structlog.contextvars.bind_contextvars(**values)
def console() -> bool:
    """Whether log lines are rendered for a person (console) rather than as JSON lines."""
    fmt = _settings["fmt"]
    if fmt == "auto":
        stream = _settings["stream"] or sys.stderr
        return stream.isatty()
    return fmt == "console"


def error_event(logger, event: str, **fields) -> None:
    """An error that the CLI also prints as operator lines: a JSON event for log collectors;
    on the console the operator lines alone show it, so it reads once, not twice."""
    if not console():
        logger.error(event, **fields)


def operator(line: str) -> None:
    """An exact, grep-able line for the operator, on stderr, as plain text."""
    print(redact(line), file=sys.stderr, flush=True)


def result(line: str = "") -> None:
    """A command result, on stdout. A reader that went away (``| head``) must not
    interrupt the work: further results go to /dev/null."""
    try:
        print(redact(line), flush=True)
    except BrokenPipeError:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
