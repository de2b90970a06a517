-- Expand step of model_endpoints.max_tokens -> model_endpoints.max_output_tokens (the old name
-- was ambiguous next to context_window): nullable new column, written alongside the old one.
-- embedding_indexes.estimated_size_bytes: storage estimate for quotas; existing indexes are
-- filled by backfills/embedding_indexes_estimated_size.toml.

ALTER TABLE model_endpoints ADD COLUMN max_output_tokens integer NULL;

ALTER TABLE embedding_indexes ADD COLUMN estimated_size_bytes bigint NULL;
