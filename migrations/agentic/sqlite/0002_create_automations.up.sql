-- An automation fires a workflow on a schedule, a webhook call or a platform event.
-- The scheduler polls (enabled, next_fire_at).

CREATE TABLE automations (
    id              INTEGER CONSTRAINT pk_automations PRIMARY KEY AUTOINCREMENT,
    workflow_id     INTEGER NOT NULL,
    name            TEXT NOT NULL,
    trigger_type    TEXT NOT NULL,
    cron_expression TEXT NULL,
    timezone        TEXT NOT NULL DEFAULT 'UTC',
    event_filter    TEXT NULL,
    webhook_token   TEXT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    last_fired_at   TEXT NULL,
    next_fire_at    TEXT NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_automations_workflow_name UNIQUE (workflow_id, name),
    CONSTRAINT uq_automations_webhook_token UNIQUE (webhook_token),
    CONSTRAINT ck_automations_trigger_type CHECK (trigger_type IN ('schedule', 'webhook', 'event')),
    CONSTRAINT ck_automations_schedule CHECK (trigger_type <> 'schedule' OR cron_expression IS NOT NULL),
    CONSTRAINT ck_automations_enabled CHECK (enabled IN (0, 1)),
    CONSTRAINT fk_automations_workflow FOREIGN KEY (workflow_id)
        REFERENCES workflows (id) ON DELETE CASCADE
);

CREATE INDEX ix_automations_enabled_next_fire ON automations (enabled, next_fire_at);
