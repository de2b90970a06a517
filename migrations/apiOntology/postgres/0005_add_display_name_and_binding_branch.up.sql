-- Expand step of ontology_types.title -> ontology_types.display_name: nullable new column, written
-- alongside the old one from this release on.
-- ontology_bindings.branch_id denormalises ontology_types.branch_id so that a branch's bindings
-- are found without a join; existing rows are filled by backfills/ontology_bindings_branch_id.toml.

ALTER TABLE ontology_types ADD COLUMN display_name text NULL;

ALTER TABLE ontology_bindings ADD COLUMN branch_id bigint NULL;
