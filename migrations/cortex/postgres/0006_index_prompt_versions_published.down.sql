-- migrator:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS ix_prompt_versions_prompt_published;
