DROP TABLE ontology_branches;
