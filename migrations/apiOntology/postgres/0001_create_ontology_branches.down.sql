DROP TABLE ontology_branches;
DROP SEQUENCE ontology_revision_seq;
