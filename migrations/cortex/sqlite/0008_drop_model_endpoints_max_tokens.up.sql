-- Contract step: model_endpoints.max_tokens has been deprecated since 0007.
ALTER TABLE model_endpoints DROP COLUMN max_tokens;
