"""Helpers for the lint tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from migrator.lint import Finding, lint_services
from migrator.source import Service, load_service

CORPUS = Path(__file__).resolve().parent / "corpus"
REPO = Path(__file__).resolve().parents[2]


def corpus_service(case: str) -> Service:
    """``tests/lint/corpus/<case>`` is a service folder of its own."""
    return load_service(case, CORPUS / case)


def lint_case(case: str, dialect: str, *, use_squawk: bool = False) -> list[Finding]:
    return lint_services([corpus_service(case)], [dialect], use_squawk=use_squawk)


def found(findings: list[Finding]) -> set[tuple[str, int, str]]:
    """(file name, line, rule) of each finding."""
    return {(f.path.name, f.line, f.rule) for f in findings}
