-- Ontology branches: every schema change happens on a branch (like git) and is merged into its
-- parent. On PostgreSQL a sequence numbers every change across branches; SQLite has no sequences,
-- so the ontology service allocates revisions itself (head_revision / revision columns).
-- organisation_id / workspace_id / *_user_id refer to the auth service: plain columns, no FK.

CREATE TABLE ontology_branches (
    id                 INTEGER CONSTRAINT pk_ontology_branches PRIMARY KEY AUTOINCREMENT,
    organisation_id    INTEGER NOT NULL,
    workspace_id       INTEGER NOT NULL,
    name               TEXT NOT NULL,
    parent_branch_id   INTEGER NULL,
    head_revision      INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'open',
    created_by_user_id INTEGER NULL,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    merged_at          TEXT NULL,
    CONSTRAINT uq_ontology_branches_workspace_name UNIQUE (workspace_id, name),
    CONSTRAINT ck_ontology_branches_status CHECK (status IN ('open', 'merged', 'abandoned')),
    CONSTRAINT fk_ontology_branches_parent FOREIGN KEY (parent_branch_id)
        REFERENCES ontology_branches (id) ON DELETE SET NULL
);

CREATE INDEX ix_ontology_branches_parent ON ontology_branches (parent_branch_id);
