-- migrator:no-transaction
-- Speeds up "newest published version of a prompt"; built without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_prompt_versions_prompt_published ON prompt_versions (prompt_id, published_at);
