ALTER TABLE ontology_bindings DROP COLUMN branch_id;

ALTER TABLE ontology_types DROP COLUMN display_name;
