-- Merge requests between branches, and a per-branch summary of the types for the schema browser.

CREATE TABLE ontology_branch_merges (
    id                   BIGINT      NOT NULL AUTO_INCREMENT,
    source_branch_id     BIGINT      NOT NULL,
    target_branch_id     BIGINT      NOT NULL,
    status               VARCHAR(16) NOT NULL DEFAULT 'pending',
    merged_revision      BIGINT      NULL,
    conflict_count       INT         NOT NULL DEFAULT 0,
    requested_by_user_id BIGINT      NULL,
    created_at           DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at          DATETIME(6) NULL,
    PRIMARY KEY (id),
    KEY ix_ontology_branch_merges_source (source_branch_id),
    KEY ix_ontology_branch_merges_target (target_branch_id, created_at),
    CONSTRAINT ck_ontology_branch_merges_status CHECK (status IN ('pending', 'succeeded', 'failed', 'conflicted')),
    CONSTRAINT fk_ontology_branch_merges_source FOREIGN KEY (source_branch_id)
        REFERENCES ontology_branches (id) ON DELETE CASCADE,
    CONSTRAINT fk_ontology_branch_merges_target FOREIGN KEY (target_branch_id)
        REFERENCES ontology_branches (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE VIEW ontology_type_summaries AS
SELECT t.branch_id,
       t.id          AS ontology_type_id,
       t.api_name,
       t.kind,
       COUNT(p.id)   AS property_count
  FROM ontology_types t
  LEFT JOIN ontology_properties p ON p.ontology_type_id = t.id
 WHERE t.deleted_at IS NULL
 GROUP BY t.branch_id, t.id, t.api_name, t.kind;
