-- Lookup of a branch's bindings. PostgreSQL builds this index concurrently; SQLite has a single
-- writer anyway.
CREATE INDEX IF NOT EXISTS ix_ontology_bindings_branch ON ontology_bindings (branch_id);
