-- Users are global (one login across organisations); memberships grant a role in one workspace.
-- full_name is superseded by display_name (expand/contract: 0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE users (
    id            INTEGER CONSTRAINT pk_users PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL,
    full_name     TEXT NULL,
    password_hash TEXT NULL,
    status        TEXT NOT NULL DEFAULT 'active',
    mfa_enabled   INTEGER NOT NULL DEFAULT 0,
    last_login_at TEXT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_users_email UNIQUE (email),
    CONSTRAINT ck_users_email_lowercase CHECK (email = lower(email)),
    CONSTRAINT ck_users_status CHECK (status IN ('invited', 'active', 'suspended', 'deleted')),
    CONSTRAINT ck_users_mfa_enabled CHECK (mfa_enabled IN (0, 1))
);

CREATE TRIGGER trg_users_updated_at
AFTER UPDATE ON users
FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE users SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;

CREATE TABLE memberships (
    id                 INTEGER CONSTRAINT pk_memberships PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER NOT NULL,
    workspace_id       INTEGER NOT NULL,
    role               TEXT NOT NULL DEFAULT 'member',
    invited_by_user_id INTEGER NULL,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_memberships_user_workspace UNIQUE (user_id, workspace_id),
    CONSTRAINT ck_memberships_role CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    CONSTRAINT fk_memberships_user FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_memberships_workspace FOREIGN KEY (workspace_id)
        REFERENCES workspaces (id) ON DELETE CASCADE,
    CONSTRAINT fk_memberships_invited_by FOREIGN KEY (invited_by_user_id)
        REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX ix_memberships_workspace ON memberships (workspace_id);
CREATE INDEX ix_memberships_invited_by ON memberships (invited_by_user_id);

-- Member counts per workspace, for the admin console.
CREATE VIEW workspace_member_counts AS
SELECT w.id              AS workspace_id,
       w.organisation_id AS organisation_id,
       count(m.id)       AS member_count
  FROM workspaces w
  LEFT JOIN memberships m ON m.workspace_id = w.id
 GROUP BY w.id, w.organisation_id;
