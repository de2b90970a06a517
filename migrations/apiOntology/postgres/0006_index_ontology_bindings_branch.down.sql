-- migrator:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS ix_ontology_bindings_branch;
