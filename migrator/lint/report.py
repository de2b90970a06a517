"""Rendering findings: grep-able text lines or one JSON object."""

from __future__ import annotations

import json
from dataclasses import asdict

from migrator.lint.engine import Finding


def _line(f: Finding) -> str:
    return (f"{f.path}:{f.line}: [{f.rule}] {f.message.rstrip('.')}: {f.why.rstrip('.')} "
            f"— safe alternative: {f.alternative}")


def render_text(findings: list[Finding]) -> str:
    """One line per finding (``path:line: [rule] ...``) and a summary line."""
    if not findings:
        return "Lint: no findings."
    files = len({f.path for f in findings})
    noun = "finding" if len(findings) == 1 else "findings"
    summary = f"Lint: {len(findings)} {noun} in {files} file{'s' if files != 1 else ''}."
    return "\n".join([_line(f) for f in findings] + [summary])


def render_json(findings: list[Finding]) -> str:
    """``{"findings": [{path, line, rule, message, why, alternative, dialect, service, version}], "count": n}``."""
    rows = [{**asdict(f), "path": str(f.path)} for f in findings]
    return json.dumps({"findings": rows, "count": len(rows)}, indent=2, ensure_ascii=False)
