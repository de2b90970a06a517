-- Ontology branches: every schema change happens on a branch (like git) and is merged into its
-- parent. On PostgreSQL a sequence numbers every change across branches; MySQL has no sequences,
-- so the ontology service allocates revisions itself (head_revision / revision columns).
-- organisation_id / workspace_id / *_user_id refer to the auth service: plain columns, no FK.

CREATE TABLE ontology_branches (
    id                 BIGINT       NOT NULL AUTO_INCREMENT,
    organisation_id    BIGINT       NOT NULL,
    workspace_id       BIGINT       NOT NULL,
    name               VARCHAR(191) COLLATE utf8mb4_bin NOT NULL,
    parent_branch_id   BIGINT       NULL,
    head_revision      BIGINT       NOT NULL DEFAULT 0,
    status             VARCHAR(16)  NOT NULL DEFAULT 'open',
    created_by_user_id BIGINT       NULL,
    created_at         DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    merged_at          DATETIME(6)  NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_ontology_branches_workspace_name UNIQUE KEY (workspace_id, name),
    KEY ix_ontology_branches_parent (parent_branch_id),
    CONSTRAINT ck_ontology_branches_status CHECK (status IN ('open', 'merged', 'abandoned')),
    CONSTRAINT fk_ontology_branches_parent FOREIGN KEY (parent_branch_id)
        REFERENCES ontology_branches (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
