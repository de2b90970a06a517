-- Secrets metadata only: the values live in the external store (Vault, a cloud secret manager
-- or Kubernetes); this table records where, who created it and when it rotates.
-- A secret name is used in env-file style references, so it may not contain a semicolon.

CREATE TABLE secrets (
    id                     INTEGER CONSTRAINT pk_secrets PRIMARY KEY AUTOINCREMENT,
    workspace_id           INTEGER NOT NULL,
    name                   TEXT NOT NULL,
    provider               TEXT NOT NULL DEFAULT 'vault',
    external_ref           TEXT NOT NULL,
    current_version        INTEGER NOT NULL DEFAULT 1,
    rotation_interval_days INTEGER NULL,
    last_rotated_at        TEXT NULL,
    expires_at             TEXT NULL,
    created_by_user_id     INTEGER NULL,
    created_at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_secrets_workspace_name UNIQUE (workspace_id, name),
    CONSTRAINT ck_secrets_name CHECK (name <> '' AND name NOT LIKE '%;%'),
    CONSTRAINT ck_secrets_provider CHECK (provider IN ('vault', 'aws-secrets-manager', 'gcp-secret-manager', 'kubernetes')),
    CONSTRAINT ck_secrets_current_version CHECK (current_version >= 1),
    CONSTRAINT fk_secrets_workspace FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE,
    CONSTRAINT fk_secrets_created_by FOREIGN KEY (created_by_user_id)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX ix_secrets_expires_at ON secrets (expires_at);
CREATE INDEX ix_secrets_created_by ON secrets (created_by_user_id);

CREATE TRIGGER trg_secrets_updated_at
AFTER UPDATE ON secrets
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE secrets SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
