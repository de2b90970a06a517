-- Policy bundles: versioned sets of access / masking / retention rules, bound to managed tables.
-- A bundle version is immutable once published; a new version is a new row.

CREATE TABLE policy_bundles (
    id                 INTEGER CONSTRAINT pk_policy_bundles PRIMARY KEY AUTOINCREMENT,
    organisation_id    INTEGER NOT NULL,
    name               TEXT NOT NULL,
    bundle_version     INTEGER NOT NULL DEFAULT 1,
    status             TEXT NOT NULL DEFAULT 'draft',
    rules              TEXT NOT NULL DEFAULT '[]',
    checksum_sha256    TEXT NULL,
    created_by_user_id INTEGER NULL,
    published_at       TEXT NULL,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_policy_bundles_org_name_version UNIQUE (organisation_id, name, bundle_version),
    CONSTRAINT ck_policy_bundles_status CHECK (status IN ('draft', 'active', 'retired')),
    CONSTRAINT ck_policy_bundles_published CHECK (status = 'draft' OR published_at IS NOT NULL)
);

CREATE TABLE policy_bundle_bindings (
    id               INTEGER CONSTRAINT pk_policy_bundle_bindings PRIMARY KEY AUTOINCREMENT,
    policy_bundle_id INTEGER NOT NULL,
    managed_table_id INTEGER NOT NULL,
    enforcement      TEXT NOT NULL DEFAULT 'enforce',
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_policy_bundle_bindings_bundle_table UNIQUE (policy_bundle_id, managed_table_id),
    CONSTRAINT ck_policy_bundle_bindings_enforcement CHECK (enforcement IN ('audit', 'enforce')),
    CONSTRAINT fk_policy_bundle_bindings_bundle FOREIGN KEY (policy_bundle_id)
        REFERENCES policy_bundles (id) ON DELETE CASCADE,
    CONSTRAINT fk_policy_bundle_bindings_table FOREIGN KEY (managed_table_id)
        REFERENCES managed_tables (id) ON DELETE CASCADE
);

CREATE INDEX ix_policy_bundle_bindings_table ON policy_bundle_bindings (managed_table_id);
