ALTER TABLE embedding_indexes DROP COLUMN estimated_size_bytes, ALGORITHM=INPLACE, LOCK=NONE;

ALTER TABLE model_endpoints DROP COLUMN max_output_tokens, ALGORITHM=INPLACE, LOCK=NONE;
