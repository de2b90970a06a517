-- Workflows are versioned DAG definitions owned by a workspace; every execution is a workflow run.
-- organisation_id / workspace_id / *_user_id refer to the auth service, which may live in another
-- database: they are plain columns, not foreign keys.

CREATE TABLE workflows (
    id                 BIGINT       NOT NULL AUTO_INCREMENT,
    organisation_id    BIGINT       NOT NULL,
    workspace_id       BIGINT       NOT NULL,
    slug               VARCHAR(100) COLLATE utf8mb4_bin NOT NULL,
    name               VARCHAR(255) NOT NULL,
    description        TEXT         NULL,
    definition         JSON         NOT NULL DEFAULT ('{}'),
    status             VARCHAR(16)  NOT NULL DEFAULT 'draft',
    revision           INT          NOT NULL DEFAULT 1,
    created_by_user_id BIGINT       NULL,
    created_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_workflows_workspace_slug UNIQUE KEY (workspace_id, slug),
    KEY ix_workflows_organisation (organisation_id),
    CONSTRAINT ck_workflows_status CHECK (status IN ('draft', 'published', 'archived')),
    CONSTRAINT ck_workflows_revision CHECK (revision >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE workflow_runs (
    id                   BIGINT      NOT NULL AUTO_INCREMENT,
    workflow_id          BIGINT      NOT NULL,
    workflow_revision    INT         NOT NULL,
    status               VARCHAR(16) NOT NULL DEFAULT 'queued',
    triggered_by         VARCHAR(16) NOT NULL DEFAULT 'manual',
    triggered_by_user_id BIGINT      NULL,
    input                JSON        NOT NULL DEFAULT ('{}'),
    output               JSON        NULL,
    error_message        TEXT        NULL,
    started_at           DATETIME(6) NULL,
    finished_at          DATETIME(6) NULL,
    created_at           DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY ix_workflow_runs_workflow_created (workflow_id, created_at),
    KEY ix_workflow_runs_status (status),
    CONSTRAINT ck_workflow_runs_status CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT ck_workflow_runs_triggered_by CHECK (triggered_by IN ('manual', 'schedule', 'webhook', 'event', 'api')),
    CONSTRAINT fk_workflow_runs_workflow FOREIGN KEY (workflow_id)
        REFERENCES workflows (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
