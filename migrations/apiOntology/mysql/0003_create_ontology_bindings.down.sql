DROP TABLE ontology_bindings;
