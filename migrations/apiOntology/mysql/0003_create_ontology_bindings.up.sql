-- A binding maps an ontology type onto a data source (an analytics managed table, a REST API or
-- a stream) and says how its columns / fields map onto the type's properties.

CREATE TABLE ontology_bindings (
    id                 BIGINT       NOT NULL AUTO_INCREMENT,
    ontology_type_id   BIGINT       NOT NULL,
    source_kind        VARCHAR(16)  NOT NULL,
    source_ref         VARCHAR(191) NOT NULL,
    primary_key_column VARCHAR(128) NOT NULL,
    property_mapping   JSON         NOT NULL DEFAULT ('{}'),
    sync_mode          VARCHAR(16)  NOT NULL DEFAULT 'batch',
    sync_status        VARCHAR(16)  NOT NULL DEFAULT 'idle',
    last_synced_at     DATETIME(6)  NULL,
    created_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_ontology_bindings_type_source UNIQUE KEY (ontology_type_id, source_kind, source_ref),
    CONSTRAINT ck_ontology_bindings_source_kind CHECK (source_kind IN ('managed_table', 'rest_api', 'stream')),
    CONSTRAINT ck_ontology_bindings_sync_mode CHECK (sync_mode IN ('batch', 'streaming')),
    CONSTRAINT ck_ontology_bindings_sync_status CHECK (sync_status IN ('idle', 'syncing', 'failed')),
    CONSTRAINT fk_ontology_bindings_type FOREIGN KEY (ontology_type_id)
        REFERENCES ontology_types (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
