-- Speeds up "newest published version of a prompt". PostgreSQL builds this index concurrently;
-- SQLite has a single writer anyway.
CREATE INDEX IF NOT EXISTS ix_prompt_versions_prompt_published ON prompt_versions (prompt_id, published_at);
