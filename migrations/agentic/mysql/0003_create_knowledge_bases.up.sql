-- Knowledge bases group ingested documents that agents retrieve from. The vectors themselves are
-- stored by cortex (embedding indexes); here we keep the document catalogue and ingestion state.

CREATE TABLE knowledge_bases (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    organisation_id BIGINT       NOT NULL,
    workspace_id    BIGINT       NOT NULL,
    name            VARCHAR(191) NOT NULL,
    description     TEXT         NULL,
    embedding_model VARCHAR(128) NOT NULL DEFAULT 'text-embedding-3-small',
    chunk_size      INT          NOT NULL DEFAULT 800,
    chunk_overlap   INT          NOT NULL DEFAULT 100,
    created_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_knowledge_bases_workspace_name UNIQUE KEY (workspace_id, name),
    CONSTRAINT ck_knowledge_bases_chunking CHECK (chunk_size > 0 AND chunk_overlap >= 0 AND chunk_overlap < chunk_size)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE knowledge_documents (
    id                BIGINT        NOT NULL AUTO_INCREMENT,
    knowledge_base_id BIGINT        NOT NULL,
    source_uri        VARCHAR(2048) NOT NULL,
    title             VARCHAR(512)  NULL,
    content_type      VARCHAR(255)  NOT NULL DEFAULT 'text/plain; charset=utf-8',
    checksum_sha256   CHAR(64)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    byte_size         BIGINT        NOT NULL DEFAULT 0,
    ingestion_status  VARCHAR(16)   NOT NULL DEFAULT 'pending',
    ingestion_error   TEXT          NULL,
    ingested_at       DATETIME(6)   NULL,
    created_at        DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT uq_knowledge_documents_base_checksum UNIQUE KEY (knowledge_base_id, checksum_sha256),
    KEY ix_knowledge_documents_status (ingestion_status, created_at),
    CONSTRAINT ck_knowledge_documents_status CHECK (ingestion_status IN ('pending', 'processing', 'ready', 'failed')),
    CONSTRAINT ck_knowledge_documents_checksum CHECK (CHAR_LENGTH(checksum_sha256) = 64),
    CONSTRAINT fk_knowledge_documents_base FOREIGN KEY (knowledge_base_id)
        REFERENCES knowledge_bases (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
