-- Catalogue of the tables the platform manages in the lakehouse, three-level names
-- catalog.schema.table per workspace, and their columns.
-- location is superseded by storage_uri (0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE managed_tables (
    id              INTEGER CONSTRAINT pk_managed_tables PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL,
    workspace_id    INTEGER NOT NULL,
    catalog_name    TEXT NOT NULL DEFAULT 'main',
    schema_name     TEXT NOT NULL,
    table_name      TEXT NOT NULL,
    storage_format  TEXT NOT NULL DEFAULT 'delta',
    location        TEXT NULL,
    owner_user_id   INTEGER NULL,
    description     TEXT NULL,
    row_count       INTEGER NULL,
    size_bytes      INTEGER NULL,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    dropped_at      TEXT NULL,
    CONSTRAINT uq_managed_tables_qualified_name UNIQUE (workspace_id, catalog_name, schema_name, table_name),
    CONSTRAINT ck_managed_tables_storage_format CHECK (storage_format IN ('delta', 'iceberg', 'parquet', 'csv')),
    CONSTRAINT ck_managed_tables_names CHECK (catalog_name <> '' AND schema_name <> '' AND table_name <> '')
);

CREATE INDEX ix_managed_tables_organisation ON managed_tables (organisation_id);
CREATE INDEX ix_managed_tables_owner ON managed_tables (owner_user_id);

CREATE TABLE managed_table_columns (
    id               INTEGER CONSTRAINT pk_managed_table_columns PRIMARY KEY AUTOINCREMENT,
    managed_table_id INTEGER NOT NULL,
    ordinal_position INTEGER NOT NULL,
    column_name      TEXT NOT NULL,
    data_type        TEXT NOT NULL,
    is_nullable      INTEGER NOT NULL DEFAULT 1,
    column_comment   TEXT NULL,
    CONSTRAINT uq_managed_table_columns_name UNIQUE (managed_table_id, column_name),
    CONSTRAINT uq_managed_table_columns_position UNIQUE (managed_table_id, ordinal_position),
    CONSTRAINT ck_managed_table_columns_position CHECK (ordinal_position >= 1),
    CONSTRAINT ck_managed_table_columns_nullable CHECK (is_nullable IN (0, 1)),
    CONSTRAINT fk_managed_table_columns_table FOREIGN KEY (managed_table_id)
        REFERENCES managed_tables (id) ON DELETE CASCADE
);
