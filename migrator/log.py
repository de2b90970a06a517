"""structlog setup: console on a TTY, JSON lines otherwise; logs go to stderr.

Exact operator messages (the dirty and desync lines) are also printed to stderr as
plain text whatever the format, so they can be grepped. Every output passes through
``redact``, which replaces known secrets (the DSN password) with ``***``.
"""

from __future__ import annotations

import logging
import sys

_SECRETS: set[str] = set()
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "warn": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL}
_configured = False


def add_secret(secret: str | None) -> None:
    if secret:
        _SECRETS.add(secret)


def redact(value):
    if isinstance(value, str):
        for secret in _SECRETS:
            value = value.replace(secret, "***")
    return value


def _redact_processor(_logger, _name, event_dict):
    return {k: redact(v) if isinstance(v, str) else v for k, v in event_dict.items()}


def level_number(level: str) -> int:
    return _LEVELS[level.lower()]


def configure(fmt: str = "auto", level: str = "info", stream=None) -> None:
    import structlog

    global _configured
    stream = stream or sys.stderr
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
        wrapper_class=structlog.make_filtering_bound_logger(level_number(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    _configured = True


def get():
    import structlog

    if not _configured:
        configure()
    return structlog.get_logger("migrator")


def bind(**values) -> None:
    import structlog

    structlog.contextvars.bind_contextvars(**values)


def operator(line: str) -> None:
    """An exact, grep-able line for the operator, on stderr, as plain text."""
    print(redact(line), file=sys.stderr, flush=True)


def result(line: str = "") -> None:
    """A command result, on stdout."""
    print(redact(line), flush=True)
