"""values.yaml documents every value (`# --` comments, helm-docs style) and
values.schema.json knows every key that values.yaml has. No helm binary needed."""

from __future__ import annotations

import json
import re

import yaml

from chart_helpers import CHART_DIR, SERVICES

VALUES_TEXT = (CHART_DIR / "values.yaml").read_text()
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z][\w.-]*):(?P<rest>.*)$")


def documented_keys() -> tuple[list[str], list[str]]:
    """(documented, undocumented) dotted key paths. A key is documented when the comment
    block right above it, or above one of its ancestors, has a `# --` line."""
    documented, undocumented = [], []
    stack: list[tuple[int, str, bool]] = []  # (indent, key, documented)
    comments: list[str] = []
    for line in VALUES_TEXT.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped)
            continue
        match = KEY_LINE.match(line)
        if not match:
            if not stripped:
                comments = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        here = any(c.startswith("# --") for c in comments)
        inherited = any(doc for _, _, doc in stack)
        path = ".".join([k for _, k, _ in stack] + [match["key"]])
        (documented if here or inherited else undocumented).append(path)
        stack.append((indent, match["key"], here or inherited))
        comments = []
    return documented, undocumented


def test_every_value_is_documented():
    documented, undocumented = documented_keys()
    leaves = [p for p in undocumented if not any(d.startswith(p + ".") for d in documented + undocumented)]
    assert leaves == [], f"values without a `# --` comment: {leaves}"
    assert "auth.migration.repairTracking" in documented


def resolve(node: dict) -> dict:
    while "$ref" in node:
        node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def missing_from_schema(values: dict, node: dict, path: str = "") -> list[str]:
    node = resolve(node)
    missing = []
    for key, value in values.items():
        props = node.get("properties", {})
        if key in props:
            child = props[key]
        elif isinstance(node.get("additionalProperties"), dict):
            child = node["additionalProperties"]
        else:
            if node.get("properties") is not None or node.get("additionalProperties") is False:
                missing.append(f"{path}{key}")
            continue
        if isinstance(value, dict) and value:
            missing += missing_from_schema(value, child, f"{path}{key}.")
    return missing


def test_schema_knows_every_value():
    values = yaml.safe_load(VALUES_TEXT)
    assert missing_from_schema(values, SCHEMA) == []


def test_migration_and_backfill_blocks_are_closed():
    for name in ("migration", "backfill", "service"):
        assert SCHEMA["definitions"][name]["additionalProperties"] is False
    database = SCHEMA["definitions"]["migration"]["properties"]["database"]
    assert database["additionalProperties"] is False
    assert set(database["properties"]) == {"existingSecret", "secretKey", "dsn"}


def test_every_shipped_service_has_the_same_block():
    values = yaml.safe_load(VALUES_TEXT)
    assert values["services"] == SERVICES
    shapes = {s: (sorted(values[s]["migration"]), sorted(values[s]["backfill"])) for s in SERVICES}
    assert len(set(map(repr, shapes.values()))) == 1, shapes
    for s in SERVICES:
        assert values[s]["migration"]["database"] == {"existingSecret": "", "secretKey": "dsn", "dsn": ""}
        assert values[s]["migration"]["enabled"] is True
        assert values[s]["migration"]["repairTracking"] is False
        assert values[s]["backfill"]["enabled"] is False
        assert values[s]["backfill"]["backoffLimit"] == 3


def test_hook_delete_policy_default_keeps_logs():
    values = yaml.safe_load(VALUES_TEXT)
    assert values["hookDeletePolicy"] == "before-hook-creation"
    assert values["tests"]["hookDeletePolicy"] == "before-hook-creation"
    assert "ttlSecondsAfterFinished" not in values
