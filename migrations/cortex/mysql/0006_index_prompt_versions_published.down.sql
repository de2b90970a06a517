ALTER TABLE prompt_versions DROP INDEX ix_prompt_versions_prompt_published, ALGORITHM=INPLACE, LOCK=NONE;
