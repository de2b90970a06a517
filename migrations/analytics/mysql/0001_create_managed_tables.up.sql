-- Catalogue of the tables the platform manages in the lakehouse, three-level names
-- catalog.schema.table per workspace, and their columns.
-- location is superseded by storage_uri (0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE managed_tables (
    id              BIGINT        NOT NULL AUTO_INCREMENT,
    organisation_id BIGINT        NOT NULL,
    workspace_id    BIGINT        NOT NULL,
    catalog_name    VARCHAR(128)  NOT NULL DEFAULT 'main',
    schema_name     VARCHAR(128)  NOT NULL,
    table_name      VARCHAR(128)  NOT NULL,
    storage_format  VARCHAR(16)   NOT NULL DEFAULT 'delta',
    location        VARCHAR(2048) NULL,
    owner_user_id   BIGINT        NULL,
    description     TEXT          NULL,
    row_count       BIGINT        NULL,
    size_bytes      BIGINT        NULL,
    created_at      DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at      DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    dropped_at      DATETIME(6)   NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_managed_tables_qualified_name UNIQUE KEY (workspace_id, catalog_name, schema_name, table_name),
    KEY ix_managed_tables_organisation (organisation_id),
    KEY ix_managed_tables_owner (owner_user_id),
    CONSTRAINT ck_managed_tables_storage_format CHECK (storage_format IN ('delta', 'iceberg', 'parquet', 'csv')),
    CONSTRAINT ck_managed_tables_names CHECK (catalog_name <> '' AND schema_name <> '' AND table_name <> '')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE managed_table_columns (
    id               BIGINT       NOT NULL AUTO_INCREMENT,
    managed_table_id BIGINT       NOT NULL,
    ordinal_position INT          NOT NULL,
    column_name      VARCHAR(128) NOT NULL,
    data_type        VARCHAR(255) NOT NULL,
    is_nullable      BOOLEAN      NOT NULL DEFAULT TRUE,
    column_comment   TEXT         NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_managed_table_columns_name UNIQUE KEY (managed_table_id, column_name),
    CONSTRAINT uq_managed_table_columns_position UNIQUE KEY (managed_table_id, ordinal_position),
    CONSTRAINT ck_managed_table_columns_position CHECK (ordinal_position >= 1),
    CONSTRAINT fk_managed_table_columns_table FOREIGN KEY (managed_table_id)
        REFERENCES managed_tables (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
