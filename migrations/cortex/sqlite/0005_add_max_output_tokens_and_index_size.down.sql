ALTER TABLE embedding_indexes DROP COLUMN estimated_size_bytes;

ALTER TABLE model_endpoints DROP COLUMN max_output_tokens;
