-- Workflows are versioned DAG definitions owned by a workspace; every execution is a workflow run.
-- organisation_id / workspace_id / *_user_id refer to the auth service, which may live in another
-- database: they are plain columns, not foreign keys. JSON is stored as TEXT.

CREATE TABLE workflows (
    id                 INTEGER CONSTRAINT pk_workflows PRIMARY KEY AUTOINCREMENT,
    organisation_id    INTEGER NOT NULL,
    workspace_id       INTEGER NOT NULL,
    slug               TEXT NOT NULL,
    name               TEXT NOT NULL,
    description        TEXT NULL,
    definition         TEXT NOT NULL DEFAULT '{}',
    status             TEXT NOT NULL DEFAULT 'draft',
    revision           INTEGER NOT NULL DEFAULT 1,
    created_by_user_id INTEGER NULL,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_workflows_workspace_slug UNIQUE (workspace_id, slug),
    CONSTRAINT ck_workflows_status CHECK (status IN ('draft', 'published', 'archived')),
    CONSTRAINT ck_workflows_revision CHECK (revision >= 1)
);

CREATE INDEX ix_workflows_organisation ON workflows (organisation_id);

CREATE TABLE workflow_runs (
    id                   INTEGER CONSTRAINT pk_workflow_runs PRIMARY KEY AUTOINCREMENT,
    workflow_id          INTEGER NOT NULL,
    workflow_revision    INTEGER NOT NULL,
    status               TEXT NOT NULL DEFAULT 'queued',
    triggered_by         TEXT NOT NULL DEFAULT 'manual',
    triggered_by_user_id INTEGER NULL,
    input                TEXT NOT NULL DEFAULT '{}',
    output               TEXT NULL,
    error_message        TEXT NULL,
    started_at           TEXT NULL,
    finished_at          TEXT NULL,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT ck_workflow_runs_status CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT ck_workflow_runs_triggered_by CHECK (triggered_by IN ('manual', 'schedule', 'webhook', 'event', 'api')),
    CONSTRAINT fk_workflow_runs_workflow FOREIGN KEY (workflow_id)
        REFERENCES workflows (id) ON DELETE CASCADE
);

CREATE INDEX ix_workflow_runs_workflow_created ON workflow_runs (workflow_id, created_at);
CREATE INDEX ix_workflow_runs_status ON workflow_runs (status);
