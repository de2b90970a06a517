-- migrator:no-transaction
-- Lookup of a branch's bindings; built without blocking writes on ontology_bindings.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_ontology_bindings_branch ON ontology_bindings (branch_id);
