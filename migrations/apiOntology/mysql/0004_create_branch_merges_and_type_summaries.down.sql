DROP VIEW ontology_type_summaries;
DROP TABLE ontology_branch_merges;
