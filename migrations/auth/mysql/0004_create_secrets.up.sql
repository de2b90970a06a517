-- Secrets metadata only: the values live in the external store (Vault, a cloud secret manager
-- or Kubernetes); this table records where, who created it and when it rotates.
-- A secret name is used in env-file style references, so it may not contain a semicolon.

CREATE TABLE secrets (
    id                     BIGINT       NOT NULL AUTO_INCREMENT,
    workspace_id           BIGINT       NOT NULL,
    name                   VARCHAR(128) NOT NULL,
    provider               VARCHAR(32)  NOT NULL DEFAULT 'vault',
    external_ref           VARCHAR(1024) NOT NULL,
    current_version        INT          NOT NULL DEFAULT 1,
    rotation_interval_days INT          NULL,
    last_rotated_at        DATETIME(6)  NULL,
    expires_at             DATETIME(6)  NULL,
    created_by_user_id     BIGINT       NULL,
    created_at             DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at             DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_secrets_workspace_name UNIQUE KEY (workspace_id, name),
    KEY ix_secrets_expires_at (expires_at),
    KEY ix_secrets_created_by (created_by_user_id),
    CONSTRAINT ck_secrets_name CHECK (name <> '' AND name NOT LIKE '%;%'),
    CONSTRAINT ck_secrets_provider CHECK (provider IN ('vault', 'aws-secrets-manager', 'gcp-secret-manager', 'kubernetes')),
    CONSTRAINT ck_secrets_current_version CHECK (current_version >= 1),
    CONSTRAINT fk_secrets_workspace FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE,
    CONSTRAINT fk_secrets_created_by FOREIGN KEY (created_by_user_id)
        REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
