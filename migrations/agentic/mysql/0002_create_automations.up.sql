-- An automation fires a workflow on a schedule, a webhook call or a platform event.
-- The scheduler polls (enabled, next_fire_at).

CREATE TABLE automations (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    workflow_id     BIGINT       NOT NULL,
    name            VARCHAR(191) NOT NULL,
    trigger_type    VARCHAR(16)  NOT NULL,
    cron_expression VARCHAR(120) NULL,
    timezone        VARCHAR(64)  NOT NULL DEFAULT 'UTC',
    event_filter    JSON         NULL,
    webhook_token   VARCHAR(64)  COLLATE utf8mb4_bin NULL,
    enabled         BOOLEAN      NOT NULL DEFAULT TRUE,
    last_fired_at   DATETIME(6)  NULL,
    next_fire_at    DATETIME(6)  NULL,
    created_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_automations_workflow_name UNIQUE KEY (workflow_id, name),
    CONSTRAINT uq_automations_webhook_token UNIQUE KEY (webhook_token),
    KEY ix_automations_enabled_next_fire (enabled, next_fire_at),
    CONSTRAINT ck_automations_trigger_type CHECK (trigger_type IN ('schedule', 'webhook', 'event')),
    CONSTRAINT ck_automations_schedule CHECK (trigger_type <> 'schedule' OR cron_expression IS NOT NULL),
    CONSTRAINT fk_automations_workflow FOREIGN KEY (workflow_id)
        REFERENCES workflows (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
