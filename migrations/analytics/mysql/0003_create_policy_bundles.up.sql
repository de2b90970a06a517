-- Policy bundles: versioned sets of access / masking / retention rules, bound to managed tables.
-- A bundle version is immutable once published; a new version is a new row.

CREATE TABLE policy_bundles (
    id                 BIGINT       NOT NULL AUTO_INCREMENT,
    organisation_id    BIGINT       NOT NULL,
    name               VARCHAR(191) NOT NULL,
    bundle_version     INT          NOT NULL DEFAULT 1,
    status             VARCHAR(16)  NOT NULL DEFAULT 'draft',
    rules              JSON         NOT NULL DEFAULT ('[]'),
    checksum_sha256    CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NULL,
    created_by_user_id BIGINT       NULL,
    published_at       DATETIME(6)  NULL,
    created_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_policy_bundles_org_name_version UNIQUE KEY (organisation_id, name, bundle_version),
    CONSTRAINT ck_policy_bundles_status CHECK (status IN ('draft', 'active', 'retired')),
    CONSTRAINT ck_policy_bundles_published CHECK (status = 'draft' OR published_at IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE policy_bundle_bindings (
    id               BIGINT      NOT NULL AUTO_INCREMENT,
    policy_bundle_id BIGINT      NOT NULL,
    managed_table_id BIGINT      NOT NULL,
    enforcement      VARCHAR(16) NOT NULL DEFAULT 'enforce',
    created_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_policy_bundle_bindings_bundle_table UNIQUE KEY (policy_bundle_id, managed_table_id),
    KEY ix_policy_bundle_bindings_table (managed_table_id),
    CONSTRAINT ck_policy_bundle_bindings_enforcement CHECK (enforcement IN ('audit', 'enforce')),
    CONSTRAINT fk_policy_bundle_bindings_bundle FOREIGN KEY (policy_bundle_id)
        REFERENCES policy_bundles (id) ON DELETE CASCADE,
    CONSTRAINT fk_policy_bundle_bindings_table FOREIGN KEY (managed_table_id)
        REFERENCES managed_tables (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
