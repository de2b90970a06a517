-- Tenancy root: an organisation owns workspaces; every other platform object hangs off a workspace.
-- Slugs use a binary collation so that the lowercase CHECK is case-sensitive.

CREATE TABLE organisations (
    id            BIGINT       NOT NULL AUTO_INCREMENT,
    slug          VARCHAR(63)  COLLATE utf8mb4_bin NOT NULL,
    name          VARCHAR(255) NOT NULL,
    plan          VARCHAR(32)  NOT NULL DEFAULT 'free',
    billing_email VARCHAR(320) NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_organisations_slug UNIQUE KEY (slug),
    CONSTRAINT ck_organisations_slug CHECK (slug REGEXP '^[a-z0-9][a-z0-9-]{1,62}$'),
    CONSTRAINT ck_organisations_plan CHECK (plan IN ('free', 'team', 'enterprise'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE workspaces (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    organisation_id BIGINT       NOT NULL,
    slug            VARCHAR(63)  COLLATE utf8mb4_bin NOT NULL,
    name            VARCHAR(255) NOT NULL,
    region          VARCHAR(32)  NOT NULL DEFAULT 'eu-west-1',
    archived_at     DATETIME(6)  NULL,
    created_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_workspaces_organisation_slug UNIQUE KEY (organisation_id, slug),
    KEY ix_workspaces_archived_at (archived_at),
    CONSTRAINT ck_workspaces_slug CHECK (slug REGEXP '^[a-z0-9][a-z0-9-]{1,62}$'),
    CONSTRAINT fk_workspaces_organisation FOREIGN KEY (organisation_id)
        REFERENCES organisations (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
