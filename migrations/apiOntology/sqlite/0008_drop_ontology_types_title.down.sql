-- The column comes back empty and nullable: its data lives on in ontology_types.display_name.
ALTER TABLE ontology_types ADD COLUMN title TEXT NULL;
