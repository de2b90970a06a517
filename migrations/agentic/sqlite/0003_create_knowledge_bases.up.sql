-- Knowledge bases group ingested documents that agents retrieve from. The vectors themselves are
-- stored by cortex (embedding indexes); here we keep the document catalogue and ingestion state.

CREATE TABLE knowledge_bases (
    id              INTEGER CONSTRAINT pk_knowledge_bases PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL,
    workspace_id    INTEGER NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NULL,
    embedding_model TEXT NOT NULL DEFAULT 'text-embedding-3-small',
    chunk_size      INTEGER NOT NULL DEFAULT 800,
    chunk_overlap   INTEGER NOT NULL DEFAULT 100,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_knowledge_bases_workspace_name UNIQUE (workspace_id, name),
    CONSTRAINT ck_knowledge_bases_chunking CHECK (chunk_size > 0 AND chunk_overlap >= 0 AND chunk_overlap < chunk_size)
);

CREATE TABLE knowledge_documents (
    id                INTEGER CONSTRAINT pk_knowledge_documents PRIMARY KEY AUTOINCREMENT,
    knowledge_base_id INTEGER NOT NULL,
    source_uri        TEXT NOT NULL,
    title             TEXT NULL,
    content_type      TEXT NOT NULL DEFAULT 'text/plain; charset=utf-8',
    checksum_sha256   TEXT NOT NULL,
    byte_size         INTEGER NOT NULL DEFAULT 0,
    ingestion_status  TEXT NOT NULL DEFAULT 'pending',
    ingestion_error   TEXT NULL,
    ingested_at       TEXT NULL,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_knowledge_documents_base_checksum UNIQUE (knowledge_base_id, checksum_sha256),
    CONSTRAINT ck_knowledge_documents_status CHECK (ingestion_status IN ('pending', 'processing', 'ready', 'failed')),
    CONSTRAINT ck_knowledge_documents_checksum CHECK (length(checksum_sha256) = 64),
    CONSTRAINT fk_knowledge_documents_base FOREIGN KEY (knowledge_base_id)
        REFERENCES knowledge_bases (id) ON DELETE CASCADE
);

CREATE INDEX ix_knowledge_documents_status ON knowledge_documents (ingestion_status, created_at);
