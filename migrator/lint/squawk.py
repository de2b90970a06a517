"""Running the real ``squawk`` linter (PyPI ``squawk-cli``) on PostgreSQL migration files.

squawk is looked up next to the running Python first (the same venv), then on PATH. It
runs with an empty config file so that a ``.squawk.toml`` somewhere above the working
directory cannot change which rules run; the rules that count are chosen in
:mod:`migrator.lint.catalogue`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from migrator.errors import MigratorError

_BATCH = 200  # files per squawk process (keeps the command line short)
_TIMEOUT = 300


def squawk_executable() -> str | None:
    """Path of the squawk binary of this venv, else the one on PATH, else None."""
    local = Path(sys.executable).parent / "squawk"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("squawk")


def squawk_version(executable: str) -> str:
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or "squawk (unknown version)"


def _run(executable: str, paths: list[Path], in_transaction: bool, workdir: Path) -> list[dict]:
    config = workdir / "squawk.toml"
    config.touch()
    args = [executable, "--reporter", "json", "--config", str(config),
            *(["--assume-in-transaction"] if in_transaction else []), *[str(p) for p in paths]]
    try:
        done = subprocess.run(args, capture_output=True, text=True, cwd=workdir, timeout=_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MigratorError(f"squawk could not run: {exc}") from None
    try:
        report = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        report = None
    if done.returncode not in (0, 1) or not isinstance(report, list):
        raise MigratorError(f"squawk failed (exit {done.returncode}): "
                            f"{(done.stderr or done.stdout).strip()[:500]}",
                            hint="reinstall squawk-cli, or uninstall it to use the built-in rules")
    return report


def run_squawk(executable: str, files: list[tuple[Path, bool]]) -> dict[Path, list[dict]]:
    """Violations per file; ``files`` pairs each path with "runs inside a transaction".

    Each violation is squawk's JSON object (``line`` and ``column`` are 0-based).
    """
    by_name = {str(path.resolve()): path for path, _ in files}
    out: dict[Path, list[dict]] = {path: [] for path, _ in files}
    with tempfile.TemporaryDirectory(prefix="migrator-squawk-") as tmp:
        for in_tx in (True, False):
            group = sorted({str(p.resolve()) for p, tx in files if tx == in_tx})
            for i in range(0, len(group), _BATCH):
                batch = [Path(p) for p in group[i:i + _BATCH]]
                for violation in _run(executable, batch, in_tx, Path(tmp)):
                    path = by_name.get(str(violation.get("file")))
                    if path is not None:
                        out[path].append(violation)
    return out
