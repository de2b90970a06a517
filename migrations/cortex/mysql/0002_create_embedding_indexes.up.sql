-- Metadata of the vector indexes (the vectors live in the backend named here) and their builds.
-- An index keeps its embedding endpoint: deleting an endpoint that still has indexes is refused.

CREATE TABLE embedding_indexes (
    id                BIGINT       NOT NULL AUTO_INCREMENT,
    organisation_id   BIGINT       NOT NULL,
    model_endpoint_id BIGINT       NOT NULL,
    name              VARCHAR(191) NOT NULL,
    dimensions        INT          NOT NULL,
    distance_metric   VARCHAR(16)  NOT NULL DEFAULT 'cosine',
    backend           VARCHAR(16)  NOT NULL DEFAULT 'pgvector',
    collection_name   VARCHAR(191) NOT NULL,
    vector_count      BIGINT       NOT NULL DEFAULT 0,
    status            VARCHAR(16)  NOT NULL DEFAULT 'building',
    created_at        DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at        DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_embedding_indexes_org_name UNIQUE KEY (organisation_id, name),
    CONSTRAINT uq_embedding_indexes_backend_collection UNIQUE KEY (backend, collection_name),
    KEY ix_embedding_indexes_endpoint (model_endpoint_id),
    CONSTRAINT ck_embedding_indexes_dimensions CHECK (dimensions BETWEEN 1 AND 16000),
    CONSTRAINT ck_embedding_indexes_metric CHECK (distance_metric IN ('cosine', 'dot_product', 'euclidean')),
    CONSTRAINT ck_embedding_indexes_backend CHECK (backend IN ('pgvector', 'qdrant', 'opensearch')),
    CONSTRAINT ck_embedding_indexes_status CHECK (status IN ('building', 'ready', 'failed', 'deleting')),
    CONSTRAINT fk_embedding_indexes_endpoint FOREIGN KEY (model_endpoint_id)
        REFERENCES model_endpoints (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE embedding_index_builds (
    id                 BIGINT      NOT NULL AUTO_INCREMENT,
    embedding_index_id BIGINT      NOT NULL,
    status             VARCHAR(16) NOT NULL DEFAULT 'running',
    documents_total    BIGINT      NULL,
    documents_done     BIGINT      NOT NULL DEFAULT 0,
    error_message      TEXT        NULL,
    started_at         DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at        DATETIME(6) NULL,
    PRIMARY KEY (id),
    KEY ix_embedding_index_builds_index_started (embedding_index_id, started_at),
    CONSTRAINT ck_embedding_index_builds_status CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT fk_embedding_index_builds_index FOREIGN KEY (embedding_index_id)
        REFERENCES embedding_indexes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
