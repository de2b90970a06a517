-- Contract step: ontology_types.title has been deprecated since 0007.
ALTER TABLE ontology_types DROP COLUMN title;
