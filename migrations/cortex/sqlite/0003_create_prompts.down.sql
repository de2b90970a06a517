DROP VIEW current_prompt_versions;
DROP TABLE prompt_versions;
DROP TABLE prompts;
