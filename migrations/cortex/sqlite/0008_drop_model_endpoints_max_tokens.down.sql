-- The column comes back empty and nullable: its data lives on in model_endpoints.max_output_tokens.
ALTER TABLE model_endpoints ADD COLUMN max_tokens INTEGER NULL;
