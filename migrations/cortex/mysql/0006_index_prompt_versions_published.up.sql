-- Speeds up "newest published version of a prompt"; online index build.
ALTER TABLE prompt_versions ADD INDEX ix_prompt_versions_prompt_published (prompt_id, published_at), ALGORITHM=INPLACE, LOCK=NONE;
