"""Errors that end a command, each carrying the exit status the CLI returns."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    FAILED = 1  # a migration or database error (also: behind, declined prompt, timeout)
    USAGE = 2  # bad flag, bad DSN, invalid migration set or declaration
    DIRTY = 3
    DESYNC = 4
    LOCK_TIMEOUT = 5
    CHECKSUM = 6


class MigratorError(Exception):
    """Root error: a one-line message, the exit status, and optional extra lines."""

    exit_status = ExitStatus.FAILED

    def __init__(self, message: str, *, details: list[str] | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.hint = hint
        self.logged = False  # already logged as an event: the CLI prints it, and does not log it again


class UsageError(MigratorError):
    exit_status = ExitStatus.USAGE


class MigrationFailed(MigratorError):
    """A migration statement failed. ``fields`` go into the log and events lines (the
    statement, its line, n of m); ``retrying``: another try follows, so it is no failure yet."""

    exit_status = ExitStatus.FAILED
    event = "MIGRATION_FAILED"

    def __init__(self, message: str, *, fields: dict | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.fields = fields or {}
        self.retrying = False


class LockContention(MigrationFailed):
    """A statement gave up waiting for a lock (the DDL lock timeout): ``safe`` when another
    try cannot repeat work already done (the transaction rolled back, or nothing had run)."""

    def __init__(self, message: str, *, safe: bool, **kwargs):
        super().__init__(message, **kwargs)
        self.safe = safe


class Interrupted(MigrationFailed):
    """SIGTERM or SIGINT: the running statement was cancelled; exit 128 + the signal number."""

    event = "MIGRATION_INTERRUPTED"

    def __init__(self, message: str, *, signum: int, **kwargs):
        super().__init__(message, **kwargs)
        self.signum = signum
        self.exit_status = 128 + signum


class DatabaseError(MigratorError):
    exit_status = ExitStatus.FAILED


class DatabaseUnreachable(DatabaseError):
    """The server did not answer (connection refused, name not resolved): worth another try
    within --connect-timeout, unlike a server that answered no (wrong password, no such database)."""


class DirtyError(MigratorError):
    exit_status = ExitStatus.DIRTY

    def __init__(self, version: int):
        super().__init__(
            f"Error: Database is in dirty state at version {version}",
            hint=f"inspect the schema, complete or revert version {version} by hand, "
            "then run `migrator force <version>`",
        )
        self.version = version


class DesyncError(MigratorError):
    exit_status = ExitStatus.DESYNC


class LockTimeout(MigratorError):
    exit_status = ExitStatus.LOCK_TIMEOUT


class ChecksumMismatch(MigratorError):
    exit_status = ExitStatus.CHECKSUM
