"""Resumable background backfills: batches over key ranges, a checkpoint per batch, a lease per runner.

A backfill is declared in ``migrations/<service>/backfills/<name>.toml`` and fills
derived data one key range ``[lo, hi)`` at a time, each range in its own short
transaction together with its checkpoint row in ``<prefix>_backfills``. A runner
killed at any moment (SIGKILL included) loses at most the batch in flight, and no
row is processed twice: the batch and the checkpoint commit or roll back together.

The declaration (``declaration``), the checkpoint table (``store``), the runner of one
backfill (``job``) and the ``migrator backfill`` subcommands (``commands``).
"""

from __future__ import annotations

from migrator.backfill.commands import command
from migrator.backfill.declaration import Backfill, bind_sql, load_backfills, parse_declaration
from migrator.backfill.job import next_batch_size
from migrator.backfill.store import Checkpoint, Checkpoints

__all__ = ["Backfill", "Checkpoint", "Checkpoints", "bind_sql", "command", "load_backfills",
           "next_batch_size", "parse_declaration"]
