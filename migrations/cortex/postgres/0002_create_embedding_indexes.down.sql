DROP TABLE embedding_index_builds;
DROP TABLE embedding_indexes;
