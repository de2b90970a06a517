"""Holding a lock for the length of a block, the same way for ``up``'s migration lock (a
database session lock) and for a backfill runner's lease (a row it renews)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from migrator.execute import DATABASE_ERRORS


class Lock(Protocol):
    wait_event: str  # logged (info) once, when the lock is taken and acquire() has to wait
    release_failed_event: str  # logged (warning) when giving the lock back fails

    def acquire(self, on_wait: Callable[..., None]):
        """Take the lock, calling ``on_wait(**fields)`` before the first wait, or raise
        LockTimeout; returns what the block needs to know of it."""

    def release(self) -> None:
        """Give the lock back."""

    def release_failed(self, exc: BaseException) -> dict:
        """The fields of the warning when ``release`` raised ``exc``."""


@contextmanager
def held(lock: Lock, log) -> Iterator:
    """Take ``lock`` for the block and give it back after. A release that fails on the
    database (the connection is gone) is a warning, not an error: the lock ends by itself
    then, a session lock with its connection, a lease when it runs out."""
    taken = lock.acquire(on_wait=lambda **fields: log.info(lock.wait_event, **fields))
    try:
        yield taken
    finally:
        try:
            lock.release()
        except DATABASE_ERRORS as exc:
            log.warning(lock.release_failed_event, **lock.release_failed(exc))
