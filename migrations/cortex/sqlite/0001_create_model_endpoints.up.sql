-- Model endpoints: the LLM / embedding models an organisation can call, and daily usage per endpoint.
-- api_key_secret_name names a secret of the auth service (another database): no foreign key.
-- max_tokens is superseded by max_output_tokens (0005 expand, 0007 deprecate, 0008 contract).

CREATE TABLE model_endpoints (
    id                  INTEGER CONSTRAINT pk_model_endpoints PRIMARY KEY AUTOINCREMENT,
    organisation_id     INTEGER NOT NULL,
    name                TEXT NOT NULL,
    provider            TEXT NOT NULL,
    model_name          TEXT NOT NULL,
    base_url            TEXT NULL,
    api_key_secret_name TEXT NULL,
    max_tokens          INTEGER NULL,
    context_window      INTEGER NULL,
    status              TEXT NOT NULL DEFAULT 'active',
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT uq_model_endpoints_org_name UNIQUE (organisation_id, name),
    CONSTRAINT ck_model_endpoints_provider CHECK (provider IN ('openai', 'anthropic', 'azure-openai', 'bedrock', 'vertex', 'vllm', 'ollama')),
    CONSTRAINT ck_model_endpoints_status CHECK (status IN ('active', 'disabled', 'deprecated')),
    CONSTRAINT ck_model_endpoints_context_window CHECK (context_window IS NULL OR context_window > 0)
);

CREATE INDEX ix_model_endpoints_provider_model ON model_endpoints (provider, model_name);

CREATE TABLE model_endpoint_usage_daily (
    id                INTEGER CONSTRAINT pk_model_endpoint_usage_daily PRIMARY KEY AUTOINCREMENT,
    model_endpoint_id INTEGER NOT NULL,
    usage_date        TEXT NOT NULL,
    request_count     INTEGER NOT NULL DEFAULT 0,
    error_count       INTEGER NOT NULL DEFAULT 0,
    input_tokens      INTEGER NOT NULL DEFAULT 0,
    output_tokens     INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT uq_model_endpoint_usage_daily_endpoint_date UNIQUE (model_endpoint_id, usage_date),
    CONSTRAINT fk_model_endpoint_usage_daily_endpoint FOREIGN KEY (model_endpoint_id)
        REFERENCES model_endpoints (id) ON DELETE CASCADE
);
