DROP INDEX IF EXISTS ix_prompt_versions_prompt_published;
