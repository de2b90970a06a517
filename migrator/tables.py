"""The migrator's own tables, per service: tracking (``<prefix>_migrations``), events
(``<prefix>_migration_events``) and backfill checkpoints (``<prefix>_backfills``).

The column types are the ones earlier releases created, so their tables are read and
written as they are: on MySQL the JSON lists are LONGTEXT and moments DATETIME(6) in UTC,
on SQLite flags are INTEGER and moments ISO-8601 text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache

from sqlalchemy import CHAR, BigInteger, Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, text
from sqlalchemy.dialects.mysql import DATETIME, LONGTEXT
from sqlalchemy.types import TypeDecorator

BIGINT = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER: SQLite's own 64-bit integer (and rowid)
NAME = String(255)
FLAG = Boolean().with_variant(Integer(), "sqlite")
LONG_TEXT = Text().with_variant(LONGTEXT(), "mysql")
FALSE = text("FALSE")
ZERO = text("0")


class Moment(TypeDecorator):
    """A moment in UTC: TIMESTAMPTZ, MySQL's DATETIME(6) holding UTC, SQLite's ISO-8601 text.
    Always read back as a timezone-aware datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        if dialect.name == "mysql":
            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return value.isoformat(timespec="microseconds")
        if dialect.name == "mysql":
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@dataclass(frozen=True)
class OwnTables:
    metadata: MetaData
    migrations: Table
    events: Table
    backfills: Table


@cache
def own_tables(prefix: str) -> OwnTables:
    """The three tables of the service with this table prefix."""
    metadata = MetaData()
    migrations = Table(
        f"{prefix}_migrations", metadata,
        Column("version", BIGINT, primary_key=True, autoincrement=False),
        Column("name", NAME, nullable=False),
        Column("checksum", CHAR(64), nullable=False),
        Column("applied_at", Moment(), nullable=False),
        Column("execution_ms", BIGINT, nullable=False, server_default=ZERO),
        Column("dirty", FLAG, nullable=False, server_default=FALSE),
        Column("forced", FLAG, nullable=False, server_default=FALSE),
        Column("objects_created", LONG_TEXT),  # JSON lists of object strings
        Column("objects_dropped", LONG_TEXT),
    )
    events = Table(
        f"{prefix}_migration_events", metadata,
        Column("id", BIGINT, primary_key=True),
        Column("event", NAME, nullable=False),
        Column("version", BIGINT),
        Column("created_at", Moment(), nullable=False),
        Column("detail", LONG_TEXT, nullable=False),  # a JSON object
        sqlite_autoincrement=True,
    )
    backfills = Table(
        f"{prefix}_backfills", metadata,
        Column("name", NAME, primary_key=True),
        Column("status", NAME, nullable=False),
        Column("last_key", BIGINT),
        Column("rows_done", BIGINT, nullable=False, server_default=ZERO),
        Column("total_estimate", BIGINT),
        Column("started_at", Moment()),
        Column("updated_at", Moment(), nullable=False),
        Column("completed_at", Moment()),
        Column("error", LONG_TEXT),
        Column("runner", NAME),  # the lease: added to tables of releases before it
        Column("heartbeat_at", Moment()),
        Column("lease_until", Moment()),
    )
    return OwnTables(metadata, migrations, events, backfills)
