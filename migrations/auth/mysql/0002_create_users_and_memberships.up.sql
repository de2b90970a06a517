-- Users are global (one login across organisations); memberships grant a role in one workspace.
-- full_name is superseded by display_name (expand/contract: 0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE users (
    id            BIGINT       NOT NULL AUTO_INCREMENT,
    email         VARCHAR(191) COLLATE utf8mb4_bin NOT NULL,
    full_name     VARCHAR(255) NULL,
    password_hash VARCHAR(255) NULL,
    status        VARCHAR(16)  NOT NULL DEFAULT 'active',
    mfa_enabled   BOOLEAN      NOT NULL DEFAULT FALSE,
    last_login_at DATETIME(6)  NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_users_email UNIQUE KEY (email),
    CONSTRAINT ck_users_email_lowercase CHECK (email = LOWER(email)),
    CONSTRAINT ck_users_status CHECK (status IN ('invited', 'active', 'suspended', 'deleted'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE memberships (
    id                 BIGINT      NOT NULL AUTO_INCREMENT,
    user_id            BIGINT      NOT NULL,
    workspace_id       BIGINT      NOT NULL,
    role               VARCHAR(16) NOT NULL DEFAULT 'member',
    invited_by_user_id BIGINT      NULL,
    created_at         DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_memberships_user_workspace UNIQUE KEY (user_id, workspace_id),
    KEY ix_memberships_workspace (workspace_id),
    KEY ix_memberships_invited_by (invited_by_user_id),
    CONSTRAINT ck_memberships_role CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    CONSTRAINT fk_memberships_user FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_memberships_workspace FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE,
    CONSTRAINT fk_memberships_invited_by FOREIGN KEY (invited_by_user_id)
        REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Member counts per workspace, for the admin console.
CREATE VIEW workspace_member_counts AS
SELECT w.id              AS workspace_id,
       w.organisation_id AS organisation_id,
       COUNT(m.id)       AS member_count
  FROM workspaces w
  LEFT JOIN memberships m ON m.workspace_id = w.id
 GROUP BY w.id, w.organisation_id;
