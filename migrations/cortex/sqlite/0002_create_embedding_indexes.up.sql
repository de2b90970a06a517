-- Metadata of the vector indexes (the vectors live in the backend named here) and their builds.
-- An index keeps its embedding endpoint: deleting an endpoint that still has indexes is refused.

CREATE TABLE embedding_indexes (
    id                INTEGER CONSTRAINT pk_embedding_indexes PRIMARY KEY AUTOINCREMENT,
    organisation_id   INTEGER NOT NULL,
    model_endpoint_id INTEGER NOT NULL,
    name              TEXT NOT NULL,
    dimensions        INTEGER NOT NULL,
    distance_metric   TEXT NOT NULL DEFAULT 'cosine',
    backend           TEXT NOT NULL DEFAULT 'pgvector',
    collection_name   TEXT NOT NULL,
    vector_count      INTEGER NOT NULL DEFAULT 0,
    status            TEXT NOT NULL DEFAULT 'building',
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_embedding_indexes_org_name UNIQUE (organisation_id, name),
    CONSTRAINT uq_embedding_indexes_backend_collection UNIQUE (backend, collection_name),
    CONSTRAINT ck_embedding_indexes_dimensions CHECK (dimensions BETWEEN 1 AND 16000),
    CONSTRAINT ck_embedding_indexes_metric CHECK (distance_metric IN ('cosine', 'dot_product', 'euclidean')),
    CONSTRAINT ck_embedding_indexes_backend CHECK (backend IN ('pgvector', 'qdrant', 'opensearch')),
    CONSTRAINT ck_embedding_indexes_status CHECK (status IN ('building', 'ready', 'failed', 'deleting')),
    CONSTRAINT fk_embedding_indexes_endpoint FOREIGN KEY (model_endpoint_id)
        REFERENCES model_endpoints (id) ON DELETE RESTRICT
);

CREATE INDEX ix_embedding_indexes_endpoint ON embedding_indexes (model_endpoint_id);

CREATE TABLE embedding_index_builds (
    id                 INTEGER CONSTRAINT pk_embedding_index_builds PRIMARY KEY AUTOINCREMENT,
    embedding_index_id INTEGER NOT NULL,
    status             TEXT NOT NULL DEFAULT 'running',
    documents_total    INTEGER NULL,
    documents_done     INTEGER NOT NULL DEFAULT 0,
    error_message      TEXT NULL,
    started_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at        TEXT NULL,
    CONSTRAINT ck_embedding_index_builds_status CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT fk_embedding_index_builds_index FOREIGN KEY (embedding_index_id)
        REFERENCES embedding_indexes (id) ON DELETE CASCADE
);

CREATE INDEX ix_embedding_index_builds_index_started ON embedding_index_builds (embedding_index_id, started_at);
