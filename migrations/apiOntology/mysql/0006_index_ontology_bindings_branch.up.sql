-- Lookup of a branch's bindings; online index build.
ALTER TABLE ontology_bindings ADD INDEX ix_ontology_bindings_branch (branch_id), ALGORITHM=INPLACE, LOCK=NONE;
