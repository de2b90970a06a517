-- A binding maps an ontology type onto a data source (an analytics managed table, a REST API or
-- a stream) and says how its columns / fields map onto the type's properties.

CREATE TABLE ontology_bindings (
    id                 INTEGER CONSTRAINT pk_ontology_bindings PRIMARY KEY AUTOINCREMENT,
    ontology_type_id   INTEGER NOT NULL,
    source_kind        TEXT NOT NULL,
    source_ref         TEXT NOT NULL,
    primary_key_column TEXT NOT NULL,
    property_mapping   TEXT NOT NULL DEFAULT '{}',
    sync_mode          TEXT NOT NULL DEFAULT 'batch',
    sync_status        TEXT NOT NULL DEFAULT 'idle',
    last_synced_at     TEXT NULL,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_ontology_bindings_type_source UNIQUE (ontology_type_id, source_kind, source_ref),
    CONSTRAINT ck_ontology_bindings_source_kind CHECK (source_kind IN ('managed_table', 'rest_api', 'stream')),
    CONSTRAINT ck_ontology_bindings_sync_mode CHECK (sync_mode IN ('batch', 'streaming')),
    CONSTRAINT ck_ontology_bindings_sync_status CHECK (sync_status IN ('idle', 'syncing', 'failed')),
    CONSTRAINT fk_ontology_bindings_type FOREIGN KEY (ontology_type_id)
        REFERENCES ontology_types (id) ON DELETE CASCADE
);
