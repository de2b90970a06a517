ALTER TABLE ontology_bindings DROP INDEX ix_ontology_bindings_branch, ALGORITHM=INPLACE, LOCK=NONE;
