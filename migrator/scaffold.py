"""``migrator new``: the next version's empty up and down files, in every dialect folder of
a service, numbered the way the service already numbers its migrations."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from migrator.errors import UsageError
from migrator.dialects import DIALECTS
from migrator.source import FILE_NAME, Service

TIMESTAMP = "%Y%m%d%H%M%S"
TITLE_MAX = 80


def slug(title: str) -> str:
    """``title`` in the characters a migration file name allows, lower-case, words joined by
    ``_`` (accents dropped: ``Add café`` is ``add_cafe``)."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9.-]+", "_", ascii_text.lower())
    text = text[:TITLE_MAX].strip("_.-")
    if not text:
        raise UsageError(f"invalid migration title {title!r}: it needs at least one ASCII letter or digit")
    return text


def dialect_folders(service: Service) -> list[Path]:
    folders = [service.root / d for d in DIALECTS if (service.root / d).is_dir()]
    if not folders:
        raise UsageError(f"service {service.name!r} has no dialect folder ({', '.join(DIALECTS)}) "
                         f"under {service.root}")
    return folders


def existing_versions(folders: list[Path]) -> list[str]:
    """The version strings of the migration files in ``folders``, as written."""
    return [m["version"] for folder in folders for path in folder.iterdir()
            if (m := FILE_NAME.match(path.name))]


def is_timestamp(version: str) -> bool:
    if len(version) != 14:
        return False
    try:
        datetime.strptime(version, TIMESTAMP)
    except ValueError:
        return False
    return True


def next_version(versions: list[str], now: datetime) -> str:
    """A timestamp (UTC, now, or one past the newest) when the service numbers by timestamp;
    else the next number of its sequence, zero-padded as wide as its widest version."""
    if not versions:
        return "0001"
    newest = max(int(v) for v in versions)
    if all(is_timestamp(v) for v in versions):
        return str(max(int(now.strftime(TIMESTAMP)), newest + 1))
    return str(newest + 1).zfill(max(len(v) for v in versions))


def new_migration(service: Service, title: str, now: datetime | None = None) -> list[Path]:
    """Write the files and return their paths; a forward-only service gets no down files."""
    name = slug(title)
    folders = dialect_folders(service)
    version = next_version(existing_versions(folders), now or datetime.now(timezone.utc))
    directions = ("up",) if service.forward_only else ("up", "down")
    written = []
    for folder in folders:
        for direction in directions:
            path = folder / f"{version}_{name}.{direction}.sql"
            with open(path, "x", encoding="utf-8") as f:  # never overwrite a file
                f.write(f"-- {version}_{name}: the {direction} migration for {folder.name}\n")
            written.append(path)
    return written
