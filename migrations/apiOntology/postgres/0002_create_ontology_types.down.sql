DROP TABLE ontology_properties;
DROP TABLE ontology_types;
