DROP INDEX IF EXISTS ix_ontology_bindings_branch;
