"""values.schema.json and the chart's own checks reject bad values: `helm template`
(and so `helm install`/`upgrade`) fails with a message that names the problem."""

from __future__ import annotations

import pytest

from chart_helpers import CHART_DIR, SERVICE_LABEL, labels, migration_jobs

BAD_VALUES = {
    # a typo in a migration block: the flag would silently stay off
    "typo in repairTracking": ({"analytics.migration.repairTraking": True}, "repairTraking"),
    "typo in database block": ({"auth.migration.database.existingSecrets": "x"}, "existingSecrets"),
    "unknown key in backfill block": ({"cortex.backfill.enable": True}, "enable"),
    "unknown key in service block": ({"cortex.migrations.enabled": False}, "migrations"),
    "string for a boolean": ({"auth.migration.enabled": "yes"}, "enabled"),
    "string for repairTracking": ({"auth.migration.repairTracking": "true"}, "repairTracking"),
    "string for backoffLimit": ({"auth.backfill.backoffLimit": "3"}, "backoffLimit"),
    "negative backoffLimit": ({"auth.backfill.backoffLimit": -1}, "backoffLimit"),
    "unknown log format": ({"logFormat": "xml"}, "logFormat"),
    "bad hook delete policy": ({"hookDeletePolicy": "always"}, "hookDeletePolicy"),
    "bad digest": ({"image.digest": "latest"}, "digest"),
    "string for lockTimeout": ({"lockTimeout": "300s"}, "lockTimeout"),
    "typo in image block": ({"image.tags": "1.0"}, "tags"),
    "services not a list": ({"services": "auth"}, "services"),
    "string for connectTimeout": ({"connectTimeout": "60s"}, "connectTimeout"),
    "negative ddlLockTimeout": ({"auth.migration.ddlLockTimeout": -1}, "ddlLockTimeout"),
    "fractional ddlLockRetries": ({"ddlLockRetries": 2.5}, "ddlLockRetries"),
    "negative service ddlLockRetries": ({"auth.migration.ddlLockRetries": -1}, "ddlLockRetries"),
    "string for progressInterval": ({"progressInterval": "30s"}, "progressInterval"),
    "negative service progressInterval": ({"cortex.migration.progressInterval": -5}, "progressInterval"),
    "string for migration backoffLimit": ({"cortex.migration.backoffLimit": "1"}, "backoffLimit"),
    "extraArgs not a list of strings": ({"auth.migration.extraArgs": [1]}, "extraArgs"),
    "extraArgs as one string": ({"auth.migration.extraArgs": "--log-level debug"}, "extraArgs"),
}


@pytest.mark.parametrize("values, needle", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects(helm, values, needle):
    proc = helm.template_raw(set_values=values)
    assert proc.returncode != 0, proc.stdout[:500]
    assert "schema" in proc.stderr
    assert needle in proc.stderr


def test_set_flag_typo_fails_like_the_issue_says(helm):
    """The exact command line from the issue: --set with a typo."""
    proc = helm.run("template", "platform", str(CHART_DIR), "--set", "analytics.migration.repairTraking=true")
    assert proc.returncode != 0
    assert "repairTraking" in proc.stderr


def test_top_level_scalar_typo_is_an_unknown_key(helm):
    """`--set lockTimout=600`: the message names the unknown key, not a type mismatch."""
    proc = helm.run("template", "platform", str(CHART_DIR), "--set", "lockTimout=600")
    assert proc.returncode != 0
    assert 'unknown values key "lockTimout"' in proc.stderr
    assert "object" not in proc.stderr, proc.stderr


CHART_CHECKS = {
    "top-level typo": ({"analytic": {"migration": {"enabled": False}}}, 'unknown values key "analytic"'),
    "top-level scalar typo": ({"connectTimout": 30}, 'unknown values key "connectTimout"'),
    "top-level list typo": ({"extraEnvs": [{"name": "A"}]}, 'unknown values key "extraEnvs"'),
    "service listed without a block": ({"services": ["auth", "billing"]}, "billing"),
    "dsn and existingSecret": (
        {"auth.migration.database.dsn": "sqlite:////tmp/a.db", "auth.migration.database.existingSecret": "s"},
        "not both",
    ),
    "deadline not above lock timeout": ({"lockTimeout": 600, "activeDeadlineSeconds": 600}, "lockTimeout"),
}


@pytest.mark.parametrize("values, needle", CHART_CHECKS.values(), ids=CHART_CHECKS.keys())
def test_chart_checks_reject(helm, values, needle):
    proc = helm.template_raw(set_values=values)
    assert proc.returncode != 0, proc.stdout[:500]
    assert needle in proc.stderr


def test_a_new_service_can_be_added(helm):
    docs = helm.template(
        set_values={"services": ["auth", "billing"], "billing": {"migration": {"enabled": True}}}
    )
    assert [labels(j)[SERVICE_LABEL] for j in migration_jobs(docs)] == ["auth", "billing"]


def test_parent_chart_condition_key_is_accepted(helm):
    """`condition: migrator.enabled` in a parent chart puts `enabled` in our values."""
    assert helm.template(set_values={"enabled": True})
