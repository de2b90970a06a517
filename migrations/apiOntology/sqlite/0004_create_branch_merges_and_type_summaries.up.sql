-- Merge requests between branches, and a per-branch summary of the types for the schema browser.

CREATE TABLE ontology_branch_merges (
    id                   INTEGER CONSTRAINT pk_ontology_branch_merges PRIMARY KEY AUTOINCREMENT,
    source_branch_id     INTEGER NOT NULL,
    target_branch_id     INTEGER NOT NULL,
    status               TEXT NOT NULL DEFAULT 'pending',
    merged_revision      INTEGER NULL,
    conflict_count       INTEGER NOT NULL DEFAULT 0,
    requested_by_user_id INTEGER NULL,
    created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at          TEXT NULL,
    CONSTRAINT ck_ontology_branch_merges_status CHECK (status IN ('pending', 'succeeded', 'failed', 'conflicted')),
    CONSTRAINT fk_ontology_branch_merges_source FOREIGN KEY (source_branch_id)
        REFERENCES ontology_branches (id) ON DELETE CASCADE,
    CONSTRAINT fk_ontology_branch_merges_target FOREIGN KEY (target_branch_id)
        REFERENCES ontology_branches (id) ON DELETE CASCADE
);

CREATE INDEX ix_ontology_branch_merges_source ON ontology_branch_merges (source_branch_id);
CREATE INDEX ix_ontology_branch_merges_target ON ontology_branch_merges (target_branch_id, created_at);

CREATE VIEW ontology_type_summaries AS
SELECT t.branch_id,
       t.id          AS ontology_type_id,
       t.api_name,
       t.kind,
       count(p.id)   AS property_count
  FROM ontology_types t
  LEFT JOIN ontology_properties p ON p.ontology_type_id = t.id
 WHERE t.deleted_at IS NULL
 GROUP BY t.branch_id, t.id, t.api_name, t.kind;
